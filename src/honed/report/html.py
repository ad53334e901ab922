"""``write_report``: one self-contained HTML page per run dir (plotly inlined, no network).

Every section either renders or says what the run dir lacks for it: a half-written run, a run
without a study, compression or bundle still gets a page. When a stage of ``honed run`` failed,
the page opens with a banner naming the stage and its error, and says so in a ``<meta>`` tag
near the top of the file (:func:`failed_stage_of`), so that the report stage does not count that
page as done.
"""

from __future__ import annotations

import html
import re
import time
from collections.abc import Callable
from pathlib import Path

from honed.io import atomic_write_text
from honed.report.evidence import Evidence, load_evidence
from honed.report.explain_section import section as explain_section
from honed.report.figures import (
    Section,
    baselines,
    classification,
    compression,
    curves,
    environment,
    export,
    regression,
    study,
    text,
)
from honed.report.figures.base import esc, missing

__all__ = ["write_report", "render_report", "failed_stage_of", "SECTION_IDS", "REPORT_NAME"]

REPORT_NAME = "report.html"
#: the sections of every report, in page order (the Chromium test checks each id); a text
#: run's report has one more, :data:`honed.report.figures.text.SECTION_ID`, after "evaluation"
SECTION_IDS = ("summary", "doctor", "curves", "study", "evaluation", "explain", "compression",
               "export", "environment")

#: the ``<meta>`` of a report written after a failed stage, within the file's first bytes
_FAILED_META = "honed-failed-stage"
_MARKER_WITHIN = 4096


def write_report(run_dir: str | Path, *, out: str | Path | None = None,
                 failed_stage: str | None = None, error: str = "") -> Path:
    """Write ``RUN_DIR/report.html`` (or ``out``) and return its path.

    Args:
        run_dir: the run dir to read.
        out: where to write; ``RUN_DIR/report.html`` when None.
        failed_stage: the stage of ``honed run`` that failed, whose ``error`` (one line) the
            page opens with; None for a run that did not fail.

    Raises:
        UserInputError: ``run_dir`` is not a run dir.

    Example:
        >>> write_report("runs/digits")  # then open runs/digits/report.html
    """
    evidence = load_evidence(run_dir)
    page = render_report(evidence, failed_stage=failed_stage, error=error)
    path = Path(out) if out is not None else evidence.root / REPORT_NAME
    atomic_write_text(path, page)
    return path


def render_report(evidence: Evidence, *, failed_stage: str | None = None,
                  error: str = "") -> str:
    """The report page as one HTML string (see :func:`write_report` for ``failed_stage``)."""
    from plotly.offline import get_plotlyjs

    from honed.report.summary import section as summary_section

    builders: list[tuple[str, str, Callable[[Evidence], Section]]] = [
        ("summary", "Run summary", summary_section), ("doctor", "Doctor", _doctor),
        ("curves", "Learning curves", curves.section), ("study", "Search", study.section),
        ("evaluation", "Evaluation", _evaluation), ("explain", "Explanations", explain_section),
        ("compression", "Compression", compression.section),
        ("export", "Export", export.section), ("environment", "Environment", environment.section)]
    if text.is_text_run(evidence):  # after the evaluation, on text runs only
        builders.insert(5, (text.SECTION_ID, "Text", text.section))
    sections = [_safe(evidence, *item) for item in builders]
    title = f"honed report: {evidence.spec.get('name', evidence.root.name)}"
    nav = " · ".join(f'<a href="#{s.id}">{esc(s.title)}</a>' for s in sections)
    body = "\n".join(_render(s) for s in sections)
    made = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    marker, banner = "", ""
    if failed_stage is not None:  # first in the head: failed_stage_of() reads no further
        marker = f'<meta name="{_FAILED_META}" content="{esc(failed_stage)}">'
        reason = f": {error}" if error else ""
        banner = (f'<p class="failed" role="alert"><b>{esc(failed_stage)} failed</b>'
                  f"{esc(reason)}; this report shows the stages before it. Fix the cause and "
                  "run the same command again to finish the run.</p>")
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">{marker}'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{esc(title)}</title><style>{_CSS}</style>"
            f'<script type="text/javascript">{get_plotlyjs()}</script></head>'
            f"<body><header><h1>{esc(title)}</h1><p>{esc(evidence.root)} · made {made}</p>"
            f"<nav>{nav}</nav></header><main>{banner}{body}</main></body></html>\n")


def failed_stage_of(page: str | Path) -> str | None:
    """The failed stage a report page names in its banner, or None (a full report, or none).

    Reads only the head of the file, where :func:`render_report` puts the marker.
    """
    try:
        with open(page, "rb") as file:
            head = file.read(_MARKER_WITHIN).decode("utf-8", "replace")
    except OSError:
        return None
    found = re.search(rf'<meta name="{_FAILED_META}" content="([^"]*)">', head)
    return html.unescape(found.group(1)) if found else None


def _safe(evidence: Evidence, section_id: str, title: str,
          build: Callable[[Evidence], Section]) -> Section:
    """The section, or a note naming why it could not be drawn (never an exception)."""
    try:
        part = build(evidence)
    except Exception as exc:  # a half-written or foreign file must not cost the whole page
        part = Section(section_id, title).lack(
            f"could not draw this section: {type(exc).__name__}: {exc}")
    part.id = section_id  # the page's ids are fixed whatever a builder named its section
    return part


def _render(part: Section) -> str:
    notes = "".join(missing(text) for text in part.missing)
    return (f'<section id="{esc(part.id)}"><h2>{esc(part.title)}</h2>'
            f'{"".join(part.parts)}{notes}</section>')


def _evaluation(evidence: Evidence) -> Section:
    task = evidence.task
    if task == "classification":
        part = classification.section(evidence)
    elif task in ("regression", "forecasting"):
        part = regression.section(evidence)
    else:
        return Section("evaluation", "Evaluation").lack(
            "the task is unknown: metrics.json and history.jsonl are missing")
    return part.add(baselines.fragment(evidence.metrics or {}))


def _doctor(evidence: Evidence) -> Section:
    from honed.report.doctor import diagnose

    diagnosis = diagnose(evidence)
    part = Section("doctor", "Doctor")
    if diagnosis.healthy:
        part.add(f'<p class="ok">no problem found (checked: {esc(", ".join(diagnosis.checked))})'
                 "</p>")
    for finding in diagnosis.findings:
        changes = "".join(f"<li><code>{esc(c)}</code></li>" for c in finding.changes)
        part.add(f'<div class="finding"><h3>{esc(finding.verdict)}</h3>'
                 f"<p><b>evidence:</b> {esc(finding.evidence)}</p>"
                 f"<p><b>try:</b></p><ul>{changes}</ul></div>")
    for note in diagnosis.notes:
        part.lack(note)
    return part


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#222;
background:#fafafa}header{background:#1d3557;color:#fff;padding:16px 28px}header h1{margin:0;
font-size:22px}header p{margin:4px 0;opacity:.8}nav a{color:#a8dadc;margin-right:4px}
main{padding:8px 28px 40px;max-width:1400px}section{background:#fff;border:1px solid #e3e3e3;
border-radius:6px;margin:18px 0;padding:8px 18px 14px}h2{font-size:18px;color:#1d3557}
table{border-collapse:collapse;margin:10px 0;font-size:13px}caption{text-align:left;
font-weight:600;padding:4px 0}td,th{border:1px solid #ddd;padding:4px 8px;text-align:left}
th{background:#f1f4f8}.missing{color:#8a6d3b;background:#fcf8e3;padding:6px 10px;
border-radius:4px}.failed{color:#fff;background:#b02a37;padding:10px 14px;
border-radius:6px;margin:18px 0}.ok{color:#2a7a3b;font-weight:600}
.finding{border-left:4px solid #e76f51;
padding:2px 12px;margin:10px 0}.finding h3{margin:6px 0;font-size:15px}code{background:#f3f3f3;
padding:1px 4px;border-radius:3px}pre{background:#f6f6f6;padding:8px;overflow:auto}
"""
