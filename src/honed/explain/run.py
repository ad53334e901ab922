"""``explain_run``: what ``honed explain`` and the explain stage of ``honed run`` compute.

Without an input: global permutation importance on the test split (for text: each token's
deletion, :mod:`honed.explain.token_importance`; for text beside table columns, both,
:mod:`honed.explain.mixed`), attributions of a few
correct and wrong test examples, the sanity checks, written as ``explain/importance.json``,
``explain/attributions.npz`` and ``explain/explain.html``. With an input file (as ``honed
predict`` reads): one attribution per row or image, as ``explain/local.json``,
``explain/local.npz`` and ``explain/local.html``. The input is read and checked in full before
anything is written; each file is written atomically.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from honed.spec.schema import ExplainSpec

from .attributions import attribute, group_sums, import_captum, resolve_method
from .importance import headline_metric, permutation_importance
from .kinds import input_kind
from .outputs import write_global, write_local
from .sanity import completeness_check, completeness_from_delta, randomization_check

__all__ = ["explain_run", "Explanation", "EXPLAIN_DIR"]

EXPLAIN_DIR = "explain"
#: the inputs the sanity checks explain (three attributions each: trained, nudged, random);
#: 8 took a third of a digits CNN's explanation (bench/explain_cost.py)
_SANITY_ROWS = 4


@dataclass
class Explanation:
    """What one ``explain_run`` computed, and the files it wrote."""

    summary: dict[str, Any]
    files: list[Path] = field(default_factory=list)


def explain_run(run_dir: str | Path, input: str | Path | None = None, *,
                method: str | None = None, out: str | Path | None = None,
                settings: ExplainSpec | None = None, record: dict[str, Any] | None = None,
                progress: Callable[[str], None] | None = None) -> Explanation:
    """Explain a finished run's model globally (no ``input``) or per row of ``input``.

    Args:
        run_dir: a run dir holding ``model/`` (``honed run`` or ``honed train``).
        input: CSV, Parquet, ``.npz`` or image folder, as ``honed predict`` reads.
        method: attribution method; None takes ``explain.method`` of the run's spec.
        out: output folder; ``RUN_DIR/explain`` by default.
        settings: overrides the spec's ``explain`` section.
        record: more keys for the summary (the pipeline's model fingerprint).
        progress: called with one line per step, for people.

    Raises:
        UserInputError: not a run dir, a bad input or method (nothing is written).

    Example:
        >>> explain_run("runs/digits").summary["importance"]["importances"][0]["name"]
    """
    from honed.train.run_eval import load_run

    say = progress or (lambda text: None)
    started = time.perf_counter()
    import_captum()  # fail before any work when the extra is missing
    spec, data, model = load_run(run_dir)
    settings = settings or spec.explain or ExplainSpec()
    # text beside table columns: tokens deleted, columns shuffled or set to their baseline
    kind = input_kind("mixed" if data.preprocess.get("tabular") else data.kind)
    method = resolve_method(method or settings.method, kind)
    out = Path(out) if out is not None else Path(run_dir) / EXPLAIN_DIR
    groups, baseline = kind.groups(data), kind.baseline(data)
    text = kind.name in ("text", "mixed")
    common = {"kind": kind.name, "task": data.task, "method": method,
              "baseline": baseline.description, "groups": [g.name for g in groups],
              "class_names": data.class_names, "settings": settings.model_dump(),
              **_feature_baseline(data, kind), **(record or {})}
    if input is not None:
        x, ids = _read(input, data.preprocess)  # every row checked before anything is written
        say(f"attributing {len(x)} inputs with {method}")
        found = attribute(model, x, kind=kind, groups=groups, baseline=baseline, method=method,
                          task=data.task, steps=settings.steps, references=data.train.x,
                          seed=spec.seed)
        summary = {**common, **_recorded(found), "inputs": len(x),
                   "seconds": time.perf_counter() - started}
        files = write_local(out, summary, x, ids, found, _grouped(found, groups, kind),
                            _tokens(data, x) if text else None)
        return Explanation(summary, files)

    from honed.train.evaluate import predict

    test = _subset(data.test, settings.samples, spec.seed)
    metric = headline_metric(data.task, spec.train.monitor)
    outputs = predict(model, test.x)
    importance = _importance(model, test, data, kind, groups, metric, settings, spec.seed, say,
                             outputs)
    outputs = outputs.numpy()
    from .examples import pick_examples

    rows = pick_examples(outputs, test.y, task=data.task, per_group=settings.examples,
                         seed=spec.seed)
    say(f"attributing {len(rows)} test examples with {method}, then the sanity checks")
    found = attribute(model, test.x[rows], kind=kind, groups=groups, baseline=baseline,
                      method=method, task=data.task, steps=settings.steps,
                      references=data.train.x, seed=spec.seed)
    # the sanity checks' rows, spread over the classes that the examples are ordered by
    picked = np.unique(np.linspace(0, len(rows) - 1, min(_SANITY_ROWS, len(rows))).astype(int))
    sanity = _sanity(model, test.x[rows[picked]], data, kind, groups, baseline, method,
                     settings, spec.seed, found=found, picked=picked)
    summary = {**common, **_recorded(found), "importance": importance, "sanity": sanity,
               "seconds": time.perf_counter() - started}
    files = write_global(out, summary, test.x[rows], _units(test.y[rows], data.target_scale),
                         _units(outputs[rows], data.target_scale), found,
                         _grouped(found, groups, kind), _tokens(data, test.x[rows]) if text else None)
    return Explanation(summary, files)


def _importance(model, test, data, kind, groups, metric, settings, seed, say, outputs) -> dict:
    """Permutation importance of the kind's groups, or for text each token's deletion (text
    beside columns: both, :func:`~honed.explain.mixed.mixed_importance`)."""
    if kind.name == "mixed":
        from .mixed import mixed_importance, offset_of
        from .token_ids import vocabulary

        say(f"importance: each widespread token deleted from {len(test.x)} test texts, each of "
            f"{len(groups)} columns shuffled ({settings.repeats} repeats, {metric})")
        return mixed_importance(
            model, test.x, test.y, groups=groups, offset=offset_of(data.preprocess),
            vocabulary=vocabulary(data.preprocess["tokenizer"]), task=data.task, metric=metric,
            repeats=settings.repeats, seed=seed, target_scale=data.target_scale,
            class_names=data.class_names, outputs=outputs)
    if kind.name == "text":
        from .token_ids import vocabulary
        from .token_importance import token_importance

        say(f"token importance: each widespread token deleted from {len(test.x)} test texts "
            f"({metric})")
        return token_importance(model, test.x, test.y,
                                vocabulary=vocabulary(data.preprocess["tokenizer"]),
                                task=data.task, metric=metric, target_scale=data.target_scale,
                                class_names=data.class_names, outputs=outputs)
    say(f"permutation importance of {len(groups)} input groups on {len(test.x)} test rows "
        f"({settings.repeats} repeats, {metric})")
    return permutation_importance(
        model, test.x, test.y, groups=groups, task=data.task, metric=metric,
        repeats=settings.repeats, seed=seed, target_scale=data.target_scale,
        class_names=data.class_names, outputs=outputs)


def _recorded(found) -> dict[str, Any]:
    """The baseline the attributions really used (gradient_shap: its reference rows too)."""
    record: dict[str, Any] = {"baseline": found.baseline}
    if found.baseline_rows is not None:
        record["baseline_rows"] = found.baseline_rows
    return record


def _grouped(found, groups, kind) -> np.ndarray:
    """Per-group attributions; for text (no groups), the per-token ones themselves; for text
    beside columns, each column's (feature ablation scores a whole group at once)."""
    if kind.name == "mixed" and found.method == "feature_ablation":
        from .mixed import column_scores

        return column_scores(found.values, groups)
    return group_sums(found.values, groups) if groups else found.values


def _tokens(data, x: np.ndarray) -> np.ndarray:
    """Each token's text (the ids only, when table features follow them)."""
    from .token_ids import token_strings

    offset = int(data.preprocess["tabular"]["offset"]) if data.preprocess.get("tabular") else None
    return token_strings(np.asarray(x)[:, :offset], data.preprocess["tokenizer"])


def _feature_baseline(data, kind) -> dict[str, Any]:
    """Text beside columns: each table feature's baseline value, recorded (0 for all)."""
    if kind.name != "mixed":
        return {}
    names = data.preprocess["tabular"]["feature_names"]
    return {"feature_baseline": {str(name): 0.0 for name in names}}


def _sanity(model, x, data, kind, groups, baseline, method, settings, seed, *,
            found, picked: np.ndarray) -> dict[str, Any]:
    """Randomization (for the chosen method) and completeness (integrated gradients).

    ``found``: the chosen method's attributions of the examples, already computed for the page
    (reused, not recomputed); ``x`` is examples ``picked``. Token ids cannot be nudged: text
    compares the method with itself (deterministic) and only on the texts' tokens.
    """
    def explain(net, inputs, how=method):
        return attribute(net, inputs, kind=kind, groups=groups, baseline=baseline, method=how,
                         task=data.task, steps=settings.steps, references=data.train.x,
                         seed=seed)

    text = kind.name in ("text", "mixed")
    spread = 0.0 if text else np.asarray(data.train.x, dtype=np.float64).std(axis=0)
    keep = (x != 0) if text else None
    if kind.name == "mixed":  # every table feature counts, 0 or not
        keep[:, min(int(g.index.min()) for g in groups):] = True
    checks = {"rows": len(x), "randomization": randomization_check(
        lambda net, inputs: explain(net, inputs).values, model, x, spread=spread, seed=seed,
        trained=found.values[picked], keep=keep)}
    if kind.name == "mixed" and method != "integrated_gradients":  # nothing to add up
        checks["completeness"] = {"applies": False, "passed": True, "why": (
            "integrated gradients were not asked for (--method integrated_gradients); "
            "feature ablation's scores are output differences by construction")}
        return checks
    if method == "integrated_gradients":
        values, targets = found.values[picked], found.targets[picked]
        delta = None if found.delta is None else found.delta[picked]
    else:
        ig = explain(model, x, "integrated_gradients")
        values, targets, delta = ig.values, ig.targets, ig.delta
    checks["completeness"] = (completeness_from_delta(values, delta) if text else
                              completeness_check(model, x, values, baseline.values, targets))
    return checks


def _units(values: np.ndarray, scale) -> np.ndarray:
    """Regression targets or outputs back in the target's own units (as the figures show)."""
    if scale is None:
        return values
    means, stds = (np.asarray(part, dtype=np.float64) for part in scale)
    return np.asarray(values, dtype=np.float64).reshape(len(values), -1) * stds + means


def _subset(split, samples: int, seed: int):
    """At most ``samples`` rows of a split, drawn without replacement (in their order)."""
    if len(split.x) <= samples:
        return split
    from honed.data.dataset import Split

    rows = np.sort(np.random.default_rng(seed).choice(len(split.x), samples, replace=False))
    return Split(split.x[rows], split.y[rows])


def _read(path: str | Path, preprocess: dict) -> tuple[np.ndarray, list[str]]:
    """The inputs ``honed predict`` reads (for text: a .txt file, a folder of them, or a table
    of the text columns), as float32 model inputs (text: token ids), and one id per row."""
    from honed.data.transform import apply_preprocess
    from honed.serve.inputs import read_input

    batch = read_input(path, preprocess)
    return apply_preprocess(preprocess, batch.raw).astype(np.float32), list(batch.ids)
