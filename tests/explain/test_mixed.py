"""Text beside table columns is explained by both: tokens deleted and columns shuffled (one
ranked list), per row each token deleted and each column set to its baseline, or integrated
gradients on the embedding and the features that add up; other gradient methods refused in one
line."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

from honed.cli.main import main
from honed.explain import explain_run
from honed.explain.kinds import input_kind
from honed.explain.mixed import attribute_mixed, integrated_mixed
from honed.explain.sanity import completeness_from_delta
from honed.train.run_eval import load_run
from tests.text_corpus import NEGATIVE, POSITIVE

SENTIMENT = POSITIVE + NEGATIVE
ROWS = pd.DataFrame({"review": ["the film was wonderful and superb", "a dull and boring plot"],
                     "stars": [5.0, 2.0], "genre": ["drama", "horror"]})


def test_stars_and_the_sentiment_words_rank_top(mixed_run, tmp_path, capsys):
    assert main(["explain", str(mixed_run), "--out", str(tmp_path), "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "deleted or shuffled" in printed and "column stars" in printed
    summary = json.loads((tmp_path / "importance.json").read_text())
    importance = summary["importance"]
    ranked = importance["importances"]
    names = [item["name"] for item in ranked]
    # sanity check (a): the label is a positive text and stars >= 3; genre is noise
    assert names[0] == "stars" and set(names[:5]) <= {"stars", *SENTIMENT}, names[:8]
    assert names.index("genre") > 4
    kinds = {item["name"]: item["kind"] for item in ranked}
    assert kinds["stars"] == "feature" and kinds["genre"] == "feature"
    assert {kinds[n] for n in names if n not in ("stars", "genre")} == {"token"}
    assert importance["columns"] == 2 and importance["repeats"] == summary["settings"]["repeats"]
    assert summary["kind"] == "mixed" and summary["method"] == "feature_ablation"
    assert summary["groups"] == ["stars", "genre"]
    assert summary["feature_baseline"] and set(summary["feature_baseline"].values()) == {0.0}
    sanity = summary["sanity"]
    assert sanity["randomization"]["passed"] and sanity["completeness"]["applies"] is False
    examples = json.loads((tmp_path / "examples.json").read_text())["rows"]
    for row in examples:
        assert len(row["tokens"]) == len(row["scores"]) and set(row["attributions"]) == {
            "stars", "genre"}
    page = (tmp_path / "explain.html").read_text()
    assert "column stars" in page and "token " in page and "columns beside the text" in page


def test_each_row_gets_token_deletions_and_columns_at_their_baseline(mixed_run, tmp_path):
    ROWS.to_csv(tmp_path / "rows.csv", index=False)
    out = tmp_path / "out"
    assert main(["explain", str(mixed_run), str(tmp_path / "rows.csv"), "--out", str(out),
                 "--quiet"]) == 0
    local = json.loads((out / "local.json").read_text())
    assert local["method"] == "feature_ablation" and "deleted" in local["baseline"]
    first = local["rows"][0]
    assert first["tokens"] == ROWS["review"][0].split()
    assert set(first["attributions"]) == {"stars", "genre"}
    # the column's score is f(x) - f(x with its features at 0), the explained class's output
    _, data, model = load_run(mixed_run)
    with np.load(out / "local.npz") as arrays:
        x, explained = arrays["x"], arrays["explained"]
    kind = input_kind("mixed")
    (stars,) = [g for g in kind.groups(data) if g.name == "stars"]
    at_baseline = x.copy()
    at_baseline[:, stars.index] = 0.0
    model.eval()
    with torch.no_grad():
        moved = (model(torch.as_tensor(x)) - model(torch.as_tensor(at_baseline))).numpy()
    for row, item in enumerate(local["rows"]):
        assert item["attributions"]["stars"] == pytest.approx(
            float(moved[row, explained[row]]), abs=1e-5)
    # the strongest token of each text is its sentiment word
    for item in local["rows"]:
        assert item["tokens"][int(np.argmax(np.abs(item["scores"])))] in SENTIMENT, item


def test_padding_scores_nothing_and_columns_score_once(mixed_run):
    _, data, model = load_run(mixed_run)
    kind = input_kind("mixed")
    groups = kind.groups(data)
    offset = int(data.preprocess["tabular"]["offset"])
    x = data.test.x[:3]
    found = attribute_mixed(model, x, groups=groups, offset=offset, task=data.task)
    assert np.all(found.values[:, :offset][x[:, :offset] == 0] == 0)
    (genre,) = [g for g in groups if g.name == "genre"]
    assert len(genre.index) > 1  # a one-hot column is one group: one score at each position
    assert np.all(found.values[:, genre.index] == found.values[:, genre.index[:1]])


def test_bad_input_and_gradient_methods_are_one_line(mixed_run, tmp_path, capsys):
    ROWS.drop(columns=["stars"]).to_csv(tmp_path / "nostars.csv", index=False)
    ROWS.to_csv(tmp_path / "rows.csv", index=False)
    capsys.readouterr()
    for argv in ([str(tmp_path / "nostars.csv")],
                 [str(tmp_path / "rows.csv"), "--method", "gradient_shap"],
                 ["--method", "saliency"]):
        assert main(["explain", str(mixed_run), *argv, "--out", str(tmp_path / "no")]) == 2
        error = capsys.readouterr().err.strip()
        assert error.startswith("honed explain: error:") and "\n" not in error, error
        assert not (tmp_path / "no").exists()
    assert "does not apply to mixed inputs" in error


def test_integrated_gradients_add_up_over_tokens_and_columns(mixed_run, tmp_path):
    summary = explain_run(mixed_run, method="integrated_gradients", out=tmp_path).summary
    assert summary["method"] == "integrated_gradients" and "one path" in summary["baseline"]
    assert summary["sanity"]["completeness"]["passed"], summary["sanity"]
    with np.load(tmp_path / "attributions.npz") as arrays:
        x, values, grouped = arrays["x"], arrays["values"], arrays["grouped"]
    _, data, model = load_run(mixed_run)
    groups = input_kind("mixed").groups(data)
    (genre,) = [i for i, g in enumerate(groups) if g.name == "genre"]
    # a one-hot column's score is the sum over its positions
    assert grouped[:, genre] == pytest.approx(values[:, groups[genre].index].sum(1))
    offset = int(data.preprocess["tabular"]["offset"])
    assert np.all(values[:, :offset][x[:, :offset] == 0] == 0)
    # the check can fail: scores off the path do not add up
    found = integrated_mixed(model, x[:3], offset=offset, task=data.task, steps=16)
    assert completeness_from_delta(found.values, found.delta)["passed"]
    assert not completeness_from_delta(found.values * 1.5, found.delta + 0.5 * found.values.sum(
        axis=1))["passed"]
