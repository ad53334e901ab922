"""Text beside numeric and categorical columns: where the label needs both, a model that reads
both clearly beats the same model on the text alone, and so does the TF-IDF baseline."""

from __future__ import annotations

import json

import pytest

from honed.data import prepare_data
from honed.spec.schema import DataSpec
from honed.train.baselines.tfidf import tfidf_logistic
from tests.text_corpus import mixed_reviews, train_mixed_run


@pytest.mark.parametrize("family", ["embedbag", "gru"])
def test_a_model_reading_text_and_stars_beats_text_alone(tmp_path, family):
    # pos only when the text is positive and stars >= 3: text alone tops out near 80%
    accuracy = {}
    for name, features in (("mixed", None), ("text", ["review"])):
        (tmp_path / name).mkdir()
        run = train_mixed_run(tmp_path / name, family, features=features)
        accuracy[name] = json.loads((run / "metrics.json").read_text())["val"]["accuracy"]
    assert accuracy["mixed"] >= 0.9, accuracy
    assert accuracy["mixed"] >= accuracy["text"] + 0.1, accuracy


def test_the_tfidf_baseline_reads_the_table_features_too():
    scores = {}
    for name, features in (("mixed", None), ("text", ["review"])):
        data = prepare_data(DataSpec(source=mixed_reviews(), target="label", text="review",
                                     tokenizer={"min_frequency": 1},
                                     **({"features": features} if features else {})), seed=0)
        log_p = tfidf_logistic(data, [data.val.x], {})[0]
        scores[name] = float((log_p.argmax(axis=1) == data.val.y).mean())
    assert scores["mixed"] >= scores["text"] + 0.05, scores
