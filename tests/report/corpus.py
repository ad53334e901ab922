"""A labelled corpus of real runs for the doctor: healthy ones, and each pathology at strengths.

Every case is trained through :func:`honed.train.session.train_spec`, the function behind
``honed train``, into a run dir; its label is the set of checks that must find something
(``expect``) and the set that may (``allow``); every other check must stay silent. A healthy
case expects nothing. :func:`score` turns the diagnoses into a confusion table per check.

``tests/report/test_doctor.py`` runs the cases marked ``quick``;
``bench/doctor_corpus.py`` runs them all and prints the table. The synthetic tables are made
here, from a fixed seed, so the corpus needs no download.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = ["CASES", "Case", "build_case", "score", "format_table", "TABLES"]


@dataclass(frozen=True)
class Case:
    """One labelled run: a raw spec, the checks that must fire and those that may."""

    name: str
    spec: dict
    expect: frozenset[str] = frozenset()
    allow: frozenset[str] = frozenset()
    quick: bool = False

    @property
    def healthy(self) -> bool:
        return not self.expect


def _case(name: str, data: dict, model: dict, train: dict, expect: Iterable[str] = (),
          allow: Iterable[str] = (), quick: bool = False) -> Case:
    spec = {"data": data, "model": model, "train": {"threads": 1, **train}}
    return Case(name, spec, frozenset(expect), frozenset(allow), quick)


def _table(rows: np.ndarray, labels: np.ndarray, names: list[str] | None = None):
    import pandas as pd

    frame = pd.DataFrame({f"f{i}": rows[:, i] for i in range(rows.shape[1])})
    frame["label"] = labels if names is None else [names[i] for i in labels]
    return frame


def _blobs(rng) -> object:
    """Four Gaussian classes in 6 features, overlapping a little."""
    y = rng.integers(0, 4, 800)
    centers = rng.normal(0, 2.5, (4, 6))
    return _table(centers[y] + rng.normal(size=(800, 6)), y, ["a", "b", "c", "d"])


def _overlap(rng) -> object:
    """Four classes in 8 features that overlap: the best model gets about 80%."""
    y = rng.integers(0, 4, 1200)
    centers = rng.normal(0, 0.9, (4, 8))
    return _table(centers[y] + rng.normal(size=(1200, 8)), y, ["a", "b", "c", "d"])


def _shuttle(rng) -> object:
    """Shuttle-like: 7 classes from 78% down to 0.3%, well separated (a ~99.8% model)."""
    shares = np.array([0.78, 0.14, 0.05, 0.015, 0.008, 0.004, 0.003])
    y = rng.choice(7, size=6000, p=shares / shares.sum())
    centers = rng.normal(0, 4, (7, 9))
    return _table(centers[y] + rng.normal(size=(6000, 9)), y, [f"k{i}" for i in range(7)])


def _imbalanced(shift: float, share: float) -> Callable:
    """Two classes, ``share`` of the rows rare, the rare class ``shift`` away on every feature."""
    def make(rng):
        y = (rng.random(2000) < share).astype(int)
        return _table(rng.normal(size=(2000, 4)) + shift * y[:, None], y, ["common", "rare"])
    return make


def _noise(rng) -> object:
    """Three classes whose labels have nothing to do with the features."""
    return _table(rng.normal(size=(900, 6)), rng.integers(0, 3, 900), ["a", "b", "c"])


def _noise2(rng) -> object:
    """Two classes, 60/40, whose labels have nothing to do with the features."""
    return _table(rng.normal(size=(600, 10)), (rng.random(600) < 0.4).astype(int), ["a", "b"])


def _friedman(rng) -> object:
    """Friedman #1 regression: a smooth non-linear target with a little noise."""
    x = rng.random((1000, 6))
    y = (10 * np.sin(np.pi * x[:, 0] * x[:, 1]) + 20 * (x[:, 2] - 0.5) ** 2 + 10 * x[:, 3]
         + 5 * x[:, 4] + rng.normal(size=1000))
    return _table(x, y)


#: synthetic tables by name, each written to ``ROOT/NAME.csv`` once
TABLES: dict[str, Callable] = {
    "blobs": _blobs, "overlap": _overlap, "shuttle": _shuttle, "imbalanced_easy": _imbalanced(4.0, 0.05),
    "imbalanced_hard": _imbalanced(1.0, 0.05), "imbalanced_hard10": _imbalanced(1.0, 0.10),
    "noise": _noise, "noise2": _noise2, "friedman": _friedman}


def _builtin(name: str, **extra) -> dict:
    return {"source": f"builtin:{name}", **extra}


def _csv(name: str, **extra) -> dict:
    return {"source": f"table:{name}", "target": "label", **extra}


MLP = {"family": "mlp", "hidden": 32}
ADAMW = {"name": "adamw", "lr": 3e-3}
DEAD = {"family": "tests.report.nets:dead_relu"}
DEAD_MOST = {"family": "tests.report.nets:mostly_dead_relu"}
SIGMOID = {"family": "mlp", "hidden": 16, "activation": "sigmoid", "init": "normal"}
TINY = {"family": "mlp", "hidden": 2, "depth": 1}
BIG = {"family": "mlp", "hidden": 256, "depth": 2}

CASES: list[Case] = [
    # ---- healthy: no check may fire
    _case("healthy/iris", _builtin("iris"), MLP,
          {"epochs": 30, "optimizer": {"name": "adamw", "lr": 1e-2}}),
    _case("healthy/wine", _builtin("wine"), MLP, {"epochs": 12, "optimizer": ADAMW}, quick=True),
    _case("healthy/breast_cancer", _builtin("breast_cancer"), MLP,
          {"epochs": 10, "optimizer": ADAMW}),
    _case("healthy/digits", _builtin("digits"), {"family": "mlp", "hidden": 64},
          {"epochs": 10, "optimizer": ADAMW}),
    _case("healthy/digits-sgd", _builtin("digits"), {"family": "mlp", "hidden": 64},
          {"epochs": 10, "optimizer": {"name": "momentum", "lr": 0.05}}),
    _case("healthy/blobs", _csv("blobs"), MLP,
          {"epochs": 8, "optimizer": {"name": "adam", "lr": 1e-2}}),
    _case("healthy/overlap", _csv("overlap"), MLP, {"epochs": 10, "optimizer": ADAMW}),
    _case("healthy/shuttle", _csv("shuttle"), {"family": "mlp", "hidden": 64},
          {"epochs": 15, "optimizer": ADAMW}, quick=True),
    _case("healthy/imbalanced-easy", _csv("imbalanced_easy"), MLP,
          {"epochs": 10, "optimizer": ADAMW}, quick=True),
    _case("healthy/wine-regularized", _builtin("wine"), {**MLP, "dropout": 0.2},
          {"epochs": 40, "optimizer": {"name": "adamw", "lr": 3e-3, "weight_decay": 1e-3},
           "early_stopping": {"patience": 5}}),
    _case("healthy/friedman", {"source": "table:friedman", "target": "label"},
          {"family": "mlp", "hidden": 64}, {"epochs": 20, "optimizer": ADAMW}),
    _case("healthy/diabetes", _builtin("diabetes"), MLP, {"epochs": 20, "optimizer": ADAMW}),
    _case("healthy/wine-defaults", _builtin("wine"), {"family": "mlp"}, {}),
    _case("healthy/digits-cnn", _builtin("digits"), {"family": "cnn"},
          {"epochs": 4, "optimizer": ADAMW}),
    _case("healthy/breast_cancer-short", _builtin("breast_cancer"), MLP,
          {"epochs": 4, "optimizer": {"name": "adamw", "lr": 1e-2}}),
    _case("healthy/iris-sgd", _builtin("iris"), MLP,
          {"epochs": 40, "optimizer": {"name": "nesterov", "lr": 0.05}}),
    # ---- the learning rate too high: diverged, at three strengths
    _case("lr_high/wine-sgd-10", _builtin("wine"), MLP,
          {"epochs": 5, "optimizer": {"name": "sgd", "lr": 10}}, ["lr_high"]),
    _case("lr_high/digits-adamw-10", _builtin("digits"), MLP,
          {"epochs": 6, "optimizer": {"name": "adamw", "lr": 10}}, ["lr_high"]),
    _case("lr_high/digits-adamw-1000", _builtin("digits"), MLP,
          {"epochs": 6, "optimizer": {"name": "adamw", "lr": 1000}}, ["lr_high"], quick=True),
    _case("lr_high/breast_cancer-adam-1", _builtin("breast_cancer"), MLP,
          {"epochs": 8, "optimizer": {"name": "adam", "lr": 1}}, ["lr_high"]),
    _case("lr_high/digits-momentum-1", _builtin("digits"), MLP,
          {"epochs": 6, "optimizer": {"name": "momentum", "lr": 1}}, ["lr_high"]),
    # ---- the learning rate too low: no learning
    _case("lr_low/wine-sgd-1e-7", _builtin("wine"), MLP,
          {"epochs": 6, "optimizer": {"name": "sgd", "lr": 1e-7}}, ["lr_low"], quick=True),
    _case("lr_low/digits-adamw-1e-7", _builtin("digits"), MLP,
          {"epochs": 6, "optimizer": {"name": "adamw", "lr": 1e-7}}, ["lr_low"]),
    _case("lr_low/breast_cancer-sgd-1e-5", _builtin("breast_cancer"), MLP,
          {"epochs": 6, "optimizer": {"name": "sgd", "lr": 1e-5}}, ["lr_low"]),
    # ---- underfitting: too small, or too constrained
    _case("underfit/digits-hidden2", _builtin("digits", limit=600), TINY,
          {"epochs": 8, "optimizer": {"name": "adamw", "lr": 1e-2}}, ["underfitting"]),
    _case("underfit/digits-hidden3", _builtin("digits"), {"family": "mlp", "hidden": 3,
                                                          "depth": 1},
          {"epochs": 10, "optimizer": {"name": "adamw", "lr": 1e-2}}, ["underfitting"]),
    _case("underfit/blobs-decay", _csv("blobs"), MLP,
          {"epochs": 10, "optimizer": {"name": "adamw", "lr": 1e-2, "weight_decay": 30.0}},
          ["underfitting"]),
    # ---- overfitting: a big net, no regularization, few rows
    _case("overfit/breast_cancer-80", _builtin("breast_cancer", limit=80,
                                               split={"val": 0.4, "test": 0.2}),
          {"family": "mlp", "hidden": 128},
          {"epochs": 20, "batch_size": 16, "optimizer": {"name": "adam", "lr": 1e-2}},
          ["overfitting"], quick=True),
    _case("overfit/digits-200", _builtin("digits", limit=200, split={"val": 0.4, "test": 0.2}),
          BIG, {"epochs": 60, "batch_size": 16, "optimizer": {"name": "adam", "lr": 1e-2}},
          ["overfitting"]),
    _case("overfit/overlap-150", _csv("overlap", limit=150, split={"val": 0.4, "test": 0.2}),
          BIG,
          {"epochs": 80, "batch_size": 8, "optimizer": {"name": "adam", "lr": 1e-2}},
          ["overfitting"]),
    # ---- class imbalance whose rare class really is missed
    _case("imbalance/95-5", _csv("imbalanced_hard"), MLP, {"epochs": 10, "optimizer": ADAMW},
          ["class_imbalance"], quick=True),
    _case("imbalance/90-10", _csv("imbalanced_hard10"), MLP,
          {"epochs": 10, "optimizer": ADAMW}, ["class_imbalance"]),
    # ---- dead ReLUs (a layer whose bias keeps it below zero)
    _case("dead/wine-all", _builtin("wine"), DEAD, {"epochs": 3}, ["dead_units"]),
    _case("dead/digits-most", _builtin("digits"), DEAD_MOST, {"epochs": 4}, ["dead_units"]),
    # ---- vanishing gradients: deep sigmoid stacks from a small init
    _case("vanishing/wine-depth8", _builtin("wine"), {**SIGMOID, "depth": 8},
          {"epochs": 3, "optimizer": {"name": "sgd", "lr": 1e-2}}, ["gradients"]),
    _case("vanishing/digits-depth12", _builtin("digits"), {**SIGMOID, "depth": 12},
          {"epochs": 3, "optimizer": {"name": "sgd", "lr": 1e-2}}, ["gradients"]),
    # ---- early stopping on a coarse metric with patience 1
    _case("early_stop/wine-patience1", _builtin("wine"), {"family": "mlp", "hidden": 16},
          {"epochs": 40, "optimizer": {"name": "adamw", "lr": 1e-3},
           "early_stopping": {"patience": 1, "monitor": "val.accuracy"}}, ["early_stop"]),
    _case("early_stop/digits-patience1", _builtin("digits"), {"family": "mlp", "hidden": 16},
          {"epochs": 40, "optimizer": {"name": "sgd", "lr": 1e-2},
           "early_stopping": {"patience": 1, "monitor": "val.accuracy"}}, ["early_stop"]),
    # ---- chance level: labels that the features do not predict
    _case("chance/noise", _csv("noise"), MLP, {"epochs": 6, "optimizer": ADAMW}, ["chance"],
          quick=True),
    _case("chance/noise2-wide", _csv("noise2"), {"family": "mlp", "hidden": 128},
          {"epochs": 5, "optimizer": ADAMW}, ["chance"], allow=["overfitting"]),
]


def build_case(case: Case, root: Path) -> Path:
    """Train ``case`` into ``root/<name>`` as honed train does; return the run dir.

    A fit that stops on an error (a NaN loss) keeps what it wrote before, as honed train does.
    """
    from honed.errors import HonedError
    from honed.spec.template import spec_from_dict
    from honed.train.session import train_spec

    raw = {"name": case.name.replace("/", "-"), **case.spec}
    source = raw["data"]["source"]
    if source.startswith("table:"):
        raw = {**raw, "data": {**raw["data"], "source": str(_write_table(root, source[6:]))}}
    out = root / case.name
    try:
        train_spec(spec_from_dict(raw), out_dir=out, progress=False)
    except HonedError:
        pass  # NonFiniteLossError: the run dir holds the history up to the divergence
    return out


def _write_table(root: Path, name: str) -> Path:
    path = root / "tables" / f"{name}.csv"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        TABLES[name](np.random.default_rng(0)).to_csv(path, index=False)
    return path


@dataclass
class Tally:
    """Confusion counts of one check over the corpus."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0
    wrong: list[str] = field(default_factory=list)


def score(found: dict[str, set[str]], cases: Iterable[Case]) -> dict[str, Tally]:
    """Per check: found and expected (TP), found unasked (FP), missed (FN), silent (TN).

    A check in a case's ``allow`` is neither counted nor blamed.
    """
    cases = list(cases)
    names = sorted({c for case in cases for c in case.expect} | {
        c for checks in found.values() for c in checks})
    table = {name: Tally() for name in names}
    for case in cases:
        got = found[case.name]
        for name in names:
            tally = table[name]
            if name in case.expect:
                if name in got:
                    tally.tp += 1
                else:
                    tally.fn += 1
                    tally.wrong.append(f"missed in {case.name}")
            elif name in case.allow:
                continue
            elif name in got:
                tally.fp += 1
                tally.wrong.append(f"false in {case.name}")
            else:
                tally.tn += 1
    return table


def format_table(table: dict[str, Tally], found: dict[str, set[str]],
                 cases: Iterable[Case]) -> str:
    """The confusion table, overall precision and recall, and the healthy runs flagged."""
    lines = [f"{'check':<16}{'TP':>5}{'FP':>5}{'FN':>5}{'TN':>5}"]
    for name, t in table.items():
        lines.append(f"{name:<16}{t.tp:>5}{t.fp:>5}{t.fn:>5}{t.tn:>5}")
    tp, fp, fn = (sum(getattr(t, k) for t in table.values()) for k in ("tp", "fp", "fn"))
    lines.append(f"{'all':<16}{tp:>5}{fp:>5}{fn:>5}")
    precision = tp / (tp + fp) if tp + fp else float("nan")
    recall = tp / (tp + fn) if tp + fn else float("nan")
    lines.append(f"precision {precision:.2f}, recall {recall:.2f}")
    cases = list(cases)
    healthy = [c for c in cases if c.healthy]
    flagged = [c.name for c in healthy if found[c.name]]
    lines.append(f"healthy runs with a finding: {len(flagged)} of {len(healthy)}")
    lines += [f"  {line}" for t in table.values() for line in t.wrong]
    return "\n".join(lines)
