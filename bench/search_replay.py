"""Search quality by replay: sampler x pruner x default point, thousands of searches from a pool.

    python bench/search_replay.py build --space mnist1d_families --configs 120 --seeds 2 \\
        --lanes 2 --out pool.jsonl
    python bench/search_replay.py replay --pool pool.jsonl --replays 2000 --budget 1200 \\
        [--marks 120,300,600,1200] [--settings all] [--reference tpe-median] [--workers 2]

``build`` trains a pool (see bench/search_replay_pool.py): the space's default point and
random configs, each with several training seeds, unpruned, with per-epoch validation values
and seconds and the test accuracy of the model each trial would ship; reruns resume.

``replay`` runs, per setting, searches that train nothing: a fresh in-memory Optuna study with
the setting's sampler and pruner, made by honed's ``create_sampler`` and ``create_pruner`` from
the search section the setting stands for (so honed's multivariate TPE really runs), the default
point queued first when the setting says so (honed's ``enqueue_default``). Each trial's point
comes from honed's ``suggest`` over the real space and snaps to the nearest pool config (rule
in bench/search_replay_snap.py); one of its seeds is picked at random; its epochs are reported
to the trial, the pruner asked after each, and their seconds (plus the set-up) added to the
clock until the trial is cut, completes or the budget ends. Replay ``i`` seeds the sampler
with ``i`` and picks seeds from one stream seeded with ``i`` in every setting, so the settings
are paired. The summary is bench/search_quality_summary.py's, one replay standing for a seed.

The cost is the samplers': a TPE ask costs 7-25 ms of CPU at 80-230 trials, so one 20-minute
replay of a 15-second-trial space costs 0.6-4.7 CPU seconds under TPE (0.1-0.7 under random),
about 30 CPU seconds for all 18 settings: 2,000 replays of every setting are CPU-hours
(``--workers`` splits them over cores). More replays narrow the interval over replays only:
every replay draws from the same pool, whose own sampling noise no replay count removes.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import multiprocessing
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import optuna
import yaml
from search_quality import MARKS, PEERS, load_space, spec_part
from search_quality_summary import summarize
from search_replay_pool import PoolError, build_pool, read_pool
from search_replay_snap import Snapper

from honed.errors import UserInputError
from honed.search import create_pruner, create_sampler
from honed.search.default_first import enqueue_default
from honed.search.space import suggest
from honed.spec import spec_from_dict
from honed.spec.template import SpecTemplate

SAMPLERS = {"honed": {}, "tpe": {"sampler": "default"}, "random": {"sampler": "random"}}
PRUNERS = {"auto": {"pruner": "auto"}, "none": {"pruner": "none"},
           "median": {"pruner": PEERS["optuna-tpe-median"]["pruner"]}}
#: every setting by name: sampler-pruner, "+d" when the default point goes first
SETTINGS = {f"{s}-{p}{'+d' if d else ''}": {**SAMPLERS[s], **PRUNERS[p], "start_at_default": d}
            for s, p, d in itertools.product(SAMPLERS, PRUNERS, (True, False))}
PICK_STREAM = 1  # the seed picks' generator is seeded with [replay index, PICK_STREAM]
MAX_REFUSED = 1000  # points in a row that the schema refuses before a replay gives up


@dataclass(frozen=True)
class Pool:
    template: SpecTemplate
    configs: list[dict]  # Optuna parameters, by config index
    runs: list[list[dict]]  # each config's lines, by seed
    epochs: int
    target: float
    space: str

    @property
    def snapper(self) -> Snapper:
        return Snapper(self.template.dimensions, self.configs)


def load_pool(path: Path, space: str | None = None, budget: float = 0.0) -> Pool:
    """The pool's lines grouped by config, and the space they were drawn from."""
    rows = read_pool(path)
    if not rows:
        raise PoolError(f"{path}: no pool lines; run build first")
    space = space or rows[0]["space"]
    raw = (yaml.safe_load(Path(space).read_text()) if Path(space).is_file()
           else load_space(space))
    target = raw.get("target", math.nan)
    raw = spec_part(raw)
    raw["data"] = {"source": "replay-has-no-data.npz", **raw.get("data", {})}
    template = spec_from_dict(raw)
    count = max(r["config"] for r in rows) + 1
    runs: list[list[dict]] = [[] for _ in range(count)]
    for row in sorted(rows, key=lambda r: (r["config"], r["seed"])):
        runs[row["config"]].append(row)
    cap = min(row.get("cap", math.inf) for row in rows)
    if budget > cap:
        raise PoolError(f"{path}: the pool stopped runs at {cap:.0f}s (--cap), so it cannot "
                         f"replay a {budget:.0f}s budget; rebuild with a larger --cap")
    missing = [c for c, r in enumerate(runs) if not r]
    if missing:
        raise PoolError(f"{path}: configs {missing[:5]} have no line; finish the build first")
    return Pool(template, [r[0]["params"] for r in runs], runs,
                max(len(row["values"]) for row in rows), target, Path(space).stem)


def replay_one(pool: Pool, snapper: Snapper, setting: str, index: int, budget: float, *,
               trace: bool = False) -> dict:
    """One search of ``budget`` seconds under ``setting``, replayed from the pool.

    The row is search_quality_summary's, with ``complete`` holding only the completions that
    raised the best value (all that the time to a validation target needs), and the trials'
    count, the snaps' median distance and misses; ``trace=True`` adds each trial's
    ``[config, seed, state]`` (thousands of replays would hold millions of them otherwise).
    """
    search = spec_from_dict({**pool.template.raw,
                             "search": SETTINGS[setting]}).default.search
    dims = pool.template.dimensions
    sampler = (create_sampler(search.sampler, dimensions=dims, seed=index)
               # honed leaves Optuna's default in place, which is TPESampler(): seeded here
               or optuna.samplers.TPESampler(seed=index))
    study = optuna.create_study(direction="maximize", sampler=sampler,
                                pruner=create_pruner(search.pruner, epochs=pool.epochs))
    if search.start_at_default:
        enqueue_default(study, dims)
    picks = np.random.default_rng([index, PICK_STREAM])
    clock, best, refused, ask_s = 0.0, -math.inf, 0, 0.0
    trials, snaps, complete, incumbents, finished = [], [], [], [], 0
    while clock < budget and refused < MAX_REFUSED:
        began = time.process_time()
        trial = study.ask()
        try:
            pool.template.resolve(lambda dim, trial=trial: suggest(trial, dim))
        except UserInputError:  # a real trial fails at once on a point the schema refuses
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
            refused += 1
            continue
        ask_s += time.process_time() - began
        refused = 0
        snap = snapper.snap(trial.params)
        seeds = pool.runs[snap.config]
        run = seeds[int(picks.random() * len(seeds))]
        clock += run["setup"] if not trials else max(0.0, run["setup"] - run["data_s"])
        trials.append([snap.config, run["seed"]])
        snaps.append([snap.distance, snap.on_path])
        state, clock = _feed(trial, run, budget, clock)
        if state == "RUNNING":  # the budget ended inside this trial
            break
        trials[-1].append(state)
        if state != "COMPLETE":
            study.tell(trial, state=optuna.trial.TrialState[state])
            continue
        study.tell(trial, run["value"])
        finished += 1
        if run["value"] > best:
            best = run["value"]
            complete.append([round(clock, 2), run["value"]])
            incumbents.append([round(clock, 2), run["value"], run["test"]])
    distances = [d for d, _ in snaps]
    return {"space": pool.space, "peer": setting, "seed": index, "budget": budget,
            "target": pool.target, "complete": complete, "incumbents": incumbents,
            "asked": len(trials), "finished": finished, "ask_s": round(ask_s, 4),
            "snap": statistics.median(distances) if distances else math.nan,
            "off_path": sum(not on for _, on in snaps), **({"trials": trials} if trace else {})}


def _feed(trial: optuna.Trial, run: dict, budget: float, clock: float) -> tuple[str, float]:
    """Report the run's epochs to ``trial`` until it is cut, ends or the budget does.

    Returns the state it ends in (RUNNING: the budget ended first) and the clock after it.
    """
    for step, (value, seconds) in enumerate(zip(run["values"], run["seconds"], strict=True)):
        clock += seconds
        if clock > budget:
            return "RUNNING", clock
        trial.report(value, step)
        if trial.should_prune():
            return "PRUNED", clock
    if run["state"] == "CAPPED":  # it trained on past the pool's cap, so past the budget
        return "RUNNING", math.inf
    return ("COMPLETE" if run["state"] == "COMPLETE" else "FAIL"), clock


def replay_many(pool_path: str, space: str | None, setting: str, indices: list[int],
                budget: float) -> tuple[list[dict], float]:
    """Replays ``indices`` of one setting; the rows and their CPU seconds."""
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    pool = load_pool(Path(pool_path), space, budget)
    snapper = pool.snapper
    began = time.process_time()
    rows = [replay_one(pool, snapper, setting, i, budget) for i in indices]
    return rows, time.process_time() - began


def replay_all(args: argparse.Namespace) -> list[dict]:
    settings = list(SETTINGS) if args.settings == ["all"] else args.settings
    unknown = [s for s in settings if s not in SETTINGS]
    if unknown:
        raise PoolError(f"unknown setting(s) {unknown}; known: {sorted(SETTINGS)}")
    pool = load_pool(Path(args.pool), args.space, args.budget)
    print(f"{len(pool.configs)} configs, {sum(map(len, pool.runs))} runs, {pool.epochs} epochs; "
          f"{args.replays} replays of {args.budget:.0f}s per setting, {args.workers} worker(s)",
          flush=True)
    chunks = [(s, list(range(w, args.replays, args.workers)))
              for s in settings for w in range(args.workers)]
    jobs = zip(*[(args.pool, args.space, s, i, args.budget) for s, i in chunks], strict=True)
    if args.workers == 1:
        done = list(map(replay_many, *jobs))
    else:
        with ProcessPoolExecutor(args.workers,
                                 mp_context=multiprocessing.get_context("spawn")) as ex:
            done = list(ex.map(replay_many, *jobs))
    rows = [row for chunk_rows, _ in done for row in chunk_rows]
    print("\nper setting, medians over replays: trials asked, trials complete, snapping "
          "distance (a replay's median); share of snaps off the path; CPU ms per replay and "
          "per ask (+ suggest)")
    print(f"{'setting':14s} {'trials':>6s} {'complete':>8s} {'snap med':>8s} "
          f"{'off path':>8s} {'ms/replay':>9s} {'ms/ask':>7s}")
    for setting in settings:
        mine = [r for r in rows if r["peer"] == setting]
        cpu = sum(w for (s, _), (_, w) in zip(chunks, done, strict=True) if s == setting)
        asks = sum(r["asked"] for r in mine)
        print(f"{setting:14s} {statistics.median(r['asked'] for r in mine):6.0f} "
              f"{statistics.median(r['finished'] for r in mine):8.0f} "
              f"{statistics.median(r['snap'] for r in mine):8.3f} "
              f"{sum(r['off_path'] for r in mine) / max(1, asks):8.3f} "
              f"{1000 * cpu / len(mine):9.1f} "
              f"{1000 * sum(r['ask_s'] for r in mine) / max(1, asks):7.2f}")
    return rows


def main(argv: list[str] | None = None) -> int:
    try:
        run(argv)
    except PoolError as error:
        print(f"search_replay.py: {error}", file=sys.stderr)
        return 2
    return 0


def run(argv: list[str] | None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    build = sub.add_parser("build", help="train the pool (resumable)")
    build.add_argument("--space", required=True)
    build.add_argument("--configs", type=int, required=True)
    build.add_argument("--seeds", type=int, default=2)
    build.add_argument("--lanes", type=int, default=1)
    build.add_argument("--epochs", type=int, help="override the spec's train.epochs")
    build.add_argument("--draw-seed", type=int, default=0)
    build.add_argument("--out", default="pool.jsonl")
    build.add_argument("--data-dir")
    build.add_argument("--keep", metavar="DIR", help="keep every run's study folder")
    build.add_argument("--cap", type=float, default=1500.0, help="stop a run after this many "
                       "seconds (at least the longest replay budget)")
    play = sub.add_parser("replay", help="replay searches from the pool")
    play.add_argument("--pool", required=True)
    play.add_argument("--space", help="the pool's space: a name or a YAML path (default: the "
                      "name its lines give)")
    play.add_argument("--replays", type=int, default=2000)
    play.add_argument("--budget", type=float, default=1200.0, help="seconds per search")
    play.add_argument("--marks", default=",".join(map(str, MARKS)),
                      type=lambda s: [float(m) for m in s.split(",")])
    play.add_argument("--settings", default="all", type=lambda s: s.split(","))
    play.add_argument("--reference", default="tpe-median")
    play.add_argument("--workers", type=int, default=1)
    play.add_argument("--out", help="also write the replays as JSON lines")
    args = parser.parse_args(argv)
    if args.command == "build":
        build_pool(args.space, configs=args.configs, seeds=args.seeds, out=Path(args.out),
                   lanes=args.lanes, epochs=args.epochs, draw_seed=args.draw_seed,
                   data_dir=args.data_dir, keep=args.keep, cap=args.cap)
        return
    rows = replay_all(args)
    if args.out:
        Path(args.out).write_text("".join(json.dumps(r) + "\n" for r in rows))
    summarize(rows, reference=args.reference, marks=args.marks)


if __name__ == "__main__":
    sys.exit(main())
