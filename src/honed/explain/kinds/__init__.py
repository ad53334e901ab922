"""Input kinds, one module each, registered in :data:`KINDS`."""

from __future__ import annotations

from honed.errors import UserInputError

from .base import Baseline, ExplainKind, Group, feature_mask
from .image import ImageKind
from .mixed import MixedKind
from .sequence import SequenceKind
from .table import TableKind
from .text import TextKind

__all__ = ["KINDS", "input_kind", "Baseline", "Group", "ExplainKind", "feature_mask"]

#: the data kind (``PreparedData.kind``) to its strategy
KINDS: dict[str, type[ExplainKind]] = {"table": TableKind, "image": ImageKind,
                                     "sequence": SequenceKind, "text": TextKind,
                                     "mixed": MixedKind}


def input_kind(kind: str) -> ExplainKind:
    """The strategy of data kind ``kind`` (``mixed``: text beside table columns).

    Raises:
        UserInputError: no strategy explains this kind yet (the message lists those that do).
    """
    if kind not in KINDS:
        raise UserInputError(f"honed explain does not support {kind!r} inputs yet; it "
                             f"explains: {', '.join(KINDS)}")
    return KINDS[kind]()
