"""``tune``: a spec with search dimensions in, a finished Optuna study in the run dir out."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import optuna

from honed.data import prepare_data
from honed.errors import UserInputError
from honed.io import atomic_write_text
from honed.rundir import RunDir
from honed.search.objective import TrialObjective
from honed.search.objectives import Objective, parse_objectives
from honed.search.progress import StudyProgress
from honed.search.pruners import create_pruner
from honed.search.results import write_results
from honed.search.samplers import create_sampler
from honed.search.storage import sqlite_url
from honed.search.study import create_or_load_study, finished_count
from honed.search.worker import work
from honed.spec.schema import SearchSpec, Spec
from honed.spec.template import SpecTemplate
from honed.spec.yaml_io import dump_yaml

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

    @property
    def name(self) -> str:
        return self.template.default.name

    @property
    def study_dir(self) -> Path:
        return self.run.root / "study"

    def sampler(self, worker: int = 0):
        """The sampler; each worker seeds its own, or parallel workers would draw alike."""
        spec: Spec = self.template.default
        seed = self.search.seed if self.search.seed is not None else spec.seed
        return create_sampler(self.search.sampler, dimensions=self.template.dimensions,
                              seed=seed + 7919 * worker, objectives=len(self.objectives))

    def pruner(self):
        return create_pruner(self.search.pruner, epochs=self.template.default.train.epochs,
                             objectives=len(self.objectives))

    def objective(self) -> TrialObjective:
        return TrialObjective(self.template, self.objectives, self.study_dir)


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
    task = prepare_data(spec.data, seed=spec.seed, base_dir=template.base_dir).task
    objectives = parse_objectives(search.objectives, task)
    run = RunDir(out_dir)
    url = search.storage or sqlite_url(run.root / "study")
    setup = StudySetup(template, search, objectives, run, url)
    setup.sampler()  # a grid over a continuous dimension fails here, before anything is written
    setup.pruner()
    return setup


def tune(template: SpecTemplate, *, out_dir: str | Path, storage: str | None = None,
         trials: int | None = None, timeout: float | None = None, workers: int | None = None,
         progress: bool = True) -> TuneOutcome:
    """Run (or continue) the study of ``template`` with ``workers`` processes on this machine."""
    setup = prepare_study(template, out_dir=out_dir, storage=storage, trials=trials,
                          timeout=timeout, workers=workers)
    search = setup.search
    setup.study_dir.mkdir(parents=True, exist_ok=True)
    study = create_or_load_study(setup.url, setup.name, setup.objectives, sampler=setup.sampler(),
                                 pruner=setup.pruner(), raw_spec=template.raw)
    atomic_write_text(setup.study_dir / "space.yaml", dump_yaml(template.raw))
    deadline = time.time() + search.timeout if search.timeout else None
    with StudyProgress(study, search.trials, enabled=progress):
        if search.workers > 1:
            _run_workers(setup, deadline, template)
        else:
            work(study, setup.objective(), trials=search.trials, deadline=deadline)
    best = write_results(study, setup.study_dir, setup.objectives)
    return TuneOutcome(study=study, run_dir=setup.run, best=best)


def _run_workers(setup: StudySetup, deadline: float | None, template: SpecTemplate) -> None:
    """Start ``workers`` ``honed worker`` processes on this machine and wait for them."""
    count = setup.search.workers
    threads = max(1, (os.cpu_count() or 1) // count)
    # space.yaml holds the spec with its overrides applied; relative data paths are read from
    # the original spec's folder
    space = setup.study_dir / "space.yaml"
    command = [sys.executable, "-m", "honed.cli.main", "worker", str(space), "--storage",
               setup.url, "--out", str(setup.run.root), "--threads", str(threads),
               "--trials", str(setup.search.trials), "--base-dir", str(template.base_dir)]
    if deadline is not None:
        command += ["--deadline", str(deadline)]
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    procs = [subprocess.Popen([*command, "--index", str(index)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
             for index in range(count)]
    try:
        for proc in procs:
            proc.wait()
    except KeyboardInterrupt:
        for proc in procs:
            proc.terminate()
        raise
    failed = [p for p in procs if p.returncode not in (0, -9)]
    if failed and finished_count(optuna.load_study(study_name=setup.name,
                                                   storage=setup.url)) < setup.search.trials:
        message = failed[0].stderr.read().decode(errors="replace").strip().splitlines()
        raise UserInputError(f"a worker failed: {message[-1] if message else 'no message'}")
