"""Stage ``tune``: run (or continue) the study in ``DIR/study/``; off for a spec without dimensions."""

from __future__ import annotations

import json
from pathlib import Path

from honed.pipeline import RunContext, Stage

__all__ = ["Tune"]


class Tune(Stage):
    """Optuna study over the spec's dimensions; the test split is never read here.

    Done when the study in the run's storage was made by this spec and already holds
    ``search.trials`` ended trials (a smaller grid: each of its points). A study cut short by
    ``search.timeout`` is not done, so the next ``honed run`` gives it another ``timeout`` to
    reach ``trials``, exactly as ``honed tune`` continues a study.
    """

    name = "tune"

    def enabled(self, context: RunContext) -> bool:
        return context.is_search

    def done(self, context: RunContext) -> bool:
        from honed.search.results import best_trials
        from honed.search.samplers import trial_target
        from honed.search.study import fingerprint, finished_count

        study = context.study()
        if study is None:
            return False
        # a study made by another spec is not ours to reuse: tune() reports it as an error
        if study.user_attrs.get("honed.fingerprint") != fingerprint(context.template.raw):
            return False
        if finished_count(study) < trial_target(context.search, context.template.dimensions):
            return False
        # killed between the last trial and the summary: run again, which only writes it
        saved = _read_best(context.study_dir / "best.json")
        return saved == [t.number for t in best_trials(study)]

    def run(self, context: RunContext) -> None:
        from honed.search.tune import tune

        outcome = tune(context.template, out_dir=context.run.root, storage=context.storage,
                       trials=context.trials, timeout=context.timeout, workers=context.workers,
                       progress=context.progress, note=context.note)
        context.cache["study"] = outcome.study
        context.forget("refit_plan")  # the best trial may have changed


def _read_best(path: Path) -> list[int] | None:
    """Trial numbers listed in best.json; None when it is missing or unreadable."""
    try:
        return [t["number"] for t in json.loads(path.read_text(encoding="utf-8"))["trials"]]
    except (OSError, ValueError, KeyError, TypeError):
        return None
