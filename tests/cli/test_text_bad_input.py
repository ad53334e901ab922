"""Bad text input through ``honed train``: one line, exit 2, nothing written; and what is not
bad (some empty texts, texts past max_length) trains and is counted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from honed.cli.main import main
from tests.text_corpus import reviews, write_text_folder

TINY = ["train.epochs=1", "train.threads=1", "train.probes=false", "train.batch_size=16"]


def _csv(folder: Path, change) -> str:
    frame = reviews()
    change(frame)
    frame.to_csv(folder / "reviews.csv", index=False)
    return f"{{source: {folder / 'reviews.csv'}, target: label, text: review}}"


def _latin1(folder: Path) -> str:
    source = _csv(folder, lambda f: None)
    path = folder / "reviews.csv"
    path.write_bytes(path.read_bytes() + "café au lait,pos\n".encode("latin-1"))
    return source


def _bad_txt(folder: Path) -> str:
    corpus = write_text_folder(folder / "corpus", n=20)
    (corpus / "pos" / "bad.txt").write_bytes(b"caf\xe9 latin-1")
    return f"{{source: {corpus}}}"


def _one_class(folder: Path) -> str:
    (folder / "corpus" / "pos").mkdir(parents=True)
    (folder / "corpus" / "pos" / "a.txt").write_text("fine words here", encoding="utf-8")
    return f"{{source: {folder / 'corpus'}}}"


def _set(column, value):
    return lambda frame: frame.__setitem__(column, value)


CASES = {
    # pandas reads an all-empty column as NaN floats: still "empty", not "numbers"
    "empty column": (lambda d: _csv(d, _set("review", "")), "is empty in every row"),
    "blank column": (lambda d: _csv(d, _set("review", "   ")), "is empty in every row"),
    "one-token vocabulary": (lambda d: _csv(d, _set("review", "same")),
                             "vocabulary of 1 token"),
    "CSV not UTF-8": (_latin1, "'utf-8' codec can't decode byte 0xe9"),
    ".txt not UTF-8": (_bad_txt, "bad.txt is not UTF-8 text (byte 3"),
    "one class folder": (_one_class, "at least two; found only 'pos'"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_text_input_is_one_line_exit_2_and_writes_nothing(case, tmp_path, capsys):
    make, message = CASES[case]
    spec = tmp_path / "spec.yaml"
    spec.write_text(f"data: {make(tmp_path)}\nmodel: {{family: embedbag}}\n")
    run = tmp_path / "run"
    assert main(["train", str(spec), "--out", str(run), "--quiet", *TINY]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err, err
    assert not run.exists()


def test_some_empty_texts_and_long_ones_train_and_are_counted(tmp_path, capsys):
    def change(frame):
        frame.loc[::10, "review"] = ""
        frame.loc[1::4, "review"] = frame.loc[1::4, "review"] + " the film" * 10

    spec = tmp_path / "spec.yaml"
    spec.write_text(f"data: {_csv(tmp_path, change)}\nmodel: {{family: embedbag}}\n")
    run = tmp_path / "run"
    assert main(["train", str(spec), "--out", str(run), "--quiet", *TINY,
                 "data.tokenizer.max_length=12"]) == 0
    lengths = json.loads((run / "model" / "preprocess.json").read_text())["text"]["lengths"]
    assert sum(s["empty"] for s in lengths.values()) == 24  # rows 0, 10, ..., 230
    assert sum(s["truncated"] for s in lengths.values()) == 60  # rows 1, 5, ..., 237
    assert all(s["max"] > 12 for s in lengths.values())
