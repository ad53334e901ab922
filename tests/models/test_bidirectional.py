"""Bidirectional recurrent text models read each text up to its own length without packing:
the same final states as ``pack_padded_sequence``, the same weights, gradients to every layer
and direction, and a MAC count that still sees the recurrent layer."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from honed.compress.measure import count_macs
from honed.models import create_model
from honed.models.bidirectional import PADDED_CELLS, reverse_within
from honed.models.recurrent import CELLS

LENGTHS = torch.tensor([6, 1, 3, 2, 1])  # the longest fills the batch; length-1 rows too


def packed_final_states(rnn: nn.RNNBase, x: torch.Tensor, lengths: torch.Tensor
                        ) -> torch.Tensor:
    """What the model computed before: pack, run, keep the top layer's two final states."""
    packed = nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True,
                                               enforce_sorted=False)
    _, state = rnn(packed)
    hidden = state[0] if isinstance(state, tuple) else state
    return hidden[-2:].transpose(0, 1).flatten(1)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("depth", [1, 3])
def test_final_states_equal_packing(cell: str, depth: int) -> None:
    torch.manual_seed(0)
    padded = PADDED_CELLS[cell](5, 7, num_layers=depth, batch_first=True, bidirectional=True)
    plain = CELLS[cell](5, 7, num_layers=depth, batch_first=True, bidirectional=True)
    plain.load_state_dict(padded.state_dict())  # same weights, same names
    x = torch.randn(len(LENGTHS), int(LENGTHS.max()), 5)
    with torch.no_grad():
        got = padded.eval()(x, LENGTHS)
        # whatever the padding holds, it is never read
        noisy = x.clone()
        for row, length in enumerate(LENGTHS):
            noisy[row, length:] = 100.0
        assert torch.allclose(padded(noisy, LENGTHS), got, atol=1e-6)
        expected = packed_final_states(plain.eval(), x, LENGTHS)
    assert got.shape == (len(LENGTHS), 14)
    assert torch.allclose(got, expected, atol=1e-6), (got - expected).abs().max()


def test_reverse_within_reverses_each_row_up_to_its_length_only() -> None:
    x = torch.arange(8.0).repeat(3, 1).unsqueeze(-1)  # (3, 8, 1): steps 0..7 in each row
    out = reverse_within(x, torch.tensor([8, 1, 3]))
    assert out[..., 0].tolist() == [[7, 6, 5, 4, 3, 2, 1, 0], list(range(8)),
                                    [2, 1, 0, 3, 4, 5, 6, 7]]
    assert torch.equal(reverse_within(out, torch.tensor([8, 1, 3])), x)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_a_bidirectional_text_model_trains_every_layer_and_direction(cell: str) -> None:
    torch.manual_seed(0)
    model = create_model(cell, input_shape=(6,), num_outputs=2, vocab_size=20, embedding_dim=4,
                         hidden=4, depth=2, dropout=0.5, bidirectional=True).train()
    ids = torch.tensor([[3, 4, 5, 6, 7, 8], [9, 0, 0, 0, 0, 0], [2, 3, 0, 0, 0, 0]])
    model(ids.float()).sum().backward()
    for name, parameter in model.rnn.named_parameters():
        assert parameter.grad is not None and parameter.grad.abs().sum() > 0, name
    model.eval()
    with torch.no_grad():  # dropout is off in eval: two calls agree
        assert torch.equal(model(ids), model(ids))


def test_the_mac_count_sees_both_directions_of_every_layer() -> None:
    def macs(bidirectional: bool) -> int | None:
        model = create_model("lstm", input_shape=(12,), num_outputs=3, vocab_size=20,
                             embedding_dim=6, hidden=5, depth=2, bidirectional=bidirectional)
        return count_macs(model, (12,))

    # 4 gates x hidden 5 x (input + hidden) per step, 12 steps, and the head
    one_way = 12 * 4 * 5 * ((6 + 5) + (5 + 5)) + 5 * 3
    both_ways = 12 * 2 * 4 * 5 * ((6 + 5) + (10 + 5)) + 10 * 3
    assert (macs(False), macs(True)) == (one_way, both_ways)
