"""Study storage: SQLite in the run dir by default, PostgreSQL (or any RDB URL) for many machines.

Heartbeats are on, so a worker killed mid-trial leaves a trial that the sweeper (see
:mod:`honed.search.sweeper`) marks failed within ``HEARTBEAT + GRACE`` seconds; the retry
callback then queues the same parameters once more.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import optuna
from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback

from honed.errors import UserInputError

__all__ = ["open_storage", "sqlite_url", "HEARTBEAT_SECONDS", "GRACE_SECONDS"]

# heartbeats and the retry callback are marked experimental in Optuna; they are what makes
# crash-safe studies possible, so honed relies on them knowingly
warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)

HEARTBEAT_SECONDS = 2
GRACE_SECONDS = 8


def sqlite_url(study_dir: Path) -> str:
    return f"sqlite:///{(Path(study_dir) / 'study.db').resolve()}"


def open_storage(url: str) -> RDBStorage:
    """An RDB storage with heartbeats and one retry of stale trials; unreachable → exit 2."""
    engine = {}
    if url.startswith("sqlite"):
        # several worker processes share one file: wait for locks instead of failing
        engine = {"connect_args": {"timeout": 60}}
    elif not url.startswith(("postgresql", "mysql")):
        raise UserInputError(f"--storage must be a sqlite:///, postgresql:// or mysql:// URL; "
                             f"got {url!r}")
    try:
        return RDBStorage(url, engine_kwargs=engine, heartbeat_interval=HEARTBEAT_SECONDS,
                          grace_period=GRACE_SECONDS,
                          heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(
                              max_retry=1))
    except ImportError as exc:
        raise UserInputError(f"storage {_safe(url)} needs a database driver: {exc}; install "
                             "honed[postgres]") from None
    except Exception as exc:  # sqlalchemy's OperationalError and friends
        reason = " ".join(str(getattr(exc, "orig", exc)).split())[:200]
        raise UserInputError(f"cannot reach storage {_safe(url)}: {reason}") from None


def _safe(url: str) -> str:
    """The URL without its password, for messages."""
    scheme, sep, rest = url.partition("://")
    if "@" in rest and ":" in rest.split("@", 1)[0]:
        user = rest.split("@", 1)[0].split(":", 1)[0]
        rest = f"{user}:***@" + rest.split("@", 1)[1]
    return f"{scheme}{sep}{rest}"


def study_exists(storage: RDBStorage, name: str) -> bool:
    return any(s.study_name == name for s in optuna.get_all_study_summaries(storage))
