"""What a run dir holds, read once and defensively, for the doctor and the report.

A run dir may be half-written (killed mid-run), made by ``honed train`` or ``honed run``, with
or without a study, compression or a bundle. :func:`load_evidence` reads whatever is there and
lists what is missing in ``missing``; only a folder that is no run dir at all is an error.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from honed.errors import UserInputError
from honed.io import read_lines

__all__ = ["Evidence", "load_evidence", "series"]


@dataclass
class Evidence:
    """The contents of one run dir (each part None or empty when absent)."""

    root: Path
    spec: dict[str, Any]
    metrics: dict[str, Any] | None
    history: list[dict[str, Any]]
    probes: list[dict[str, Any]]
    missing: list[str] = field(default_factory=list)

    @property
    def task(self) -> str | None:
        if self.metrics and self.metrics.get("task"):
            return self.metrics["task"]
        val = self.history[-1].get("val", {}) if self.history else {}
        if "accuracy" in val:
            return "classification"
        return "regression" if "r2" in val else None

    @property
    def train(self) -> dict[str, Any]:
        return self.spec.get("train") or {}

    @property
    def lr(self) -> float | None:
        value = (self.train.get("optimizer") or {}).get("lr")
        return value if isinstance(value, (int, float)) else None

    @property
    def stopped(self) -> dict[str, Any] | None:
        """The probes' ``stopped`` line when the fit ended on an error (e.g. a NaN loss)."""
        events = [p for p in self.probes if p.get("event") == "stopped"]
        return events[-1] if events else None

    @property
    def epochs(self) -> list[dict[str, Any]]:
        """Probe lines of finished epochs."""
        return [p for p in self.probes if "event" not in p]

    @cached_property
    def study(self):
        """The run's Optuna study, or None (no study/study.db, or no study in it)."""
        database = self.root / "study" / "study.db"
        if not database.is_file():
            return None
        try:
            from honed.search.show import open_study

            return open_study(f"sqlite:///{database.resolve()}", self.spec.get("name"),
                              missing_ok=True) or open_study(
                f"sqlite:///{database.resolve()}", None, missing_ok=True)
        except Exception:  # a torn or foreign database: the report says it could not read it
            return None

    def read_json(self, relative: str) -> dict[str, Any] | None:
        return _read_json(self.root / relative)

    @cached_property
    def model_card(self) -> dict[str, Any]:
        """``model/model.json`` (the family's resolved knobs, outputs), or empty."""
        return self.read_json("model/model.json") or {}

    @property
    def val_counts(self) -> list[int] | None:
        """Val rows per class, from the val confusion matrix (classification only)."""
        matrix = ((self.metrics or {}).get("val") or {}).get("confusion_matrix")
        return [sum(row) for row in matrix] if matrix else None

    @property
    def chance_loss(self) -> float | None:
        """The loss of a model that knows nothing but the target's distribution.

        Classification: the entropy of the val class shares (ln K for balanced classes), or
        ln K from the model's outputs; regression on a standardized target: 1.0 (the mean's
        squared error). None when unknown (a target left unscaled).
        """
        if self.task == "regression":
            scaled = (self.spec.get("data") or {}).get("scale_target", True)
            return 1.0 if scaled is not False else None
        counts = self.val_counts
        if counts and sum(counts):
            total = sum(counts)
            return -sum(c / total * math.log(c / total) for c in counts if c)
        outputs = self.model_card.get("num_outputs")
        return math.log(outputs) if isinstance(outputs, int) and outputs > 1 else None

    @property
    def reference_loss(self) -> float | None:
        """What "a big loss" is measured against: the larger of the chance loss and the
        first batch's loss (an untrained model's, whatever its init)."""
        first = next((line["loss"]["first"] for line in self.epochs
                      if (line.get("loss") or {}).get("first") is not None), None)
        known = [v for v in (self.chance_loss, first) if v is not None and math.isfinite(v)]
        if not known and self.history:
            known = [v for v in series(self.history[:1], "train", "loss") if math.isfinite(v)]
        return max(known) if known else None

    def chance_accuracy(self) -> tuple[float, float] | None:
        """(majority share, the accuracy within sampling noise of it) on the val split.

        Always predicting the most common class scores its share; a model whose val accuracy
        lies within two binomial standard errors of that has learned nothing measurable.
        """
        counts = self.val_counts
        if not counts or not sum(counts):
            return None
        total, share = sum(counts), max(counts) / sum(counts)
        return share, share + 2 * math.sqrt(share * (1 - share) / total)


def load_evidence(run_dir: str | Path) -> Evidence:
    """Read a run dir; raise :class:`UserInputError` (one line) when it is not one."""
    root = Path(run_dir)
    if not root.is_dir():
        raise UserInputError(f"{root} is not a folder")
    spec_path = root / "spec.yaml"
    if not spec_path.is_file():
        raise UserInputError(f"{root} is not a honed run dir (no spec.yaml); give the folder "
                             "that honed train or honed run wrote")
    from honed.spec.yaml_io import read_yaml

    try:
        spec = read_yaml(spec_path)
    except Exception as exc:  # SpecError is one line already
        raise UserInputError(f"cannot read {spec_path}: {exc}") from None
    if not isinstance(spec, dict):
        raise UserInputError(f"{spec_path} does not hold a spec mapping")
    from honed.train.callbacks.probes import read_probes

    evidence = Evidence(root, spec, _read_json(root / "metrics.json"), read_lines(
        root / "history.jsonl"), read_probes(root / "probes.jsonl"))
    for name, present in (("metrics.json", evidence.metrics is not None),
                          ("history.jsonl", bool(evidence.history)),
                          ("probes.jsonl", bool(evidence.probes)),
                          ("model/", (root / "model" / "weights.safetensors").is_file())):
        if not present:
            evidence.missing.append(name)
    return evidence


def series(history: list[dict[str, Any]], split: str, metric: str) -> list[float]:
    """One metric per epoch (NaN where an epoch lacks it)."""
    out = []
    for record in history:
        value = (record.get(split) or {}).get(metric)
        out.append(float(value) if isinstance(value, (int, float)) else math.nan)
    return out


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


