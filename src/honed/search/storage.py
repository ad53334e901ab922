"""Study storage: SQLite in the run dir by default, PostgreSQL (or any RDB URL) for many machines.

Heartbeats are on, so a worker killed mid-trial leaves a trial that the sweeper (see
:mod:`honed.search.sweeper`) marks failed within ``HEARTBEAT + GRACE + SWEEP`` seconds; the
retry callback (:mod:`honed.search.retry`) then queues the same parameters once more.

A SQLite study runs in write-ahead-log mode: each commit is one append and one fsync of
``study.db-wal`` instead of the rollback journal's create, write, fsync and delete; that was
about a fifth of honed's overhead per trial (``bench/trial_overhead.py``). ``synchronous``
stays at SQLite's default (FULL), so a committed trial survives a crash or a power cut as
before. :func:`settle` folds the log back into ``study.db`` when a study ends.

A trial's own writes are few: its start attributes (folder, worker, device, threads, planned
steps) go in one commit through :func:`honed.search.trial_attrs.set_trial_user_attrs`.
"""

from __future__ import annotations

import time
import warnings
from pathlib import Path

import optuna
from optuna.storages import RDBStorage

from honed.errors import UserInputError
from honed.install import install_hint
from honed.search.retry import RetryKilledTrial

__all__ = ["open_storage", "settle", "check_storage", "sqlite_url", "safe_url",
           "HEARTBEAT_SECONDS", "GRACE_SECONDS", "CONNECT_TIMEOUT_SECONDS", "with_driver",
           "STORAGE_VARIABLE"]

# heartbeats and the retry callback are marked experimental in Optuna; they are what makes
# crash-safe studies possible, so honed relies on them knowingly
warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)

HEARTBEAT_SECONDS = 2
#: the environment variable ``honed worker`` reads the storage URL from without --storage
STORAGE_VARIABLE = "HONED_STORAGE"
GRACE_SECONDS = 8
#: a firewalled host would otherwise hang for the operating system's TCP timeout (minutes)
CONNECT_TIMEOUT_SECONDS = 10
#: what SQLite and PostgreSQL say to the loser of two processes creating the tables at once
_CREATION_RACE = ("already exists", "duplicate key", "UNIQUE constraint failed")


def sqlite_url(study_dir: Path) -> str:
    return f"sqlite:///{(Path(study_dir) / 'study.db').resolve()}"


def open_storage(url: str, *, writer: bool = False) -> RDBStorage:
    """An RDB storage with heartbeats and one retry of killed trials; unreachable → exit 2.

    ``writer``: the caller runs trials in it, so a SQLite file is switched to write-ahead-log
    mode; readers (``honed study show``, the report) leave the file as they found it.
    """
    engine = _engine_kwargs(url)
    for attempt in range(3):
        try:
            storage = RDBStorage(with_driver(url), engine_kwargs=engine,
                                 heartbeat_interval=HEARTBEAT_SECONDS, grace_period=GRACE_SECONDS,
                                 heartbeat_stale_trial_callback=RetryKilledTrial())
            if writer:  # kept in the file: the first writer switches it for every later one
                _sqlite_pragma(storage.engine, "journal_mode=WAL")
            return storage
        except ImportError as exc:
            raise _driver_error(url, exc) from None
        except Exception as exc:  # sqlalchemy's OperationalError and friends
            # two processes creating the tables of a new database at once: one of them loses
            # the race; the tables are there now
            if attempt < 2 and any(sign in str(exc) for sign in _CREATION_RACE):
                time.sleep(0.2 * (attempt + 1))
                continue
            raise _unreachable(url, exc) from None
    raise AssertionError("the last attempt returns or raises")


def settle(url: str) -> None:
    """Fold a SQLite study's write-ahead log into ``study.db`` and empty it.

    The file then holds every trial on its own (a copy of ``study.db`` alone is complete), and
    its modification time is the study's last write, which the report stage compares with.
    """
    import sqlalchemy

    if not url.startswith("sqlite"):
        return
    engine = sqlalchemy.create_engine(url, **_engine_kwargs(url))
    try:
        _sqlite_pragma(engine, "wal_checkpoint(TRUNCATE)")
    finally:
        engine.dispose()


def _sqlite_pragma(engine, pragma: str) -> None:
    """Run ``PRAGMA pragma`` on a SQLite database; other databases are left alone.

    Best effort: a file system without shared memory for the log (some network mounts) keeps
    SQLite's default journal, which is slower but just as safe.
    """
    if engine.dialect.name != "sqlite":
        return
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql(f"PRAGMA {pragma}")
    except Exception:
        pass


def check_storage(url: str) -> None:
    """Connect once to a storage the user named, creating nothing; one-line error otherwise.

    A SQLite file may be new, but its folder must exist: SQLite would not create the folder,
    and a typo in the path should not become a fresh, empty study somewhere else.
    """
    import sqlalchemy

    engine_kwargs = _engine_kwargs(url)
    parsed = sqlalchemy.engine.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        folder = Path(parsed.database).resolve().parent  # as SQLite reads it: no ~
        if not folder.is_dir():
            raise UserInputError(f"cannot reach storage {safe_url(url)}: folder {folder} does "
                                 "not exist")
        return
    try:
        engine = sqlalchemy.create_engine(with_driver(url), **engine_kwargs)
    except ImportError as exc:
        raise _driver_error(url, exc) from None
    try:
        with engine.connect():
            pass
    except Exception as exc:
        raise _unreachable(url, exc) from None
    finally:
        engine.dispose()


def with_driver(url: str) -> str:
    """The URL with an installed database driver named when it names none.

    ``postgresql://`` means psycopg 3 to SQLAlchemy 2.1 and psycopg2 to 2.0; honed[postgres]
    installs psycopg2, so a plain URL takes whichever of the two is there (same for MySQL).
    """
    import importlib.util

    import sqlalchemy

    try:
        parsed = sqlalchemy.engine.make_url(url)
    except Exception:
        return url
    choices = {"postgresql": ("psycopg", "psycopg2"), "mysql": ("MySQLdb", "pymysql")}
    if parsed.drivername not in choices:
        return url
    modules = choices[parsed.drivername]
    try:  # SQLAlchemy's own default first, when its module is installed
        sqlalchemy.dialects.registry.load(parsed.drivername).import_dbapi()
        return url
    except ImportError:
        pass
    for module in modules:
        if importlib.util.find_spec(module) is not None:
            driver = {"MySQLdb": "mysqldb"}.get(module, module)
            return parsed.set(drivername=f"{parsed.drivername}+{driver}").render_as_string(
                hide_password=False)
    return url


def safe_url(url: str) -> str:
    """The URL without its password, for messages."""
    import sqlalchemy

    try:
        return sqlalchemy.engine.make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a URL at all: nothing to hide
        return url


def _engine_kwargs(url: str) -> dict:
    """SQLAlchemy engine options per database; refuses URLs that cannot hold a shared study."""
    import sqlalchemy

    try:
        backend = sqlalchemy.engine.make_url(url).get_backend_name()
    except Exception:
        backend = ""
    if backend == "sqlite":
        if not sqlalchemy.engine.make_url(url).database or ":memory:" in url:
            raise UserInputError(f"--storage {url} keeps the study in memory, where workers "
                                 "cannot share it; name a file, e.g. sqlite:///study.db")
        # several worker processes share one file: wait for locks instead of failing
        return {"connect_args": {"timeout": 60}}
    if backend in ("postgresql", "mysql"):
        # pre-ping: a long trial outlives idle connections that a server or proxy dropped
        return {"connect_args": {"connect_timeout": CONNECT_TIMEOUT_SECONDS},
                "pool_pre_ping": True}
    raise UserInputError(f"--storage must be a sqlite:///, postgresql:// or mysql:// URL; "
                         f"got {safe_url(url)!r}")


def _driver_error(url: str, exc: Exception) -> UserInputError:
    hint = install_hint("postgres") if url.startswith("postgres") else "pip install pymysql"
    return UserInputError(f"storage {safe_url(url)} needs a database driver ({exc}): {hint}")


def _unreachable(url: str, exc: Exception) -> UserInputError:
    reason = " ".join(str(getattr(exc, "orig", None) or exc).split())[:200]
    return UserInputError(f"cannot reach storage {safe_url(url)}: {reason}")


def study_exists(storage: RDBStorage, name: str) -> bool:
    return any(s.study_name == name for s in optuna.get_all_study_summaries(storage))
