"""Knowledge distillation: a trained teacher teaches a smaller student.

Classification (Hinton et al., 2015)::

    loss = alpha * T^2 * KL(softmax(t / T) || softmax(s / T)) + (1 - alpha) * CE(s, y)

Regression and forecasting: ``alpha * MSE(s, t) + (1 - alpha) * MSE(s, y)``, pulling the
student to the teacher's outputs (both in the model's scaled units).

The student trains with :func:`honed.train.fit` (the run's optimizer, schedule, precision, EMA
and callbacks). The :class:`Distill` callback needs no change to the trainer: it runs the teacher
on each training batch from a forward pre-hook on the student and swaps the trainer's loss for a
:class:`DistillationLoss` reading those outputs; validation keeps the plain task loss, so the
monitored metrics mean what they mean for any other fit.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from honed.errors import UserInputError
from honed.train.callbacks.base import Callback

__all__ = ["DistillationLoss", "Distill", "distill", "check_student"]


class DistillationLoss:
    """``alpha`` x the distillation term + ``(1 - alpha)`` x the task loss.

    Args:
        task_loss: the trainer's own loss ``(outputs, targets) -> scalar`` (label smoothing and
            mixup's soft targets included).
        task: classification, regression or forecasting.
        temperature: softens both distributions (classification); > 0.
        alpha: weight of the teacher's term, in [0, 1].
        teacher_outputs: a callable giving the teacher's outputs for the current batch.
    """

    def __init__(self, task_loss, *, task: str, temperature: float, alpha: float,
                 teacher_outputs=None):
        if not temperature > 0:
            raise UserInputError(f"compress.distill.temperature must be > 0; got {temperature}")
        if not 0 <= alpha <= 1:
            raise UserInputError(f"compress.distill.alpha must be in [0, 1]; got {alpha}")
        self.task_loss, self.task = task_loss, task
        self.temperature, self.alpha = float(temperature), float(alpha)
        self.teacher_outputs = teacher_outputs

    def __call__(self, outputs: torch.Tensor, targets: torch.Tensor,
                 teacher: torch.Tensor | None = None) -> torch.Tensor:
        teacher = self.teacher_outputs() if teacher is None else teacher
        hard = self.task_loss(outputs, targets)
        if self.alpha == 0:
            return hard
        teacher = teacher.detach().float()
        if self.task == "classification":
            t = self.temperature
            soft = F.kl_div(F.log_softmax(outputs.float() / t, dim=1),
                            F.log_softmax(teacher / t, dim=1), reduction="batchmean",
                            log_target=True) * t * t
        else:
            soft = F.mse_loss(outputs.float(), teacher)
        return self.alpha * soft + (1 - self.alpha) * hard


class Distill(Callback):
    """Train the fitted model as the student of ``teacher``.

    The teacher runs in eval mode without gradients on exactly the batch the student sees
    (augmented and mixed the same way), under the same autocast. It starts after EMA (order
    0), so that EMA's copy of the student does not carry the teacher's hook.
    """

    order = 10

    def __init__(self, teacher: nn.Module, *, temperature: float = 2.0, alpha: float = 0.5):
        self.teacher = teacher.eval()
        for parameter in self.teacher.parameters():
            parameter.requires_grad_(False)
        self.temperature, self.alpha = temperature, alpha
        self._outputs: torch.Tensor | None = None
        self._handle = None
        self._plain_loss = None

    def on_fit_start(self, trainer) -> None:
        self.teacher.to(trainer.device)
        self._handle = trainer.model.register_forward_pre_hook(self._run_teacher)
        self._plain_loss = trainer.loss_fn
        trainer.loss_fn = DistillationLoss(trainer.loss_fn, task=trainer.data.task,
                                           temperature=self.temperature, alpha=self.alpha,
                                           teacher_outputs=self._take)

    def on_fit_end(self, trainer) -> None:
        if self._handle is not None:
            self._handle.remove()
            self._handle = None
        if self._plain_loss is not None:
            trainer.loss_fn = self._plain_loss
        self._outputs = None

    def _run_teacher(self, module: nn.Module, args: tuple) -> None:
        if module.training:  # validation and prediction pass the student alone
            with torch.no_grad():
                self._outputs = self.teacher(*args)

    def _take(self) -> torch.Tensor:
        if self._outputs is None:
            raise RuntimeError("the teacher has not seen this batch")
        outputs, self._outputs = self._outputs, None
        return outputs


def check_student(teacher: nn.Module, student: nn.Module, input_shape) -> None:
    """A one-line error unless both models map one example to outputs of one shape."""
    example = torch.zeros(2, *input_shape)
    shapes = []
    for role, model in (("teacher", teacher), ("student", student)):
        was = model.training
        model.eval()
        try:
            with torch.no_grad():
                shapes.append(tuple(model(example).shape))
        except RuntimeError as exc:
            first = str(exc).strip().splitlines()[0]
            raise UserInputError(f"compress.distill: the {role} does not take this run's "
                                 f"inputs of shape {list(input_shape)}: {first}") from None
        finally:
            model.train(was)
    if shapes[0] != shapes[1]:
        raise UserInputError(f"compress.distill.student gives outputs of shape {list(shapes[1])}"
                             f" for 2 examples, the teacher {list(shapes[0])}; they must match")


def distill(teacher: nn.Module, student: nn.Module, data, *, temperature: float = 2.0,
            alpha: float = 0.5, train=None, seed: int = 0, augment=None,
            callbacks=(), **train_fields: Any):
    """Train ``student`` on ``data`` with ``teacher``'s outputs; returns the fit's result.

    Any field of the spec's ``train`` section may be given as a keyword (``epochs=...``).
    The trained model is ``result.extra["trainer"].eval_model`` (the EMA average when on).

    Example:
        >>> result = distill(teacher, create_model("mlp", input_shape=(40, 1), num_outputs=10,
        ...                  hidden=32), data, temperature=2, alpha=0.5, epochs=20)
    """
    from honed.train import fit

    check_student(teacher, student, data.input_shape)
    callback = Distill(teacher, temperature=temperature, alpha=alpha)
    return fit(student, data, train=train, seed=seed, augment=augment,
               callbacks=[*callbacks, callback], **train_fields)
