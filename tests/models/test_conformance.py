"""Conformance: every registered family, on every input kind it takes, for every task, builds,
has the promised output shape, trains one step, and comes back identical after save/load."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from honed.models import create_model, list_models, load_model, model_info, save_model
from honed.models.layers import ACTIVATIONS, INITS

SHAPES = {"table": (6,), "sequence": (5, 3), "image": (2, 8, 8), "text": (7,)}
# What the data fixes for a kind: token ids need the tokenizer's vocabulary size.
KIND_KNOBS = {"text": {"vocab_size": 20}}
OUTPUTS = {"classification": 3, "regression": 1, "forecasting": 4}
BATCH = 4

CASES = [
    pytest.param(info.name, kind, task, id=f"{info.name}-{kind}-{task}")
    for info in list_models()
    for kind in info.kinds
    for task in info.tasks
]


def _batch(kind: str, task: str) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(1)
    if kind == "text":  # token ids, right-padded with 0 to different lengths, one empty text
        x = torch.randint(1, KIND_KNOBS["text"]["vocab_size"], (BATCH, *SHAPES[kind]),
                          generator=generator)
        x[torch.arange(SHAPES[kind][0]) >= torch.tensor([7, 4, 1, 0])[:, None]] = 0
    else:
        x = torch.randn(BATCH, *SHAPES[kind], generator=generator)
    if task == "classification":
        y = torch.randint(0, OUTPUTS[task], (BATCH,), generator=generator)
    else:
        y = torch.randn(BATCH, OUTPUTS[task], generator=generator)
    return x, y


def _loss(task: str, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    if task == "classification":
        return nn.functional.cross_entropy(out, y)
    return nn.functional.mse_loss(out, y)


def test_every_family_is_covered() -> None:
    names = {info.name for info in list_models()}
    assert {"mlp", "cnn", "resnet", "rnn", "lstm", "gru", "transformer"} <= names
    assert len(CASES) >= 3 * len(names)


@pytest.mark.parametrize(("family", "kind", "task"), CASES)
def test_builds_trains_and_round_trips(family: str, kind: str, task: str, tmp_path: Path) -> None:
    torch.manual_seed(0)
    knobs = KIND_KNOBS.get(kind, {})
    model = create_model(family, input_shape=SHAPES[kind], num_outputs=OUTPUTS[task], task=task,
                         **knobs)
    x, y = _batch(kind, task)

    out = model(x)
    assert out.shape == (BATCH, OUTPUTS[task])
    assert out.dtype == torch.float32 and torch.isfinite(out).all()

    # One SGD step: every parameter takes part in the graph, and the ones that got a
    # gradient move.
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    _loss(task, out, y).backward()
    unused = [name for name, p in model.named_parameters() if p.grad is None]
    assert not unused, f"parameters outside the graph: {unused}"
    optimizer.step()
    moved = [name for name, p in model.named_parameters()
             if p.grad.abs().max() > 1e-5 and torch.equal(p.detach(), before[name])]
    assert not moved, f"parameters with a gradient that did not change: {moved}"
    assert not torch.equal(model.head.weight.detach(), before["head.weight"])

    # Save / load: the same numbers in eval mode (BatchNorm statistics included).
    model.eval()
    with torch.no_grad():
        expected = model(x)
    save_model(model, tmp_path / "model", family=family, knobs=knobs, input_shape=SHAPES[kind],
               num_outputs=OUTPUTS[task], task=task)
    loaded = load_model(tmp_path / "model")
    assert not loaded.training
    with torch.no_grad():
        assert torch.equal(loaded(x), expected)


@pytest.mark.parametrize("family", [info.name for info in list_models()])
def test_seeded_build_is_deterministic(family: str) -> None:
    kind = model_info(family).kinds[0]
    states = []
    for _ in range(2):
        torch.manual_seed(123)
        states.append(create_model(family, input_shape=SHAPES[kind], num_outputs=2,
                                   **KIND_KNOBS.get(kind, {})).state_dict())
    assert states[0].keys() == states[1].keys()
    assert all(torch.equal(states[0][name], states[1][name]) for name in states[0])


TEXT_CASES = [pytest.param(info.name, knobs, id=f"{info.name}-{'-'.join(map(str, knobs.values()))}")
              for info in list_models() if "text" in info.kinds
              for knobs in ({}, {"bidirectional": True} if "bidirectional" in info.knobs
                            else {"dropout": 0.5})]


@pytest.mark.parametrize(("family", "knobs"), TEXT_CASES)
def test_text_families_ignore_padding(family: str, knobs: dict) -> None:
    """Appending padding (id 0) to a batch of token ids leaves every prediction unchanged."""
    torch.manual_seed(0)
    model = create_model(family, input_shape=(12,), num_outputs=3, vocab_size=30,
                         **knobs).eval()
    ids, _ = _batch("text", "classification")  # (4, 7): lengths 7, 4, 1 and 0
    padded = torch.cat([ids, torch.zeros(BATCH, 5, dtype=ids.dtype)], dim=1)
    with torch.no_grad():
        short, long = model(ids), model(padded)
        as_float = model(padded.float())  # the trainer hands inputs over as float32
    assert torch.allclose(short, long, atol=1e-5), (short, long)
    assert torch.equal(long, as_float)
    assert torch.isfinite(long).all()
    assert len(TEXT_CASES) >= 2 * 6  # rnn, lstm, gru, transformer, cnn, embedbag


@pytest.mark.parametrize(("family", "knobs", "kind"), [
    ("mlp", {"hidden": 8, "depth": 2, "norm": "layer"}, "table"),
    ("transformer", {"hidden": 8, "heads": 2, "depth": 1}, "sequence"),
    ("cnn", {"channels": [4], "hidden": 8, "norm": "none"}, "image"),
])
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_every_activation_and_init_builds(family: str, knobs: dict, kind: str,
                                          activation: str) -> None:
    x = torch.randn(2, *SHAPES[kind])
    for init in INITS:
        torch.manual_seed(0)
        model = create_model(family, input_shape=SHAPES[kind], num_outputs=3,
                             activation=activation, init=init, **knobs)
        assert torch.isfinite(model(x)).all(), (activation, init)


def test_transformer_patches_group_steps_into_tokens():
    import torch

    from honed.errors import ModelError
    from honed.models import create_model

    model = create_model("transformer", input_shape=(40, 1), num_outputs=10, patch=4, hidden=16,
                         heads=2)
    assert model.position.shape == (1, 10, 16)
    assert model(torch.zeros(3, 40, 1)).shape == (3, 10)
    image = create_model("transformer", input_shape=(1, 8, 8), num_outputs=10, patch=2,
                         hidden=16, heads=2)
    assert image(torch.zeros(3, 1, 8, 8)).shape == (3, 10)
    with pytest.raises(ModelError, match="patch must divide"):
        create_model("transformer", input_shape=(40, 1), num_outputs=10, patch=3)
