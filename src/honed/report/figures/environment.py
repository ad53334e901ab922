"""Environment: package versions, threads, device and the machine."""

from __future__ import annotations

import os
import platform
from importlib import metadata

from honed.report.evidence import Evidence
from honed.report.figures.base import Section, table

__all__ = ["section", "versions"]

_PACKAGES = ("honed", "torch", "numpy", "optuna", "onnx", "onnxruntime", "plotly", "scikit-learn")


def versions() -> dict[str, str]:
    """Installed versions of the packages honed uses (without importing them)."""
    out = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def section(evidence: Evidence) -> Section:
    """This machine's versions, and what the run recorded about where it trained."""
    part = Section("environment", "Environment")
    metrics = evidence.metrics or {}
    rows = [("report made with", ", ".join(f"{k} {v}" for k, v in versions().items())),
            ("machine", f"{platform.platform()}, {os.cpu_count()} CPUs")]
    for key, label in (("device", "training device"), ("precision", "precision"),
                       ("threads", "torch threads in training"),
                       ("threads_chosen", "threads chosen by")):
        if key in metrics:
            rows.append((label, metrics[key]))
    card = evidence.read_json("bundle/card.json") or {}
    if card.get("versions"):
        rows.append(("bundle exported with", ", ".join(f"{k} {v}" for k, v in
                                                      card["versions"].items())))
    compress = evidence.read_json("compress/compress.json") or {}
    if compress.get("threads"):
        rows.append(("latency threads (compress)", compress["threads"]))
    part.add(table(["", "value"], rows))
    if "device" not in metrics:
        part.lack("metrics.json holds no device/threads record (an unfinished run, or a "
                  "refit copied from a trial)")
    return part
