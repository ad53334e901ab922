"""``gru``: a stacked GRU; the network itself lives in :mod:`honed.models.recurrent`."""

from __future__ import annotations

from collections.abc import Sequence

from honed.models.recurrent import Recurrent, build_recurrent
from honed.models.registry import register_model

__all__ = ["build_gru"]


@register_model(
    "gru",
    description="GRU over steps; head on the final hidden state.",
    kinds=("sequence", "image", "table", "text"),
    knobs=("hidden", "depth", "dropout", "bidirectional", "init", "embedding_dim", "vocab_size"),
)
def build_gru(
    input_shape: Sequence[int], num_outputs: int, *, task: str = "classification",
    hidden: int = 64, depth: int = 1, dropout: float = 0.0, bidirectional: bool = False,
    init: str = "default", embedding_dim: int | None = None, vocab_size: int | None = None,
) -> Recurrent:
    """Build a GRU over ``(T, C)`` sequences, images read row by row, or tables read one
    feature per step, or token ids; see :func:`honed.models.recurrent.build_recurrent`."""
    return build_recurrent("gru", input_shape, num_outputs, hidden=hidden, depth=depth,
                           dropout=dropout, bidirectional=bidirectional, init=init,
                           vocab_size=vocab_size, embedding_dim=embedding_dim)
