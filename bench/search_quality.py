"""Search quality: the test accuracy of the model each search would ship, against wall clock.

    python bench/search_quality.py --spaces mnist1d_families,table_preprocess \\
        --peers honed,optuna-tpe-median,random --seeds 15 --budget 1200 --lanes 2 \\
        --out search_quality.jsonl
    python bench/search_quality.py --summary search_quality.jsonl [more.jsonl ...]

Spaces are honed specs in bench/spaces/*.yaml (plus ``target``: the secondary figure's
validation accuracy, ``min_epochs``: hyperband's ``min_resource`` where epochs are the
fidelity, and ``extends``: another space this one changes). Every search gets one torch
thread; ``--lanes 2`` runs two at a time. Within a seed the peers run in an order rotated by
the seed, so that machine load falls on all of them alike.

Each search runs for ``--budget`` seconds and records, for every trial that became the best so
far (by validation accuracy), when it completed and the test accuracy of its model. The model
a search ships at a mark B (2, 5, 10, 20 minutes) is the best trial completed by B, so one run
of 20 minutes answers every shorter budget (a search stopped at B would also finish the trial
it had started; this count leaves that trial out, for every peer alike).

Results go to ``--out`` as JSON lines, one per (space, peer, seed, budget), each with the
commit and the processor (``cpu``) it ran on: a run skips the lines already there, and
``--summary`` merges files from several machines (and says so when a space's lines come from
more than one processor: pair peers that ran on one). The summary gives per space and mark
the median shipped test accuracy, the paired difference against ``--reference`` (mean,
bootstrap 95% interval over seeds), the time each peer took to ship the reference's accuracy
at that mark as a fraction of the mark, and time to ``target``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import multiprocessing
import subprocess
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import optuna
import yaml
from machine import cpu_model
from search_quality_data import materialize
from search_quality_summary import summarize
from search_speed import test_accuracy

from honed.search import tune
from honed.search.objective import trial_dir
from honed.search.storage import sqlite_url
from honed.spec import spec_from_dict

SPACE_DIR = Path(__file__).parent / "spaces"
MARKS = (120, 300, 600, 1200)
STARTED_FILE = "started.txt"
GRACE_S = 5.0  # past the budget, before the search process is stopped

#: each peer as a user would write it, as honed's ``search:`` section
PEERS = {
    # `honed train` at the spec's default point: one fit, no search
    "train": {"trials": 1, "pruner": "none"},
    # honed's default search: multivariate TPE, the default point first, pruner auto
    "honed": {},
    "honed-c2f": {"strategy": "coarse-to-fine"},
    "honed-hyperband": {"pruner": "hyperband"},
    # honed's default search without its pruner: what the auto pruner's one cut adds
    "honed-nopruner": {"pruner": "none"},
    # what Optuna's docs teach: TPESampler() and MedianPruner() with their defaults, the
    # validation accuracy reported after every epoch, no trial queued at a default point
    "optuna-tpe-median": {"sampler": "default", "start_at_default": False,
                          "pruner": {"name": "median", "n_startup_trials": 5,
                                     "n_warmup_steps": 0}},
    "tpe": {"sampler": "default", "pruner": "none", "start_at_default": False},
    "random": {"sampler": "random", "pruner": "none", "start_at_default": False},
}


#: the keys of a space file that are the benchmark's, not the spec's
BENCH_KEYS = ("target", "min_epochs", "extends")


def load_space(name: str) -> dict:
    """The space ``name`` as written, with the space it ``extends`` (if any) under it.

    ``extends: OTHER`` takes OTHER's file and replaces what this one writes, mapping by
    mapping (so ``train: {epochs: 60}`` changes the epochs only); the data are OTHER's.
    """
    return _load(name, ())[0]


def space_with_data(name: str, data_dir: str | Path) -> dict:
    """The space ``name`` with its ``data`` pointing at its generated file (written if missing)."""
    space, root = _load(name, ())
    space["data"] = {**space["data"], **materialize(root, Path(data_dir))}
    return space


def _load(name: str, below: tuple[str, ...]) -> tuple[dict, str]:
    """The merged space and the name of the space at the bottom of its ``extends`` chain."""
    if name in below:
        raise SystemExit(f"spaces extend each other in a circle: {' -> '.join((*below, name))}")
    path = SPACE_DIR / f"{name}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in SPACE_DIR.glob("*.yaml"))
        raise SystemExit(f"unknown space {name!r}; known: {known}")
    space = yaml.safe_load(path.read_text())
    if not space.get("extends"):
        return space, name
    base, root = _load(space["extends"], (*below, name))
    return _merged(base, space), root


def _merged(base: dict, over: dict) -> dict:
    merged = dict(base)
    for key, value in over.items():
        both = isinstance(value, dict) and isinstance(base.get(key), dict)
        merged[key] = _merged(base[key], value) if both else value
    return merged


def spec_part(space: dict) -> dict:
    """The space without the benchmark's own keys: what honed reads."""
    return {k: v for k, v in space.items() if k not in BENCH_KEYS}


def search_section(space: dict, peer: str, seed: int, budget: float) -> dict:
    """The ``search:`` section of ``peer`` on ``space``: all trials it can run in ``budget``."""
    search = {"trials": 100000, "timeout": budget, **PEERS[peer], "seed": seed,
              "objectives": ["val.accuracy:max"]}
    if "min_epochs" in space and search.get("pruner") == "hyperband":
        # epochs as the fidelity: the first bracket judges trials at step min_epochs
        search["pruner"] = {"name": "hyperband", "min_resource": space["min_epochs"]}
    return search


def one_search(space_name: str, peer: str, seed: int, budget: float, data_dir: str,
               keep: str | None) -> dict:
    space = space_with_data(space_name, data_dir)
    search = search_section(space, peer, seed, budget)
    name = f"{space_name}-{peer}-{seed}-{budget:.0f}"
    raw = {"name": name, "seed": seed, **spec_part(space),
           "train": {**space["train"], "threads": 1}, "search": search}
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(keep or scratch) / name
        out.mkdir(parents=True)
        # the search runs in its own process, stopped at the budget: honed's timeout stops
        # starting trials but lets the running one finish, and one slow draw (a wide GRU at
        # batch 16 takes 20 minutes on one thread) would hold a lane for far past the budget;
        # a trial that completes after the budget does not count here anyway
        search_process = multiprocessing.get_context("spawn").Process(
            target=_tune, args=(raw, str(out)))
        search_process.start()
        search_process.join(budget + GRACE_S)
        if search_process.is_alive():
            search_process.terminate()
            search_process.join()
        started = float((out / STARTED_FILE).read_text())
        study = optuna.load_study(study_name=name, storage=sqlite_url(out / "study"))
        complete = sorted((t.datetime_complete.timestamp() - started, t.value, t.number)
                          for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE)
        incumbents, best = [], float("-inf")
        for at, value, number in complete:
            if value > best:
                best = value
                test = test_accuracy(trial_dir(out / "study", number))
                incumbents.append([round(at, 2), value, test])
    return {"space": space_name, "peer": peer, "seed": seed, "budget": budget,
            "target": space["target"], "trials": len(study.trials),
            "complete": [[round(at, 2), value] for at, value, _ in complete],
            "incumbents": incumbents,
            "finished_utc": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")}


def _tune(raw: dict, out: str) -> None:
    (Path(out) / STARTED_FILE).write_text(repr(time.time()))
    tune(spec_from_dict(raw), out_dir=out, progress=False)


def jobs_for(spaces: list[str], peers: list[str], seeds: range) -> list[tuple[str, str, int]]:
    """Seed by seed, space by space, the peers in an order rotated by the seed."""
    jobs = []
    for seed in seeds:
        turn = seed % len(peers)
        for space in spaces:
            jobs += [(space, peer, seed) for peer in peers[turn:] + peers[:turn]]
    return jobs


def read_lines(paths: list[Path]) -> list[dict]:
    rows = []
    for path in paths:
        if path.exists():
            rows += [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return rows


def run(args: argparse.Namespace) -> None:
    out = Path(args.out)
    done = {(r["space"], r["peer"], r["seed"], r["budget"]) for r in read_lines([out])}
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    jobs = [j for j in jobs_for(args.spaces, args.peers, seeds)
            if (*j, args.budget) not in done]
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True, cwd=Path(__file__).parent).stdout.strip()
    cpu = cpu_model()  # machines differ between runs: a pair across two mixes the machine in
    for space in args.spaces:  # write the data once, before the workers race to it
        space_with_data(space, args.data_dir)
    print(f"{len(jobs)} searches of {args.budget:.0f}s, {args.lanes} lane(s), "
          f"{len(done)} already in {out}", flush=True)
    with ProcessPoolExecutor(args.lanes, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = {pool.submit(one_search, space, peer, seed, args.budget, args.data_dir,
                               args.keep): (space, peer, seed) for space, peer, seed in jobs}
        for future in as_completed(futures):
            space, peer, seed = futures[future]
            try:
                row = future.result()
            except Exception as error:  # report it and go on: the other searches still count
                print(f"{space} {peer} seed {seed}: failed: {error!r}", flush=True)
                continue
            row["commit"], row["cpu"] = commit, cpu
            with out.open("a") as handle:  # one line per search, appended whole
                handle.write(json.dumps(row) + "\n")
            last = row["incumbents"][-1] if row["incumbents"] else [None, None, None]
            print(f"{space} {peer:18s} seed {seed}: {row['trials']} trials "
                  f"({len(row['complete'])} complete), shipped val {last[1]} test {last[2]}",
                  flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spaces", default="mnist1d_families,table_preprocess,mnist_augment",
                        type=lambda s: s.split(","))
    parser.add_argument("--peers", default=",".join(PEERS), type=lambda s: s.split(","))
    parser.add_argument("--seeds", type=int, default=15)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--budget", type=float, default=1200.0, help="seconds per search")
    parser.add_argument("--lanes", type=int, default=1, choices=[1, 2])
    parser.add_argument("--out", default="search_quality.jsonl")
    parser.add_argument("--data-dir", default=str(Path(tempfile.gettempdir()) / "honed-sq-data"))
    parser.add_argument("--keep", metavar="DIR", help="keep every study folder (a replay pool)")
    parser.add_argument("--reference", default="optuna-tpe-median")
    parser.add_argument("--marks", default=",".join(map(str, MARKS)),
                        type=lambda s: [float(m) for m in s.split(",")])
    parser.add_argument("--summary", nargs="+", metavar="JSONL",
                        help="summarize these result files (merged) instead of running")
    args = parser.parse_args()
    unknown = [p for p in args.peers if p not in PEERS]
    if unknown:
        parser.error(f"unknown peer(s) {unknown}; known: {sorted(PEERS)}")
    if not args.summary:
        run(args)
    rows = read_lines([Path(p) for p in (args.summary or [args.out])])
    summarize(rows, reference=args.reference, marks=args.marks)


if __name__ == "__main__":
    main()
