"""A PostgreSQL server for the parallel and crash-safety tests.

``postgres_url`` gives each test a fresh, empty database on one server per session:

- the server named by ``HONED_TEST_POSTGRES_URL`` (``.ci/run`` starts one and sets it);
- otherwise a throwaway server that this fixture starts itself when PostgreSQL's binaries are
  installed (``initdb`` on the PATH or under ``/usr/lib/postgresql/*/bin``): a data folder in a
  temp dir, a free port on 127.0.0.1, trust authentication, fsync off; run as the ``postgres``
  user when the tests run as root (PostgreSQL refuses root), and stopped after the session;
- otherwise the test is skipped, except under CI (``CI=true``), where a missing server fails.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Sequence
from pathlib import Path

import pytest

ENV = "HONED_TEST_POSTGRES_URL"


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def _unavailable(reason: str):
    if _in_ci():
        pytest.fail(f"PostgreSQL is required under CI: {reason}", pytrace=False)
    pytest.skip(f"no PostgreSQL: {reason} (set {ENV} or install postgresql)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _bin_dir() -> Path | None:
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent  # the real folder, not a PATH link to initdb
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                      key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
    return Path(versions[-1]).parent if versions else None


class LocalServer:
    """A throwaway PostgreSQL server in a temp folder; ``stop`` removes every trace.

    ``listen``: the addresses it listens on, comma-separated (the URL names the first);
    ``trust``: a network (CIDR) whose clients it lets in without a password, besides
    127.0.0.1 (the simulated hosts of ``tests/search/netns.py``).
    """

    def __init__(self, bin_dir: Path, *, listen: str = "127.0.0.1", trust: str | None = None):
        self.bin = bin_dir
        self.listen, self.trust = listen, trust
        self.root = Path(tempfile.mkdtemp(prefix="honed-pg-"))
        self.data = self.root / "data"
        self.prefix: list[str] = []
        self.port = 0
        if os.geteuid() == 0:
            user = "postgres"
            try:
                import pwd

                pwd.getpwnam(user)
            except KeyError:
                user = "nobody"
            shutil.chown(self.root, user=user)
            self.prefix = ["runuser", "-u", user, "--"]

    def _run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        return subprocess.run([*self.prefix, *args], capture_output=True, text=True,
                              timeout=timeout, cwd=self.root, stdin=subprocess.DEVNULL)

    def start(self) -> str:
        made = self._run(str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres",
                         "--auth=trust", "-E", "UTF8", "--no-sync")
        if made.returncode != 0:
            raise RuntimeError(f"initdb failed: {made.stderr.strip()[-300:]}")
        if self.trust:
            with open(self.data / "pg_hba.conf", "a") as rules:
                rules.write(f"host all all {self.trust} trust\n")
        last = ""
        for _ in range(3):  # a free port can be taken between the check and the start
            self.port = free_port()
            options = (f"-k {self.root} -p {self.port} -h {self.listen} -c fsync=off "
                       "-c synchronous_commit=off -c full_page_writes=off")
            started = self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l",
                                str(self.root / "server.log"), "-w", "-t", "30", "-o", options,
                                "start")
            if started.returncode == 0:
                host = self.listen.split(",")[0]
                return f"postgresql://postgres@{host}:{self.port}/postgres"
            last = started.stderr.strip() or (self.root / "server.log").read_text()[-300:]
        raise RuntimeError(f"pg_ctl start failed: {last}")

    def stop(self) -> None:
        try:
            if (self.data / "postmaster.pid").exists():
                self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate",
                          "-w", "stop", timeout=30)
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server():
    """URL of a PostgreSQL server for this session (see the module docstring)."""
    url = os.environ.get(ENV)
    if url:
        yield url
        return
    bin_dir = _bin_dir()
    if bin_dir is None:
        _unavailable("initdb not found")
    server = LocalServer(bin_dir)
    try:
        try:
            url = server.start()
        except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
            _unavailable(str(exc))
        yield url
    finally:
        server.stop()


@pytest.fixture
def postgres_url(postgres_server):
    """A fresh database on the session's server, dropped after the test."""
    import sqlalchemy

    try:
        import psycopg2
    except ImportError:
        _unavailable("psycopg2 is not installed (pip install -e '.[postgres]')")

    base = sqlalchemy.engine.make_url(postgres_server)
    name = f"honed_test_{uuid.uuid4().hex[:12]}"

    def admin(sql: str) -> None:
        conn = psycopg2.connect(host=base.host, port=base.port, user=base.username,
                                password=base.password, dbname=base.database or "postgres",
                                connect_timeout=10)
        try:
            conn.autocommit = True
            with conn.cursor() as cursor:
                cursor.execute(sql)
        finally:
            conn.close()

    try:
        admin(f'CREATE DATABASE "{name}"')
    except psycopg2.errors.InsufficientPrivilege:
        # in a shared database a second run would meet the first run's studies
        _unavailable(f"the user of {ENV} may not create databases (give it CREATEDB)")
    except psycopg2.OperationalError as exc:
        _unavailable(" ".join(str(exc).split()))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        try:  # FORCE (PostgreSQL 13+) ends connections that a killed worker left behind
            admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        except psycopg2.errors.SyntaxError:
            admin(f'DROP DATABASE IF EXISTS "{name}"')


def descendants(pid: int) -> list[int]:
    """Children, grandchildren, ... of ``pid`` (Linux ``/proc``; empty elsewhere)."""
    out: list[int] = []
    for task in glob.glob(f"/proc/{pid}/task/*/children"):
        try:
            children = [int(c) for c in Path(task).read_text().split()]
        except OSError:
            continue
        for child in children:
            out += [child, *descendants(child)]
    return out


class Honed:
    """Runs ``honed`` commands as real processes; every one still alive is killed at teardown.

    Output goes to files (a pipe nobody reads can fill up and stall a worker). Each command
    gets a session of its own, so that teardown can kill it with everything it started.
    """

    def __init__(self, folder: Path):
        self.folder = folder
        self.procs: list[subprocess.Popen] = []

    def start(self, *args: str, prefix: Sequence[str] = ()) -> subprocess.Popen:
        """``honed ARGS``, run under ``prefix`` (e.g. on a simulated host) when given."""
        import sys

        index = len(self.procs)
        out = open(self.folder / f"{index:02d}.out", "wb")  # noqa: SIM115 - closed in stop
        err = open(self.folder / f"{index:02d}.err", "wb")  # noqa: SIM115
        # one torch thread unless honed sets its own: a busy test machine makes several
        # threads per process spin and crawl
        env = {**os.environ, "COLUMNS": "200", "PYTHONHASHSEED": "0", "OMP_NUM_THREADS": "1"}
        proc = subprocess.Popen([*prefix, sys.executable, "-m", "honed.cli.main",
                                 *map(str, args)],
                                stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=env,
                                start_new_session=True)
        proc.files = (out, err)  # type: ignore[attr-defined]
        self.procs.append(proc)
        return proc

    def wait(self, proc: subprocess.Popen, timeout: float = 180) -> tuple[int, str]:
        """Exit code and standard error of ``proc``."""
        try:
            code = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self._kill(proc)
            pytest.fail(f"honed did not finish in {timeout} s: {self.stderr(proc)[-2000:]}")
        return code, self.stderr(proc)

    def run(self, *args: str, timeout: float = 180) -> tuple[int, str]:
        return self.wait(self.start(*args), timeout=timeout)

    def stderr(self, proc: subprocess.Popen) -> str:
        out, err = proc.files  # type: ignore[attr-defined]
        err.flush()
        return Path(err.name).read_text(errors="replace")

    def _kill(self, proc: subprocess.Popen) -> None:
        import signal

        if proc.poll() is None:
            # the workers of honed tune run in sessions of their own: kill them by pid too
            for pid in [proc.pid, *descendants(proc.pid)]:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            proc.wait()

    def stop(self) -> None:
        for proc in self.procs:
            self._kill(proc)
            for handle in proc.files:  # type: ignore[attr-defined]
                handle.close()


@pytest.fixture
def honed(tmp_path):
    """Start ``honed`` commands as processes (see :class:`Honed`)."""
    folder = tmp_path / "processes"
    folder.mkdir()
    runner = Honed(folder)
    yield runner
    runner.stop()
