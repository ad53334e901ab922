"""Score every applicable baseline and say whether the model beats the best one.

``metrics["baselines"]`` (written by ``honed train`` and by the test stage of ``honed run``)::

    {"rows": [{"name": "majority", "description": "...", "val": {...}, "test": {...}},
              {"name": "seasonal_naive", "description": "...", "skipped": "no season ..."}],
     "compared_on": {"split": "val", "metric": "accuracy"},
     "best": "logistic", "best_value": 0.95, "model_value": 0.97,
     "beats_baseline": true,
     "cost": {"max_rows": 1000, "max_iter": 30, "seconds": 0.08}}

The comparison uses the run's monitored metric on the validation split (the test split when
validation rows were trained on), strictly: a tie does not beat a baseline.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from threadpoolctl import threadpool_limits

from honed.data.dataset import PreparedData
from honed.train.baselines.base import (
    MAX_ITER,
    MAX_ROWS,
    BaselineSkipped,
    baselines_for,
)
from honed.train.evaluate import score_outputs
from honed.train.metrics import metric_mode

__all__ = ["run_baselines", "compare_with_baselines", "baseline_report", "summary_lines",
           "cost_note", "HEADLINE", "CAPPED"]

#: the baselines that see a capped sample of the training rows (base.MAX_ROWS, MAX_ITER)
CAPPED = ("logistic", "ridge")
#: the metric compared when the monitored one is not a validation metric of the baselines
HEADLINE = {"classification": "accuracy", "regression": "r2", "forecasting": "r2"}


def run_baselines(data: PreparedData, *, splits: Sequence[str] = ("val", "test"),
                  season: int | None = None, fit_data: PreparedData | None = None
                  ) -> dict[str, Any]:
    """Fit every baseline of the data's task and input kind; score it on ``splits``.

    Args:
        data: the prepared splits scored.
        splits: which of ``train``, ``val``, ``test`` to score.
        season: the series' period in steps (``data.window.season``), for seasonal naive.
        fit_data: the rows the baselines fit on when not ``data`` (train+val, when the model
            was trained on both).
    """
    import sklearn.dummy  # noqa: F401  (imported here, so that "seconds" is the fits' cost)
    import sklearn.linear_model  # noqa: F401

    started = time.perf_counter()
    fit_on = fit_data if fit_data is not None else data
    parts = [getattr(data, split) for split in splits]
    rows = []
    for baseline in baselines_for(data.task, data.kind):
        row: dict[str, Any] = {"name": baseline.name, "description": baseline.description}
        try:
            # one BLAS thread: on a busy machine (training beside it, search workers) more
            # threads made logistic regression on MNIST several times slower, not faster
            with threadpool_limits(1):
                outputs = baseline.predict(fit_on, [part.x for part in parts],
                                           {"season": season})
        except BaselineSkipped as exc:
            row["skipped"] = str(exc)
        else:
            for split, part, out in zip(splits, parts, outputs, strict=True):
                row[split] = score_outputs(out, part.y, task=data.task,
                                           target_scale=data.target_scale)
        rows.append(row)
    return {"rows": rows, "cost": {"max_rows": MAX_ROWS, "max_iter": MAX_ITER,
                                   "seconds": round(time.perf_counter() - started, 3)}}


def compare_with_baselines(baselines: dict[str, Any], model: dict[str, Any], *, task: str,
                           monitor: str | None, split: str = "val") -> dict[str, Any]:
    """``baselines`` with the verdict added: the best baseline and whether ``model`` beats it.

    Args:
        baselines: what :func:`run_baselines` returned.
        model: the model's metrics per split (``{"val": {...}, "test": {...}}``).
        task: the run's task (picks the headline metric when the monitor does not apply).
        monitor: the run's ``train.monitor`` (``val.accuracy``).
        split: the split compared on.
    """
    scored = [row for row in baselines["rows"] if split in row]
    name = (monitor or "").partition(".")[2]
    if not (scored and name in scored[0][split] and name in (model.get(split) or {})):
        name = HEADLINE[task]
    out = {**baselines, "compared_on": {"split": split, "metric": name}, "best": None,
           "best_value": None, "model_value": None, "beats_baseline": None}
    if not scored or name not in (model.get(split) or {}):
        return out
    sign = 1.0 if metric_mode(name) == "max" else -1.0
    best = max(scored, key=lambda row: sign * row[split][name])
    value, reference = float(model[split][name]), float(best[split][name])
    out.update(best=best["name"], best_value=reference, model_value=value,
               beats_baseline=bool(sign * (value - reference) > 0))
    return out


def baseline_report(data: PreparedData, model: dict[str, Any], *, monitor: str | None,
                    splits: Sequence[str] = ("val", "test"), season: int | None = None,
                    split: str = "val", fit_data: PreparedData | None = None) -> dict[str, Any]:
    """:func:`run_baselines` then :func:`compare_with_baselines`: ``metrics["baselines"]``."""
    baselines = run_baselines(data, splits=splits, season=season, fit_data=fit_data)
    return compare_with_baselines(baselines, model, task=data.task, monitor=monitor,
                                  split=split)


def cost_note(report: dict[str, Any]) -> str:
    """What the baselines' cost cap covers: ``logistic fit on at most 1,000 training rows, 30
    iterations`` (the capped ones that ran), or ``every baseline on every training row``."""
    capped = [row["name"] for row in report["rows"]
              if row["name"] in CAPPED and "skipped" not in row]
    if not capped:
        return "every baseline on every training row"
    cost = report["cost"]
    return (f"{' and '.join(capped)} fit on at most {cost['max_rows']:,} training rows, "
            f"{cost['max_iter']} iterations")


def summary_lines(metrics: dict[str, Any]) -> list[str]:
    """The run summary's lines about baselines (none when the run has no baselines).

    One line per baseline (the compared split, and test beside it when scored), the cap on
    their cost, and a ``warning:`` line when the model does not beat the best of them.
    """
    report = metrics.get("baselines")
    if not report:
        return []
    split, name = report["compared_on"]["split"], report["compared_on"]["metric"]
    model = report["model_value"]
    lines = [f"baselines on {split} {name}" + ("" if model is None else
                                               f" (the model: {model:.4g})") + ":"]
    for row in report["rows"]:
        if "skipped" in row:
            lines.append(f"  {row['name']:<15} skipped: {row['skipped']}")
            continue
        test = ""
        if split != "test" and name in (row.get("test") or {}):
            test = f"   test {row['test'][name]:.4g}"
        best = "   best" if row["name"] == report["best"] else ""
        lines.append(f"  {row['name']:<15} {row[split][name]:>10.4g}{test}{best}")
    lines.append(f"  ({cost_note(report)}: {report['cost']['seconds']:.2f}s)")
    if report["beats_baseline"] is False:
        lines += [f"warning: the model does not beat the {report['best']} baseline on "
                  f"{split} {name}:",
                  f"  the model {model:.4g}, {report['best']} {report['best_value']:.4g}"]
    return lines
