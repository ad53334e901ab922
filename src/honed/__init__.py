"""honed: from a dataset and a model family to the best, regularized, compressed, deployable model.

The public API is small; heavy subpackages (torch, data loaders) are imported only when a name
that needs them is first used, so ``import honed`` stays fast.
"""

from __future__ import annotations

from honed._lazy import lazy_attributes

__version__ = "0.1.0"

_LAZY = {
    "load_spec": "honed.spec",
    "spec_from_dict": "honed.spec",
    "Spec": "honed.spec",
    "prepare_data": "honed.data",
    "list_datasets": "honed.data",
    "create_model": "honed.models",
    "list_models": "honed.models",
    "register_model": "honed.models",
    "fit": "honed.train",
    "evaluate": "honed.train",
    "train_spec": "honed.train",
    "lr_find": "honed.train",
    "tune": "honed.search",
    "run": "honed.pipeline",
    "Model": "honed.estimator",
    "compress_run": "honed.compress",
    "export_bundle": "honed.export",
    "read_bundle": "honed.export",
    "load_runtime": "honed.serve",
    "predict_file": "honed.serve",
    "write_report": "honed.report",
    "diagnose": "honed.report",
    "explain_run": "honed.explain",
}

__all__ = ["__version__", *_LAZY]


__getattr__, __dir__ = lazy_attributes(__name__, _LAZY, __all__)
