"""Structured pruning: whole channels and neurons are removed, so the model really shrinks.

torch-pruning traces the model into a dependency graph, so that removing an output channel of
one layer also removes the matching input channel of every layer that reads it, the BatchNorm
statistics in between, and the channels tied together by residual sums. Channels are ranked by
the L2 norm of all the weights of their group. The output ``head`` keeps its outputs.

Channel counts are rounded down to multiples of ``round_to`` (16 by default): ONNX Runtime's
CPU convolutions work in blocks of 16 channels on AVX-512, and run other widths far slower
(bench/prune_widths.py, the digits CNN with 1 thread, interleaved against the fp32 model: pruned
to 16, 33, 63 channels it ran 1.9x faster at batch 64, to 16, 32, 64 3.0x; pruned by a quarter
to 24, 48, 96 it ran 1.01x, to 16, 48, 96 2.4x). A layer is never rounded below ``round_to``
channels (or its own width, when narrower).

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

__all__ = ["StructuredPruner", "structured_prune", "STRUCTURED_FAMILIES", "family_of",
           "ROUND_TO", "rounded_width", "prune_step"]

STRUCTURED_FAMILIES = ("mlp", "cnn", "resnet")
#: default channel multiple: ONNX Runtime's blocked convolutions on AVX-512 (see above); 4 and
#: 8 ran no faster than odd widths whenever a conv width was not a multiple of 16
ROUND_TO = 16


def rounded_width(kept: int, width: int, round_to: int) -> int:
    """``kept`` channels of ``width`` rounded down to a multiple of ``round_to``, never below
    ``round_to`` (nor above ``width``).

    Example:
        >>> rounded_width(33, 64, 16), rounded_width(3, 64, 16), rounded_width(5, 6, 16)
        (32, 16, 6)
    """
    return min(width, max(kept - kept % round_to, round_to))


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
        round_to: keep channel counts multiples of this (None or 1: widths as they fall;
            ``honed compress`` passes compress.prune.round_to, 16 by default).
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
        if round_to is not None and (isinstance(round_to, bool) or not isinstance(round_to, int)
                                     or round_to < 1):
            raise UserInputError(f"compress.prune.round_to must be a positive integer; "
                                 f"got {round_to!r}")
        self.round_to = round_to if round_to and round_to > 1 else None

    def apply(self, model: nn.Module) -> nn.Module:
        pruner = self.start(model)
        if pruner is not None:
            prune_step(model, pruner)
        return model

    def start(self, model: nn.Module, steps: int = 1):
        """torch-pruning's pruner of ``model``: each :func:`prune_step` takes it one of
        ``steps`` equal steps nearer ``amount``, every layer's target counted from its width
        now (so rounding in one step is not compounded by the next). None when amount is 0.
        """
        family = family_of(model)
        if family is None:
            raise UserInputError(
                f"structured pruning supports the families {', '.join(STRUCTURED_FAMILIES)}; "
                f"got a {type(model).__name__}; use compress.prune.method: magnitude instead")
        if self.amount == 0:
            return None
        import torch_pruning as tp

        was_training = model.training
        model.eval()  # tracing must not update BatchNorm statistics
        device = next(model.parameters()).device
        example = torch.zeros(1, *self.input_shape, device=device)
        pruner = _rounding_pruner(tp)(
            model, example, importance=tp.importance.GroupMagnitudeImportance(p=2),
            pruning_ratio=self.amount, global_pruning=self.scope == "global",
            max_pruning_ratio=self.max_share, ignored_layers=[model.head],
            round_to=self.round_to, iterative_steps=steps)
        model.train(was_training)
        return pruner

    def settings(self) -> dict[str, Any]:
        return {"amount": self.amount, "scope": self.scope, "round_to": self.round_to}


def prune_step(model: nn.Module, pruner) -> nn.Module:
    """One step of a pruner from :meth:`StructuredPruner.start`, in eval mode."""
    was_training = model.training
    model.eval()  # the step runs the model: BatchNorm statistics must not move
    pruner.step()
    # parameters were replaced: drop stale gradients
    for parameter in model.parameters():
        parameter.grad = None
    return model.train(was_training)


def _rounding_pruner(tp):
    """torch-pruning's MetaPruner, except that rounding never leaves a layer with 0 channels
    (its own rounds 5 kept channels down to 0 with ``round_to=8``)."""

    class RoundingPruner(tp.pruner.MetaPruner):
        def _round_to(self, n_pruned, current_channels, round_to):
            return current_channels - rounded_width(current_channels - n_pruned,
                                                    current_channels, round_to)

    return RoundingPruner


def structured_prune(model: nn.Module, amount: float, input_shape: Sequence[int], *,
                     scope: Literal["global", "layer"] = "layer",
                     round_to: int | None = None) -> nn.Module:
    """Remove ``amount`` of the channels of ``model`` in place and return it.

    Example:
        >>> model = create_model("cnn", input_shape=(1, 8, 8), num_outputs=10)
        >>> structured_prune(model, 0.5, (1, 8, 8), round_to=4).features[0].out_channels
        16
    """
    return StructuredPruner(amount, input_shape, scope=scope, round_to=round_to).apply(model)
