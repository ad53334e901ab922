"""Shipped test helpers: conformance suites that every registry entry must pass."""

from __future__ import annotations

from honed._lazy import lazy_attributes

_LAZY = {
    "COMPRESSORS": "honed.testing.compressors",
    "check_compressor": "honed.testing.compressors",
    "conformance_cases": "honed.testing.compressors",
}

__all__ = list(_LAZY)


__getattr__, __dir__ = lazy_attributes(__name__, _LAZY, __all__)
