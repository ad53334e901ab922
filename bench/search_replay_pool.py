"""The replay pool of bench/search_replay.py: configs of a space, each trained with several seeds.

Config 0 is the space's default point (honed's search trains it first); configs 1..N-1 are
random draws over the space through honed's own suggestion code (``suggest`` inside the
spec template's ``resolve``, so conditional dimensions appear only under the option that holds
them, and a point the schema refuses is drawn again), from Optuna's RandomSampler seeded by
``--draw-seed``: the same arguments give the same configs, which is what lets a rerun resume.

Each (config, seed) is one real honed search trial: ``tune`` with ``search.trials: 1`` on a
study into which the config was queued first (Optuna's ``enqueue_trial``; honed queues its
default point the same way), unpruned, one torch thread. The trial runs through the very code
of a search trial (the objective, its per-epoch report to SQLite, the best epoch kept in
memory, the model saved), so its epoch and set-up seconds are a search trial's, and its
``model/`` is the one that trial would ship. The split is fixed (``data.split.shuffle: false``;
MNIST-1D's rows are already in random order), since honed seeds the split and the training
with the one ``seed``: only the training differs between a config's seeds.

``--cap`` seconds (default 1500) stop a run that trains longer (a wide GRU at batch 16 takes 20
minutes on one thread); its line keeps the epochs it finished, with state CAPPED, and a replay
treats it as a trial that holds the lane to the end of any budget up to the cap. Runs go
through long-lived lanes, like trials through a search's process: the first run of a lane
(``fresh_process``) also pays the process's first-trial warm-up.
"""

from __future__ import annotations

import datetime
import json
import multiprocessing
import signal
import subprocess
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import optuna
from pruner_replay import as_ran  # this folder is on sys.path when a script here runs
from search_quality import space_with_data, spec_part
from search_speed import test_accuracy

from honed.data import prepare_data
from honed.errors import UserInputError
from honed.io import append_line, atomic_write_text
from honed.search import prepare_study, tune
from honed.search.default_first import default_params
from honed.search.objective import trial_dir
from honed.search.space import suggest
from honed.search.study import create_or_load_study
from honed.spec import spec_from_dict
from honed.spec.template import SpecTemplate

__all__ = ["pool_configs", "pool_spec", "build_pool", "read_pool", "PoolError"]

METRIC = "accuracy"
_LANE = {"runs": 0}  # runs this lane (process) has trained


class PoolError(Exception):
    """Bad input (a pool drawn otherwise, an unfinished one): one line, exit status 2."""


class Capped(BaseException):
    """Raised in a run that trained past ``--cap`` (a BaseException: nothing may catch it)."""


def pool_spec(space: dict, *, name: str, seed: int, epochs: int | None = None) -> dict:
    """The raw spec of one pool run: the space, a fixed split, one thread, one unpruned trial."""
    space = spec_part(space)
    data = space.get("data", {})
    train = {**space["train"], "threads": 1, **({"epochs": epochs} if epochs else {})}
    return {"name": name, "seed": seed, **space,
            "data": {**data, "split": {**data.get("split", {}), "shuffle": False}},
            "train": train,
            "search": {"trials": 1, "pruner": "none", "start_at_default": False,
                       "objectives": [f"val.{METRIC}:max"]}}


def pool_configs(template: SpecTemplate, count: int, *, draw_seed: int = 0
                 ) -> list[dict[str, Any]]:
    """The default point, then ``count - 1`` random points, as Optuna parameters."""
    configs = [default_params(template.dimensions)]
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=draw_seed))
    while len(configs) < count:
        trial = study.ask()
        try:
            template.resolve(lambda dim, trial=trial: suggest(trial, dim))
        except UserInputError:  # a point the schema refuses: a search's trial would fail too
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
            continue
        configs.append(dict(trial.params))
        study.tell(trial, 0.0)
    return configs


def read_pool(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def train_one(space_name: str, config: int, params: dict, seed: int, data_dir: str,
              epochs: int | None, keep: str | None, cap: float) -> dict:
    """Train one config with one seed as a one-trial search; its line of the pool."""
    space = space_with_data(space_name, data_dir)
    raw = pool_spec(space, name=f"pool-c{config:04d}-s{seed}", seed=seed, epochs=epochs)
    template = spec_from_dict(raw)
    began = time.perf_counter()  # what a search's first trial pays to prepare its data
    prepare_data(template.default.data, seed=seed)
    data_s = time.perf_counter() - began
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(keep or scratch) / raw["name"]
        setup = prepare_study(template, out_dir=out)
        setup.study_dir.mkdir(parents=True, exist_ok=True)
        study = create_or_load_study(setup.url, setup.name, setup.objectives, sampler=None,
                                     pruner=None, raw_spec=template.raw)
        if not study.get_trials(deepcopy=False):
            study.enqueue_trial(params)
        fresh = _LANE["runs"] == 0
        _LANE["runs"] += 1
        line = {"space": space_name, "config": config, "seed": seed, "params": params,
                "data_s": round(data_s, 4), "epochs": raw["train"].get("epochs"), "cap": cap,
                "fresh_process": fresh}
        try:
            _within(cap, lambda: tune(template, out_dir=out, progress=False))
        except Capped:  # the study may be mid-write: read the trial's history only
            history = trial_dir(setup.study_dir, 0) / "history.jsonl"
            text = history.read_text() if history.exists() else ""  # capped before epoch 1
            epochs_run = [json.loads(t) for t in text.splitlines() if t.strip()]
            return {**line, "state": "CAPPED", "values": [e["val"][METRIC] for e in epochs_run],
                    "seconds": [e["seconds"] for e in epochs_run], "setup": 0.0, "value": None,
                    "test": None}
        trial = study.get_trials(deepcopy=False)[-1]
        if trial.params != params:
            raise RuntimeError(f"config {config}: the trial ran {trial.params}, not {params}")
        ran = as_ran(setup.study_dir, trial, METRIC)
        complete = trial.state == optuna.trial.TrialState.COMPLETE
        test = test_accuracy(trial_dir(setup.study_dir, trial.number)) if complete else None
    return {**line, "state": trial.state.name, "values": list(ran.values),
            "seconds": list(ran.seconds), "setup": round(ran.setup, 4), "value": ran.value,
            "test": test}


def _within(cap: float, run) -> None:
    """``run()``, stopped by :class:`Capped` after ``cap`` seconds of wall time.

    The alarm repeats until ``run`` stops: Python drops an exception raised while it runs a
    finalizer (a weakref callback, a ``__del__``), and one alarm could land there.
    """
    def stop(*_):
        raise Capped

    previous = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, cap, min(1.0, cap))
    try:
        run()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def build_pool(space_name: str, *, configs: int, seeds: int, out: Path, lanes: int = 1,
               epochs: int | None = None, draw_seed: int = 0, data_dir: str | None = None,
               keep: str | None = None, cap: float = 1500.0) -> int:
    """Append the missing (config, seed) lines to ``out``; returns how many ran."""
    data_dir = data_dir or str(Path(tempfile.gettempdir()) / "honed-sq-data")
    space = space_with_data(space_name, data_dir)
    points = pool_configs(spec_from_dict(pool_spec(space, name="pool", seed=0)), configs,
                          draw_seed=draw_seed)
    text = out.read_text() if out.exists() else ""
    if not text.endswith("\n") and text:  # a line cut short by a kill: drop it, run it again
        atomic_write_text(out, text[:text.rfind("\n") + 1])
    done = set()
    for row in read_pool(out):
        if row["space"] != space_name or (row["config"] < len(points)
                                          and row["params"] != points[row["config"]]):
            raise PoolError(f"{out}: config {row['config']} was drawn with other settings "
                             f"(space, --draw-seed); use another --out")
        done.add((row["config"], row["seed"]))
    jobs = [(c, s) for s in range(seeds) for c in range(configs) if (c, s) not in done]
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True, cwd=Path(__file__).parent).stdout.strip()
    print(f"{len(jobs)} runs, {lanes} lane(s), {len(done)} already in {out}", flush=True)
    ran = 0
    calls = [(train_one, space_name, c, points[c], s, data_dir, epochs, keep, cap)
             for c, s in jobs]
    for index, row in _lanes(calls, lanes):
        config, seed = jobs[index]
        if isinstance(row, Exception):  # report it and go on: the other runs still count
            print(f"config {config} seed {seed}: failed: {row!r}", flush=True)
            continue
        row.update(commit=commit, finished_utc=datetime.datetime.now(
            datetime.UTC).isoformat(timespec="seconds"))
        append_line(out, row)  # one line per run, appended whole and fsynced
        ran += 1
        print(f"config {config:4d} seed {seed}: {row['state']} val {row['value']} test "
              f"{row['test']} ({sum(row['seconds']):.1f}s + {row['setup']:.1f}s)", flush=True)
    return ran


def _lanes(calls: list[tuple], lanes: int):
    """(index, result or exception) of each call as it ends: one lane is this process, more
    are long-lived spawned processes."""
    if lanes == 1:
        for index, (function, *args) in enumerate(calls):
            try:
                yield index, function(*args)
            except Exception as error:
                yield index, error
        return
    with ProcessPoolExecutor(lanes, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = {pool.submit(*call): index for index, call in enumerate(calls)}
        for future in as_completed(futures):
            try:
                yield futures[future], future.result()
            except Exception as error:
                yield futures[future], error
