"""``diagnose``: run every check on a run dir and say what is wrong, with evidence and fixes.

Each check (``honed.report.checks.*``) reads the run's history, its probes (gradient norms,
update ratios, dead units, batch-loss spikes), metrics and study, and returns a
:class:`Finding` or nothing. A healthy run gets no finding; a check that lacks what it needs
(no probes, no study) is listed in ``notes`` instead of guessing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from honed.report.checks import (
    Finding,
    chance,
    class_imbalance,
    dead_units,
    early_stop,
    gradients,
    importance,
    lr_high,
    lr_low,
    overfitting,
    search_bounds,
    underfitting,
)
from honed.report.checks.base import already_set
from honed.report.evidence import Evidence, load_evidence

__all__ = ["diagnose", "Diagnosis", "CHECKS", "format_diagnosis", "summary_lines"]

#: in the order findings are listed: root causes (the learning rate, dead units) before the
#: symptoms they explain
CHECKS: dict[str, Callable[[Evidence], Finding | None]] = {
    "lr_high": lr_high.check, "dead_units": dead_units.check, "gradients": gradients.check,
    "lr_low": lr_low.check, "early_stop": early_stop.check, "chance": chance.check,
    "overfitting": overfitting.check, "underfitting": underfitting.check,
    "class_imbalance": class_imbalance.check, "search_bounds": search_bounds.check,
    "leakage": importance.leakage, "dead_inputs": importance.dead_inputs}

_ROOTS = ("lr_high", "dead_units", "gradients", "lr_low", "early_stop")
#: a finding that an earlier, kept finding explains is left out: a learning rate of 10 blows
#: up the loss, kills the ReLUs, explodes the gradients and leaves a model at chance (its
#: changes include clipping); a learning rate of 1e-7 also "underfits"; a layer of dead ReLUs
#: passes no gradient back; vanishing gradients make tiny updates; a run stopped after two
#: epochs has learned little yet; a model at chance misses the rare classes along with the
#: rest. The fix is the cause's.
_EXPLAINED_BY = {"dead_units": ("lr_high",), "lr_low": ("lr_high", "dead_units", "gradients"),
                 "gradients": ("lr_high", "dead_units"), "chance": _ROOTS,
                 "underfitting": (*_ROOTS, "chance"), "early_stop": ("lr_high",),
                 "class_imbalance": (*_ROOTS, "chance"), "dead_inputs": ("leakage",)}


@dataclass
class Diagnosis:
    """What the doctor found in one run dir."""

    root: Path
    findings: list[Finding]
    notes: list[str] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return not self.findings

    def as_dict(self) -> dict:
        return {"run_dir": str(self.root), "findings": [f.as_dict() for f in self.findings],
                "notes": self.notes, "checked": self.checked}


def diagnose(run: str | Path | Evidence) -> Diagnosis:
    """Run every check on a run dir (or loaded :class:`Evidence`).

    Raises:
        UserInputError: ``run`` is not a run dir.

    Example:
        >>> for finding in diagnose("runs/digits").findings:
        ...     print(finding.verdict, finding.changes)
    """
    evidence = run if isinstance(run, Evidence) else load_evidence(run)
    notes = _notes(evidence)
    kept: dict[str, Finding] = {}
    checked = []
    for name, check in CHECKS.items():
        try:
            finding = check(evidence)
        except Exception as exc:  # malformed or partial files: say so, check the rest
            notes.append(f"the {name} check could not read this run: "
                         f"{type(exc).__name__}: {exc}")
            continue
        checked.append(name)
        if finding is not None and not any(c in kept for c in _EXPLAINED_BY.get(name, ())):
            # never propose what the run's spec already holds
            kept[name] = replace(finding, changes=[
                c for c in finding.changes if not already_set(evidence.spec, c)])
    return Diagnosis(evidence.root, list(kept.values()), notes, checked)


def _notes(evidence: Evidence) -> list[str]:
    notes = []
    if not evidence.history:
        notes.append("no history.jsonl: the curve checks had nothing to read (did training "
                     "start?)")
    if not evidence.probes:
        notes.append("no probes.jsonl: the gradient and dead-unit checks were skipped (honed "
                     "train records probes; a model copied from a search trial, or "
                     "train.probes=false, has none)")
    if evidence.metrics is None:
        notes.append("no metrics.json: the run did not finish")
    stopped = evidence.stopped
    if stopped:
        notes.append(f"the fit stopped on an error at epoch {stopped.get('epoch')}: "
                     f"{stopped.get('error', '').split(';')[0]}")
    study = evidence.study
    if (evidence.root / "study" / "study.db").is_file() and study is not None:
        from honed.report.checks.search_bounds import top_trials

        if not top_trials(study):
            notes.append("the study has fewer than 5 complete trials: the search-bounds check "
                         "needs more")
    return notes


def format_diagnosis(diagnosis: Diagnosis) -> str:
    """The diagnosis as text for a terminal: verdict, evidence and changes per finding."""
    count = len(diagnosis.findings)
    lines = [f"honed doctor {diagnosis.root}: "
             + ("no problem found" if not count else f"{count} finding{'s' * (count != 1)}")]
    for finding in diagnosis.findings:
        lines += [f"✗ {finding.verdict}", f"    evidence: {finding.evidence}"]
        if finding.changes:
            lines.append("    try:      " + "\n              ".join(finding.changes))
    if not count:
        lines.append(f"checked: {', '.join(diagnosis.checked)}")
    lines += [f"note: {note}" for note in diagnosis.notes]
    return "\n".join(lines)


def summary_lines(diagnosis: Diagnosis) -> list[str]:
    """A short summary for the end of ``honed train``: one line per finding."""
    if not diagnosis.findings:
        return ["doctor: no problem found"]
    lines = [f"doctor: {finding.verdict}" for finding in diagnosis.findings]
    lines.append(f"doctor: run `honed doctor {diagnosis.root}` for the evidence and the spec "
                 "changes to try")
    return lines
