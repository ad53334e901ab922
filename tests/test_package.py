"""The public API: every name in every ``__all__`` resolves, and ``import honed`` stays light."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys

import honed


def all_modules():
    yield honed
    for info in pkgutil.walk_packages(honed.__path__, prefix="honed."):
        yield importlib.import_module(info.name)


def test_every_name_in_every_all_resolves():
    checked = 0
    for module in all_modules():
        for name in getattr(module, "__all__", ()):
            assert getattr(module, name, None) is not None, f"{module.__name__}.{name}"
            checked += 1
    assert checked > 50


def test_import_honed_does_not_import_torch():
    code = "import sys, honed; assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_cli_help_does_not_import_torch():
    code = ("import sys; from honed.cli.main import build_parser; build_parser(); "
            "assert 'torch' not in sys.modules, 'torch imported'")
    subprocess.run([sys.executable, "-c", code], check=True)
