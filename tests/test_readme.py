"""Every command in the README's ``bash`` blocks runs, as written, on a fresh copy of examples/.

The commands run in order in one temp folder (the quick start's run dir feeds the commands
after it), through the interpreter running the tests. Two adjustments keep them tiny, and
nothing else is changed:

- ``honed train``, ``tune`` and ``run`` get :data:`TINY` appended: the README's budget is
  minutes, the test's a few seconds. The overrides are ordinary ``KEY=VALUE`` arguments.
- ``torchrun ... -m honed ARGS`` runs as ``python -m torch.distributed.run ... -m honed ARGS``
  (the module behind the ``torchrun`` script), with the same budget.
- ``honed serve`` gets ``--port`` of a free port; the test waits for ``/health``, then stops it
  with Ctrl-C (SIGINT), as the README says, and expects exit code 0.

Set-up lines (a virtual environment, pip installs, the test suite itself) cannot run inside the
test suite: :data:`SET_UP` names each one with what ``.ci/run`` runs in its place, and a test
checks that ``.ci/run`` does run it. Any other README command fails this test.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

from tests.helpers import wait_until

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
CI_SCRIPT = ROOT / ".ci" / "run"

TINY = ["search.trials=2", "train.epochs=2", "train.threads=1"]
BUDGETED = {"train", "tune", "run"}

CI_INSTALL = 'pip install -q -c constraints.txt -e ".[dev,docs]"'
# README line -> the line of .ci/run that does its job there (None: not run in CI, and why)
SET_UP: dict[str, str | None] = {
    "python3 -m venv .venv && . .venv/bin/activate": "python3 -m venv .venv",
    "pip install -c constraints.txt -e .": CI_INSTALL,
    'pip install -c constraints.txt -e ".[serve]"': CI_INSTALL,  # dev holds serve's packages
    'pip install -c constraints.txt -e ".[explain]"': CI_INSTALL,  # dev holds captum
    'pip install -c constraints.txt -e ".[dev]"': CI_INSTALL,
    "python -m pytest": "python -m pytest",
}
NOT_IN_CI = {
    # PyTorch's CPU wheel index is not reachable from CI; CI takes torch from constraints.txt
    "pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu",
}


def readme_commands(text: str) -> list[str]:
    """The command lines of every ```bash block, in order (blank lines and comments left out)."""
    commands = []
    for block in re.findall(r"^[ \t]*```bash\n(.*?)^[ \t]*```", text, re.MULTILINE | re.DOTALL):
        for line in block.splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                commands.append(line)
    return commands


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def runs_honed(command: str) -> bool:
    """A README line that runs honed: ``honed ARGS`` or ``torchrun ... -m honed ARGS``."""
    words = shlex.split(command, comments=True)
    return words[0] == "honed" or (words[0] == "torchrun" and "-m honed" in command)


def honed_argv(command: str) -> list[str]:
    """``honed ARGS`` as this interpreter runs it, with the test's budget for training commands.

    ``torchrun LAUNCH -m honed ARGS`` becomes ``python -m torch.distributed.run LAUNCH -m honed
    ARGS``, budgeted the same way.
    """
    words = shlex.split(command, comments=True)
    if words[0] == "torchrun":
        at = words.index("-m")
        assert words[at + 1] == "honed", command
        launch, args = [sys.executable, "-m", "torch.distributed.run", *words[1:at], "-m",
                        "honed"], words[at + 2:]
    else:
        assert words[0] == "honed", command
        launch, args = [sys.executable, "-m", "honed.cli.main"], words[1:]
    return [*launch, *args, *(TINY if args[0] in BUDGETED else [])]


def run_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"),
                                                      env.get("PYTHONPATH")]))
    return env


def serve_until_healthy(argv: list[str], cwd: Path) -> None:
    """Start ``honed serve`` on a free port, wait for /health, stop it with Ctrl-C."""
    port = free_port()
    server = subprocess.Popen([*argv, "--port", str(port)], cwd=cwd, env=run_env(),
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        def healthy() -> bool:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as r:
                return r.status == 200

        wait_until(healthy, what="honed serve to answer /health", timeout=180, interval=0.2,
                   processes=[server], output=lambda p: p.stdout.read(), retry_on=(OSError,))
        server.send_signal(signal.SIGINT)
        out, _ = server.communicate(timeout=60)
        assert server.returncode == 0, f"honed serve exited {server.returncode}:\n{out}"
    finally:
        if server.poll() is None:
            server.kill()
            server.communicate()


def test_readme_has_the_quick_start_commands():
    commands = readme_commands(README.read_text(encoding="utf-8"))
    assert "honed run examples/digits.yaml" in commands
    assert any(c.startswith("honed predict ") for c in commands)


def test_every_set_up_line_is_run_by_ci():
    ci = CI_SCRIPT.read_text(encoding="utf-8")
    readme = readme_commands(README.read_text(encoding="utf-8"))
    for line in readme:
        if not runs_honed(line):
            assert line in SET_UP or line in NOT_IN_CI, f"README command run nowhere: {line}"
    for line, ci_line in SET_UP.items():
        assert ci_line in ci, f".ci/run does not run {ci_line!r} (for the README's {line!r})"


def test_readme_commands_run_as_written(tmp_path):
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    ran = 0
    for command in readme_commands(README.read_text(encoding="utf-8")):
        if not runs_honed(command):
            continue  # set-up: test_every_set_up_line_is_run_by_ci
        argv = honed_argv(command)
        if command.startswith("honed serve "):
            serve_until_healthy(argv, tmp_path)
        else:
            done = subprocess.run(argv, cwd=tmp_path, env=run_env(), capture_output=True,
                                  text=True, timeout=600)
            assert done.returncode == 0, (f"README command failed ({done.returncode}): "
                                          f"{command}\n{done.stdout[-3000:]}\n"
                                          f"{done.stderr[-3000:]}")
        ran += 1
    assert ran >= 3
    predictions = (tmp_path / "predictions.csv").read_text().splitlines()
    assert len(predictions) == 1 + 10  # a header and the ten sample digits


def test_readme_spec_is_the_quick_start_spec():
    import yaml

    block = re.search(r"^```yaml\n(.*?)^```", README.read_text(encoding="utf-8"),
                      re.MULTILINE | re.DOTALL).group(1)
    shipped = (ROOT / "examples" / "digits.yaml").read_text(encoding="utf-8")
    assert yaml.safe_load(block) == yaml.safe_load(shipped)
