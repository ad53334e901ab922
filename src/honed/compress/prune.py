"""Unstructured magnitude pruning: the smallest weights are set to zero, for good.

``torch.nn.utils.prune`` computes the masks (one global threshold over every prunable weight,
or one per layer) and :func:`torch.nn.utils.prune.remove` folds them into the weights, so the
model that comes back is a plain module with exact zeros: it saves, loads and exports like any
other. The zeros only shrink a model once it is stored sparse or compressed; dense kernels run
no faster, which compress.json shows honestly.
"""

from __future__ import annotations

from typing import Any, Literal

import torch
from torch import nn

from honed.compress.base import Compressor
from honed.errors import UserInputError

__all__ = ["MagnitudePruner", "magnitude_prune", "sparsity", "prunable_weights", "check_amount"]

_PRUNABLE = (nn.Linear, nn.modules.conv._ConvNd)


def check_amount(amount: float, *, what: str = "compress.prune.amount") -> float:
    """``amount`` as a float, or a one-line error unless it lies in [0, 1)."""
    if isinstance(amount, bool) or not isinstance(amount, (int, float)) or not 0 <= amount < 1:
        raise UserInputError(f"{what} must be a fraction in [0, 1); got {amount!r}")
    return float(amount)


def prunable_weights(model: nn.Module, *, include_head: bool = False
                     ) -> list[tuple[nn.Module, str]]:
    """``(layer, "weight")`` for every Linear and Conv layer; the output ``head`` is left out
    unless asked, since its few weights decide every class."""
    pairs = []
    for name, module in model.named_modules():
        if isinstance(module, _PRUNABLE) and (include_head or not name.startswith("head")):
            pairs.append((module, "weight"))
    return pairs


class MagnitudePruner(Compressor):
    """Zero the ``amount`` share of weights smallest in absolute value.

    Args:
        amount: fraction of the prunable weights to zero, in [0, 1).
        scope: ``global`` ranks all prunable weights together (layers lose different shares);
            ``layer`` zeroes the same share of each layer.
        include_head: prune the output layer too.
    """

    name = "magnitude"

    def __init__(self, amount: float, *, scope: Literal["global", "layer"] = "global",
                 include_head: bool = False):
        self.amount = check_amount(amount)
        if scope not in ("global", "layer"):
            raise UserInputError(f"compress.prune.scope must be global or layer; got {scope!r}")
        self.scope = scope
        self.include_head = include_head

    @torch.no_grad()
    def apply(self, model: nn.Module) -> nn.Module:
        from torch.nn.utils import prune

        pairs = prunable_weights(model, include_head=self.include_head)
        if not pairs or self.amount == 0:
            return model
        if self.scope == "global":
            prune.global_unstructured(pairs, pruning_method=prune.L1Unstructured,
                                      amount=self.amount)
        else:
            for module, attr in pairs:
                prune.l1_unstructured(module, attr, amount=self.amount)
        for module, attr in pairs:  # masks made permanent: weight = weight_orig * mask
            prune.remove(module, attr)
        return model

    def settings(self) -> dict[str, Any]:
        return {"amount": self.amount, "scope": self.scope}


def magnitude_prune(model: nn.Module, amount: float, *,
                    scope: Literal["global", "layer"] = "global",
                    include_head: bool = False) -> nn.Module:
    """Zero the smallest ``amount`` of the weights in place and return ``model``.

    Example:
        >>> model = magnitude_prune(nn.Sequential(nn.Linear(8, 8), nn.Linear(8, 2)), 0.5)
        >>> round(sparsity(model), 2)
        0.5
    """
    return MagnitudePruner(amount, scope=scope, include_head=include_head).apply(model)


def sparsity(model: nn.Module, *, include_head: bool = False) -> float:
    """Share of exact zeros among the prunable weights."""
    pairs = prunable_weights(model, include_head=include_head)
    total = sum(getattr(m, a).numel() for m, a in pairs)
    zeros = sum(int((getattr(m, a) == 0).sum()) for m, a in pairs)
    return zeros / total if total else 0.0
