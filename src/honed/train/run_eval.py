"""``evaluate_run``: metrics of a finished run's model on one of its splits."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from honed.data import prepare_data
from honed.models import load_model
from honed.rundir import RunDir
from honed.spec.validate import validate_point
from honed.spec.yaml_io import read_yaml
from honed.train.evaluate import evaluate_arrays

if TYPE_CHECKING:
    from torch import nn

    from honed.data.dataset import PreparedData
    from honed.spec.schema import Spec

__all__ = ["evaluate_run", "load_run", "run_data", "SPLITS"]

SPLITS = ("train", "val", "test")


def evaluate_run(run_dir: str | Path, *, split: str = "test",
                 data: PreparedData | None = None) -> dict[str, Any]:
    """Rebuild the run's data split (same seed, same preprocessing) and score its saved model.

    ``data``: the run's prepared data (:func:`run_data`) when the caller already has it.
    """
    if split not in SPLITS:
        from honed.errors import UserInputError

        raise UserInputError(f"--split must be one of {', '.join(SPLITS)}; got {split!r}")
    if data is None:
        _, data, model = load_run(run_dir)
    else:
        model = load_model(RunDir(run_dir).require(model=True).model)
    part = getattr(data, split)
    return evaluate_arrays(model, part.x, part.y, task=data.task, target_scale=data.target_scale,
                           with_confusion=True)


def run_data(run_dir: str | Path) -> tuple[Spec, PreparedData]:
    """The run's resolved spec and its data, prepared as in training (same seed, same splits)."""
    spec = validate_point(read_yaml(RunDir(run_dir).spec))
    return spec, prepare_data(spec.data, seed=spec.seed)


def load_run(run_dir: str | Path) -> tuple[Spec, PreparedData, nn.Module]:
    """A finished run's spec, its data splits rebuilt (same seed, same preprocessing) and model.

    Raises:
        UserInputError: ``run_dir`` is not a run dir or holds no trained model.
    """
    run = RunDir(run_dir).require(model=True)
    spec, data = run_data(run.root)
    return spec, data, load_model(run.model)
