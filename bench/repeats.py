"""How many trials of a search repeat the parameters of an earlier complete trial.

    python bench/repeats.py [--trials 36] [--seeds 2]

Runs small real studies (iris MLP, one epoch, SQLite in a temp folder) over a space of a few
choices and integers (48 points), and counts, per study, the trials whose parameters equal
those of a trial that was already COMPLETE when they started (a repeat trains the same spec
with the same seed again). Searches: honed's default for two objectives (``auto``: NSGA-II,
population 50, and population 10 so that crossover and mutation start within the budget) and
for one objective (``auto``: multivariate TPE), each with and without one float dimension.
Prints one line per study and a total per search: repeats / trials, how many of the repeats
trained again (a folder with weights of their own; none since honed reuses the values of the
trial a repeat repeats), and the seconds spent in the fits of the study's trials (their
histories). Run it at an older commit for the figures with every repeat trained.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from pathlib import Path

from optuna.trial import TrialState

from honed.search import tune
from honed.spec import spec_from_dict

DISCRETE = {"hidden": {"choice": [8, 16, 32]}, "depth": {"int": [1, 2]},
            "activation": {"choice": ["relu", "tanh"]}, "dropout": {"choice": [0.0, 0.2]}}
BATCH = {"choice": [16, 32]}


def study_spec(trials: int, objectives: list[str], seed: int, *, population: int | None,
               with_float: bool, sampler: str = "auto") -> dict:
    lr = {"float": [1e-3, 1e-1], "log": True} if with_float else 0.01
    sampler_spec: dict = {"name": sampler}
    if population is not None:
        sampler_spec["population_size"] = population
    return {"name": "repeats", "seed": seed, "data": {"source": "builtin:iris"},
            "model": {"family": "mlp", **DISCRETE},
            "train": {"epochs": 1, "batch_size": BATCH, "threads": 1,
                      "optimizer": {"name": "adamw", "lr": lr}},
            "search": {"trials": trials, "sampler": sampler_spec, "pruner": "none",
                       "objectives": objectives}}


def count_repeats(study) -> tuple[int, int, int, float, list[float], list[float]]:
    """(repeats, of them trained again, ended trials, fit seconds of every trial that trained,
    wall seconds of each trial that trained, wall seconds of each repeat that did not).

    A trial trained when its own folder holds weights (a repeat that reused the values of the
    trial it repeats has none).
    """
    trials = [t for t in study.get_trials(deepcopy=False)
              if t.state in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)]
    repeats = trained_again = 0
    seconds = 0.0
    walls: tuple[list[float], list[float]] = ([], [])
    for trial in trials:
        wall = (trial.datetime_complete - trial.datetime_start).total_seconds()
        folder = Path(trial.user_attrs.get("dir", "")).parent / f"{trial.number:04d}"
        trained = (folder / "model" / "weights.safetensors").is_file()
        if trained:
            seconds += sum(json.loads(line)["seconds"]
                           for line in (folder / "history.jsonl").read_text().splitlines())
        earlier = [t for t in trials if t.state == TrialState.COMPLETE
                   and t.datetime_complete <= trial.datetime_start and t.number != trial.number]
        if any(t.params == trial.params for t in earlier):
            repeats += 1
            trained_again += trained
            if not trained:
                walls[1].append(wall)
        if trained:
            walls[0].append(wall)
    return repeats, trained_again, len(trials), seconds, *walls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=36)
    parser.add_argument("--seeds", type=int, default=2)
    args = parser.parse_args()
    searches = [
        ("nsga2 pop50, 2 objectives", ["val.accuracy:max", "params:min"], 50),
        ("nsga2 pop10, 2 objectives", ["val.accuracy:max", "params:min"], 10),
        ("tpe, 1 objective", ["val.accuracy:max"], None),
    ]
    for with_float in (False, True):
        space = "48 discrete points" + (" + float lr" if with_float else "")
        for label, objectives, population in searches:
            total: list = [0, 0, 0, 0.0, [], []]
            for seed in range(args.seeds):
                raw = study_spec(args.trials, objectives, seed, population=population,
                                 with_float=with_float)
                with tempfile.TemporaryDirectory() as folder:
                    outcome = tune(spec_from_dict(raw), out_dir=Path(folder) / "run",
                                   progress=False)
                    got = count_repeats(outcome.study)
                for i, value in enumerate(got):
                    total[i] += value
                print(f"{space:29s} {label:26s} seed {seed}: {got[0]:3d} / {got[2]} repeats, "
                      f"{got[1]} trained again ({got[3]:.2f} s of fits)", flush=True)
            trained, reused = (statistics.median(w) if w else float("nan") for w in total[4:])
            share = total[0] / max(total[2], 1)
            print(f"{space:29s} {label:26s} TOTAL: {total[0]} / {total[2]} = {share:.0%} repeats"
                  f", {total[1]} trained again ({total[3]:.2f} s of fits); median trial wall "
                  f"{trained * 1e3:.0f} ms trained, {reused * 1e3:.0f} ms reused", flush=True)


if __name__ == "__main__":
    main()
