"""A trial's reads of the study: honed's checks at its start share the sampler's read.

A real SQLite study, real trials through the worker loop's guard; reads of the study's trials
counted with a SQLAlchemy event on the storage's own engine.
"""

from __future__ import annotations

import threading

import optuna
import pytest
import sqlalchemy
from optuna.trial import TrialState

from honed.search.objective import TrialObjective
from honed.search.objectives import parse_objectives
from honed.search.repeats import REPEAT_OF_ATTR
from honed.search.storage import open_storage, sqlite_url
from honed.search.worker import _Guarded
from honed.spec import spec_from_dict

pytestmark = pytest.mark.filterwarnings("ignore:Heartbeat of storage:UserWarning")

SPEC = {"name": "reads", "data": {"source": "builtin:iris"},
        "model": {"family": "mlp", "hidden": {"choice": [8, 16]}},
        "train": {"epochs": 1, "batch_size": 32, "optimizer": {"name": "adamw", "lr": 0.01}}}


class StudyReads:
    """Reads of a study's trials (Optuna's ``_get_trials`` query) made by this thread."""

    def __init__(self, engine):
        self.statements: list[str] = []
        self._thread = threading.get_ident()  # not the heartbeat thread's
        sqlalchemy.event.listen(engine, "before_cursor_execute", self._execute)

    def _execute(self, conn, cursor, statement, parameters, context, executemany):
        text = " ".join(statement.split())
        if (threading.get_ident() == self._thread and text.startswith("SELECT trials.trial_id")
                and "FROM trials WHERE trials.study_id" in text):
            self.statements.append(text[text.find(" FROM "):])


def counted_study(folder, objective) -> tuple[optuna.Study, list[str]]:
    """Four trials of ``objective`` in a fresh SQLite study, and the reads they made."""
    folder.mkdir()
    storage = open_storage(sqlite_url(folder), writer=True)
    study = optuna.create_study(storage=storage, direction="maximize",
                                sampler=optuna.samplers.TPESampler(seed=0),
                                pruner=optuna.pruners.NopPruner())
    reads = StudyReads(storage.engine)
    study.optimize(objective, n_trials=4)
    return study, list(reads.statements)  # what the test reads later is not counted


def test_the_surplus_and_repeat_checks_add_no_read_to_the_samplers(tmp_path):
    # a trial's surplus check (the worker loop's guard) reads the study, and the sampler and
    # the repeat check use that read; before, each of the three read it (2 more reads a
    # trial, each a round of 7 queries on SQLite)
    objective = TrialObjective(spec_from_dict(SPEC),
                               parse_objectives(["val.accuracy:max"], "classification"),
                               tmp_path / "study")
    honed, honed_reads = counted_study(tmp_path / "honed", _Guarded(objective, 4))
    # the same points drawn by a bare objective: what Optuna reads by itself
    bare, bare_reads = counted_study(tmp_path / "bare",
                                     lambda trial: (objective.resolve(trial), 1.0)[1])
    assert [t.state for t in honed.trials] == [TrialState.COMPLETE] * 4
    assert [t.params for t in honed.trials] == [t.params for t in bare.trials]
    assert len(honed_reads) == len(bare_reads) > 0, (honed_reads, bare_reads)
    # two points, four trials: the shared read still finds every point trained before
    points = {t.params["model.hidden"] for t in honed.trials}
    assert sum(REPEAT_OF_ATTR in t.user_attrs for t in honed.trials) == 4 - len(points) > 0
