"""A bidirectional recurrent network over right-padded texts, in ops that export to ONNX.

Packing (``pack_padded_sequence``) makes the backward direction start at each text's own last
token, but neither PyTorch ONNX exporter supports it. :func:`final_states` gives the same
result with plain ops, one layer and one direction at a time, using the weights of the
``nn.RNN``/``nn.LSTM``/``nn.GRU`` as they are (the saved weights keep their names):

- the forward direction runs over the padded rows as they are; its output at a step has read
  only the steps before it, so padding after the last real token is never read;
- the backward direction reads each row reversed within its own length (a gather puts the last
  real token first and leaves the padding after it), and its outputs are reversed back the
  same way, so that the next layer reads both directions step by step as packing gives them.

The final state of the top layer is the forward output at each row's last real token beside
the backward output at its first token, which is what packing returns in ``h_n``.

:data:`PADDED_CELLS` are ``nn.RNN``/``nn.LSTM``/``nn.GRU`` whose ``forward(x, lengths)`` returns
these final states: still the same modules to everything that looks for them (forward hooks
such as the MAC count, ``isinstance`` checks, the names of the saved weights).
"""

from __future__ import annotations

import torch
from torch import _VF, nn
from torch.nn import functional as F

__all__ = ["PADDED_CELLS", "final_states", "reverse_within"]

# the kernels nn.RNN, nn.LSTM and nn.GRU call themselves; PyTorch has no public functional form
_KERNELS = {"LSTM": _VF.lstm, "GRU": _VF.gru, "RNN_TANH": _VF.rnn_tanh,
            "RNN_RELU": _VF.rnn_relu}


def reverse_within(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """``(B, T, D)`` with each row's first ``lengths[b]`` steps reversed, the rest in place.

    Applied twice it gives ``x`` back.
    """
    steps = torch.arange(x.shape[1], device=x.device).unsqueeze(0)
    last = (lengths.to(x.device) - 1).unsqueeze(1)
    order = torch.where(steps <= last, last - steps, steps)
    rows = torch.arange(x.shape[0], device=x.device).unsqueeze(1)
    return x[rows, order]


def final_states(rnn: nn.RNNBase, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """The top layer's final states of a bidirectional batch-first ``rnn``, ``(B, 2 * H)``.

    Args:
        rnn: a bidirectional, batch-first ``nn.RNN``, ``nn.LSTM`` or ``nn.GRU`` with biases.
        x: ``(B, T, input_size)`` steps, right-padded.
        lengths: ``(B,)`` real steps of each row, at least 1.

    Returns:
        Forward and backward final states side by side, as packing would give them.
    """
    kernel = _KERNELS[rnn.mode]
    for layer in range(rnn.num_layers):
        # between layers, as nn.RNNBase does; not called at all when off: even a no-op
        # dropout made the dynamo exporter fix the sequence axis of a two-layer model
        if layer and rnn.dropout and rnn.training:
            x = F.dropout(x, rnn.dropout)
        forward = _direction(rnn, kernel, x, layer, "")
        backward = reverse_within(_direction(rnn, kernel, reverse_within(x, lengths), layer,
                                             "_reverse"), lengths)
        x = torch.cat([forward, backward], dim=2)
    rows = torch.arange(x.shape[0], device=x.device)
    return torch.cat([forward[rows, lengths.to(x.device) - 1], backward[:, 0]], dim=1)


def _direction(rnn: nn.RNNBase, kernel, x: torch.Tensor, layer: int,
               suffix: str) -> torch.Tensor:
    """One layer's one direction over every step: ``(B, T, H)`` outputs."""
    weights = [getattr(rnn, f"{name}_l{layer}{suffix}")
               for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
    state = x.new_zeros(1, x.shape[0], rnn.hidden_size)
    hx = (state, state) if rnn.mode == "LSTM" else state
    # one layer, no dropout, one direction, batch first
    return kernel(x, hx, weights, True, 1, 0.0, rnn.training, False, True)[0]


class _FinalStates:
    """``forward(x, lengths)``: :func:`final_states` of this bidirectional module."""

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return final_states(self, x, lengths)  # type: ignore[arg-type]


class PaddedRNN(_FinalStates, nn.RNN):
    """A bidirectional ``nn.RNN`` reading right-padded rows up to their lengths."""


class PaddedLSTM(_FinalStates, nn.LSTM):
    """A bidirectional ``nn.LSTM`` reading right-padded rows up to their lengths."""


class PaddedGRU(_FinalStates, nn.GRU):
    """A bidirectional ``nn.GRU`` reading right-padded rows up to their lengths."""


PADDED_CELLS: dict[str, type[nn.RNNBase]] = {"rnn": PaddedRNN, "lstm": PaddedLSTM,
                                             "gru": PaddedGRU}
