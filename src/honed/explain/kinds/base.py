"""The contract of one input kind: how its inputs are grouped, occluded and given a baseline.

A kind (table, image, sequence, text) is one small class in its own module,
registered in :data:`honed.explain.kinds.KINDS`. Everything else in :mod:`honed.explain` works
on the flat ``(N, D)`` view of the model's inputs and the index groups a kind returns.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from honed.data.dataset import PreparedData

__all__ = ["Group", "Baseline", "ExplainKind"]


@dataclass(frozen=True)
class Group:
    """Inputs that are permuted and reported together, as the user sees them.

    Attributes:
        name: what the user calls it (``colour``, ``channel 0``, ``rows 0-3 × cols 4-7``).
        kind: ``feature``, ``channel``, ``region`` or ``time``.
        index: positions in the flat ``(D,)`` view of one model input.
    """

    name: str
    kind: str
    index: np.ndarray


@dataclass(frozen=True)
class Baseline:
    """The reference input of integrated gradients, and what it means (recorded in outputs)."""

    values: np.ndarray  # one model input, shape input_shape, float32
    description: str


class ExplainKind:
    """One kind of model input; subclasses set ``name`` and ``default_method``."""

    name: str = "kind"
    #: the attribution method ``explain.method: auto`` picks for this kind
    default_method: str = "integrated_gradients"
    #: the ablation method that fits this kind (occlusion slides a window, feature_ablation
    #: drops whole groups)
    ablation: str = "feature_ablation"
    #: the attribution methods that apply (None: all of them)
    methods: tuple[str, ...] | None = None

    def groups(self, data: PreparedData) -> list[Group]:
        """The groups global importance permutes, in the user's terms."""
        raise NotImplementedError

    def baseline(self, data: PreparedData) -> Baseline:
        """The integrated-gradients baseline for this data (fitted on the training split)."""
        raise NotImplementedError

    def window(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        """Occlusion's sliding window (and stride) for one input of ``input_shape``."""
        return tuple(1 for _ in input_shape)


def feature_mask(groups: list[Group], input_shape: tuple[int, ...]) -> np.ndarray:
    """An int mask of ``input_shape`` numbering each position by its group (captum's format)."""
    mask = np.zeros(int(np.prod(input_shape)), dtype=np.int64)
    for number, group in enumerate(groups):
        mask[group.index] = number
    return mask.reshape(input_shape)
