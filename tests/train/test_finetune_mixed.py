"""Fine-tuning a model of text beside table features (``TextWithFeatures``): the documented
patterns (``embed.*``, ``rnn``, ``head.*``) mean the same as on a text-only model, weights move
between text-only and mixed runs by the text model's names, and a pattern that matches nothing
is one spec error, exit 2, before anything is written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from honed.cli.main import main
from honed.errors import CheckpointError, ModelError
from honed.models import backbone_names, create_model, freeze, load_weights
from honed.models.tokens import TOKEN_WEIGHTS
from tests.text_corpus import mixed_reviews

SPEC = ("data: {source: reviews.csv, target: label, text: [review],\n"
        "       tokenizer: {min_frequency: 1, max_length: 12}}\n"
        "model: {family: lstm, hidden: 8, embedding_dim: 8}\n"
        "train: {epochs: 1, batch_size: 32, threads: 1, probes: false}\n")
TEXT_ONLY = ["data.features=[review]"]  # the same table, its stars and genre left out
NEW = "model.init_exclude=[head.*, features.*]"  # the mixed model's own layers


def _lstm(features: int | None, seed: int = 0):
    torch.manual_seed(seed)
    return create_model("lstm", input_shape=(12 + (features or 0),), num_outputs=2,
                        vocab_size=40, embedding_dim=8, hidden=8,
                        **({"tabular_features": features} if features else {}))


def _train(folder: Path, out: str, *overrides: str) -> int:
    return main(["train", str(folder / "spec.yaml"), "--out", str(folder / out), "--quiet",
                 *overrides])


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> Path:
    """A folder with the spec, the table, and a 1-epoch text-only run ``text``."""
    folder = tmp_path_factory.mktemp("mixed")
    mixed_reviews(120).to_csv(folder / "reviews.csv", index=False)
    (folder / "spec.yaml").write_text(SPEC)
    assert _train(folder, "text", *TEXT_ONLY) == 0
    return folder


@pytest.mark.parametrize("pattern, frozen", [
    ("embed.*", ["text.embed.embedding.weight"]),
    ("rnn", ["text.rnn.weight_ih_l0", "text.rnn.weight_hh_l0", "text.rnn.bias_ih_l0",
             "text.rnn.bias_hh_l0"]),
    ("text.embed.*", ["text.embed.embedding.weight"]),  # the full name still works
    ("head.*", ["head.weight", "head.bias"]),  # the head reading text and features
])
def test_freeze_patterns_name_the_text_model_as_without_features(pattern, frozen):
    model = _lstm(3)
    assert freeze(model, [pattern]) == frozen
    assert [n for n, p in model.named_parameters() if not p.requires_grad] == frozen
    assert backbone_names(model, [pattern]) == [n for n, _ in model.named_parameters()
                                                if n not in frozen]


def test_a_text_only_checkpoint_fills_the_text_part_and_back(tmp_path):
    text, mixed = _lstm(None, seed=1), _lstm(3, seed=2)
    save_file(text.state_dict(), tmp_path / "text.safetensors")
    head = mixed.head.weight.detach().clone()
    loaded = load_weights(mixed, tmp_path / "text.safetensors", exclude=["head.*", "features.*"])
    assert loaded == [f"text.{name}" for name in text.state_dict() if not name.startswith("head")]
    assert all(torch.equal(mixed.state_dict()[f"text.{n}"], w)
               for n, w in text.state_dict().items() if not n.startswith("head"))
    assert torch.equal(mixed.head.weight, head)
    # the reverse: a mixed run's text part into a text-only model
    save_file(mixed.state_dict(), tmp_path / "mixed.safetensors")
    back = _lstm(None, seed=3)
    load_weights(back, tmp_path / "mixed.safetensors", exclude=["head.*", "features.*"])
    assert torch.equal(back.rnn.weight_hh_l0, mixed.text.rnn.weight_hh_l0)


@pytest.mark.parametrize("features, file_features, problem", [
    (3, None, "missing key 'features.0.weight'"),
    (None, 3, "unexpected key 'features.0."),
])
def test_a_head_that_reads_other_inputs_is_refused_with_what_to_exclude(
        tmp_path, features, file_features, problem):
    save_file(_lstm(file_features).state_dict(), tmp_path / "w.safetensors")
    with pytest.raises(CheckpointError, match=problem) as caught:
        load_weights(_lstm(features), tmp_path / "w.safetensors", exclude=["head.*"])
    assert "exclude=['head.*', 'features.*']" in str(caught.value)
    assert "\n" not in str(caught.value)
    with pytest.raises(CheckpointError, match=r"head.weight has shape \[2, \d+\] in .*, the "
                                              r"model expects \[2, \d+\]"):
        load_weights(_lstm(features), tmp_path / "w.safetensors", exclude=["features.*"])


def test_a_library_pattern_that_matches_nothing_lists_the_real_names():
    with pytest.raises(ModelError, match=r"^pattern 'embedding' matches no parameter; the "
                                         r"model has text.embed.embedding.weight, "):
        freeze(_lstm(3), ["embedding"])


def test_a_text_only_run_initialises_a_mixed_run_with_its_embedding_frozen(runs):
    assert _train(runs, "mixed", f"model.init_from={runs / 'text'}",
                  f"data.tokenizer.file={runs / 'text'}", NEW, "model.freeze=[embed.*]",
                  "train.backbone_lr_factor=0.1") == 0
    before = load_file(runs / "text" / "model" / "weights.safetensors")
    after = load_file(runs / "mixed" / "model" / "weights.safetensors")
    assert torch.equal(after["text." + TOKEN_WEIGHTS], before[TOKEN_WEIGHTS])  # loaded, frozen
    assert not torch.equal(after["text.rnn.weight_hh_l0"], before["rnn.weight_hh_l0"])  # trained
    record = json.loads((runs / "mixed" / "history.jsonl").read_text().splitlines()[0])
    assert record["lr_backbone"] == pytest.approx(0.1 * record["lr"])
    # and back: the mixed run's text part into a text-only run
    assert _train(runs, "back", *TEXT_ONLY, f"model.init_from={runs / 'mixed'}",
                  f"data.tokenizer.file={runs / 'mixed'}", NEW) == 0


def test_excluding_the_embedding_by_its_text_name_needs_no_tokenizer_file(runs):
    """A new tokenizer is fine when the embedding is not taken (it was refused on a mixed
    model, whose embedding is text.embed.embedding.weight)."""
    assert _train(runs, "fresh_tokens", f"model.init_from={runs / 'text'}",
                  "model.init_exclude=[head.*, features.*, embed.*]") == 0


@pytest.mark.parametrize("overrides, fragment", [
    (["model.freeze=[embed.*, embedding.*]"], "spec error: model.freeze pattern 'embedding.*' "
                                              "matches no parameter; the model has "
                                              "text.embed.embedding.weight, "),
    (["model.init_exclude=[hed.*]"], "spec error: model.init_exclude pattern 'hed.*' matches "
                                     "no weight; the model has text.embed.embedding.weight, "),
    (["model.freeze=[nothing]", "model.init_exclude=[hed.*]"], "2 spec errors: model.freeze "
                                                               "pattern 'nothing' matches no"),
])
def test_a_pattern_that_matches_nothing_is_one_line_exit_2(runs, capsys, overrides, fragment):
    before = sorted(p.name for p in runs.iterdir())
    code = _train(runs, "refused", f"model.init_from={runs / 'text'}",
                  f"data.tokenizer.file={runs / 'text'}", *overrides)
    lines = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and fragment in lines[0], lines
    assert sorted(p.name for p in runs.iterdir()) == before
