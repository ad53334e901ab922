"""Text models export with int64 token-id inputs, a dynamic batch (and sequence where the
exporter manages it), and ONNX Runtime equal to eager PyTorch on real token ids; the bundle
carries the tokenizer, checked by its sha256."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch

from honed.data.tokenize import encode_texts, fit_tokenizer
from honed.errors import BundleError
from honed.export.card import read_bundle
from honed.export.onnx import export_onnx
from honed.export.runtime import ort_session
from honed.models import create_model
from tests.text_corpus import reviews, train_text_bundle

MAX_LENGTH = 12


@pytest.fixture(scope="module")
def token_ids() -> tuple[np.ndarray, int]:
    """Real ids: a word tokenizer fitted on the tiny corpus, the texts cut and padded."""
    texts = [*reviews(40)["review"], "great", "", "awful " * 30]
    tokenizer = fit_tokenizer(texts, kind="word", vocab_size=100, lowercase=True,
                              min_frequency=1)
    ids, cut = encode_texts(tokenizer, texts, max_length=MAX_LENGTH)
    assert cut >= 1 and (ids == 0).any()  # padding and a cut text are both in there
    return ids, int(ids.max()) + 1


FAMILIES = [("embedbag", {}), ("embedbag", {"ngrams": 2}), ("lstm", {"hidden": 8}),
            ("gru", {"hidden": 8}), ("rnn", {"hidden": 8}),
            ("transformer", {"hidden": 8, "heads": 2}), ("cnn", {"channels": [8]})]


@pytest.mark.parametrize(("family", "knobs"), FAMILIES,
                         ids=[f"{f}{'-' + str(k['ngrams']) if 'ngrams' in k else ''}"
                              for f, k in FAMILIES])
def test_every_text_family_exports_int64_ids_equal_to_eager(family, knobs, token_ids,
                                                            tmp_path):
    ids, vocab = token_ids
    torch.manual_seed(0)
    model = create_model(family, input_shape=(MAX_LENGTH,), num_outputs=3, vocab_size=vocab,
                         embedding_dim=8, **knobs).eval()
    result = export_onnx(model, (MAX_LENGTH,), tmp_path / "m.onnx", vocab_size=vocab,
                         exporter="torchscript")
    assert result.input_dtype == "int64"
    session = ort_session(result.path, threads=1)
    (arg,) = session.get_inputs()
    assert arg.type == "tensor(int64)" and isinstance(arg.shape[0], str)  # dynamic batch
    batches = [ids[:1], ids]
    if "sequence" in result.dynamic_axes:
        assert isinstance(arg.shape[1], str)
        batches.append(ids[:5, :6])
    for x in batches:
        with torch.no_grad():
            expected = model(torch.from_numpy(x)).numpy()
        got = session.run(None, {"input": x})[0]
        np.testing.assert_allclose(got, expected, atol=1e-5)


@pytest.fixture(scope="module")
def text_bundle(tmp_path_factory):
    """An embedbag trained on the tiny review CSV, exported (the run dir)."""
    return train_text_bundle(tmp_path_factory.mktemp("text-bundle"))


def test_the_bundle_carries_the_tokenizer_by_sha256(text_bundle):
    from honed.export.card import file_sha256

    folder = text_bundle / "bundle"
    card = json.loads((folder / "card.json").read_text())
    recipe = json.loads((folder / "preprocess.json").read_text())
    sha = file_sha256(folder / "tokenizer.json")
    assert recipe["tokenizer"] == {"file": "tokenizer.json", "sha256": sha}
    assert card["files"]["tokenizer.json"] == sha
    assert card["input"] == {"name": "input", "shape": [10], "dtype": "int64",
                             "dynamic_axes": ["batch", "sequence"],
                             "tokenizer": "tokenizer.json"}
    assert card["verification"]["samples"].startswith("test split")
    assert "TYPE_INT64" in (folder / "triton/reviews/config.pbtxt").read_text()
    bundle = read_bundle(folder)
    saved = (text_bundle / "model" / "tokenizer.json").read_text()
    assert bundle.preprocess["tokenizer"] == saved == (folder / "tokenizer.json").read_text()


def test_bundle_predictions_equal_the_eager_model(text_bundle):
    from honed.data import apply_preprocess
    from honed.models import load_model
    from honed.serve.runtime import load_runtime

    texts = ["great superb film", "awful dull film", "the plot " * 20, "zzz unknown words"]
    runtime = load_runtime(text_bundle)
    predicted = runtime.predict(texts)
    ids = apply_preprocess(json.loads((text_bundle / "model/preprocess.json").read_text()),
                           texts)
    with torch.no_grad():
        logits = load_model(text_bundle)(torch.from_numpy(ids)).numpy()
    probabilities = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    np.testing.assert_allclose(predicted.probabilities, probabilities, atol=1e-5)
    assert predicted.truncated.tolist() == [False, False, True, False]


def _sealed(folder, card=None, **recipe):
    """Edit preprocess.json and card.json and record their hashes, as a deliberate editor."""
    from honed.export.card import card_sha256, file_sha256

    path = folder / "preprocess.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), **recipe}))
    card = {**json.loads((folder / "card.json").read_text()), **(card or {})}
    card["files"] = {name: file_sha256(folder / name) for name in card["files"]}
    card["card_sha256"] = card_sha256(card)
    (folder / "card.json").write_text(json.dumps(card))


def _not_a_tokenizer(folder):
    from honed.export.card import file_sha256

    (folder / "tokenizer.json").write_text('{"not": "a tokenizer"}')
    _sealed(folder, tokenizer={"file": "tokenizer.json",
                               "sha256": file_sha256(folder / "tokenizer.json")})


@pytest.mark.parametrize(("edit", "message"), [
    (lambda b: (b / "tokenizer.json").write_text("{}"), "does not match the sha256"),
    (lambda b: (b / "tokenizer.json").unlink(), "tokenizer.json is listed in card.json but"),
    (lambda b: _sealed(b, tokenizer={"file": "tokenizer.json", "sha256": "0" * 64}),
     "the sha256 of tokenizer.json differs from card.json's"),
    (lambda b: _sealed(b, tokenizer={"file": "../model/tokenizer.json", "sha256": "0"}),
     "which card.json does not list"),
    (lambda b: _sealed(b, tokenizer="inline"), "'tokenizer' must name the bundle's"),
    (lambda b: _not_a_tokenizer(b), "cannot read .*tokenizer.json"),
    (lambda b: _sealed(b, card={"input": {**json.loads((b / "card.json").read_text())[
        "input"], "dtype": "bool"}}), "a text model reads int64 or float32 inputs"),
])
def test_a_damaged_or_forged_tokenizer_is_refused(text_bundle, tmp_path, edit, message):
    folder = tmp_path / "bundle"
    shutil.copytree(text_bundle / "bundle", folder)
    edit(folder)
    with pytest.raises(BundleError, match=message):
        read_bundle(folder)
