"""The report's Text section: drawn for a text run (in real Chromium), absent for a table run."""

from __future__ import annotations

import json
import re
import shutil

import pytest

from honed.report.figures.text import SECTION_ID
from honed.report.html import SECTION_IDS, write_report
from tests.report.chromium import load_page
from tests.report.test_report import _assert_not_blank, sections
from tests.text_corpus import reviews


@pytest.fixture(scope="module")
def text_run(tmp_path_factory):
    """honed run on 240 reviews: every third one padded past max_length, one in five mislabelled."""
    from honed.pipeline import run
    from honed.spec.template import spec_from_dict

    root = tmp_path_factory.mktemp("text")
    frame = reviews()
    frame.loc[::3, "review"] = frame.loc[::3, "review"] + " and the film" * 4
    flip = frame.index % 5 == 0
    frame.loc[flip, "label"] = frame.loc[flip, "label"].map({"pos": "neg", "neg": "pos"})
    frame.to_csv(root / "reviews.csv", index=False)
    raw = {"name": "reviews", "data": {"source": str(root / "reviews.csv"), "target": "label",
                                       "text": ["review"], "features": ["review"],
                                       "tokenizer": {"max_length": 10, "min_frequency": 1}},
           "model": {"family": "embedbag", "embedding_dim": 8},
           "train": {"epochs": 2, "batch_size": 16, "threads": 1,
                     "optimizer": {"name": "adamw", "lr": 0.02}}}
    out = root / "run"
    run(spec_from_dict(raw), out_dir=out, progress=False)
    return out


def test_a_text_run_gets_the_text_section_in_chromium(text_run, tmp_path):
    page = text_run / "report.html"  # honed run made it as its last stage
    found = sections(page.read_text())
    expected = list(SECTION_IDS)
    expected.insert(expected.index("evaluation") + 1, SECTION_ID)
    assert list(found) == expected
    text = found[SECTION_ID]
    preprocess = json.loads((text_run / "model" / "preprocess.json").read_text())
    vocab = preprocess["text"]["vocab_size"]
    assert f"vocabulary: <b>{vocab}</b> tokens" in text and "max_length: <b>10</b>" in text
    # texts cut per split, as counted while the splits were tokenized
    lengths = preprocess["text"]["lengths"]
    assert lengths["train"]["truncated"] == preprocess["text"]["train_truncated"] > 0
    for split in ("train", "val", "test"):
        stats = lengths[split]
        cut = f"{stats['truncated']} ({stats['truncated'] / stats['texts']:.1%})"
        assert re.search(rf"<td>{split}</td><td>{stats['texts']}</td><td>{re.escape(cut)}</td>",
                         text), split
    assert sum(s["texts"] for s in lengths.values()) == 240
    assert "token lengths before the cut" in text and "max_length 10" in text
    assert "TF-IDF + logistic regression baseline" in text
    # the most confused test examples: wrong predictions, highest loss first
    examples = json.loads((text_run / "text_examples.json").read_text())
    assert examples["wrong"] > 0 and examples["rows"] == lengths["test"]["texts"]
    losses = [e["loss"] for e in examples["examples"]]
    assert losses == sorted(losses, reverse=True) and len(losses) == min(10, examples["wrong"])
    assert all(e["true"] != e["predicted"] and e["probability"] >= 0.5
               for e in examples["examples"])
    source = reviews()
    first = examples["examples"][0]
    assert first["text"].startswith(source.loc[first["row"], "review"][:20])
    assert "most confused test examples" in text and text.count("<tr>") >= len(losses) + 4

    load = load_page(page, tmp_path, height=4000)
    assert load.console == [], load.console
    assert f'id="{SECTION_ID}"' in load.dom and "max_length 10" in load.dom
    assert load.dom.count('class="plot-container plotly"') >= 3
    _assert_not_blank(load.screenshot)


def test_a_table_run_has_no_text_section(runs):
    page = write_report(runs["healthy"]).read_text()
    assert list(sections(page)) == list(SECTION_IDS) and f'id="{SECTION_ID}"' not in page


def test_the_text_section_says_what_an_older_run_lacks(text_run, tmp_path):
    old = shutil.copytree(text_run, tmp_path / "old")
    (old / "text_examples.json").unlink()
    recipe = old / "model" / "preprocess.json"
    preprocess = json.loads(recipe.read_text())
    del preprocess["text"]["lengths"]
    recipe.write_text(json.dumps(preprocess))
    text = sections(write_report(old).read_text())[SECTION_ID]
    assert "vocabulary" in text and "holds no token lengths" in text
    assert "no text_examples.json in the run dir" in text
