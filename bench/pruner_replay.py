"""Which pruner reaches a target sooner: complete trials replayed through each pruner setting.

    python bench/pruner_replay.py --from-studies DIR --dataset mnist1d --methods random,tpe \
        [--pruner 'NAME=YAML' ...] [--replays 300] [--target 0.985]

``bench/search_speed.py --keep DIR`` leaves one study folder per search. This script takes the
complete trials of the searches that ran without a pruner (``--methods``), with each epoch's
validation accuracy and seconds from their ``history.jsonl`` and their set-up time, and replays
them: each replay draws trials at random (with replacement) and feeds them, epoch by epoch, to
honed's real pruner (``create_pruner``) in a fresh in-memory study, adding the seconds each
trial trained before it ended or was cut. It prints, per pruner setting, the median time to the
first complete trial at or above the target, how often the budget ran out first, and the share
of the target-reaching trials that the pruner cut.

The sampler is left out on purpose: every setting sees the same streams of trials, so the
difference is the pruner's alone. Thousands of replays cost a few seconds of this machine,
where one real search costs five minutes, so the noise of five seeds does not decide.
"""

from __future__ import annotations

import argparse
import json
import statistics
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import optuna
import yaml
from search_speed import study_name  # this folder is on sys.path when a script here runs

from honed.search.objective import trial_dir
from honed.search.pruners import create_pruner
from honed.search.storage import sqlite_url
from honed.spec.schema import PrunerSpec

PRUNERS = {
    "none": "none",
    "auto": "auto",
    "asha": "asha",
    "asha-2-rungs": {"name": "asha", "max_rungs": 2},
    "asha-min5": {"name": "asha", "min_resource": 5},
    "median": "median",
}


@dataclass(frozen=True)
class Trial:
    """One complete trial as it ran: per-epoch validation values and seconds, its final value."""

    values: tuple[float, ...]
    seconds: tuple[float, ...]
    setup: float  # seconds of the trial outside its epochs
    value: float
    params: tuple[tuple[str, object], ...] = ()  # (name, value), as the study holds them


def load_trials(folder: Path, dataset: str, methods: list[str], seeds: int,
                metric: str) -> list[Trial]:
    trials = []
    for method in methods:
        for seed in range(seeds):
            name = study_name(dataset, method, seed)
            study_dir = folder / name / "study"
            study = optuna.load_study(study_name=name, storage=sqlite_url(study_dir))
            trials += [as_ran(study_dir, trial, metric) for trial in
                       study.get_trials(states=[optuna.trial.TrialState.COMPLETE])]
    return trials


def as_ran(study_dir: Path, trial: optuna.trial.FrozenTrial, metric: str) -> Trial:
    """A finished trial as it ran, from its ``history.jsonl``: set-up is its wall time less
    its epochs' seconds."""
    lines = (trial_dir(study_dir, trial.number) / "history.jsonl").read_text()
    epochs = [json.loads(line) for line in lines.splitlines() if line.strip()]
    seconds = tuple(e["seconds"] for e in epochs)
    wall = (trial.datetime_complete - trial.datetime_start).total_seconds()
    return Trial(tuple(e["val"][metric] for e in epochs), seconds,
                 max(0.0, wall - sum(seconds)), trial.value, tuple(sorted(trial.params.items())))


def replay(stream: list[Trial], pruner: optuna.pruners.BasePruner, target: float,
           budget: float) -> tuple[float, int, int]:
    """Seconds to the first complete trial >= target (inf: never), and winners cut / met."""
    study = optuna.create_study(direction="maximize", pruner=pruner)
    clock, cut, met = 0.0, 0, 0
    for trial in stream:
        running = study.ask()
        clock += trial.setup
        pruned = False
        for step, (value, seconds) in enumerate(zip(trial.values, trial.seconds, strict=True)):
            clock += seconds
            if clock > budget:
                return float("inf"), cut, met
            running.report(value, step)
            if running.should_prune():
                pruned = True
                break
        met += trial.value >= target
        if pruned:
            cut += trial.value >= target
            study.tell(running, state=optuna.trial.TrialState.PRUNED)
            continue
        study.tell(running, trial.value)
        if trial.value >= target:
            return clock, cut, met
    return float("inf"), cut, met


def replay_parser(doc: str, *, methods: str, methods_help: str,
                  replays: int) -> argparse.ArgumentParser:
    """The arguments of a script that replays the trials ``search_speed.py --keep`` left."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--from-studies", metavar="DIR", required=True,
                        help="the folder that search_speed.py --keep filled")
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--methods", default=methods, help=methods_help)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--target", type=float, required=True)
    parser.add_argument("--budget", type=float, default=300.0, help="seconds per replay")
    parser.add_argument("--replays", type=int, default=replays)
    return parser


def main() -> None:
    parser = replay_parser(__doc__, methods="random,tpe", replays=300, methods_help=(
        "searches (run without a pruner) whose trials are replayed"))
    parser.add_argument("--epochs", type=int, help="the trials' epochs (default: the longest "
                        "history)")
    parser.add_argument("--pruner", action="append", default=[], metavar="NAME=YAML",
                        help="add a pruner setting, e.g. 'cut3={name: auto, min_resource: 3}'")
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    settings = dict(PRUNERS)
    for item in args.pruner:
        name, sep, text = item.partition("=")
        if not sep:
            parser.error(f"--pruner takes NAME=YAML; got {item!r}")
        settings[name] = yaml.safe_load(text)
    trials = load_trials(Path(args.from_studies), args.dataset, args.methods.split(","),
                         args.seeds, "accuracy")
    epochs = args.epochs or max(len(t.values) for t in trials)
    winners = sum(t.value >= args.target for t in trials)
    typical = statistics.median(sum(t.seconds) + t.setup for t in trials)
    print(f"{len(trials)} complete trials from {args.methods} ({winners} at or above "
          f"{args.target}), {epochs} epochs, median {typical:.1f}s each; "
          f"{args.replays} replays of {args.budget:.0f}s")
    rng = np.random.default_rng(0)
    streams = [[trials[i] for i in rng.integers(0, len(trials), 2000)]
               for _ in range(args.replays)]
    print(f"{'pruner':14s} {'median s':>9s} {'mean s':>8s} {'x none':>7s} {'never':>6s} "
          f"{'winners cut':>12s}")
    reference = None
    for name, setting in settings.items():
        spec = PrunerSpec.model_validate({"name": setting} if isinstance(setting, str)
                                         else setting)
        runs = [replay(s, create_pruner(spec, epochs=epochs), args.target, args.budget)
                for s in streams]
        times = np.array([r[0] for r in runs])
        median = float(np.median(times))
        reference = median if reference is None else reference
        finite = times[np.isfinite(times)]
        cut = sum(r[1] for r in runs) / max(1, sum(r[2] for r in runs))
        print(f"{name:14s} {median:9.1f} {finite.mean() if finite.size else float('inf'):8.1f} "
              f"{median / reference:7.2f} {np.mean(~np.isfinite(times)):6.2f} {cut:12.2f}",
              flush=True)


if __name__ == "__main__":
    main()
