"""Text runs are explained per token: deletion importance, attributions on the embedding, the
three sanity checks, token-shaded HTML, and texts read from .txt files, folders and CSVs."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

from honed.cli.main import main
from honed.explain import explain_run, topk_recovery
from honed.explain.sanity import COMPLETENESS_TOLERANCE, completeness_from_delta
from honed.explain.token_ids import close_up, deletions
from honed.explain.tokens import attribute_tokens
from honed.train.run_eval import load_run
from tests.text_corpus import NEGATIVE, POSITIVE

SENTIMENT = POSITIVE + NEGATIVE


def test_deleting_the_sentiment_words_costs_the_most_and_they_are_attributed(runs, tmp_path):
    result = explain_run(runs["text"], out=tmp_path)
    summary = result.summary
    importance = summary["importance"]
    names = [item["name"] for item in importance["importances"]]
    assert topk_recovery(names, SENTIMENT) == 1.0  # sanity check (a), global
    assert importance["repeats"] == 1 and importance["metric"] == "accuracy"
    top = importance["importances"][0]
    assert top["kind"] == "token" and top["low"] <= top["mean"] <= top["high"]
    assert set(importance["per_class_tokens"]["pos"][:3]) <= set(POSITIVE)
    assert set(importance["per_class_tokens"]["neg"][:3]) <= set(NEGATIVE)
    assert summary["method"] == "integrated_gradients" and "padding" in summary["baseline"]
    # sanity check (a), local: each example's two strongest tokens are sentiment words
    examples = json.loads((tmp_path / "examples.json").read_text())["rows"]
    assert examples and examples[0]["explained"].startswith("class ")
    for row in examples:
        assert "[PAD]" not in row["tokens"] and len(row["tokens"]) == len(row["scores"])
        strongest = np.argsort(-np.abs(row["scores"]))[:2]
        assert {row["tokens"][i] for i in strongest} <= set(SENTIMENT), row
    sanity = summary["sanity"]
    assert sanity["randomization"]["passed"] and sanity["completeness"]["passed"]
    page = (tmp_path / "explain.html").read_text()
    assert "rgba(178,24,43," in page and "rgba(33,102,172," in page  # red and blue spans
    assert "token importance" in page and "tokens pushing towards it" in page


def test_integrated_gradients_add_up_from_the_path_start_for_a_recurrent_model(runs):
    _, data, model = load_run(runs["text_gru"])
    x = data.test.x[:6]
    found = attribute_tokens(model, x, method="integrated_gradients", task=data.task, steps=16)
    assert np.all(found.values[x == 0] == 0)  # padding gets no score
    check = completeness_from_delta(found.values, found.delta)
    assert check["passed"] and check["tolerance"] == COMPLETENESS_TOLERANCE
    # the check can fail: the scores of a wrong path do not add up
    assert not completeness_from_delta(found.values * 1.5, found.delta + 0.5 *
                                       found.values.sum(axis=1))["passed"]


def test_deleting_a_token_closes_the_text_up():
    ids = torch.tensor([[5.0, 0.0, 7.0, 8.0, 0.0], [0.0, 0.0, 3.0, 0.0, 0.0]])
    assert close_up(ids).tolist() == [[5, 7, 8, 0, 0], [3, 0, 0, 0, 0]]  # a tensor or an array
    assert deletions(np.array([5, 7, 8, 0])).tolist() == [[5, 7, 8, 0], [7, 8, 0, 0],
                                                           [5, 8, 0, 0], [5, 7, 0, 0]]


def test_feature_ablation_scores_each_token_by_deleting_it(runs):
    _, data, model = load_run(runs["text_gru"])
    x = data.test.x[:2]
    found = attribute_tokens(model, x, method="feature_ablation", task=data.task)
    row, position = 0, 1
    deleted = x[row:row + 1].copy()
    deleted[0, position] = 0
    with torch.no_grad():
        model.eval()
        full = model(torch.as_tensor(x[row:row + 1]))[0, found.targets[row]]
        without = model(torch.as_tensor(close_up(deleted)))[0, found.targets[row]]
    assert found.values[row, position] == pytest.approx(float(full - without), abs=1e-5)
    assert np.all(found.values[x == 0] == 0) and found.delta is None


def test_texts_are_read_from_a_txt_file_a_folder_and_a_csv(runs, tmp_path, capsys):
    folder = tmp_path / "texts"
    (folder / "more").mkdir(parents=True)
    (folder / "one.txt").write_text("a wonderful and moving film", encoding="utf-8")
    (folder / "more" / "two.txt").write_text("boring plot and awful acting", encoding="utf-8")
    pd.DataFrame({"review": ["great cast", "dull story"]}).to_csv(tmp_path / "t.csv",
                                                                  index=False)
    pd.DataFrame({"review": ["great cast"]}).to_csv(tmp_path / "t.csv.gz", index=False)
    for given, ids in ((folder / "one.txt", ["one.txt"]), (folder, ["more/two.txt", "one.txt"]),
                       (tmp_path / "t.csv", ["1", "2"]), (tmp_path / "t.csv.gz", ["1"])):
        out = tmp_path / f"out-{given.name}"
        assert main(["explain", str(runs["text"]), str(given), "--out", str(out),
                     "--method", "occlusion", "--quiet"]) == 0
        local = json.loads((out / "local.json").read_text())
        assert [row["id"] for row in local["rows"]] == ids
        assert local["method"] == "feature_ablation" and "deleted" in local["baseline"]
        assert all(len(r["tokens"]) == len(r["scores"]) > 0 for r in local["rows"])
        assert "<span" in (out / "local.html").read_text()
    first = json.loads((tmp_path / "out-one.txt" / "local.json").read_text())["rows"][0]
    assert first["tokens"] == ["a", "wonderful", "and", "moving", "film"]
    capsys.readouterr()
    (tmp_path / "latin1.txt").write_bytes("caf\xe9".encode("latin-1"))
    pd.DataFrame({"text": ["no review column"]}).to_csv(tmp_path / "bad.csv", index=False)
    for argv in ([str(tmp_path / "latin1.txt")], [str(tmp_path / "bad.csv")],
                 [str(tmp_path / "t.csv"), "--method", "saliency"]):
        assert main(["explain", str(runs["text"]), *argv, "--out", str(tmp_path / "no")]) == 2
        error = capsys.readouterr().err.strip()
        assert error.startswith("honed explain: error:") and "\n" not in error, error
        assert not (tmp_path / "no").exists()


def test_the_command_prints_the_tokens_and_writes_the_examples(runs, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["explain", str(runs["text"]), "--out", str(out), "--quiet"]) == 0
    text = capsys.readouterr().out
    assert "test accuracy drop when deleted" in text and "interval over the texts" in text
    assert all(len(line) <= 80 for line in text.splitlines() if not line.startswith("wrote"))
    assert sorted(p.name for p in out.iterdir()) == ["attributions.npz", "examples.json",
                                                    "explain.html", "importance.json"]
