"""Stage ``report``: ``DIR/report.html``, the last stage of ``honed run``."""

from __future__ import annotations

from pathlib import Path

from honed.pipeline import RunContext, Stage, StageFailure

__all__ = ["Report", "report_inputs"]

#: what the report reads, relative to the run dir (folders: every file inside counts)
_INPUTS = ("spec.yaml", "metrics.json", "history.jsonl", "probes.jsonl", "model",
           "study/study.db", "study/space.yaml", "study/best.json", "compress/compress.json",
           "bundle", "explain/importance.json")


def report_inputs(run_dir: Path) -> list[Path]:
    """The files in ``run_dir`` that the report is made from (those that exist)."""
    found = []
    for name in _INPUTS:
        path = run_dir / name
        if path.is_dir():
            found += [p for p in path.rglob("*") if p.is_file()]
        elif path.is_file():
            found.append(path)
    return found


class Report(Stage):
    """Write ``DIR/report.html`` (see :func:`honed.report.write_report`).

    Always on. Done when report.html is newer
    than every file it reads, so a stage that changed the model, the study, the compression
    table or the bundle makes it again. When an earlier stage fails, the page is written from
    what the run dir holds, with a banner naming that stage and its error; such a page is never
    done, so the run that gets past the failure writes the full report over it.
    """

    name = "report"

    def done(self, context: RunContext) -> bool:
        from honed.report.html import failed_stage_of

        page = context.run.root / "report.html"
        if not page.is_file() or failed_stage_of(page) is not None:
            return False
        made = page.stat().st_mtime_ns
        return all(path.stat().st_mtime_ns <= made for path in report_inputs(context.run.root))

    def run(self, context: RunContext) -> None:
        from honed.report.html import write_report

        write_report(context.run.root)  # honed run prints its path at the end

    def after_failure(self, context: RunContext, failure: StageFailure) -> None:
        from honed.report.html import write_report

        path = write_report(context.run.root, failed_stage=failure.stage, error=failure.error)
        context.note(f"report: {failure.stage} failed; {path} shows the stages before it")
