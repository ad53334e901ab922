"""Trials per minute of one study with a worker on each of 1, 2 and 4 simulated hosts.

    sudo python bench/hosts_throughput.py [--trials-per-host 3] [--epochs 5] [--rounds 2]

Each host is a network namespace with its own host name (``tests/search/netns.py``); the
study lives in a throwaway PostgreSQL server that the hosts reach over their veth pairs.
Host 0 runs ``honed tune``, the others ``honed worker --wait``, all started together, one
torch thread each; every host gets ``--trials-per-host`` trials of the same work (random
sampler, no pruner). Settings run interleaved (1, 2, 4, 1, 2, 4, ...) into fresh studies.

The rate excludes start-up: each worker's rate is its trials over its own span (first trial
start to last trial end, from the storage), and a setting's rate is the sum over its workers.
The figure is rate(n) / (n x rate(1)) (goal: at least 0.9). Simulated hosts share this
machine's cores: past as many workers as cores the ratio must fall; the summed rate
rate(n) / rate(1) then shows what the database, heartbeats and sweepers cost (1.0: nothing).

Needs root (network namespaces) and PostgreSQL's binaries (``initdb``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import optuna

from honed.search.storage import open_storage

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.search helpers
from tests.search.conftest import LocalServer, _bin_dir  # noqa: E402
from tests.search.netns import SimulatedHosts, unavailable  # noqa: E402

SPEC = """\
name: {name}
seed: 0
data: {{source: builtin:digits}}
model: {{family: mlp, hidden: {{int: [64, 128]}}, dropout: {{float: [0.0, 0.3]}}}}
train: {{epochs: {epochs}, batch_size: 32, threads: 1,
        optimizer: {{name: adamw, lr: {{float: [1.0e-3, 1.0e-2], log: true}}}}}}
search: {{trials: {trials}, sampler: random, pruner: none, start_at_default: false,
         objectives: ["val.accuracy:max"]}}
"""


def run_once(hosts: SimulatedHosts, url_of, count: int, per_host: int, epochs: int,
             folder: Path) -> tuple[float, float]:
    """(trials per minute summed over the workers, mean trial seconds) on ``count`` hosts."""
    name = f"bench-{count}-{uuid.uuid4().hex[:6]}"
    spec = folder / f"{name}.yaml"
    spec.write_text(SPEC.format(name=name, epochs=epochs, trials=per_host * count))
    honed = [sys.executable, "-m", "honed.cli.main"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    procs = []
    for k in range(count):
        role = (["tune", str(spec), "--storage", url_of(k), "--quiet"] if k == 0 else
                ["worker", str(spec), "--storage", url_of(k), "--wait", "5m", "--threads", "1"])
        log = open(folder / f"{name}-{k}.log", "wb")  # noqa: SIM115 - closed below
        procs.append((subprocess.Popen(hosts.command(k, [*honed, *role, "--out",
                                                         str(folder / name / f"node{k}")]),
                                       env=env, stdout=log, stderr=log,
                                       stdin=subprocess.DEVNULL), log))
    for proc, log in procs:
        code = proc.wait()
        log.close()
        if code != 0:
            raise SystemExit(f"honed on a simulated host failed ({code}): see {log.name}")
    study = optuna.load_study(study_name=name, storage=open_storage(url_of(0)))
    done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    by_worker: dict[str, list] = {}
    for trial in done:
        by_worker.setdefault(trial.user_attrs["worker"], []).append(trial)
    rate = 0.0
    for trials in by_worker.values():
        span = (max(t.datetime_complete for t in trials)
                - min(t.datetime_start for t in trials)).total_seconds()
        rate += 60 * len(trials) / span
    return rate, statistics.mean(t.duration.total_seconds() for t in done)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials-per-host", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    why = unavailable()
    if why or _bin_dir() is None:
        raise SystemExit(f"cannot run: {why or 'initdb (PostgreSQL) is not installed'}")
    cores = len(os.sched_getaffinity(0))
    print(f"{cores} cores, {args.trials_per_host} trials per host of {args.epochs} epochs, "
          f"load average {os.getloadavg()[0]:.2f}")
    counts = (1, 2, 4)
    rates: dict[int, list[float]] = {n: [] for n in counts}
    with SimulatedHosts(max(counts)) as hosts, \
            tempfile.TemporaryDirectory(prefix="honed-bench-hosts-") as folder:
        server = LocalServer(_bin_dir(), listen=",".join(hosts.gateways), trust=hosts.subnet)
        try:
            url = server.start()

            def url_of(k: int) -> str:
                return url.replace(hosts.gateway(0), hosts.gateway(k))

            for _ in range(args.rounds):
                for n in counts:
                    rate, mean = run_once(hosts, url_of, n, args.trials_per_host, args.epochs,
                                          Path(folder))
                    rates[n].append(rate)
                    print(f"  {n} host(s): {rate:6.1f} trials/min (start-up excluded), "
                          f"{mean:5.2f} s per trial", flush=True)
        finally:
            server.stop()
    base = statistics.median(rates[1])
    for n in counts[1:]:
        ratio = statistics.median(rates[n]) / (n * base)
        shared = statistics.median(rates[n]) / base
        print(f"{n} hosts / (1 host x {n}): {ratio:.2f} of linear (goal >= 0.9); summed rate "
              f"{shared:.2f}x one host's")


if __name__ == "__main__":
    main()
