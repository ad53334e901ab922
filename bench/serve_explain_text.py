"""What ``honed serve --explain`` costs on text: one text explained per token against the same
text predicted, in process, without HTTP.

    python bench/serve_explain_text.py [BUNDLE] [--rounds 200]

Without ``BUNDLE``, an ``embedbag`` on the tiny review corpus of ``tests/text_corpus.py``
(``max_length`` 128) is trained and exported into a temporary folder. For texts of 8, 32 and
128 tokens, each round times ``Runtime.predict`` on the record and then the explanation
(``prepare_cut`` and :func:`honed.serve.explain.occlusion`: the text and each of its tokens
deleted, one ONNX Runtime call), so that load swings hit both alike; the medians and the
median of the per-round ratios are printed.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _bundle(folder: Path) -> Path:
    sys.path.insert(0, str(ROOT))
    from tests.text_corpus import train_text_bundle

    return train_text_bundle(folder, max_length=128) / "bundle"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bundle", nargs="?")
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args(argv)
    from honed.serve.explain import occlusion
    from honed.serve.runtime import load_runtime

    with tempfile.TemporaryDirectory() as tmp:
        runtime = load_runtime(args.bundle or _bundle(Path(tmp)))
        column = runtime.preprocess["text"]["columns"][0]
        words = "the film was really quite long and the cast superb".split()
        print(f"{'tokens':>6} {'predict ms':>11} {'explain ms':>11} {'ratio':>6}")
        for length in (8, 32, 128):
            record = [{column: " ".join(words[i % len(words)] for i in range(length))}]
            spent: dict[str, list[float]] = {"predict": [], "explain": []}
            for _ in range(args.rounds):
                start = time.perf_counter()
                runtime.predict(record).records()
                middle = time.perf_counter()
                occlusion(runtime, *runtime.prepare_cut(record))
                spent["predict"].append(middle - start)
                spent["explain"].append(time.perf_counter() - middle)
            ratio = statistics.median(e / p for p, e in zip(*spent.values(), strict=True))
            print(f"{length:>6} {statistics.median(spent['predict']) * 1e3:>11.3f} "
                  f"{statistics.median(spent['explain']) * 1e3:>11.3f} {ratio:>6.1f}")


if __name__ == "__main__":
    main()
