"""``honed dashboard``: optuna-dashboard really serving a run's study on a loopback port."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from honed.cli.main import main


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_dashboard_serves_the_study(study_run):
    pytest.importorskip("optuna_dashboard", reason="the dashboard extra is not installed")
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "honed.cli.main", "dashboard",
                               str(study_run), "--port", str(port)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline, body = time.monotonic() + 60, None
        while time.monotonic() < deadline and body is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/studies",
                                            timeout=2) as response:
                    body = json.loads(response.read())
            except OSError:
                assert server.poll() is None, server.communicate()
                time.sleep(0.3)
        assert body is not None, "the dashboard never answered"
        assert "lowlr" in json.dumps(body), body
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_dashboard_needs_a_study(tmp_path, capsys):
    assert main(["dashboard", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no study/study.db" in err
