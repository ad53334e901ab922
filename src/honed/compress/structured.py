"""Structured pruning: whole channels and neurons are removed, so the model really shrinks.

torch-pruning traces the model into a dependency graph, so that removing an output channel of
one layer also removes the matching input channel of every layer that reads it, the BatchNorm
statistics in between, and the channels tied together by residual sums. Channels are ranked by
the L2 norm of all the weights of their group. The output ``head`` keeps its outputs.

Only the families whose graphs this was checked on are accepted (``mlp``, ``cnn``,
``resnet``); recurrent and attention layers pack their weights in ways a channel cut would
break silently, so they are refused with a clear error instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import torch
from torch import nn

from honed.compress.base import Compressor
from honed.compress.prune import check_amount
from honed.errors import UserInputError

__all__ = ["StructuredPruner", "structured_prune", "STRUCTURED_FAMILIES", "family_of"]

STRUCTURED_FAMILIES = ("mlp", "cnn", "resnet")


def family_of(model: nn.Module) -> str | None:
    """The registered family a model instance belongs to, when it is one of ours."""
    from honed.models.cnn import CNN
    from honed.models.mlp import MLP
    from honed.models.resnet import ResNet

    for family, kind in (("mlp", MLP), ("cnn", CNN), ("resnet", ResNet)):
        if isinstance(model, kind):
            return family
    return None


class StructuredPruner(Compressor):
    """Remove the ``amount`` share of channels (conv) and neurons (dense) of every layer.

    Args:
        amount: fraction of the channels removed, in [0, 1).
        input_shape: one example's shape, to trace the model.
        scope: ``layer`` removes the same share from each layer; ``global`` ranks every group
            together, so some layers lose more than others (never more than ``max_share``).
        max_share: the most any one layer may lose under ``global``.
        round_to: keep channel counts multiples of this (fast kernels like multiples of 8).
    """

    name = "structured"
    resizes = True

    def __init__(self, amount: float, input_shape: Sequence[int], *,
                 scope: Literal["global", "layer"] = "layer", max_share: float = 0.9,
                 round_to: int | None = None):
        self.amount = check_amount(amount)
        if scope not in ("global", "layer"):
            raise UserInputError(f"compress.prune.scope must be global or layer; got {scope!r}")
        self.input_shape = tuple(int(size) for size in input_shape)
        self.scope = scope
        self.max_share = max_share
        self.round_to = round_to

    def apply(self, model: nn.Module) -> nn.Module:
        family = family_of(model)
        if family is None:
            raise UserInputError(
                f"structured pruning supports the families {', '.join(STRUCTURED_FAMILIES)}; "
                f"got a {type(model).__name__}; use compress.prune.method: magnitude instead")
        if self.amount == 0:
            return model
        import torch_pruning as tp

        was_training = model.training
        model.eval()  # tracing must not update BatchNorm statistics
        device = next(model.parameters()).device
        example = torch.zeros(1, *self.input_shape, device=device)
        pruner = tp.pruner.MetaPruner(
            model, example, importance=tp.importance.GroupMagnitudeImportance(p=2),
            pruning_ratio=self.amount, global_pruning=self.scope == "global",
            max_pruning_ratio=self.max_share, ignored_layers=[model.head],
            round_to=self.round_to)
        pruner.step()
        # tracing leaves gradients and hooks alone, but parameters were replaced: drop stale grads
        for parameter in model.parameters():
            parameter.grad = None
        return model.train(was_training)

    def settings(self) -> dict[str, Any]:
        return {"amount": self.amount, "scope": self.scope}


def structured_prune(model: nn.Module, amount: float, input_shape: Sequence[int], *,
                     scope: Literal["global", "layer"] = "layer",
                     round_to: int | None = None) -> nn.Module:
    """Remove ``amount`` of the channels of ``model`` in place and return it.

    Example:
        >>> model = create_model("cnn", input_shape=(1, 8, 8), num_outputs=10)
        >>> structured_prune(model, 0.5, (1, 8, 8)).features[0].out_channels
        16
    """
    return StructuredPruner(amount, input_shape, scope=scope, round_to=round_to).apply(model)
