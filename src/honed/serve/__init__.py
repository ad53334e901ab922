"""Serving: a bundle's predictions on files (``honed predict``) and over HTTP (``honed serve``).

Nothing here imports torch. FastAPI and uvicorn (the ``serve`` extra) load only when an app
is built.
"""

from __future__ import annotations

from honed._lazy import lazy_attributes

_LAZY = {
    "Runtime": "honed.serve.runtime",
    "Predictions": "honed.serve.runtime",
    "load_runtime": "honed.serve.runtime",
    "probe_model": "honed.serve.runtime",
    "predict_file": "honed.serve.predict",
    "read_input": "honed.serve.inputs",
    "MicroBatcher": "honed.serve.batcher",
    "ServeSettings": "honed.serve.app",
    "create_app": "honed.serve.app",
    "serve": "honed.serve.server",
}

__all__ = list(_LAZY)

__getattr__, __dir__ = lazy_attributes(__name__, _LAZY, __all__)
