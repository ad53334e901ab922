"""Fixtures for the model tests: a registry that is put back after each test that adds to it,
and a user module written to a temporary folder for ``"module:function"`` families."""

from __future__ import annotations

import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from honed.models import registry

USER_MODULE = '''
from math import prod

from torch import nn


def build(input_shape, num_outputs, *, task="classification", hidden=8):
    """A user's own factory, called with keywords."""
    return nn.Sequential(nn.Flatten(), nn.Linear(prod(input_shape), hidden), nn.ReLU(),
                         nn.Linear(hidden, num_outputs))


def tied(input_shape, num_outputs, *, task="classification"):
    """A model whose output layer shares its weight with the input layer."""
    first = nn.Linear(input_shape[0], input_shape[0])
    last = nn.Linear(input_shape[0], input_shape[0])
    last.weight = first.weight
    return nn.Sequential(first, nn.Tanh(), last, nn.Linear(input_shape[0], num_outputs))


NOT_CALLABLE = 3
'''


@pytest.fixture
def clean_registry() -> Iterator[None]:
    """Let a test register families; the registry is restored afterwards."""
    saved = dict(registry._REGISTRY)
    yield
    registry._REGISTRY.clear()
    registry._REGISTRY.update(saved)


@pytest.fixture
def user_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The name of an importable module holding ``build``, ``tied`` and ``NOT_CALLABLE``, which
    honed is allowed to import (see :mod:`honed.spec.imports`)."""
    name = f"honed_user_models_{uuid.uuid4().hex[:8]}"
    folder = tmp_path / "user_code"
    folder.mkdir()
    (folder / f"{name}.py").write_text(textwrap.dedent(USER_MODULE), encoding="utf-8")
    monkeypatch.syspath_prepend(str(folder))
    monkeypatch.setenv("HONED_ALLOW_IMPORT", name)
    yield name
    sys.modules.pop(name, None)
