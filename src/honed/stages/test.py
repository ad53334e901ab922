"""Stage ``test``: score the final model once on the untouched test split."""

from __future__ import annotations

from honed.io import atomic_write_json
from honed.pipeline import RunContext, Stage

__all__ = ["Test"]


class Test(Stage):
    """Add ``metrics["test"]`` to ``DIR/metrics.json``.

    This is the only place ``honed run`` reads the test split, after every choice (trial,
    epochs, refit) has been made. Done when metrics.json holds ``test``: the refit stage
    rewrites metrics.json without it whenever it replaces the model, so a ``test`` there always
    belongs to the model beside it.
    """

    name = "test"
    __test__ = False  # not a pytest class, whatever its name says

    def done(self, context: RunContext) -> bool:
        return context.run.metrics.is_file() and "test" in context.run.read_metrics()

    def run(self, context: RunContext) -> None:
        from honed.train.run_eval import evaluate_run

        metrics = context.run.read_metrics()
        # the same function as `honed evaluate`, so the command reproduces these numbers
        test = evaluate_run(context.run.root, split="test")
        atomic_write_json(context.run.metrics, {"val": metrics.pop("val", None), "test": test,
                                                **metrics})
