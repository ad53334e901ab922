"""The public surface of honed.data."""

from __future__ import annotations

import subprocess
import sys

import honed.data


def test_every_public_name_resolves():
    for name in honed.data.__all__:
        assert getattr(honed.data, name) is not None, name


def test_apply_preprocess_needs_no_torch():
    # the serving runtime replays preprocessing without PyTorch
    code = ("import sys, honed.data, honed.data.transform; "
            "from honed.data import apply_preprocess, prepare_data; "
            "assert 'torch' not in sys.modules, 'torch imported'")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
