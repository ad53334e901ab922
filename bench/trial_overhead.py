"""Framework overhead per trial, training excluded: what honed adds around each fit.

    python bench/trial_overhead.py [--trials 30] [--count]

Runs a study of tiny one-epoch fits (iris MLP, pruner none, SQLite storage in a temp folder)
and, for each trial, subtracts the time spent inside the fit's epochs (train + validation, as
recorded in the trial's history) from the trial's wall time in the storage. What is left is
sampling, spec resolution and validation, model build, the trial's files (spec, history,
weights, metrics; fsynced) and the storage round trips. Target: under 50 ms (median).
``--count`` also prints, per trial, the SQL commits and fsyncs by where they come from
(``bench/trial_counts.py``); the counting itself costs time, so take timings without it.
``--reads`` also prints the CPU time of one read of the finished study's trials (what a sampler,
the worker loop, the surplus check and the repeat check each do once a trial), with no trial
running and with one (a running trial is read again from the database every time).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
import warnings
from pathlib import Path

import optuna

from honed.search import tune
from honed.spec import spec_from_dict


def overhead_spec(trials: int) -> dict:
    """The study measured: tiny one-epoch iris fits, TPE, no pruner, SQLite."""
    return {"name": "overhead", "data": {"source": "builtin:iris"},
            "model": {"family": "mlp", "hidden": {"int": [8, 64], "log": True},
                      "dropout": {"float": [0.0, 0.5]}},
            "train": {"epochs": 1, "batch_size": 32,
                      "optimizer": {"name": "adamw", "lr": {"float": [1e-3, 1e-1], "log": True}}},
            "search": {"trials": trials, "sampler": "tpe", "pruner": "none",
                       "objectives": ["val.accuracy:max"]}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--count", action="store_true",
                        help="print the SQL commits and fsyncs per trial, by origin")
    parser.add_argument("--reads", action="store_true",
                        help="print the CPU time of one read of the study's trials")
    args = parser.parse_args()
    raw = overhead_spec(args.trials)
    with tempfile.TemporaryDirectory() as folder:
        counts = None
        if args.count:
            from trial_counts import Counts

            counts = Counts(Path(folder) / "run")
            counts.start()
        outcome = tune(spec_from_dict(raw), out_dir=Path(folder) / "run", progress=False)
        overheads, walls = [], []
        for trial in outcome.study.trials:
            if trial.state != optuna.trial.TrialState.COMPLETE:
                continue
            wall = (trial.datetime_complete - trial.datetime_start).total_seconds()
            history = Path(trial.user_attrs["dir"]) / "history.jsonl"
            fit = sum(json.loads(line)["seconds"] for line in history.read_text().splitlines())
            walls.append(wall)
            overheads.append(wall - fit)
        reads = read_costs(outcome.study) if args.reads else None
    skip = overheads[1:]  # the first trial pays one-off imports and data preparation
    print(f"{len(overheads)} complete trials of one epoch each")
    print(f"  trial wall time      median {statistics.median(walls) * 1e3:7.1f} ms")
    print(f"  overhead (no epochs) median {statistics.median(skip) * 1e3:7.1f} ms, "
          f"p90 {sorted(skip)[int(0.9 * (len(skip) - 1))] * 1e3:7.1f} ms (target < 50 ms)")
    if counts is not None:
        print(counts.table(len(outcome.study.trials)))
    if reads is not None:
        print(f"  one read of the {len(outcome.study.trials)} trials, CPU: "
              f"{reads[0] * 1e3:.2f} ms with none running, {reads[1] * 1e3:.2f} ms with one")


def read_costs(study: optuna.Study, repeats: int = 200) -> tuple[float, float]:
    """CPU seconds of one ``study.get_trials`` with no trial running, then with one."""

    def one_read() -> float:
        start = time.process_time()
        for _ in range(repeats):
            study.get_trials(deepcopy=False)
        return (time.process_time() - start) / repeats

    idle = one_read()
    with warnings.catch_warnings():  # "heartbeats are meant for optimize": no worker here
        warnings.simplefilter("ignore", UserWarning)
        # a trial with its parameters, left running (the temp folder goes with it)
        study.ask(fixed_distributions=study.trials[0].distributions)
    return idle, one_read()


if __name__ == "__main__":
    main()
