"""Distillation: the loss against a hand computation, and training through honed.train.fit."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from honed.compress.distill import Distill, DistillationLoss, check_student, distill
from honed.errors import UserInputError
from honed.models import create_model
from honed.train import fit
from honed.train.losses import make_loss
from tests.helpers import blobs, linear_regression


def test_classification_loss_is_alpha_t2_kl_plus_ce():
    torch.manual_seed(0)
    s, t, y = torch.randn(8, 3), torch.randn(8, 3), torch.randint(0, 3, (8,))
    loss = DistillationLoss(make_loss("classification"), task="classification",
                            temperature=2.0, alpha=0.3)(s, y, t)
    p_t = F.softmax(t / 2, dim=1)
    kl = (p_t * (p_t.log() - F.log_softmax(s / 2, dim=1))).sum(1).mean()
    expected = 0.3 * 4 * kl + 0.7 * F.cross_entropy(s, y)
    assert loss.item() == pytest.approx(expected.item(), rel=1e-5)


def test_regression_loss_pulls_to_the_teacher():
    s, t, y = torch.zeros(4, 1), torch.ones(4, 1), torch.full((4, 1), 2.0)
    loss = DistillationLoss(make_loss("regression"), task="regression", temperature=1.0,
                            alpha=0.25)(s, y, t)
    assert loss.item() == pytest.approx(0.25 * 1.0 + 0.75 * 4.0)


@pytest.mark.parametrize("temperature,alpha", [(0.0, 0.5), (-1.0, 0.5), (2.0, 1.5)])
def test_bad_temperature_or_alpha_is_refused(temperature, alpha):
    with pytest.raises(UserInputError):
        DistillationLoss(make_loss("classification"), task="classification",
                         temperature=temperature, alpha=alpha)


def _teacher(data, **knobs):
    torch.manual_seed(0)
    teacher = create_model("mlp", input_shape=data.input_shape, num_outputs=data.num_outputs,
                           hidden=64, **knobs)
    fit(teacher, data, epochs=5, optimizer={"lr": 0.01})
    return teacher.eval()


def test_student_learns_from_the_teacher_and_the_trainer_is_restored():
    data = blobs()
    teacher = _teacher(data)
    torch.manual_seed(1)
    student = create_model("mlp", input_shape=data.input_shape, num_outputs=3, hidden=8)
    result = distill(teacher, student, data, temperature=3.0, alpha=0.8, epochs=15,
                     optimizer={"lr": 0.01})
    trainer = result.extra["trainer"]
    assert result.history[-1]["val"]["accuracy"] > 0.8
    assert not isinstance(trainer.loss_fn, DistillationLoss)  # put back after the fit
    assert not student._forward_pre_hooks


def test_alpha_zero_trains_exactly_like_a_plain_fit():
    data = blobs()
    teacher = _teacher(data)
    runs = []
    for with_teacher in (False, True):
        torch.manual_seed(3)
        student = create_model("mlp", input_shape=data.input_shape, num_outputs=3, hidden=8)
        callbacks = [Distill(teacher, alpha=0.0)] if with_teacher else []
        runs.append(fit(student, data, epochs=2, callbacks=callbacks).history)
    assert [r["train"]["loss"] for r in runs[0]] == [r["train"]["loss"] for r in runs[1]]


def test_distillation_with_ema_bf16_and_regression():
    data = linear_regression()
    teacher = _teacher(data)
    torch.manual_seed(1)
    student = create_model("mlp", input_shape=data.input_shape, num_outputs=1, hidden=8)
    result = distill(teacher, student, data, alpha=0.5, epochs=3, ema={"decay": 0.9},
                     precision="bf16", device="cpu", optimizer={"lr": 0.01})
    assert result.extra["trainer"].eval_model is not student  # the EMA copy validates
    assert not result.extra["trainer"].eval_model._forward_pre_hooks


def test_student_with_other_outputs_is_refused():
    data = blobs()
    teacher = create_model("mlp", input_shape=(6,), num_outputs=3)
    student = create_model("mlp", input_shape=(6,), num_outputs=5)
    with pytest.raises(UserInputError, match="must match"):
        check_student(teacher, student, (6,))
    with pytest.raises(UserInputError, match="must match"):
        distill(teacher, student, data, epochs=1)
