"""A study on several hosts: ``honed tune`` on one simulated host, ``honed worker`` on another,
PostgreSQL reached over the network; a host's worker SIGKILLed mid-trial loses nothing.

The hosts are network namespaces (``tests/search/netns.py``), each with its own host name;
the PostgreSQL server is a throwaway one listening on this machine's side of each veth pair.
Skipped without root; under CI (``CI=true``) as root it must run, unless the machine refuses
network namespaces (a container without CAP_NET_ADMIN): that is skipped with its reason, since
no setting of the project's can grant it (``.ci/run`` prints whether namespaces can be made).
"""

from __future__ import annotations

import os
import signal

import pytest
from optuna.storages import RetryHeartbeatStaleTrialCallback
from optuna.trial import TrialState

from honed.cli.main import main
from honed.search.study import SURPLUS, counted_trials
from tests.helpers import wait_until
from tests.search.conftest import LocalServer, _bin_dir, _in_ci
from tests.search.netns import SimulatedHosts, unavailable
from tests.search.test_crash_safety import trials_of

SPEC = """\
name: hosts
data: {source: builtin:digits}
model: {family: mlp, hidden: {int: [32, 64]}, dropout: {float: [0.0, 0.3]}}
train: {epochs: 3, batch_size: 32}
search: {trials: 5, sampler: random, pruner: none, objectives: ["val.accuracy:max"]}
"""


def _skip_or_fail(reason: str):
    if _in_ci() and os.geteuid() == 0:
        pytest.fail(f"simulated hosts must run under CI as root: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture
def hosts():
    if os.geteuid() != 0:
        _skip_or_fail("simulated hosts need root (network namespaces)")
    why = unavailable()
    if why:
        pytest.skip(why)
    with SimulatedHosts(2) as made:
        yield made


@pytest.fixture
def database(hosts):
    """The URL of a PostgreSQL server as each host reaches it (host k: its gateway)."""
    bin_dir = _bin_dir()
    if bin_dir is None:
        _skip_or_fail("PostgreSQL's initdb is not installed")
    server = LocalServer(bin_dir, listen=",".join(hosts.gateways), trust=hosts.subnet)
    try:
        url = server.start()
        yield [url.replace(hosts.gateway(0), hosts.gateway(k)) for k in range(hosts.count)]
    finally:
        server.stop()


def frozen_mid_trial(url: str):
    """A trial RUNNING on some host, its worker stopped (SIGSTOP) and the trial seen still
    RUNNING after the stop: (trial, pid); None (worker let go again) if it ended first."""
    trial = next((t for t in trials_of(url, "hosts") if t.state == TrialState.RUNNING
                  and t.user_attrs.get("host")), None)
    if trial is None:
        return None
    pid = int(trial.user_attrs["worker"].rsplit(":", 1)[1])
    os.kill(pid, signal.SIGSTOP)
    now = next(t for t in trials_of(url, "hosts") if t.number == trial.number)
    if now.state == TrialState.RUNNING:
        return trial, pid
    os.kill(pid, signal.SIGCONT)
    return None


def test_a_host_killed_mid_trial_loses_no_trial(tmp_path, honed, hosts, database, capsys):
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC)
    on = [hosts.command(k, []) for k in range(hosts.count)]
    # started together, as a Slurm array or a Kubernetes Job starts them: the worker waits
    # for honed tune to create the study
    procs = {"node0": honed.start("tune", spec, "--storage", database[0], "--out",
                                  tmp_path / "node0", "--quiet", prefix=on[0]),
             "node1": honed.start("worker", spec, "--storage", database[1], "--wait", "5m",
                                  "--out", tmp_path / "node1", prefix=on[1])}
    # whichever host runs a trial first loses its worker (SIGKILL) in the middle of it
    victim, pid = wait_until(lambda: frozen_mid_trial(database[0]),
                             what="a host's worker stopped mid-trial", timeout=180, interval=0.1)
    lost = victim.user_attrs["host"]
    survivor = "node1" if lost == "node0" else "node0"
    assert pid == procs[lost].pid  # honed itself, started on that host
    os.kill(pid, signal.SIGKILL)

    code, err = honed.wait(procs[survivor], timeout=300)
    assert code == 0, err
    assert procs[lost].wait() == -signal.SIGKILL
    trials = trials_of(database[0], "hosts")
    counted = counted_trials(trials)
    assert len(counted) == 5 and all(t.state == TrialState.COMPLETE for t in counted)
    assert len({tuple(sorted(t.params.items())) for t in counted}) == 5  # none twice
    dead = trials[victim.number]
    assert dead.state == TrialState.FAIL and dead.user_attrs["host"] == lost
    retries = [t for t in counted
               if RetryHeartbeatStaleTrialCallback.retried_trial_number(t) == victim.number]
    assert len(retries) == 1 and retries[0].params == dead.params, [
        (t.number, t.state) for t in trials]
    assert retries[0].user_attrs["host"] == survivor  # the host left standing ran it
    extra = [t for t in trials if t not in counted and t.number != victim.number]
    assert all(t.user_attrs.get(SURPLUS) for t in extra)  # any other: surplus, never trained

    # honed study show, on this machine, names both hosts
    assert main(["study", "show", "--storage", database[0], "--name", "hosts"]) == 0
    out = capsys.readouterr().out
    assert "workers (2 on 2 hosts)" in out and "node0" in out and "node1" in out
