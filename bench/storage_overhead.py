"""What the study storage costs a trial: honed's SQLite (WAL) against Optuna's JournalStorage.

    python bench/storage_overhead.py [--trials 30] [--rounds 5]

Runs the study of ``bench/trial_overhead.py`` (tiny iris fits, SQLite) once, then replays
every storage call its complete trials made (create the trial, set each parameter, report
each epoch, set each attribute, finish it, plus one read of every trial per trial, as a
sampler does) into a fresh study on each backend, the backends taking turns round by round:

- ``sqlite-wal``: honed's storage as a trial runs it (``open_storage(..., writer=True)``:
  RDBStorage, write-ahead log, ``synchronous`` FULL, heartbeats on);
- ``journal``: Optuna's JournalStorage on a JournalFileBackend (one fsynced append a call);
- ``memory``: Optuna's in-memory storage, the floor.

It prints milliseconds per trial (median over rounds) and each backend's ratio to
``sqlite-wal`` from the same round. The heartbeat thread is not part of the replay: the
JournalStorage has no heartbeats (it does not implement Optuna's ``BaseHeartbeat``), which
is what lets honed mark a killed worker's trial failed and retry it.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import optuna
from optuna.storages import InMemoryStorage, JournalStorage
from optuna.storages.journal import JournalFileBackend
from optuna.trial import FrozenTrial, TrialState
from trial_overhead import overhead_spec  # this folder is on sys.path when a script here runs

from honed.search import tune
from honed.search.storage import open_storage, sqlite_url
from honed.spec import spec_from_dict

BACKENDS = ("sqlite-wal", "journal", "memory")


def open_backend(name: str, folder: Path) -> optuna.storages.BaseStorage:
    if name == "sqlite-wal":
        return open_storage(sqlite_url(folder), writer=True)
    if name == "journal":
        return JournalStorage(JournalFileBackend(str(folder / "journal.log")))
    return InMemoryStorage()


def replay(trials: list[FrozenTrial], storage: optuna.storages.BaseStorage) -> float:
    """Seconds per trial to write ``trials`` into a fresh study on ``storage``."""
    study_id = storage.create_new_study([optuna.study.StudyDirection.MAXIMIZE], "replay")
    start = time.perf_counter()
    for trial in trials:
        storage.get_all_trials(study_id, deepcopy=False)  # the sampler's read
        trial_id = storage.create_new_trial(study_id)
        for name, value in trial.params.items():
            distribution = trial.distributions[name]
            storage.set_trial_param(trial_id, name, distribution.to_internal_repr(value),
                                    distribution)
        for step, value in sorted(trial.intermediate_values.items()):
            storage.set_trial_intermediate_value(trial_id, step, value)
        for key, value in trial.user_attrs.items():
            storage.set_trial_user_attr(trial_id, key, value)
        for key, value in trial.system_attrs.items():
            storage.set_trial_system_attr(trial_id, key, value)
        storage.set_trial_state_values(trial_id, TrialState.COMPLETE, trial.values)
    return (time.perf_counter() - start) / len(trials)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        outcome = tune(spec_from_dict(overhead_spec(args.trials)), out_dir=Path(folder) / "run",
                       progress=False)
        trials = [t for t in outcome.study.trials if t.state == TrialState.COMPLETE]
        per_trial: dict[str, list[float]] = {name: [] for name in BACKENDS}
        ratios: dict[str, list[float]] = {name: [] for name in BACKENDS}
        for round_ in range(args.rounds):
            turn = round_ % len(BACKENDS)
            for name in BACKENDS[turn:] + BACKENDS[:turn]:
                target = Path(folder) / f"{name}-{round_}"
                target.mkdir()
                per_trial[name].append(replay(trials, open_backend(name, target)))
            for name in BACKENDS:
                ratios[name].append(per_trial[name][-1] / per_trial["sqlite-wal"][-1])
    calls = len(trials[0].params) + len(trials[0].intermediate_values) + len(
        trials[0].user_attrs) + len(trials[0].system_attrs) + 3
    print(f"{len(trials)} trials replayed, about {calls} storage calls each, {args.rounds} rounds")
    for name in BACKENDS:
        print(f"  {name:<10} median {statistics.median(per_trial[name]) * 1e3:6.1f} ms/trial, "
              f"x sqlite-wal {statistics.median(ratios[name]):.2f} "
              f"(rounds {', '.join(f'{r:.2f}' for r in ratios[name])})")


if __name__ == "__main__":
    main()
