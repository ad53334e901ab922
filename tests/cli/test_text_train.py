"""honed train on free text: a CSV column and a .txt folder in, a model and its tokenizer out;
a free-text column left unnamed stops the run with one line and writes nothing."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import load_file

from honed.cli.main import main
from honed.data import apply_preprocess
from honed.models import load_model
from honed.models.tokens import TOKEN_WEIGHTS
from tests.text_corpus import mixed_reviews, write_reviews, write_text_folder

TINY = ["train.epochs=3", "train.threads=1", "train.probes=false", "train.optimizer.lr=0.02",
        "train.batch_size=16"]


def spec(folder: Path, source: str, extra: str = "") -> Path:
    path = folder / "spec.yaml"
    path.write_text(f"data: {{source: {source}, target: label{extra}}}\n"
                    "model: {family: embedbag, embedding_dim: 16}\n")
    return path


def test_a_free_text_column_without_data_text_exits_2_and_writes_nothing(tmp_path, capsys):
    write_reviews(tmp_path)
    code = main(["train", str(spec(tmp_path, "reviews.csv")), "--out", str(tmp_path / "run"),
                 "--quiet", *TINY])
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "data.text: [review]" in err
    assert not (tmp_path / "run").exists()


def test_text_beside_other_columns_trains_on_both(tmp_path, capsys):
    mixed_reviews().to_csv(tmp_path / "reviews.csv", index=False)
    assert main(["validate", str(spec(tmp_path, "reviews.csv", ", text: review"))]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "beside the text 4 table features from stars, genre" in out
    run = tmp_path / "run"
    assert main(["train", str(spec(tmp_path, "reviews.csv", ", text: review")), "--out",
                 str(run), "--quiet", *TINY, "data.tokenizer.min_frequency=1"]) == 0
    preprocess = json.loads((run / "model" / "preprocess.json").read_text())
    assert preprocess["tabular"]["feature_names"][0] == "stars"
    baselines = {row["name"]: row for row in
                 json.loads((run / "metrics.json").read_text())["baselines"]["rows"]}
    assert set(baselines) == {"majority", "tfidf_logistic"}
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["val"]["accuracy"] > baselines["majority"]["val"]["accuracy"]


def test_train_on_a_text_column_learns_and_saves_its_tokenizer(tmp_path, capsys):
    write_reviews(tmp_path)
    run = tmp_path / "run"
    assert main(["train", str(spec(tmp_path, "reviews.csv", ", text: review")), "--out",
                 str(run), "--quiet", *TINY, "data.tokenizer.min_frequency=1"]) == 0
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["val"]["accuracy"] >= 0.9
    preprocess = json.loads((run / "model" / "preprocess.json").read_text())
    assert (run / "model" / "tokenizer.json").read_text() == preprocess["tokenizer"]
    model = load_model(run)
    ids = apply_preprocess(preprocess, ["great superb film", "awful dull film"])
    with torch.no_grad():
        assert model(torch.as_tensor(ids)).argmax(1).tolist() == [1, 0]  # pos, neg


def test_text_transfer_reuses_the_tokenizer_and_freezes_the_embedding(tmp_path, capsys):
    corpus = write_text_folder(tmp_path / "corpus")
    first = tmp_path / "first"
    path = tmp_path / "spec.yaml"
    path.write_text(f"data: {{source: {corpus}}}\nmodel: {{family: lstm, hidden: 8, "
                    "embedding_dim: 8}\n")
    assert main(["train", str(path), "--out", str(first), "--quiet", *TINY]) == 0
    capsys.readouterr()
    # a new tokenizer would give the same ids other meanings: refused
    assert main(["train", str(path), "--out", str(tmp_path / "refused"), "--quiet", *TINY,
                 f"model.init_from={first}"]) == 2
    assert "data.tokenizer.file" in capsys.readouterr().err
    assert not (tmp_path / "refused").exists()
    second = tmp_path / "second"
    assert main(["train", str(path), "--out", str(second), "--quiet", *TINY,
                 f"model.init_from={first}", f"data.tokenizer.file={first}",
                 "model.freeze=[embed.*]"]) == 0
    before = load_file(first / "model" / "weights.safetensors")[TOKEN_WEIGHTS]
    after = load_file(second / "model" / "weights.safetensors")[TOKEN_WEIGHTS]
    assert torch.equal(before, after)
    assert ((second / "model" / "tokenizer.json").read_text()
            == (first / "model" / "tokenizer.json").read_text())


def test_honed_model_fits_and_predicts_raw_text(tmp_path):
    import honed
    from tests.text_corpus import reviews

    model = honed.Model("embedbag", epochs=3, threads=1, probes=False, **{
        "data.text": "review", "train.optimizer.lr": 0.02, "train.batch_size": 16,
        "data.tokenizer.min_frequency": 1}).fit(reviews(), target="label",
                                                out_dir=tmp_path / "run")
    assert list(model.predict(["a great superb film", "an awful dull film"])) == ["pos", "neg"]
    assert model.predict(reviews().head(5)).shape == (5,)


def test_validate_says_how_many_texts_are_cut(tmp_path, capsys):
    write_reviews(tmp_path)
    path = spec(tmp_path, "reviews.csv", ", text: review, tokenizer: {max_length: 5}")
    assert main(["validate", str(path)]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "word tokenizer" in out and "of 168 training texts cut at 5 tokens" in out


def test_a_text_run_is_compared_with_tfidf_and_the_majority_class(tmp_path, capsys):
    write_reviews(tmp_path)
    run = tmp_path / "run"
    assert main(["train", str(spec(tmp_path, "reviews.csv", ", text: review")), "--out",
                 str(run), "--quiet", *TINY, "data.tokenizer.min_frequency=1"]) == 0
    report = json.loads((run / "metrics.json").read_text())["baselines"]
    rows = {row["name"]: row for row in report["rows"]}
    assert set(rows) == {"majority", "tfidf_logistic"}  # no linear model on raw token ids
    # the reviews are separable by their words: TF-IDF on the run's own tokens finds them
    assert rows["tfidf_logistic"]["val"]["accuracy"] >= 0.9 > rows["majority"]["val"]["accuracy"]
    assert report["beats_baseline"] is not None
    out = capsys.readouterr().out
    assert "tfidf_logistic" in out  # the run summary lists it, and its cost covers every row
    assert "(every baseline on every training row:" in out
