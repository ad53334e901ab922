"""``honed.Model``: the pipeline with a scikit-learn feel, for notebooks and Python programs.

A DataFrame or ``(X, y)`` arrays go in, a fitted model comes out, with ``predict``,
``predict_proba``, ``evaluate``, ``save`` and ``export``. Nothing here trains, preprocesses,
scores or exports by itself: ``fit`` is ``honed train`` on an in-memory source
(:func:`honed.train.train_spec`), ``predict`` replays the fitted preprocessing with the
function the bundle and server use (:func:`honed.data.apply_preprocess`), ``evaluate`` is
``honed evaluate`` and ``export`` is ``honed export``. A fitted model is a normal run dir: in a
temporary folder until it is saved, or in ``out_dir``.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import tempfile
import weakref
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from honed.errors import SpecError, UserInputError
from honed.io import atomic_write_bytes, atomic_write_text
from honed.rundir import RunDir
from honed.spec.memory import is_memory_source, memory_data
from honed.spec.overrides import apply_values
from honed.spec.schema import DataSpec, ModelSpec, Spec, TrainSpec
from honed.spec.template import dump_spec, spec_from_dict
from honed.spec.validate import validate_point
from honed.spec.yaml_io import read_yaml

__all__ = ["Model", "spec_keys"]

_SECTIONS = {"data": DataSpec, "model": ModelSpec, "train": TrainSpec}


def spec_keys(keys: Mapping[str, Any]) -> dict:
    """The raw spec that keyword arguments describe.

    A key is a dotted spec key (``"train.optimizer.lr"``), a top-level key (``name``,
    ``seed``), a whole section (``train={...}``) or a field of ``data``, ``model`` or ``train``
    by its own name (``epochs``, ``hidden``, ``scale``).

    Raises:
        SpecError: every key that is none of these, at once.
    """
    raw: dict[str, Any] = {"data": {}, "model": {}, "train": {}}
    dotted, errors = {}, []
    for key, value in keys.items():
        if key in Spec.model_fields and isinstance(value, Mapping):
            dotted.update({f"{key}.{k}": v for k, v in value.items()})
        elif "." in key or key in Spec.model_fields:
            dotted[key] = value
        else:
            owners = [name for name, section in _SECTIONS.items() if key in section.model_fields]
            if len(owners) == 1:
                dotted[f"{owners[0]}.{key}"] = value
            else:
                errors.append(f"{key} is not a field of data, model or train; give a spec key "
                              "such as epochs, hidden or train.optimizer.lr")
    if errors:
        raise SpecError(errors)
    return apply_values(raw, dotted)


class Model:
    """A model family and spec keys; :meth:`fit` trains it as ``honed train`` would.

    Args:
        family: the model family (``honed list models``), e.g. ``"mlp"``.
        **keys: any spec key, as in :func:`spec_keys`: ``epochs=20``, ``hidden=64``,
            ``train={"batch_size": 32}``, ``**{"train.optimizer.lr": 1e-3}``.

    Attributes:
        run_dir: the run dir of the fitted model (None before :meth:`fit`).
        metrics: its ``metrics.json`` (val and test scores, parameters, threads, ...).
        classes: class names in the columns of :meth:`predict_proba` (classification).

    Example:
        >>> model = honed.Model("mlp", epochs=20, hidden=64).fit(frame, target="species")
        >>> model.predict(frame.head())  # class names, as the bundle and the server give them
        >>> model.evaluate()["accuracy"]  # the test split, as honed evaluate scores it
        >>> model.save("runs/iris")  # a run dir that honed evaluate and honed export accept
    """

    def __init__(self, family: str | None = None, **keys: Any):
        self._raw = spec_keys({**({"model.family": family} if family else {}), **keys})
        self.run_dir: Path | None = None
        self.metrics: dict[str, Any] = {}
        self._fitted = None

    def fit(self, X: Any, y: Any = None, *, target: str | None = None,
            out_dir: str | Path | None = None, progress: bool = False) -> Model:
        """Train on ``X`` (a DataFrame holding ``target``, or inputs with labels ``y``).

        The data is split, cleaned and scaled as ``data`` says (val and test split off); a spec
        with search dimensions trains at their default point. The run dir (``out_dir``, or a
        temporary folder removed with this object) keeps a copy of the data, so that it stands
        alone.

        Args:
            X: a DataFrame, or an array ``(N, F)`` (a table), ``(N, T, C)`` or ``(N, C, H, W)``.
            y: labels or values; with a DataFrame ``X`` they become column ``target``.
            target: the label column of a DataFrame (default ``"y"`` when ``y`` is given).
            out_dir: where to write the run dir (it must not hold a run yet).
            progress: show the epoch progress and the run header.

        Returns:
            ``self``, fitted.
        """
        target = target or self._raw["data"].get("target")
        raw = apply_values(self._raw, _data_keys(X, y, target))
        spec = spec_from_dict(raw).default
        folder = Path(out_dir) if out_dir is not None else Path(tempfile.mkdtemp(prefix="honed-"))
        if out_dir is None:
            weakref.finalize(self, shutil.rmtree, folder, True)
        import torch

        from honed.train.session import train_spec
        from honed.train.threads import pick_threads

        pick_threads(spec.train.threads, refresh=True)  # this run's load, not the session's
        previous = torch.get_num_threads()
        try:
            train_spec(spec, out_dir=folder, progress=progress)
        finally:
            torch.set_num_threads(previous)  # the caller's own torch work keeps its count
        _keep_data(RunDir(folder), spec)
        return self._open(folder)

    @classmethod
    def load(cls, run_dir: str | Path) -> Model:
        """A fitted model from a run dir (``save``, ``honed train`` or ``honed run`` made it)."""
        spec = read_yaml(RunDir(run_dir).require(model=True).spec)
        model = cls(**{key: spec[key] for key in ("data", "model", "train", "name", "seed")
                       if key in spec})
        return model._open(Path(run_dir))

    def predict(self, X: Any) -> np.ndarray:
        """Class names (classification) or values in the target's units, one per row of ``X``."""
        outputs = self._outputs(X)
        if self._preprocess["task"] == "classification":
            return np.asarray(self.classes)[outputs.argmax(axis=1)]
        from honed.data import inverse_target_scale

        values = inverse_target_scale(self._preprocess, outputs)
        return values[:, 0] if values.shape[1] == 1 else values

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities ``(N, classes)``, columns in the order of :attr:`classes`."""
        if self._preprocess["task"] != "classification":
            raise UserInputError("predict_proba is for classification; this model does "
                                 f"{self._preprocess['task']}: use predict")
        outputs = self._outputs(X)
        shifted = np.exp(outputs - outputs.max(axis=1, keepdims=True))
        return shifted / shifted.sum(axis=1, keepdims=True)

    def evaluate(self, split: str = "test") -> dict[str, Any]:
        """Loss and metrics on a split of the training data, exactly as ``honed evaluate``."""
        from honed.train.run_eval import evaluate_run

        return evaluate_run(self._require(), split=split)

    def save(self, run_dir: str | Path) -> Path:
        """Copy the run dir (model, spec, metrics, history, data) to ``run_dir``, a new folder."""
        target = Path(run_dir)
        source = self._require()
        if target.exists() and any(target.iterdir()):
            raise UserInputError(f"{target} is not empty; save into a new folder")
        partial = target.parent / f".{target.name}.partial"
        shutil.rmtree(partial, ignore_errors=True)
        shutil.copytree(source, partial)
        _point_at_data(RunDir(partial), source, target)
        if target.exists():
            target.rmdir()
        os.replace(partial, target)  # the folder appears whole or not at all
        return target

    def export(self, **options: Any) -> Path:
        """Write the verified ONNX bundle, as ``honed export``; returns ``RUN_DIR/bundle``.

        ``options`` go to :func:`honed.export.export_bundle` (``formats``, ``opset``...).
        """
        from honed.export import export_bundle

        return export_bundle(self._require(), **options)

    def __repr__(self) -> str:
        state = f"fitted in {self.run_dir}" if self.run_dir else "not fitted"
        return f"honed.Model({self._raw['model'].get('family')!r}), {state}"

    @property
    def classes(self) -> list[str] | None:
        return self._preprocess.get("class_names") if self._fitted else None

    # ------------------------------------------------------------------ private
    def _open(self, folder: Path) -> Model:
        from honed.models import load_model

        run = RunDir(folder)
        self.run_dir, self.metrics = folder, run.read_metrics()
        self._preprocess = json.loads((run.model / "preprocess.json").read_text(encoding="utf-8"))
        self._fitted = load_model(run.model).eval()
        self._threads = validate_point(read_yaml(run.spec)).train.threads
        return self

    def _require(self) -> Path:
        if self.run_dir is None:
            raise UserInputError("this honed.Model is not fitted yet: call fit(X, y) first")
        return self.run_dir

    def _outputs(self, X: Any) -> np.ndarray:
        from honed.data import apply_preprocess
        from honed.train.evaluate import predict
        from honed.train.fit import torch_threads
        from honed.train.threads import pick_threads

        self._require()
        x = apply_preprocess(self._preprocess, X)
        with torch_threads(pick_threads(self._threads).threads):
            return predict(self._fitted, x).numpy().astype(np.float64)


def _data_keys(X: Any, y: Any, target: str | None) -> dict[str, Any]:
    """``data.source`` and ``data.target`` for ``fit(X, y, target=...)``."""
    import pandas as pd

    if isinstance(X, pd.DataFrame):
        if y is None:
            if target is None:
                raise UserInputError("fit(frame) needs target=COLUMN (the labels), or y=")
            return {"data.source": X, "data.target": target}
        target = target or "y"
        if target in X.columns:
            raise UserInputError(f"the DataFrame already has a column {target!r}; give "
                                 "target=COLUMN without y=, or another target name")
        frame = X.assign(**{target: np.asarray(y)})
        return {"data.source": frame, "data.target": target}
    if y is None:
        raise UserInputError(f"fit(X) with X a {type(X).__name__} needs the labels: fit(X, y)")
    return {"data.source": (X, y), "data.target": None}


def _keep_data(run: RunDir, spec: Spec) -> None:
    """Write an in-memory source into the run dir and name it in spec.yaml, so it stands alone."""
    if not is_memory_source(spec.data.source):
        return
    data = memory_data(spec.data.source)
    buffer = io.BytesIO()
    if isinstance(data, tuple):
        np.savez(buffer, x=data[0], y=data[1])
        path = run.root / "data.npz"
    else:
        data.to_parquet(buffer, index=False)
        path = run.root / "data.parquet"
    atomic_write_bytes(path, buffer.getvalue())
    source = spec.data.model_copy(update={"source": str(path.resolve())})
    atomic_write_text(run.spec, dump_spec(spec.model_copy(update={"data": source})))


def _point_at_data(copy: RunDir, origin: Path, final: Path) -> None:
    """In a run dir copied from ``origin``, name its own data file at its ``final`` place."""
    spec = validate_point(read_yaml(copy.spec))
    for name in ("data.parquet", "data.npz"):
        if spec.data.source == str((origin / name).resolve()):
            data = spec.data.model_copy(update={"source": str((final / name).resolve())})
            atomic_write_text(copy.spec, dump_spec(spec.model_copy(update={"data": data})))
