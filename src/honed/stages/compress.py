"""Stage ``compress``: ``DIR/compress/`` for ``honed run`` (see :mod:`honed.compress.run`).

On when the spec's ``compress`` section asks for something to build (``prune``, ``quantize``,
``distill`` or ``search``). Done when ``compress/compress.json`` was made from
the current model (its ``"model"`` fingerprint) with the same compress section and in the current
format, so a new best trial, new compress settings or a version-1 table (which chose on the test
split) rebuild the table.
"""

from __future__ import annotations

import json

from honed.pipeline import RunContext, Stage

__all__ = ["Compress"]


class Compress(Stage):
    """Build, measure and keep the compressed variants; choose the one ``export`` ships."""

    name = "compress"

    def enabled(self, context: RunContext) -> bool:
        compress = context.template.default.compress
        return compress is not None and any(
            (compress.prune, compress.quantize, compress.distill, compress.search))

    def done(self, context: RunContext) -> bool:
        path = context.run.root / "compress" / "compress.json"
        try:
            table = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return False
        from honed.compress.variants import VERSION

        wanted = context.template.default.compress.model_dump(mode="json")
        return (isinstance(table, dict) and table.get("model") == context.model_fingerprint()
                and table.get("spec") == wanted and table.get("version") == VERSION)

    def run(self, context: RunContext) -> None:
        from honed.compress.run import compress_run

        report = compress_run(context.run.root, context.template.default.compress,
                              note=lambda text: context.note(f"compress: {text}"))
        context.note(f"compress: {len(report.table['variants'])} variant(s) in {report.folder}"
                     f"; chosen: {report.chosen or 'none (the base model stays)'}")
        if report.chosen is None and report.table.get("why"):
            context.note(f"compress: {report.table['why']}")
