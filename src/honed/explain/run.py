"""``explain_run``: what ``honed explain`` and the explain stage of ``honed run`` compute.

Without an input: global permutation importance on the test split, attributions of a few
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
from .sanity import completeness_check, randomization_check

__all__ = ["explain_run", "Explanation", "EXPLAIN_DIR"]

EXPLAIN_DIR = "explain"
#: the inputs the sanity checks explain (three attributions each: trained, nudged, random)
_SANITY_ROWS = 8


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
    if data.preprocess.get("tabular"):
        from honed.errors import UserInputError

        raise UserInputError(f"{run_dir}: honed explain does not support text beside table "
                             "columns yet (data.text with other input columns)")
    settings = settings or spec.explain or ExplainSpec()
    kind = input_kind(data.kind)
    method = resolve_method(method or settings.method, kind)
    out = Path(out) if out is not None else Path(run_dir) / EXPLAIN_DIR
    groups, baseline = kind.groups(data), kind.baseline(data)
    common = {"kind": kind.name, "task": data.task, "method": method,
              "baseline": baseline.description, "groups": [g.name for g in groups],
              "class_names": data.class_names, "settings": settings.model_dump(),
              **(record or {})}
    if input is not None:
        x, ids = _read(input, data.preprocess)  # every row checked before anything is written
        say(f"attributing {len(x)} inputs with {method}")
        found = attribute(model, x, kind=kind, groups=groups, baseline=baseline, method=method,
                          task=data.task, steps=settings.steps, references=data.train.x,
                          seed=spec.seed)
        summary = {**common, "inputs": len(x), "seconds": time.perf_counter() - started}
        files = write_local(out, summary, x, ids, found, group_sums(found.values, groups))
        return Explanation(summary, files)

    from honed.train.evaluate import predict

    test = _subset(data.test, settings.samples, spec.seed)
    metric = headline_metric(data.task, spec.train.monitor)
    say(f"permutation importance of {len(groups)} input groups on {len(test.x)} test rows "
        f"({settings.repeats} repeats, {metric})")
    importance = permutation_importance(
        model, test.x, test.y, groups=groups, task=data.task, metric=metric,
        repeats=settings.repeats, seed=spec.seed, target_scale=data.target_scale,
        class_names=data.class_names)
    from .examples import pick_examples

    outputs = predict(model, test.x).numpy()
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
    summary = {**common, "importance": importance, "sanity": sanity,
               "seconds": time.perf_counter() - started}
    files = write_global(out, summary, test.x[rows], _units(test.y[rows], data.target_scale),
                         _units(outputs[rows], data.target_scale), found,
                         group_sums(found.values, groups))
    return Explanation(summary, files)


def _sanity(model, x, data, kind, groups, baseline, method, settings, seed, *,
            found, picked: np.ndarray) -> dict[str, Any]:
    """Randomization (for the chosen method) and completeness (integrated gradients).

    ``found``: the chosen method's attributions of the examples, already computed for the page
    (reused, not recomputed); ``x`` is examples ``picked``.
    """
    def explain(net, inputs, how=method):
        return attribute(net, inputs, kind=kind, groups=groups, baseline=baseline, method=how,
                         task=data.task, steps=settings.steps, references=data.train.x,
                         seed=seed)

    spread = np.asarray(data.train.x, dtype=np.float64).std(axis=0)
    checks = {"rows": len(x), "randomization": randomization_check(
        lambda net, inputs: explain(net, inputs).values, model, x, spread=spread, seed=seed,
        trained=found.values[picked])}
    if method == "integrated_gradients":
        values, targets = found.values[picked], found.targets[picked]
    else:
        ig = explain(model, x, "integrated_gradients")
        values, targets = ig.values, ig.targets
    checks["completeness"] = completeness_check(model, x, values, baseline.values, targets)
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
    from honed.data.transform import apply_preprocess
    from honed.serve.inputs import read_input

    batch = read_input(path, preprocess)
    return apply_preprocess(preprocess, batch.raw), list(batch.ids)
