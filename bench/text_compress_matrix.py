"""Which compressor applies to which text family: ``honed compress`` on a tiny text run of each.

    PYTHONPATH=src python bench/text_compress_matrix.py [--rows 240] [--out DIR]

For each of embedbag, lstm, gru, transformer and cnn, one run (a generated review corpus,
embedding 8, 2 epochs) is compressed three times: magnitude pruning + dynamic int8 +
distillation into an embedbag student; static int8; structured pruning. Each row prints what
came out: the variant's test accuracy, its size against the run's model and its batch-64
speed-up, whether it was kept, or the one-line refusal. A matrix of what works, not a speed
benchmark: the models are tiny, so int8 and pruning rarely pay on them (docs/text.md).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

FAMILIES = ("embedbag", "lstm", "gru", "transformer", "cnn")
SETTINGS = {
    "magnitude + dynamic int8 + distill": {
        "prune": {"method": "magnitude", "amount": 0.5, "finetune_epochs": 1},
        "quantize": {"mode": "dynamic"},
        "distill": {"student": {"family": "embedbag", "embedding_dim": 4}, "epochs": 2}},
    "static int8": {"quantize": {"mode": "static", "samples": 64}},
    "structured": {"prune": {"method": "structured", "amount": 0.5}},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=240)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from honed.compress import compress_run
    from honed.errors import HonedError
    from honed.spec import spec_from_dict
    from honed.train.session import train_spec
    from tests.text_corpus import write_reviews

    root = args.out or Path(tempfile.mkdtemp(prefix="text-compress-"))
    root.mkdir(parents=True, exist_ok=True)
    source = write_reviews(root, n=args.rows)
    print("| family | asked | variant | test accuracy | size vs model | speed-up b64 | kept |")
    print("|---|---|---|---|---|---|---|")
    for family in FAMILIES:
        run = root / family
        train_spec(spec_from_dict({
            "name": family, "data": {"source": str(source), "target": "label",
                                     "text": ["review"],
                                     "tokenizer": {"max_length": 12, "min_frequency": 1}},
            "model": {"family": family, "embedding_dim": 8},
            "train": {"epochs": 2, "batch_size": 16, "threads": 1, "probes": False,
                      "optimizer": {"name": "adamw", "lr": 0.02}}}), out_dir=run,
            progress=False)
        for asked, settings in SETTINGS.items():
            try:
                report = compress_run(run, {**settings, "threads": 1, "max_accuracy_drop": 0.05})
            except HonedError as exc:
                print(f"| {family} | {asked} | refused: {exc} | | | | |")
                continue
            base = report.table["baseline"]
            rows = report.table["variants"]
            if asked == next(iter(SETTINGS)):  # the run's own model, once per family
                rows = [base, *rows]
            for row in rows:
                size = row["size_bytes"] / base["size_bytes"] if base["size_bytes"] else None
                speed = (row.get("speedup") or {}).get("batch64") if row is not base else 1.0
                print(f"| {family} | {asked} | {row['name']} | {row['test']['accuracy']:.3f} "
                      f"| {size:.2f}x | {speed if speed is None else f'{speed:.2f}x'} "
                      f"| {'yes' if row['kept'] else 'no'} |")
            sys.stdout.flush()


if __name__ == "__main__":
    main()
