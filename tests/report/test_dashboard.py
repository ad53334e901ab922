"""``honed dashboard``: optuna-dashboard really serving a run's study on a loopback port,
behind honed's guard (a token when set, read-only unless --allow-writes)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from contextlib import contextmanager

import pytest

from honed.cli.main import main
from tests.helpers import wait_until


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


def call(port: int, path: str, *, method: str = "GET", headers: dict | None = None):
    """(status, headers, body) of one real HTTP request to 127.0.0.1."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method,
                                     headers=headers or {})
    try:
        with _OPENER.open(request, timeout=30) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


@contextmanager
def dashboard_process(*args: str, env: dict | None = None):
    """``honed dashboard ARGS`` in a subprocess; yields its port once it answers HTTP."""
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "honed.cli.main", "dashboard", *args,
                               "--port", str(port)], env={**os.environ, **(env or {})},
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        # any answer, 401 and 404 included
        wait_until(lambda: call(port, "/health-of-the-socket"), what="the dashboard to answer",
                   interval=0.3, processes=[server], output=lambda p: p.communicate()[1],
                   retry_on=(OSError,))
        yield port
    finally:
        server.terminate()
        server.wait(timeout=30)


def _studies(body: bytes) -> list[str]:
    return [s["study_name"] for s in json.loads(body)["study_summaries"]]


def test_dashboard_serves_the_study_read_only(study_run):
    pytest.importorskip("optuna_dashboard", reason="the dashboard extra is not installed")
    with dashboard_process(str(study_run), env={"HONED_DASHBOARD_TOKEN": ""}) as port:
        status, _, body = call(port, "/api/studies")
        assert status == 200 and _studies(body) == ["lowlr"]
        for method, path in (("DELETE", "/api/studies/1"), ("POST", "/api/studies/1/rename"),
                             ("PUT", "/api/studies/1/note")):
            status, _, body = call(port, path, method=method)
            assert status == 403 and b"read-only" in body and b"--allow-writes" in body
        assert _studies(call(port, "/api/studies")[2]) == ["lowlr"]  # still there


def test_a_token_is_required_once_set(study_run):
    pytest.importorskip("optuna_dashboard", reason="the dashboard extra is not installed")
    token = "correct horse battery staple"
    with dashboard_process(str(study_run), env={"HONED_DASHBOARD_TOKEN": token}) as port:
        assert call(port, "/api/studies")[0] == 401
        assert call(port, "/api/studies", headers={"Authorization": "Bearer nope"})[0] == 401
        assert call(port, "/dashboard?token=nope")[0] == 401
        bearer = {"Authorization": f"Bearer {token}"}
        status, _, body = call(port, "/api/studies", headers=bearer)
        assert status == 200 and _studies(body) == ["lowlr"]
        # a browser opens /?token= once: a cookie (not the token itself) and a clean URL
        status, headers, _ = call(port, "/dashboard?token=correct+horse+battery+staple&x=1")
        assert status == 303 and headers["Location"] == "/dashboard?x=1"
        cookie = headers["Set-Cookie"].split(";")[0]
        assert token not in cookie and "HttpOnly" in headers["Set-Cookie"]
        assert call(port, "/api/studies", headers={"Cookie": cookie})[0] == 200
        assert call(port, "/api/studies", headers={"Cookie": cookie + "0"})[0] == 401
        assert call(port, "/api/studies/1", method="DELETE", headers=bearer)[0] == 403


def test_a_public_host_needs_a_token(study_run, capsys, monkeypatch):
    monkeypatch.delenv("HONED_DASHBOARD_TOKEN", raising=False)
    assert main(["dashboard", str(study_run), "--host", "0.0.0.0"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--host 0.0.0.0 is reachable from other machines" in err
    assert "HONED_DASHBOARD_TOKEN" in err


def test_allow_writes_lets_the_study_be_changed(study_run, tmp_path):
    pytest.importorskip("optuna_dashboard", reason="the dashboard extra is not installed")
    from honed.report.dashboard import dashboard_server

    copy = tmp_path / "study.db"
    shutil.copy(study_run / "study" / "study.db", copy)
    server = dashboard_server(f"sqlite:///{copy}", port=0, token="t", allow_writes=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        bearer = {"Authorization": "Bearer t"}
        assert call(server.server_port, "/api/studies/1", method="DELETE")[0] == 401
        assert call(server.server_port, "/api/studies/1", method="DELETE",
                    headers=bearer)[0] == 204
        assert _studies(call(server.server_port, "/api/studies", headers=bearer)[2]) == []
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_dashboard_needs_a_study(tmp_path, capsys):
    assert main(["dashboard", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no study/study.db" in err
