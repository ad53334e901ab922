"""Conformance: every shipped compressor keeps the output shape of every family it accepts."""

from __future__ import annotations

import pytest
import torch

from honed.models import create_model
from honed.testing import COMPRESSORS, check_compressor, conformance_cases
from honed.testing.compressors import _SMALL

CASES = list(conformance_cases())


def test_every_compressor_and_family_is_covered():
    assert {name for name, _, _ in CASES} == set(COMPRESSORS)
    assert {family for _, family, _ in CASES} == {"mlp", "cnn", "resnet", "rnn", "lstm", "gru",
                                                  "transformer"}


@pytest.mark.parametrize("name,family,shape", CASES,
                         ids=[f"{n}-{f}-{'x'.join(map(str, s))}" for n, f, s in CASES])
def test_compressor_keeps_shapes_and_round_trips(name, family, shape):
    torch.manual_seed(0)
    knobs = _SMALL[family]
    model = create_model(family, input_shape=shape, num_outputs=3, **knobs)
    factory, _ = COMPRESSORS[name]
    compressed = check_compressor(factory(shape), model, shape, family=family, knobs=knobs,
                                  num_outputs=3)
    if name.startswith("structured"):
        assert sum(p.numel() for p in compressed.parameters()) < sum(
            p.numel() for p in model.parameters())
