"""Text beside numeric and categorical columns against text alone, on a synthetic corpus.

    PYTHONPATH=src python bench/text_mixed.py [--rows 300] [--epochs 12] [--families embedbag gru]

The corpus is ``tests/text_corpus.mixed_reviews``: a review is ``pos`` only when its words are
positive *and* ``stars >= 3``, so the text alone tops out near 80% accuracy. Each family trains
twice on the same split, once on ``review`` with ``stars`` and ``genre`` beside it and once on
``review`` alone (``data.features: [review]``); the TF-IDF baseline is scored both ways too.
Prints val and test accuracy per row (one seed: a synthetic check, not a benchmark).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=300)
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--families", nargs="+", default=["embedbag", "gru"])
    args = parser.parse_args()

    from honed.data import prepare_data
    from honed.spec.schema import DataSpec
    from honed.train.baselines.tfidf import tfidf_logistic
    from tests.text_corpus import mixed_reviews, train_mixed_run

    inputs = {"mixed": None, "text alone": ["review"]}
    print(f"{'model':<16}{'inputs':<12}{'val':>8}{'test':>8}")
    for family in args.families:
        for name, features in inputs.items():
            with tempfile.TemporaryDirectory() as folder:
                run = train_mixed_run(Path(folder), family, features=features,
                                      epochs=args.epochs, rows=args.rows)
                metrics = json.loads((run / "metrics.json").read_text())
            print(f"{family:<16}{name:<12}{metrics['val']['accuracy']:>8.3f}"
                  f"{metrics['test']['accuracy']:>8.3f}")
    for name, features in inputs.items():
        data = prepare_data(DataSpec(source=mixed_reviews(args.rows), target="label",
                                     text="review", tokenizer={"min_frequency": 1},
                                     **({"features": features} if features else {})), seed=0)
        val, test = tfidf_logistic(data, [data.val.x, data.test.x], {})
        print(f"{'tfidf_logistic':<16}{name:<12}"
              f"{float((val.argmax(1) == data.val.y).mean()):>8.3f}"
              f"{float((test.argmax(1) == data.test.y).mean()):>8.3f}")


if __name__ == "__main__":
    main()
