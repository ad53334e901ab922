import pickle

import pytest
import torch
from torch import nn

from honed.errors import UserInputError
from honed.train.losses import make_loss, penalty


def _logits() -> tuple[torch.Tensor, torch.Tensor]:
    torch.manual_seed(0)
    return torch.randn(6, 4, dtype=torch.float64), torch.tensor([0, 3, 1, 1, 2, 0])


def _hand_cross_entropy(logits, soft):
    return -(soft * torch.log_softmax(logits, dim=1)).sum(dim=1).mean()


@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_cross_entropy_with_class_indices_matches_hand_formula(smoothing):
    logits, labels = _logits()
    soft = torch.nn.functional.one_hot(labels, 4).double() * (1 - smoothing) + smoothing / 4
    loss = make_loss("classification", label_smoothing=smoothing)(logits, labels)
    assert loss.dtype == torch.float32  # computed in fp32 whatever the forward pass used
    assert loss.item() == pytest.approx(_hand_cross_entropy(logits, soft).item(), rel=1e-6)


@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_cross_entropy_with_soft_targets_matches_hand_formula(smoothing):
    logits, labels = _logits()
    mixed = 0.7 * torch.nn.functional.one_hot(labels, 4).double() + 0.3 * torch.full((6, 4), 0.25)
    expected = _hand_cross_entropy(logits, mixed * (1 - smoothing) + smoothing / 4)
    loss = make_loss("classification", label_smoothing=smoothing)(logits, mixed)
    assert loss.item() == pytest.approx(expected.item(), rel=1e-6)


def test_cross_entropy_takes_int32_labels_and_bf16_logits():
    logits, labels = _logits()
    loss_fn = make_loss("classification")
    reference = loss_fn(logits.float(), labels)
    assert loss_fn(logits.float(), labels.int()).item() == reference.item()
    assert loss_fn(logits.bfloat16(), labels).item() == pytest.approx(reference.item(), rel=2e-2)
    with pytest.raises(ValueError, match="soft targets"):
        loss_fn(logits, torch.zeros(6, 3))


@pytest.mark.parametrize("task", ["regression", "forecasting"])
def test_mse_matches_hand_formula_and_aligns_shapes(task):
    outputs = torch.tensor([[1.0], [2.0], [4.0]])
    targets = torch.tensor([1.5, 2.0, 1.0])
    loss_fn = make_loss(task)
    expected = (0.25 + 0.0 + 9.0) / 3
    assert loss_fn(outputs, targets).item() == pytest.approx(expected)  # (N,) vs (N, 1)
    assert loss_fn(outputs, targets[:, None]).item() == pytest.approx(expected)
    with pytest.raises(ValueError, match="do not fit"):
        loss_fn(outputs, torch.zeros(4))


def test_losses_pickle():
    logits, labels = _logits()
    cross_entropy = make_loss("classification", label_smoothing=0.1)
    clone = pickle.loads(pickle.dumps(cross_entropy))
    assert clone(logits, labels).item() == cross_entropy(logits, labels).item()
    mse = pickle.loads(pickle.dumps(make_loss("regression")))
    assert mse(torch.ones(3), torch.zeros(3)).item() == 1.0


def test_make_loss_rejects_bad_input():
    with pytest.raises(UserInputError, match="classification only"):
        make_loss("regression", label_smoothing=0.1)
    with pytest.raises(UserInputError, match="unknown task 'ranking'"):
        make_loss("ranking")


def test_penalty_matches_hand_formula_on_weights_only():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2))
    weights = [model[0].weight, model[2].weight]
    l1 = sum(w.abs().sum() for w in weights)
    l2 = sum((w**2).sum() for w in weights)
    assert penalty(model, l1=0.01).item() == pytest.approx(0.01 * l1.item(), rel=1e-6)
    assert penalty(model, l2=0.1).item() == pytest.approx(0.1 * l2.item(), rel=1e-6)
    both = penalty(model, l1=0.01, l2=0.1)
    assert both.item() == pytest.approx(0.01 * l1.item() + 0.1 * l2.item(), rel=1e-6)
    both.backward()
    expected_grad = 0.01 * torch.sign(weights[0]) + 0.2 * weights[0]
    assert torch.allclose(model[0].weight.grad, expected_grad)
    assert model[0].bias.grad is None and model[1].weight.grad is None


def test_penalty_is_none_when_off_or_nothing_trainable():
    model = nn.Linear(3, 2)
    assert penalty(model) is None
    model.weight.requires_grad_(False)
    assert penalty(model, l1=0.1, l2=0.1) is None
