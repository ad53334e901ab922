"""Validation shared by the registry and the families: input kinds and knob values.

Every check raises :class:`~honed.errors.ModelError` with one line that names the knob, the rule
and the value, so that a bad point from a search space reads like a spec error.
"""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Integral, Real
from typing import Any

from honed.data.dataset import INPUT_KINDS
from honed.errors import ModelError

__all__ = ["input_kind", "require_kind", "positive_int", "fraction", "int_list", "boolean", "one_of"]

# The length of ``input_shape`` tells the kinds apart (data/dataset.py), except that text,
# token ids ``(T,)``, is a rank-1 shape built with a ``vocab_size`` knob.
_KIND_BY_RANK = {1: "table", 2: "sequence", 3: "image"}
assert set(_KIND_BY_RANK.values()) | {"text"} == set(INPUT_KINDS)


def input_kind(input_shape: Sequence[int], *, text: bool = False) -> str:
    """The input kind of one example's shape: ``(F,)`` table, ``(T, C)`` sequence, ``(C, H, W)``
    image, or with ``text`` (a family built with ``vocab_size``) ``(T,)`` token ids.

    Raises:
        ModelError: the shape has another rank or a size below 1.
    """
    shape = tuple(input_shape)
    if text:
        if len(shape) != 1 or isinstance(shape[0], bool) or not isinstance(shape[0], Integral) \
                or shape[0] < 1:
            raise ModelError(f"text input_shape must be (max_length,); got {shape}")
        return "text"
    if len(shape) not in _KIND_BY_RANK:
        raise ModelError(
            f"input_shape must be (F,) for tables, (T, C) for sequences or (C, H, W) for images; "
            f"got {shape}"
        )
    if not all(isinstance(size, Integral) and not isinstance(size, bool) and size >= 1
               for size in shape):
        raise ModelError(f"input_shape must hold integers >= 1; got {shape}")
    return _KIND_BY_RANK[len(shape)]


def require_kind(family: str, input_shape: Sequence[int], kinds: Sequence[str], *,
                 text: bool = False) -> str:
    """The kind of ``input_shape``, refused unless it is one of ``kinds``.

    The registry checks this before building; factories repeat it for direct calls.
    """
    kind = input_kind(input_shape, text=text)
    if kind not in kinds:
        raise ModelError(f"{family} takes {' or '.join(kinds)} input; got {kind} shape "
                         f"{tuple(input_shape)}")
    return kind


def positive_int(name: str, value: Any) -> int:
    """``value`` as an ``int`` >= 1 (``True`` is not an integer here)."""
    if isinstance(value, bool) or not isinstance(value, Integral) or value < 1:
        raise ModelError(f"{name} must be an integer >= 1; got {value!r}")
    return int(value)


def fraction(name: str, value: Any) -> float:
    """``value`` as a ``float`` in [0, 1), the domain of a dropout probability."""
    if isinstance(value, bool) or not isinstance(value, Real) or not 0.0 <= value < 1.0:
        raise ModelError(f"{name} must be a number in [0, 1); got {value!r}")
    return float(value)


def int_list(name: str, value: Any) -> tuple[int, ...]:
    """A non-empty list of integers >= 1, such as convolution widths."""
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence) or not value:
        raise ModelError(f"{name} must be a non-empty list of integers >= 1; got {value!r}")
    return tuple(positive_int(f"{name}[{i}]", item) for i, item in enumerate(value))


def boolean(name: str, value: Any) -> bool:
    """``value`` as a ``bool``; numbers and strings are refused rather than guessed."""
    if not isinstance(value, bool):
        raise ModelError(f"{name} must be true or false; got {value!r}")
    return value


def one_of(name: str, value: Any, choices: Sequence[str]) -> str:
    """``value`` if it is one of ``choices``; the error lists them all."""
    if value not in choices:
        raise ModelError(f"{name} must be one of {', '.join(choices)}; got {value!r}")
    return value
