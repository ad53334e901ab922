"""Stage ``explain``: ``DIR/explain/`` (see :func:`honed.explain.explain_run`).

On when the spec has an ``explain`` section (``explain: {}`` takes the defaults): global
permutation importance on the test split, attributions of a few test examples and the sanity
checks, for the report's explanation section and the doctor's leakage and dead-input checks.
Runs after ``test`` (it reads the test split, as ``test`` does, and chooses nothing). Done when
``explain/importance.json`` names the current model's fingerprint and the spec's ``explain``
settings (changing them explains again, without retraining).
"""

from __future__ import annotations

import json

from honed.pipeline import RunContext, Stage

__all__ = ["Explain"]


class Explain(Stage):
    """Write ``DIR/explain/``: importance.json, attributions.npz, explain.html."""

    name = "explain"

    def enabled(self, context: RunContext) -> bool:
        return context.template.default.explain is not None

    def done(self, context: RunContext) -> bool:
        path = context.run.root / "explain" / "importance.json"
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return False
        settings = context.template.default.explain
        return (isinstance(record, dict) and record.get("model") == context.model_fingerprint()
                and settings is not None and record.get("settings") == settings.model_dump())

    def run(self, context: RunContext) -> None:
        from honed.explain import explain_run

        explain_run(context.run.root, record={"model": context.model_fingerprint()},
                    progress=(lambda text: context.note(f"explain: {text}"))
                    if context.progress else None)
