"""Stage ``export``: the run's bundle in ``DIR/bundle/`` (see :mod:`honed.export.bundle`).

On when the spec has an ``export`` section (``export: {}`` takes the defaults). The model
exported is the variant ``honed compress`` chose (``"chosen"`` in ``DIR/compress/compress.json``,
when that file belongs to the current model and is of the current version: version 1 chose on
the test split), else the run's own model. Done when
``bundle/card.json`` reads back as a valid bundle made from the current model (its ``"model"``
fingerprint), of the same variant and with the formats the spec asks for.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from honed.pipeline import RunContext, Stage

__all__ = ["Export", "chosen_variant"]


def chosen_variant(run_dir: Path, fingerprint: str | None) -> str | None:
    """The variant compress.json chose for the model with ``fingerprint``, or None."""
    try:
        record: Any = json.loads((run_dir / "compress" / "compress.json").read_text("utf-8"))
    except (OSError, ValueError):
        return None
    from honed.compress.variants import VERSION

    if not isinstance(record, dict) or record.get("model") != fingerprint:
        return None  # made from an older model: its variants are not of this one
    if record.get("version") != VERSION:
        return None  # chosen on test (version 1): not shipped; honed compress chooses again
    chosen = record.get("chosen")
    return chosen if isinstance(chosen, str) and chosen else None


class Export(Stage):
    """Write ``DIR/bundle/``: model.onnx, preprocess.json, card.json (and triton/ when asked)."""

    name = "export"

    def enabled(self, context: RunContext) -> bool:
        return context.template.default.export is not None

    def _formats(self, context: RunContext) -> tuple[str, ...]:
        spec = context.template.default.export
        return ("onnx", "triton") if spec is not None and spec.format == "triton" else ("onnx",)

    def done(self, context: RunContext) -> bool:
        from honed.errors import BundleError
        from honed.export.card import read_bundle

        folder = context.run.root / "bundle"
        if not (folder / "card.json").is_file():
            return False
        try:
            card = read_bundle(folder).card
        except BundleError:
            return False  # damaged or edited: export again
        fingerprint = context.model_fingerprint()
        variant = chosen_variant(context.run.root, fingerprint) or "base"
        return (card.get("model") == fingerprint and card.get("variant") == variant
                and set(card.get("formats") or ["onnx"]) == set(self._formats(context)))

    def run(self, context: RunContext) -> None:
        from honed.export.bundle import export_bundle

        variant = chosen_variant(context.run.root, context.model_fingerprint())
        folder = export_bundle(context.run.root, variant=variant, formats=self._formats(context))
        context.note(f"export: {variant or 'base model'} written to {folder}")
