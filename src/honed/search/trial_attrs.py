"""Set several user attributes of a running trial in one storage commit.

``trial.set_user_attr`` is one transaction per key; in an RDB study each is a commit (on SQLite
one fsync of the write-ahead log) and a round of SQLAlchemy's work per call, and a trial sets
seven or more at its start (its folder, where it runs, its planned steps). On Optuna's
``RDBStorage``, bare or in the ``_CachedStorage`` that ``optuna.create_study`` wraps it in,
:func:`set_trial_user_attrs` writes them all in one session with one commit; on any other
storage (in memory, journal) it sets them one by one through ``trial.set_user_attr``.
On SQLite and PostgreSQL the commit holds two statements: Optuna's check that the trial is
still running, made once, and one upsert of every key, stored as Optuna's own writer stores
one (``json.dumps`` of the value); Optuna's writer would check the trial and upsert once per
key. On other databases (MySQL) the keys go through that writer, in the one commit.

The one-commit path uses Optuna's private API (checked with Optuna 5.1):
``optuna.storages._rdb.storage._create_scoped_session``,
``RDBStorage._set_trial_attr_without_commit(session, model_cls, trial_id, key, value)``,
``optuna.storages._rdb.models.TrialModel.find_or_raise_by_id(trial_id, session)``,
``optuna.storages._rdb.models.TrialUserAttributeModel`` (its columns ``trial_id``, ``key`` and
``value_json``), ``_CachedStorage._backend``, and the trial's ``_trial_id`` and
``_cached_frozen_trial`` (what ``trial.user_attrs`` reads). When an Optuna release renames any
of them, :func:`private_api_missing` names what is gone and the attributes go one by one again
(correct, just slower); ``tests/search/test_trial_attrs.py`` fails on that, so an upgrade does
not slow trials down unnoticed.
"""

from __future__ import annotations

import functools
import inspect
import json
import sqlite3
from collections.abc import Mapping
from typing import Any

import optuna

__all__ = ["set_trial_user_attrs", "private_api_missing"]

_WRITER_PARAMETERS = ["session", "model_cls", "trial_id", "key", "value"]


def set_trial_user_attrs(trial: optuna.Trial, attrs: Mapping[str, Any]) -> None:
    """``trial.set_user_attr(key, value)`` for every item of ``attrs``, in one commit if it can.

    All or nothing in an RDB study: a trial that is no longer running (another process marked
    it failed) raises as ``set_user_attr`` would, and no key is written.

    Example:
        >>> study = optuna.create_study()
        >>> trial = study.ask()
        >>> set_trial_user_attrs(trial, {"dir": "trials/0000", "threads": 2})
        >>> trial.user_attrs
        {'dir': 'trials/0000', 'threads': 2}
    """
    if not attrs:
        return
    backend = _rdb_backend(trial)
    if backend is None:
        for key, value in attrs.items():
            trial.set_user_attr(key, value)
        return
    import sqlalchemy.exc
    from optuna.storages._rdb import models
    from optuna.storages._rdb.storage import _create_scoped_session

    try:
        # integrity errors raise here (Optuna's one-key writes ignore them): the upserts of
        # SQLite, PostgreSQL and MySQL never hit one, another database might, and then the
        # keys go one at a time as Optuna writes them instead of being lost together
        with _create_scoped_session(backend.scoped_session) as session:
            upsert = _upsert(backend.engine.name)
            if upsert is None:
                for key, value in attrs.items():
                    backend._set_trial_attr_without_commit(
                        session, models.TrialUserAttributeModel, trial._trial_id, key, value)
            else:
                _write_at_once(backend, session, upsert, trial._trial_id, attrs)
    except sqlalchemy.exc.IntegrityError:
        for key, value in attrs.items():
            trial.set_user_attr(key, value)
        return
    trial._cached_frozen_trial.user_attrs.update(attrs)


def _upsert(dialect: str):
    """SQLAlchemy's ``insert`` with ``on_conflict_do_update`` for ``dialect``; None without one."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert

        return insert
    if dialect == "sqlite" and sqlite3.sqlite_version_info >= (3, 24, 0):  # upsert since 3.24
        from sqlalchemy.dialects.sqlite import insert

        return insert
    return None


def _write_at_once(backend: optuna.storages.RDBStorage, session, upsert, trial_id: int,
                   attrs: Mapping[str, Any]) -> None:
    """Optuna's check that the trial may change, once, then one upsert of every key."""
    from optuna.storages._rdb import models

    row = models.TrialModel.find_or_raise_by_id(trial_id, session)
    backend.check_trial_is_updatable(trial_id, row.state)  # a finished trial: RuntimeError
    table = models.TrialUserAttributeModel
    statement = upsert(table).values([{"trial_id": trial_id, "key": key,
                                       "value_json": json.dumps(value)}
                                      for key, value in attrs.items()])
    session.execute(statement.on_conflict_do_update(
        index_elements=[table.trial_id, table.key],
        set_={"value_json": statement.excluded.value_json}))


@functools.cache
def private_api_missing() -> tuple[str, ...]:
    """The Optuna private names the one-commit path needs that this Optuna lacks (none: usable).

    The instance attributes (``_CachedStorage._backend``, ``Trial._trial_id`` and
    ``Trial._cached_frozen_trial``) are looked for on the trial at hand instead.
    """
    missing = []
    try:
        from optuna.storages._rdb import models
        from optuna.storages._rdb.storage import _create_scoped_session  # noqa: F401
    except ImportError:
        return ("optuna.storages._rdb.storage._create_scoped_session",)
    table = getattr(models, "TrialUserAttributeModel", None)
    if table is None or not all(hasattr(table, c) for c in ("trial_id", "key", "value_json")):
        missing.append("optuna.storages._rdb.models.TrialUserAttributeModel"
                       "(trial_id, key, value_json)")
    finder = getattr(getattr(models, "TrialModel", None), "find_or_raise_by_id", None)
    if finder is None or list(inspect.signature(finder).parameters)[:2] != ["trial_id", "session"]:
        missing.append("optuna.storages._rdb.models.TrialModel.find_or_raise_by_id"
                       "(trial_id, session)")
    writer = getattr(optuna.storages.RDBStorage, "_set_trial_attr_without_commit", None)
    if writer is None or list(inspect.signature(writer).parameters)[1:] != _WRITER_PARAMETERS:
        missing.append("RDBStorage._set_trial_attr_without_commit"
                       f"(self, {', '.join(_WRITER_PARAMETERS)})")
    return tuple(missing)


def _rdb_backend(trial: Any) -> optuna.storages.RDBStorage | None:
    """The RDBStorage under a running trial, when the one-commit path can use it."""
    storage = getattr(trial, "storage", None)
    if storage is None or not isinstance(trial, optuna.Trial):
        return None  # a FixedTrial or the like
    backend = getattr(storage, "_backend", storage)  # a study wraps an RDBStorage in a cache
    if not isinstance(backend, optuna.storages.RDBStorage) or private_api_missing():
        return None
    if not hasattr(trial, "_trial_id") or not hasattr(trial, "_cached_frozen_trial"):
        return None
    return backend
