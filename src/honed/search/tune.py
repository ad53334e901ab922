"""``tune``: a spec with search dimensions in, a finished Optuna study in the run dir out."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import optuna
from rich.console import Console

from honed.cpu import sharing_env
from honed.data import prepare_data
from honed.errors import HonedError, UserInputError
from honed.io import atomic_write_text, make_folder, remove_stale_temp_files
from honed.rundir import RunDir
from honed.search.auto_lr import expand_auto_lr
from honed.search.coarse_to_fine import coarse_until, run_coarse_to_fine
from honed.search.default_first import (
    default_point_status,
    describe_default_point,
    enqueue_default,
)
from honed.search.objective import TrialObjective
from honed.search.objectives import Objective, describe_objectives, study_objectives
from honed.search.placement import (
    VISIBLE_VARIABLE,
    check_gpus_per_trial,
    place_workers,
    visible_gpus,
)
from honed.search.progress import StudyProgress
from honed.search.pruners import create_pruner
from honed.search.repeats import describe_repeats
from honed.search.results import write_results
from honed.search.samplers import create_sampler, grid_points, trial_target
from honed.search.space import most_epochs
from honed.search.stop import DeadlineNotice, describe_stop, stop_reason
from honed.search.storage import STORAGE_VARIABLE, check_storage, open_storage, settle, sqlite_url
from honed.search.study import TARGET, create_or_load_study, finished_count
from honed.search.worker import stop_processes, work
from honed.spec.memory import is_memory_source
from honed.spec.schema import SearchSpec, Spec
from honed.spec.template import SpecTemplate
from honed.spec.yaml_io import dump_yaml
from honed.train.threads import pick_threads

__all__ = ["tune", "TuneOutcome", "StudySetup", "prepare_study"]

optuna.logging.set_verbosity(optuna.logging.WARNING)


@dataclass
class StudySetup:
    """Everything a coordinator or a worker needs to run trials of one spec."""

    template: SpecTemplate
    search: SearchSpec
    objectives: list[Objective]
    run: RunDir
    url: str
    asked: int = 0  # search.trials as asked for; search.trials is a grid's points when fewer
    grid_points: int | None = None  # a grid search's size

    @property
    def name(self) -> str:
        return self.template.default.name

    @property
    def study_dir(self) -> Path:
        return self.run.root / "study"

    def sampler_seed(self, worker: int = 0, *, start: int = 0) -> int:
        """The seed of a sampler that ``worker`` makes when the study holds ``start`` trials.

        Each worker seeds its own, or parallel workers would draw alike; and a study that is
        continued seeds anew, or its sampler would replay the random start-up draws that the
        first session already tried. A fresh study (``start`` 0) stays reproducible.
        """
        spec: Spec = self.template.default
        seed = self.search.seed if self.search.seed is not None else spec.seed
        # NumPy, and so Optuna's samplers, take seeds below 2**32
        return (seed + 7919 * worker + 104_729 * start) % 2**32

    def sampler(self, worker: int = 0, *, start: int = 0):
        """The sampler of ``worker`` for a study holding ``start`` trials (see sampler_seed)."""
        return create_sampler(self.search.sampler, dimensions=self.template.dimensions,
                              seed=self.sampler_seed(worker, start=start),
                              objectives=len(self.objectives))

    def use_sampler(self, study: optuna.Study, worker: int = 0) -> None:
        """Give ``study`` the sampler of ``worker``, seeded for the trials the study holds now.

        ``sampler: default`` leaves Optuna's own (unseeded) default in place.
        """
        sampler = self.sampler(worker, start=len(study.get_trials(deepcopy=False)))
        if sampler is not None:
            study.sampler = sampler

    def limit(self, trials: int) -> int:
        """``trials`` (a worker's --trials), at most a grid search's points."""
        return trials if self.grid_points is None else min(trials, self.grid_points)

    def pruner(self):
        # with cross-validation a step is a fold, not an epoch (Hyperband's max_resource)
        steps = self.search.cv or most_epochs(self.template)
        return create_pruner(self.search.pruner, epochs=steps, objectives=len(self.objectives))

    def objective(self) -> TrialObjective:
        return TrialObjective(self.template, self.objectives, self.study_dir, cv=self.search.cv,
                              gpus=self.search.gpus_per_trial)


@dataclass
class TuneOutcome:
    study: optuna.Study
    run_dir: RunDir
    best: list[optuna.trial.FrozenTrial]


def prepare_study(template: SpecTemplate, *, out_dir: str | Path, storage: str | None = None,
                  trials: int | None = None, timeout: float | None = None,
                  workers: int | None = None) -> StudySetup:
    """Check the search settings against the data without writing anything."""
    spec = template.default
    search = (spec.search or SearchSpec()).model_copy(update={
        k: v for k, v in {"trials": trials, "timeout": timeout, "workers": workers,
                          "storage": storage}.items() if v is not None})
    if not template.dimensions:
        raise UserInputError("the spec has no search dimensions; write some as {float: [lo, hi]}"
                             ", {int: [lo, hi]} or {choice: [...]}, or use honed train")
    if search.workers > 1 and is_memory_source(spec.data.source):
        raise UserInputError("search.workers > 1 runs trials in other processes, which cannot "
                             "see data handed in from Python; use 1 worker or a data file")
    check_gpus_per_trial(search.gpus_per_trial, visible_gpus())
    task = prepare_data(spec.data, seed=spec.seed, base_dir=template.base_dir).task
    objectives = study_objectives(search.objectives, spec.train.monitor, task)
    run = RunDir(out_dir)
    if search.storage:
        check_storage(search.storage)  # unreachable: one line, before anything is written
    url = search.storage or sqlite_url(run.root / "study")
    asked = search.trials
    # a grid with fewer points than trials runs each point once (the sampler check is below)
    search = search.model_copy(update={"trials": trial_target(search, template.dimensions)})
    setup = StudySetup(template, search, objectives, run, url, asked=asked,
                       grid_points=grid_points(search, template.dimensions))
    setup.sampler()  # a grid over a continuous dimension fails here, before anything is written
    setup.pruner()
    return setup


def tune(template: SpecTemplate, *, out_dir: str | Path, storage: str | None = None,
         trials: int | None = None, timeout: float | None = None, workers: int | None = None,
         progress: bool = True, note: Callable[[str], None] | None = None) -> TuneOutcome:
    """Run (or continue) the study of ``template`` with ``workers`` processes on this machine.

    ``note`` prints one-line messages for people: the objective and where it came from, a
    timeout reached while trials run, why the study stopped. ``study/best.json`` keeps the
    last as ``stop_reason`` and ``wall_seconds`` (see :mod:`honed.search.stop`).
    """
    began = time.time()
    note = note or (lambda text: None)
    # before the checks: a spec whose only dimension is lr: auto must count as a search, and
    # space.yaml and the fingerprint must hold the real range
    template = expand_auto_lr(template, run_dir=out_dir)
    setup = prepare_study(template, out_dir=out_dir, storage=storage, trials=trials,
                          timeout=timeout, workers=workers)
    search = setup.search
    remove_stale_temp_files(setup.study_dir)  # what killed writes of trial files left
    make_folder(setup.study_dir)
    study = create_or_load_study(setup.url, setup.name, setup.objectives, sampler=None,
                                 pruner=setup.pruner(), raw_spec=template.raw)
    setup.use_sampler(study)
    if search.start_at_default and search.sampler.name != "grid":  # a grid holds every point
        enqueue_default(study, setup.template.dimensions)
    study.set_user_attr(TARGET, search.trials)  # honed worker without --trials follows it
    atomic_write_text(setup.study_dir / "space.yaml", dump_yaml(template.raw))
    note(describe_objectives(setup.objectives, written=search.objectives is not None))
    deadline = time.time() + search.timeout if search.timeout else None
    try:
        with StudyProgress(study, search.trials, enabled=progress, deadline=deadline), \
                DeadlineNotice(study, deadline, note):
            if search.workers > 1:
                _run_workers(setup, deadline, template)
            elif search.strategy == "coarse-to-fine":
                run_coarse_to_fine(setup, study, deadline=deadline, phase_one_until=coarse_until(
                    deadline, search.timeout, search.coarse_fraction), console=Console(
                    stderr=True, highlight=False) if progress else None)
            else:
                work(study, setup.objective(), trials=search.trials, deadline=deadline)
    except KeyboardInterrupt:
        try:  # the trial in progress is queued again already; say so and keep the record
            _finish(setup, study, "interrupted", began, note)
        except Exception:  # a locked database must not hide the interruption
            pass
        raise
    reason = stop_reason(study, trials=search.trials, grid_points=setup.grid_points,
                         deadline=deadline)
    best = _finish(setup, study, reason, began, note)
    settle(setup.url)
    return TuneOutcome(study=study, run_dir=setup.run, best=best)


def _finish(setup: StudySetup, study: optuna.Study, reason: str, began: float,
            note: Callable[[str], None]) -> list[optuna.trial.FrozenTrial]:
    """Write trials.csv and best.json (with why the study stopped) and say why, once."""
    wall = time.time() - began
    default = default_point_status(study)
    best = write_results(study, setup.study_dir, setup.objectives, extra={
        "stop_reason": reason, "wall_seconds": round(wall, 3), "default_point": default})
    note(describe_stop(reason, done=finished_count(study), trials=setup.search.trials,
                       asked=setup.asked, wall_seconds=wall, timeout=setup.search.timeout))
    repeats = describe_repeats(study.get_trials(deepcopy=False))
    if repeats:
        note(repeats)
    missing = describe_default_point(default)
    if missing and reason != "interrupted":
        note(missing)
    return best


def worker_command(setup: StudySetup, template: SpecTemplate, *, threads: int,
                   deadline: float | None, processes: int = 1) -> tuple[list[str], dict[str, str]]:
    """The ``honed worker`` command line and environment for one local worker (add --index),
    one of ``processes`` that share this machine's cores (``data.workers: auto`` divides them).

    The storage URL travels in the environment, not the command line: a PostgreSQL URL may
    hold a password, and every user of the machine can read a process's arguments.
    """
    # space.yaml holds the spec with its overrides applied; relative data paths are read from
    # the original spec's folder
    space = setup.study_dir / "space.yaml"
    command = [sys.executable, "-m", "honed.cli.main", "worker", str(space),
               "--out", str(setup.run.root), "--threads", str(threads),
               "--trials", str(setup.search.trials), "--base-dir", str(template.base_dir),
               "--parent", str(os.getpid())]
    if deadline is not None:
        command += ["--deadline", str(deadline)]
        until = coarse_until(deadline, setup.search.timeout, setup.search.coarse_fraction)
        if setup.search.strategy == "coarse-to-fine" and until is not None:
            command += ["--coarse-until", str(until)]
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads),
           STORAGE_VARIABLE: setup.url, **sharing_env(processes)}
    return command, env


def _run_workers(setup: StudySetup, deadline: float | None, template: SpecTemplate) -> None:
    """Start ``workers`` ``honed worker`` processes on this machine and wait for them.

    Each worker gets its share of the free cores (``train.threads``) so as not to fight over
    them, and its own group of ``search.gpus_per_trial`` GPUs when the machine has GPUs (see
    :mod:`honed.search.placement`). Workers log to ``study/workers/NN.log``, die with this
    process (Linux), and on Ctrl-C are stopped with SIGTERM, which makes each queue its trial
    in progress again.
    """
    def finished() -> bool:
        study = optuna.load_study(study_name=setup.name, storage=open_storage(setup.url))
        return finished_count(study) >= setup.search.trials

    if finished():
        return  # a finished study run again: no worker to start
    count = min(setup.search.workers, setup.search.trials)
    threads = pick_threads(template.default.train.threads, workers=count).threads
    command, env = worker_command(setup, template, threads=threads, deadline=deadline,
                                  processes=count)
    placed = place_workers(count, visible_gpus(), setup.search.gpus_per_trial)
    logs = setup.study_dir / "workers"
    logs.mkdir(exist_ok=True)
    procs: list[subprocess.Popen] = []
    try:
        for index in range(count):
            with open(logs / f"{index:02d}.log", "ab") as log:
                # a session of their own: Ctrl-C reaches the coordinator only, which stops
                # each worker exactly once (a second signal would cut its clean-up short)
                gpus = {} if placed[index] is None else {VISIBLE_VARIABLE: placed[index]}
                procs.append(subprocess.Popen([*command, "--index", str(index)],
                                              env={**env, **gpus},
                                              stdin=subprocess.DEVNULL,
                                              stdout=subprocess.DEVNULL, stderr=log,
                                              start_new_session=True))
        for proc in procs:
            proc.wait()
    except BaseException:
        stop_processes(procs)
        raise
    failed = [(i, p.returncode) for i, p in enumerate(procs) if p.returncode != 0]
    if not failed or (deadline is not None and time.time() >= deadline):
        return
    if finished():
        return  # a worker died, the others finished its trials
    index, code = failed[0]
    lines = (logs / f"{index:02d}.log").read_text(errors="replace").strip().splitlines()
    why = lines[-1] if lines and code > 0 else (f"killed by signal {-code}" if code < 0
                                                  else "no message")
    raise HonedError(f"worker {index} stopped before the study finished ({why}); its log is "
                     f"{logs / f'{index:02d}.log'}")
