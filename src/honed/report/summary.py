"""The run summary: what was trained, what the spec changed from the defaults, the scores."""

from __future__ import annotations

from typing import Any

from honed.report.evidence import Evidence
from honed.report.figures.base import Section, esc, missing, table
from honed.report.search_facts import search_rows

__all__ = ["section", "spec_changes"]


def spec_changes(spec: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """``(dotted key, default, value)`` for every key where the spec differs from the defaults.

    The defaults are those of a spec with the same data source and model family; a spec the
    schema refuses (written by another version) is compared key by key as far as it goes.
    """
    from honed.spec.schema import Spec

    data, model = spec.get("data") or {}, spec.get("model") or {}
    try:
        default = Spec.model_validate({"data": {"source": data.get("source", "x")},
                                       "model": {"family": model.get("family", "mlp")}}
                                      ).model_dump(mode="json")
    except Exception:
        return []
    import json

    # a section that is off by default (search, compress, export) is one row, not dozens
    whole = {key: json.dumps(value) for key, value in spec.items()
             if isinstance(value, dict) and default.get(key, 0) is None}
    ours = _flatten({k: v for k, v in spec.items() if k not in whole})
    base = _flatten(default)
    skip = {"name", "data.source", "model.family"}
    return [(key, base.get(key), value) for key, value in ours.items()
            if key not in skip and base.get(key) != value] + [
        (key, None, value) for key, value in whole.items()]


def _flatten(node: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(node, dict) and node:
        out: dict[str, Any] = {}
        for key, value in node.items():
            out.update(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
        return out
    return {prefix: node}


def section(evidence: Evidence) -> Section:
    """Dataset, task, spec changes, best val and test metrics, parameters and time."""
    part = Section("summary", "Run summary")
    spec, metrics = evidence.spec, evidence.metrics or {}
    data, model = spec.get("data") or {}, spec.get("model") or {}
    rows = [("run", spec.get("name", "?")), ("run dir", str(evidence.root)),
            ("dataset", data.get("source", "?")), ("task", evidence.task or "unknown"),
            ("model family", model.get("family", "?"))]
    for key, label in (("params", "parameters"), ("epochs_run", "epochs run"),
                       ("best_epoch", "best epoch"), ("stop_reason", "training stopped because"),
                       ("seconds", "training wall time (s)"),
                       ("train_seconds", "time in epochs (s)")):
        if metrics.get(key) is not None:
            rows.append((label, metrics[key]))
    best = metrics.get("best_trial")
    if best:
        values = ", ".join(f"{k} {v:.5g}" for k, v in (best.get("values") or {}).items())
        rows.append(("best trial", f"#{best.get('number')}: {values}"))
    rows += search_rows(evidence)
    refit = metrics.get("refit")
    if refit:
        rows.append(("final model", f"{refit.get('mode')} ({refit.get('source', '')})"))
    part.add(table(["", "value"], rows))
    scores = [(split, metrics[split]) for split in ("val", "test")
              if isinstance(metrics.get(split), dict)]
    if scores:
        names = [k for k, v in scores[0][1].items() if isinstance(v, (int, float))]
        part.add(table(["split", *names], [[split, *(values.get(n) for n in names)]
                                           for split, values in scores],
                       caption="best model: validation and test metrics"))
    else:
        part.lack("no metrics.json: the run did not finish, so there are no final scores")
    if "test" not in metrics and scores:
        part.lack("no test metrics yet (honed run scores the test split in its test stage)")
    changes = spec_changes(spec)
    if changes:
        part.add(table(["spec key", "default", "this run"], changes,
                       caption="what the spec changed from the defaults"))
    else:
        part.add(missing("the spec uses the defaults throughout"))
    space = evidence.root / "study" / "space.yaml"
    if space.is_file():
        part.add(f"<details><summary>searched space (study/space.yaml)</summary><pre>"
                 f"{esc(space.read_text(encoding='utf-8', errors='replace'))}</pre></details>")
    return part
