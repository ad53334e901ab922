"""Data sources, cleaning, splits, scaling and augmentation.

``prepare_data(spec, seed=...)`` turns the ``data`` section of a spec into train/val/test
splits plus a JSON recipe (``preprocess``) that :func:`apply_preprocess` replays on raw inputs
at serving time. The augmentation names load torch on first use only, so that the serving
runtime can use :func:`apply_preprocess` without PyTorch.
"""

from __future__ import annotations

from honed._lazy import lazy_attributes

from .dataset import INPUT_KINDS, TASKS, InputKind, PreparedData, Split, Task
from .image_transform import image_transform, transform_image
from .images import read_image
from .prepare import prepare_data, prepare_folds
from .raw import RawData
from .registry import DatasetInfo, list_datasets, load_builtin, register_dataset
from .sources import load_source
from .split import kfold_indices
from .transform import apply_preprocess, inverse_target_scale

_LAZY = {"make_augment": "honed.data.augment", "Augment": "honed.data.augment"}

__all__ = [
    "prepare_data",
    "prepare_folds",
    "load_source",
    "kfold_indices",
    "apply_preprocess",
    "inverse_target_scale",
    "read_image",
    "transform_image",
    "image_transform",
    "register_dataset",
    "list_datasets",
    "load_builtin",
    "DatasetInfo",
    "RawData",
    "PreparedData",
    "Split",
    "Task",
    "InputKind",
    "TASKS",
    "INPUT_KINDS",
    "make_augment",
    "Augment",
]


__getattr__, __dir__ = lazy_attributes(__name__, _LAZY, __all__)
