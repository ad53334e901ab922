"""What a bundle is made from: the run's base model or one of its compression variants.

:func:`resolve_source` reads and checks everything export needs before anything is written:
the model (loaded), the preprocessing file, the resolved spec, the metrics, and the samples the
export is verified on. Bad input (no model, an unknown variant, a corrupt file) is a
:class:`~honed.errors.UserInputError` here, before the first write.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
from torch import nn

from honed.errors import HonedError, UserInputError
from honed.rundir import RunDir

__all__ = ["ExportSource", "resolve_source", "verification_samples"]


@dataclass
class ExportSource:
    """One model to bundle, with what its card says about it."""

    variant: str  # "base" or the variant's name
    kind: str  # "torch" (exported here) or "onnx" (copied from compress/)
    module: nn.Module | None  # the model to export (torch), or None
    onnx_path: Path | None  # the file to copy (onnx), or None
    reference: nn.Module  # eager model the export is checked against (the base for onnx)
    preprocess_path: Path
    spec: dict[str, Any]
    model_record: dict[str, Any]  # model.json: family, knobs, input_shape, num_outputs, task
    metrics: dict[str, Any]
    parameters: int
    fingerprint: str | None
    notes: list[str] = field(default_factory=list)

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(int(size) for size in self.model_record["input_shape"])

    @property
    def num_outputs(self) -> int:
        return int(self.model_record["num_outputs"])

    @property
    def task(self) -> str:
        return str(self.model_record["task"])

    @cached_property
    def preprocess(self) -> dict[str, Any]:
        """The preprocessing recipe (``preprocess.json``) as it was saved with the model."""
        try:
            recipe = json.loads(self.preprocess_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise UserInputError(f"cannot read {self.preprocess_path}: {exc}") from None
        if not isinstance(recipe, dict):
            raise UserInputError(f"{self.preprocess_path} does not hold a preprocessing recipe")
        return recipe

    @property
    def vocab_size(self) -> int | None:
        """Token ids the model reads (a text model), else None."""
        if self.preprocess.get("kind") != "text":
            return None
        return int(self.preprocess["text"]["vocab_size"])

    @property
    def tabular_features(self) -> int:
        """Table features after the token ids in each input (text beside table columns)."""
        from honed.data.mixed import mixed_width

        return mixed_width(self.preprocess)


def resolve_source(run_dir: str | Path, variant: str | None = None) -> ExportSource:
    """The base model of ``run_dir``, or its compression variant ``variant``.

    Raises:
        UserInputError: not a run dir, no model, an unknown variant, or an unreadable file.
    """
    from honed.models import count_parameters, load_model, read_model_json

    run = RunDir(run_dir).require(model=True)
    spec = _read_spec(run)
    metrics = _read_metrics(run)
    fingerprint = (metrics.get("refit") or {}).get("fingerprint")
    base = load_model(run.model)
    record = read_model_json(run.model)
    common = {"spec": spec, "fingerprint": fingerprint}
    if variant in (None, "base"):
        return ExportSource("base", "torch", base, None, base, _file(run.model / "preprocess.json"),
                            model_record=record, parameters=count_parameters(base),
                            metrics={"val": metrics.get("val"), "test": metrics.get("test")},
                            **common)
    from honed.compress.variants import load_variant

    found = load_variant(run.root, variant)
    row = dict(found.record or {})
    variant_metrics = {"val": row.get("val"), "test": row.get("test")}
    if found.kind == "torch":
        if found.module is None:
            raise UserInputError(f"variant {variant!r} in {run.root / 'compress'} has no model")
        folder = Path(found.folder) / "model"
        preprocess = folder / "preprocess.json"
        return ExportSource(found.name, "torch", found.module, None, found.module,
                            _file(preprocess if preprocess.is_file()
                                  else run.model / "preprocess.json"),
                            model_record=read_model_json(folder) if (folder / "model.json")
                            .is_file() else record,
                            parameters=count_parameters(found.module), metrics=variant_metrics,
                            **common)
    if found.kind != "onnx" or found.onnx_path is None:
        raise UserInputError(f"variant {variant!r} has kind {found.kind!r} and no model file")
    preprocess = Path(found.folder) / "preprocess.json"
    return ExportSource(found.name, "onnx", None, _file(Path(found.onnx_path)), base,
                        _file(preprocess if preprocess.is_file()
                              else run.model / "preprocess.json"),
                        model_record=record, parameters=int(row.get("parameters")
                                                            or count_parameters(base)),
                        metrics=variant_metrics, **common)


def verification_samples(source: ExportSource, *, limit: int = 256
                         ) -> tuple[np.ndarray, str]:
    """Up to ``limit`` test samples of the run's data, preprocessed, and where they came from.

    When the data cannot be read here (moved, another machine), seeded standard-normal samples
    stand in: inputs are standardized by the preprocessing, so they exercise the same range.
    """
    from honed.data import prepare_data
    from honed.spec.validate import validate_point

    try:
        spec = validate_point(source.spec)
        data = prepare_data(spec.data, seed=spec.seed)
        split = data.test if len(data.test.x) else data.val
        # token ids: the trainer holds them as float32; the exported model reads int64
        dtype = (np.int64 if source.vocab_size is not None and not source.tabular_features
                 else np.float32)
        x = np.asarray(split.x[:limit], dtype=dtype)
        if x.shape[1:] == source.input_shape and len(x):
            return x, f"test split ({len(x)} samples)"
        reason = f"its inputs are shaped {list(x.shape[1:])}, the model takes {list(source.input_shape)}"
    except HonedError as exc:
        reason = str(exc)
    source.notes.append(f"verified on random inputs: the run's data is not usable here ({reason})")
    rng = np.random.default_rng(0)
    shape = (min(limit, 64), *source.input_shape)
    if source.vocab_size is not None:
        x = rng.integers(1, max(source.vocab_size, 2), shape)
        x[::2, max(1, shape[1] // 3):] = 0  # every other text padded after a few tokens
        if source.tabular_features:  # [ids | standard normal features], float32
            k = source.tabular_features
            x = np.concatenate([x[:, :-k], rng.standard_normal((len(x), k))], axis=1
                               ).astype(np.float32)
        return x, f"random token ids ({len(x)} samples; the run's data is not usable here)"
    x = rng.standard_normal(shape).astype(np.float32)
    return x, f"standard normal ({len(x)} samples; the run's data is not usable here)"


def _read_spec(run: RunDir) -> dict[str, Any]:
    from honed.spec.yaml_io import read_yaml

    spec = read_yaml(run.spec)
    if not isinstance(spec, dict):
        raise UserInputError(f"{run.spec} does not hold a spec")
    return spec


def _read_metrics(run: RunDir) -> dict[str, Any]:
    if not run.metrics.is_file():
        return {}
    try:
        metrics = json.loads(run.metrics.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UserInputError(f"cannot read {run.metrics}: {exc}") from None
    return metrics if isinstance(metrics, dict) else {}


def _file(path: Path) -> Path:
    if not path.is_file():
        raise UserInputError(f"{path} is missing; the run dir is incomplete")
    return path
