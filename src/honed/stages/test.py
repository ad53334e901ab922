"""Stage ``test``: score the final model once on the untouched test split, beside baselines."""

from __future__ import annotations

from honed.io import atomic_write_json
from honed.pipeline import RunContext, Stage

__all__ = ["Test"]


class Test(Stage):
    """Add ``metrics["test"]`` and ``metrics["baselines"]`` to ``DIR/metrics.json``.

    This is the only place ``honed run`` reads the test split, after every choice (trial,
    epochs, refit) has been made. Done when metrics.json holds ``test``: the refit stage
    rewrites metrics.json without it whenever it replaces the model, so a ``test`` there always
    belongs to the model beside it. The baselines (:mod:`honed.train.baselines`) are fit and
    scored here too, on the same prepared data.
    """

    name = "test"
    __test__ = False  # not a pytest class, whatever its name says

    def done(self, context: RunContext) -> bool:
        if not context.run.metrics.is_file():
            return False
        metrics = context.run.read_metrics()
        return "test" in metrics and "baselines" in metrics

    def run(self, context: RunContext) -> None:
        from honed.stages.trainval import with_val_in_train
        from honed.train.baselines import baseline_report
        from honed.train.run_eval import evaluate_run, run_data

        metrics = context.run.read_metrics()
        metrics.pop("baselines", None)
        spec, data = run_data(context.run.root)
        # the same function as `honed evaluate`, so the command reproduces these numbers
        test = evaluate_run(context.run.root, split="test", data=data)
        # a model trained on train+val is compared on test with baselines fit on the same rows
        val_seen = bool((metrics.get("refit") or {}).get("val_seen"))
        baselines = baseline_report(
            data, {"val": metrics.get("val"), "test": test}, monitor=metrics.get("monitor"),
            season=spec.data.window.season, split="test" if val_seen else "val",
            fit_data=with_val_in_train(data) if val_seen else None)
        from honed.models import load_model
        from honed.train.confused import write_confused

        write_confused(context.run.root, spec.data, data, load_model(context.run.model))
        atomic_write_json(context.run.metrics, {"val": metrics.pop("val", None), "test": test,
                                                **metrics, "baselines": baselines})
