"""The recurrent network behind the ``rnn``, ``lstm`` and ``gru`` families.

Every kind is read as a sequence of steps: a sequence ``(B, T, C)`` as it is, an image
``(B, C, H, W)`` row by row as ``(B, H, W * C)``, a table ``(B, F)`` one feature per step as
``(B, F, 1)``, and token ids ``(B, T)`` one embedded token per step, read up to each text's
own length so that padding is never read (both ways: with
:mod:`honed.models.bidirectional`, which exports to ONNX as packing does not).

The head reads the final hidden state of the last layer, not the mean over time: the state is
what the recurrence was trained to carry, the latest steps (which matter most when forecasting)
are not diluted by older ones, and for a bidirectional network the backward direction's final
state is the one that has seen the whole sequence, which ``output[:, -1]`` would miss.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from honed.models._checks import boolean, fraction, input_kind, positive_int
from honed.models.bidirectional import PADDED_CELLS
from honed.models.layers import init_weights
from honed.models.tokens import TokenEmbedding, embedding_width, lengths

__all__ = ["CELLS", "Recurrent", "build_recurrent"]

CELLS: dict[str, type[nn.RNNBase]] = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


class Recurrent(nn.Module):
    """A stacked RNN, LSTM or GRU, dropout, and a linear ``head`` on the final hidden state."""

    def __init__(self, cell: str, input_shape: tuple[int, ...], num_outputs: int, *,
                 hidden: int, depth: int, dropout: float, bidirectional: bool,
                 vocab_size: int | None = None, embedding_dim: int | None = None):
        super().__init__()
        self.kind = input_kind(input_shape, text=vocab_size is not None)
        if self.kind == "text":
            step_size = embedding_width(cell, True, embedding_dim)
            self.embed = TokenEmbedding(vocab_size, step_size)
        elif self.kind == "image":
            step_size = input_shape[0] * input_shape[2]
        else:
            step_size = 1 if self.kind == "table" else input_shape[1]
        self.directions = 2 if bidirectional else 1
        # PyTorch's own dropout acts between layers only (and warns with one layer); the
        # extra Dropout below gives the knob a meaning at depth 1 too.
        # text read both ways: the same module, whose forward(x, lengths) stops at each text's
        # own length without packing, which does not export (honed.models.bidirectional)
        cells = PADDED_CELLS if self.kind == "text" and bidirectional else CELLS
        self.rnn = cells[cell](step_size, hidden, num_layers=depth, batch_first=True,
                               dropout=dropout if depth > 1 else 0.0,
                               bidirectional=bidirectional)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(hidden * self.directions, num_outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.kind == "image":
            x = x.permute(0, 2, 3, 1).flatten(2)  # (B, H, W, C) -> one row per step
        elif self.kind == "table":
            x = x.unsqueeze(-1)
        elif self.kind == "text":
            x, mask = self.embed(x)
            if self.directions == 1:
                # The top layer's output at the text's last token is its final state there:
                # what packing gives, in plain ops that export to ONNX.
                output, _ = self.rnn(x)
                last = (lengths(mask) - 1).to(output.device)
                picked = output[torch.arange(output.shape[0], device=output.device), last]
                return self.head(self.dropout(picked))
            # the backward direction starts at each text's own last token
            return self.head(self.dropout(self.rnn(x, lengths(mask))))
        _, state = self.rnn(x)
        hidden = state[0] if isinstance(state, tuple) else state  # LSTM also returns the cell
        # (layers * directions, B, H): keep the last layer's directions, side by side.
        last = hidden[-self.directions:].transpose(0, 1).flatten(1)
        return self.head(self.dropout(last))


def build_recurrent(cell: str, input_shape: Sequence[int], num_outputs: int, *, hidden: int,
                    depth: int, dropout: float, bidirectional: bool, init: str,
                    vocab_size: int | None = None, embedding_dim: int | None = None
                    ) -> Recurrent:
    """Build a :class:`Recurrent` network; the thin ``rnn``/``lstm``/``gru`` entries call this.

    Args:
        cell: rnn, lstm or gru.
        input_shape: one example's shape, of any kind.
        num_outputs: width of the final linear layer.
        hidden: state size per direction.
        depth: stacked recurrent layers.
        dropout: probability between layers and before the head.
        bidirectional: also read each sequence backwards.
        init: weight init scheme; gates are initialized one block at a time, so that
            ``orthogonal`` makes each recurrent matrix orthogonal.
        vocab_size: token ids in: rows of the embedding (the data sets it); ``None`` otherwise.
        embedding_dim: width of each token's vector (text only; default 64).
    """
    embedding_width(cell, vocab_size is not None, embedding_dim)
    model = Recurrent(cell, tuple(input_shape), num_outputs, hidden=positive_int("hidden", hidden),
                      depth=positive_int("depth", depth), dropout=fraction("dropout", dropout),
                      bidirectional=boolean("bidirectional", bidirectional),
                      vocab_size=vocab_size, embedding_dim=embedding_dim)
    return init_weights(model, init, nonlinearity="tanh")
