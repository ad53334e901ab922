"""Text families with table features beside the ids (``tabular_features``): the wrapper reads
both, padding still changes nothing, and without the knob every family is exactly as before."""

from __future__ import annotations

import pytest
import torch

from honed.errors import ModelError
from honed.models import create_model
from honed.models.mixed import TextWithFeatures

FAMILIES = ["embedbag", "rnn", "lstm", "gru", "transformer", "cnn"]


def mixed_input(ids: list[list[int]], features: list[list[float]]) -> torch.Tensor:
    return torch.cat([torch.tensor(ids, dtype=torch.float32), torch.tensor(features)], dim=1)


@pytest.mark.parametrize("family", FAMILIES)
def test_a_text_family_reads_the_features_beside_its_ids(family: str) -> None:
    torch.manual_seed(0)
    model = create_model(family, input_shape=(8 + 3,), num_outputs=2, vocab_size=30,
                         embedding_dim=8, tabular_features=3).eval()
    assert isinstance(model, TextWithFeatures) and model.head.in_features > 3
    ids = [[4, 5, 6, 7, 0, 0, 0, 0]] * 2
    x = mixed_input(ids, [[0.0, 1.0, -1.0], [2.0, -1.0, 0.5]])
    with torch.no_grad():
        out = model(x)
        assert not torch.allclose(out[0], out[1])  # same text, other features: it reads them
        other_text = mixed_input([[9, 9, 0, 0, 0, 0, 0, 0]], [[0.0, 1.0, -1.0]])
        assert not torch.allclose(model(other_text)[0], out[0])


@pytest.mark.parametrize("family", FAMILIES)
def test_without_tabular_features_a_text_family_is_bit_identical(family: str) -> None:
    builds = []
    for knobs in ({}, {"tabular_features": None}, {"tabular_features": 0}):
        torch.manual_seed(0)
        builds.append(create_model(family, input_shape=(8,), num_outputs=2, vocab_size=30,
                                   embedding_dim=8, **knobs).eval())
    assert not any(isinstance(m, TextWithFeatures) for m in builds)
    ids = torch.tensor([[4, 5, 6, 0, 0, 0, 0, 0], [7, 8, 0, 0, 0, 0, 0, 0]])
    with torch.no_grad():
        outs = [m(ids) for m in builds]
    for model, out in zip(builds[1:], outs[1:], strict=True):
        assert model.state_dict().keys() == builds[0].state_dict().keys()
        assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(),
                                                     builds[0].state_dict().values(),
                                                     strict=True))
        assert torch.equal(out, outs[0])
    torch.manual_seed(0)  # the wrapped family draws its weights first, in the same order
    wrapped = create_model(family, input_shape=(8 + 2,), num_outputs=2, vocab_size=30,
                           embedding_dim=8, tabular_features=2)
    assert torch.equal(wrapped.text.embed.embedding.weight, builds[0].embed.embedding.weight)


def test_padding_after_the_text_changes_nothing_with_features() -> None:
    torch.manual_seed(0)
    short = create_model("gru", input_shape=(6 + 2,), num_outputs=2, vocab_size=30,
                         embedding_dim=8, tabular_features=2).eval()
    long = create_model("gru", input_shape=(10 + 2,), num_outputs=2, vocab_size=30,
                        embedding_dim=8, tabular_features=2).eval()
    long.load_state_dict(short.state_dict())
    with torch.no_grad():
        a = short(mixed_input([[3, 4, 5, 0, 0, 0]], [[0.5, -0.5]]))
        b = long(mixed_input([[3, 4, 5, 0, 0, 0, 0, 0, 0, 0]], [[0.5, -0.5]]))
    assert torch.allclose(a, b, atol=1e-6)


@pytest.mark.parametrize(("knobs", "message"), [
    ({"tabular_features": 3}, "tabular_features applies to text models"),
    ({"tabular_features": 8, "vocab_size": 30}, "leaves no token ids before 8 table features"),
    ({"tabular_features": -1, "vocab_size": 30}, "tabular_features"),
])
def test_bad_tabular_features_are_one_line(knobs, message) -> None:
    family = "gru" if "vocab_size" in knobs else "mlp"
    with pytest.raises(ModelError, match=message):
        create_model(family, input_shape=(8,), num_outputs=2, **knobs)
