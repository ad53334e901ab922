"""Text families: the token kind in the registry, embedbag's n-grams, embedding_dim's domain."""

from __future__ import annotations

import pytest
import torch

from honed.errors import ModelError
from honed.models import create_model, list_models, register_model


def test_every_sequence_family_and_embedbag_read_token_ids() -> None:
    text = {info.name for info in list_models() if "text" in info.kinds}
    assert text == {"rnn", "lstm", "gru", "transformer", "cnn", "embedbag"}
    for name in text:
        model = create_model(name, input_shape=(9,), num_outputs=2, vocab_size=40,
                             embedding_dim=12)
        assert model.embed.embedding.weight.shape == (40, 12)
    bigrams = create_model("embedbag", input_shape=(9,), num_outputs=2, vocab_size=40, ngrams=2)
    assert bigrams.embed.embedding.weight.shape == (40 + 1024, 64)  # hashed bigram rows


def test_embedbag_bigrams_see_word_order() -> None:
    ids = torch.tensor([[5, 6, 7, 0], [7, 6, 5, 0]])
    for ngrams, differ in ((1, False), (2, True)):
        torch.manual_seed(0)
        model = create_model("embedbag", input_shape=(4,), num_outputs=2, vocab_size=10,
                             ngrams=ngrams).eval()
        out = model(ids)
        assert (not torch.allclose(out[0], out[1])) == differ, ngrams


def test_token_knobs_are_refused_where_they_do_not_apply() -> None:
    with pytest.raises(ModelError, match="embedding_dim applies to text inputs"):
        create_model("lstm", input_shape=(5, 2), num_outputs=2, embedding_dim=8)
    with pytest.raises(ModelError, match="'mlp' cannot take text input"):
        create_model("mlp", input_shape=(5,), num_outputs=2, vocab_size=10)
    with pytest.raises(ModelError, match="must take a vocab_size=None knob"):
        @register_model("bagless", description="x", kinds=("text",))
        def bagless(input_shape, num_outputs, *, task="classification"):
            return torch.nn.Linear(1, 1)
