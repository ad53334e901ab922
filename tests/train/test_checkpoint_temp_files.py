"""A checkpoint write killed between its temp file and the rename leaves nothing for long."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import torch

from honed.train.checkpoint import read_checkpoint, write_checkpoint
from tests.helpers import wait_until

# a writer that stops right before its rename, says so, and waits to be killed
_STUCK_WRITER = """\
import os, sys, time
from pathlib import Path

def stuck(src, dst):
    Path(sys.argv[2]).write_text(src)
    time.sleep(600)

os.replace = stuck
import torch
from honed.train.checkpoint import write_checkpoint
write_checkpoint(sys.argv[1], {"model.w": torch.zeros(1000)}, {"epoch": 1})
"""


def _stuck_writer(path, ready):
    proc = subprocess.Popen([sys.executable, "-c", _STUCK_WRITER, str(path), str(ready)],
                            stdin=subprocess.DEVNULL)
    try:
        wait_until(ready.exists, what="the writer to reach its rename", processes=[proc])
    except BaseException:  # pytest.fail's exception too: a stuck writer sleeps for 600 s
        proc.kill()
        proc.wait()
        raise
    return proc, ready.read_text()


def test_a_killed_writers_temp_file_goes_at_the_next_write_a_live_ones_stays(tmp_path):
    path = tmp_path / "checkpoints" / "last.safetensors"
    killed, killed_temp = _stuck_writer(path, tmp_path / "killed")
    live, live_temp = _stuck_writer(path, tmp_path / "live")
    try:
        killed.send_signal(signal.SIGKILL)
        killed.wait()
        assert os.path.exists(killed_temp) and os.path.exists(live_temp)
        (path.parent / ".notes.txt.tmp").write_text("not honed's")
        write_checkpoint(path, {"model.w": torch.ones(2)}, {"epoch": 2})
        assert not os.path.exists(killed_temp)  # a dead writer's
        assert os.path.exists(live_temp)  # still being written
        assert (path.parent / ".notes.txt.tmp").exists()
        assert read_checkpoint(path)[1]["epoch"] == 2
    finally:
        live.kill()
        live.wait()
