"""Magnitude pruning, structured pruning and the iterative schedule."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from honed.compress.prune import MagnitudePruner, magnitude_prune, prunable_weights, sparsity
from honed.compress.schedule import iterative_prune, step_amounts
from honed.compress.structured import StructuredPruner, structured_prune
from honed.errors import UserInputError
from honed.models import count_parameters, create_model, load_model, save_model
from tests.helpers import blobs


def test_global_magnitude_reaches_the_target_and_keeps_no_masks():
    model = create_model("mlp", input_shape=(6,), num_outputs=3, hidden=32)
    head = model.head.weight.clone()
    magnitude_prune(model, 0.6)
    assert sparsity(model) == pytest.approx(0.6, abs=1e-3)
    assert torch.equal(model.head.weight, head)  # the output layer is left alone
    assert not any(name.endswith(("_orig", "_mask")) for name, _ in model.named_parameters())
    assert not any(name.endswith("_mask") for name, _ in model.named_buffers())
    assert not model.body[0]._forward_pre_hooks  # permanent: no reparametrization left


def test_layer_scope_prunes_every_layer_alike():
    model = create_model("mlp", input_shape=(6,), num_outputs=3, hidden=32, depth=3)
    MagnitudePruner(0.5, scope="layer").apply(model)
    for module, attr in prunable_weights(model):
        weight = getattr(module, attr)
        assert (weight == 0).float().mean().item() == pytest.approx(0.5, abs=0.02)


def test_global_scope_drops_the_smallest_weights_overall():
    model = nn.Sequential(nn.Linear(4, 4), nn.Linear(4, 4))
    with torch.no_grad():
        model[0].weight.fill_(0.01)
        model[1].weight.fill_(1.0)
    magnitude_prune(model, 0.5, include_head=True)
    assert (model[0].weight == 0).all() and (model[1].weight != 0).all()


@pytest.mark.parametrize("amount", [-0.1, 1.0, 1.5, "half"])
def test_amount_outside_zero_one_is_refused(amount):
    with pytest.raises(UserInputError, match=r"\[0, 1\)"):
        MagnitudePruner(amount)
    with pytest.raises(UserInputError, match=r"\[0, 1\)"):
        StructuredPruner(amount, (6,))


@pytest.mark.parametrize("family,shape,knobs", [
    ("mlp", (6,), {"hidden": 32}), ("cnn", (1, 8, 8), {"channels": [8, 16], "hidden": 16}),
    ("resnet", (1, 8, 8), {"channels": [8, 16], "depth": 1}),
    ("cnn", (16, 2), {"channels": [8, 16], "norm": "layer"})])
def test_structured_pruning_removes_channels_and_saves_without_pickle(tmp_path, family, shape,
                                                                       knobs):
    model = create_model(family, input_shape=shape, num_outputs=3, **knobs)
    before = count_parameters(model)
    structured_prune(model, 0.5, shape)
    assert count_parameters(model) < 0.6 * before
    x = torch.randn(5, *shape)
    model.eval()
    save_model(model, tmp_path / "m", family=family, knobs=knobs, input_shape=shape,
               num_outputs=3, task="classification", resized=True)
    loaded = load_model(tmp_path / "m")
    assert torch.allclose(loaded(x), model(x), atol=1e-6)
    assert count_parameters(loaded) == count_parameters(model)


def test_a_pruned_model_is_refused_without_resized(tmp_path):
    from honed.errors import ModelError

    model = structured_prune(create_model("mlp", input_shape=(6,), num_outputs=3), 0.5, (6,))
    with pytest.raises(ModelError, match="does not match"):
        save_model(model, tmp_path / "m", family="mlp", knobs={}, input_shape=(6,),
                   num_outputs=3, task="classification")
    assert not (tmp_path / "m").exists()


def test_structured_refuses_other_families():
    model = create_model("gru", input_shape=(16, 2), num_outputs=3)
    with pytest.raises(UserInputError, match="mlp, cnn, resnet"):
        structured_prune(model, 0.5, (16, 2))


def test_step_amounts_grow_linearly():
    assert step_amounts(0.6, 3) == pytest.approx([0.2, 0.4, 0.6])


@pytest.mark.parametrize("method", ["magnitude", "structured"])
def test_iterative_pruning_fine_tunes_between_steps_and_keeps_zeros(method):
    data = blobs()
    torch.manual_seed(0)
    model = create_model("mlp", input_shape=data.input_shape, num_outputs=3, hidden=32)
    outcome = iterative_prune(model, data, method=method, amount=0.6, steps=2,
                              finetune_epochs=2, train={"optimizer": {"lr": 0.01}})
    assert [r["amount"] for r in outcome.rounds] == pytest.approx([0.3, 0.6])
    assert all(r["val"]["accuracy"] > 0.5 for r in outcome.rounds)
    if method == "magnitude":  # the zeros did not grow back during fine-tuning
        assert sparsity(outcome.model) == pytest.approx(0.6, abs=1e-3)
    else:
        assert outcome.model.body[0].out_features == pytest.approx(32 * 0.4, abs=1)


def test_fine_tuning_with_ema_and_bf16_keeps_the_pruned_weights_zero():
    data = blobs()
    torch.manual_seed(0)
    model = create_model("mlp", input_shape=data.input_shape, num_outputs=3, hidden=32)
    outcome = iterative_prune(model, data, method="magnitude", amount=0.5, finetune_epochs=2,
                              train={"ema": {"decay": 0.9}, "precision": "bf16",
                                     "device": "cpu"})
    assert sparsity(outcome.model) == pytest.approx(0.5, abs=1e-3)


@pytest.mark.parametrize("shapes", [{"body.9.weight": [4, 6]}, {"body.0.weight": [4]},
                                    {"body.0.weight": ["4", 6]}])
def test_a_damaged_shapes_record_is_a_one_line_checkpoint_error(tmp_path, shapes):
    import json

    from honed.errors import CheckpointError

    model = structured_prune(create_model("mlp", input_shape=(6,), num_outputs=3), 0.5, (6,))
    save_model(model, tmp_path / "m", family="mlp", knobs={}, input_shape=(6,), num_outputs=3,
               task="classification", resized=True)
    record = json.loads((tmp_path / "m" / "model.json").read_text())
    record["shapes"] = shapes
    (tmp_path / "m" / "model.json").write_text(json.dumps(record))
    with pytest.raises(CheckpointError, match="model.json"):
        load_model(tmp_path / "m")


def _widths(model):
    return [m.out_channels if isinstance(m, nn.Conv2d) else m.out_features
            for name, m in model.named_modules()
            if isinstance(m, (nn.Conv2d, nn.Linear)) and not name.startswith("head")]


@pytest.mark.parametrize("round_to,amount,steps", [(8, 0.4, 1), (8, 0.6, 3), (16, 0.5, 2)])
def test_pruned_widths_are_multiples_of_round_to(round_to, amount, steps):
    torch.manual_seed(0)
    model = create_model("cnn", input_shape=(1, 8, 8), num_outputs=3, channels=[32, 64],
                         hidden=64)
    outcome = iterative_prune(model, method="structured", amount=amount, steps=steps,
                              scope="layer", input_shape=(1, 8, 8), round_to=round_to)
    widths = _widths(outcome.model)
    assert all(width % round_to == 0 for width in widths), widths
    assert sum(widths) < 160  # it did prune
    # every layer's target counts from its first width: the rounding of one step is not
    # compounded by the next (half of 32, 64, 64 in two steps is 16, 32, 32)
    if (round_to, amount, steps) == (16, 0.5, 2):
        assert widths == [16, 32, 32]
    assert outcome.model(torch.zeros(2, 1, 8, 8)).shape == (2, 3)


def test_rounding_never_empties_a_layer_narrower_than_round_to():
    from honed.compress.structured import rounded_width

    model = create_model("cnn", input_shape=(1, 8, 8), num_outputs=3, channels=[8, 32],
                         hidden=16)
    structured_prune(model, 0.5, (1, 8, 8), round_to=16)
    assert _widths(model) == [8, 16, 16]  # 8 < 16 channels: kept whole, never cut to 0
    assert rounded_width(33, 64, 16) == 32 and rounded_width(3, 64, 16) == 16
    with pytest.raises(UserInputError, match="round_to"):
        StructuredPruner(0.5, (6,), round_to=0)


def test_structured_pruning_is_fine_tuned_by_default_from_the_runs_epochs():
    from honed.compress.schedule import finetune_plan

    assert finetune_plan("structured", None, None, 20) == (2, 10)  # the run's epochs in all
    assert finetune_plan("structured", None, None, 1) == (2, 1)
    assert finetune_plan("structured", 3, 0, 40) == (3, 0)  # asked for: kept
    assert finetune_plan("magnitude", None, None, 40) == (1, 0)


def test_rounds_stop_before_the_one_that_breaks_the_budget():
    from honed.compress.budget import Verdict

    data = blobs()
    torch.manual_seed(0)
    model = create_model("mlp", input_shape=data.input_shape, num_outputs=3, hidden=32)
    seen = []

    def check(pruned):  # within budget while at least 20 neurons are left
        seen.append(pruned.body[0].out_features)
        return Verdict(0.9, 0.0 if seen[-1] >= 20 else 0.05, 0.01, 0.01)

    outcome = iterative_prune(model, data, method="structured", amount=0.75, steps=3,
                              input_shape=data.input_shape, scope="layer", check=check)
    assert seen == [24, 16]  # round 3 never ran
    assert outcome.model.body[0].out_features == 24 and outcome.reached == pytest.approx(0.25)
    assert "round 2 (share 50%) broke the accuracy budget on val (val 0.9000, drop 0.0500 ± " \
        "0.0100)" in outcome.stopped
    assert [r["budget"]["within_budget"] for r in outcome.rounds] == [True, False]
    assert "kept round 1 (share 25%)" in outcome.stopped


def test_odd_widths_of_a_pruned_graph_are_named(tmp_path):
    from honed.compress.graph_check import layer_widths, speed_warnings
    from honed.export.onnx import export_onnx

    def export(model, name):
        return export_onnx(model, (1, 8, 8), tmp_path / name, exporter="torchscript").path

    torch.manual_seed(0)
    model = create_model("cnn", input_shape=(1, 8, 8), num_outputs=3, channels=[32, 64],
                         hidden=64)
    base = export(model, "base.onnx")
    odd = export(structured_prune(copy.deepcopy(model), 0.3, (1, 8, 8)), "odd.onnx")
    even = export(structured_prune(copy.deepcopy(model), 0.3, (1, 8, 8), round_to=16),
                  "even.onnx")
    assert list(layer_widths(odd).values()) == [22, 44, 44, 3]  # 70% of 32, 64, 64, cut down
    assert speed_warnings(base, odd, 16) == ("may run slower than its MACs suggest: widths "
                                             "not multiples of 16: 22, 44")
    assert list(layer_widths(even).values()) == [16, 32, 32, 3]
    assert speed_warnings(base, even, 16) == ""


def test_fine_tuning_a_pruned_model_is_reproducible_within_one_process():
    data = blobs()
    torch.manual_seed(0)
    model = create_model("mlp", input_shape=data.input_shape, num_outputs=3, hidden=32,
                         dropout=0.5)
    runs = []
    for _ in range(2):
        torch.rand(7)  # whatever ran before moved torch's global generator
        outcome = iterative_prune(copy.deepcopy(model), data, method="structured", amount=0.5,
                                  finetune_epochs=2, input_shape=data.input_shape, seed=3)
        runs.append(torch.cat([p.flatten() for p in outcome.model.parameters()]))
    # dropout draws from the global generator: each round seeds it (seed + round)
    assert torch.equal(runs[0], runs[1])
