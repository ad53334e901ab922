"""What a source looks like once read, before anything is fitted to it."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

__all__ = ["RawData", "RawKind"]

RawKind = Literal["table", "image", "sequence", "series", "text"]


@dataclass
class RawData:
    """A data source as read from disk or generated, in its own units.

    ``kind`` decides the form of ``x``:

    - ``"table"``: a DataFrame of the input columns as read (strings stay strings), indexed by
      0-based data row; ``y`` holds the raw target values.
    - ``"image"``: an array ``(N, C, H, W)`` of raw pixels; ``pixel_scale`` maps them to [0, 1].
    - ``"sequence"``: an array ``(N, T, C)``.
    - ``"text"``: a DataFrame of the text columns (``str``, ``NaN`` where missing), named in
      ``extra["text_columns"]``, then any table columns read beside them, named in
      ``extra["table_columns"]`` (their dtypes in ``extra["dtypes"]``).
    - ``"series"``: a DataFrame in time order, one column per channel, missing values already
      filled; ``target`` names the column to forecast and ``y`` is ``None``.

    Attributes:
        x: Inputs, see above.
        y: Raw targets, one per row: class codes or labels, or numbers (``(N,)`` or ``(N, K)``).
        kind: The form of ``x``.
        task: The task the source fixes (built-in datasets, image folders), or ``None`` to infer.
        class_names: Names of the integer class codes in ``y``, when the source knows them.
        target: Name of the target column (tables and series).
        origin: How errors name the source: a file path or ``builtin:NAME``.
        pixel_scale: Divisor that takes raw pixels to [0, 1] (255 for 8-bit images).
        extra: Source facts that serving needs too (image mode and size); copied into
            ``PreparedData.preprocess``.
        max_classes: With ``data.task: auto``, integer targets with more distinct values than
            this are taken for a regression target (tables: 20; label arrays: 1000).
        stream: ``x`` reads its rows when indexed (image files, a memory map): each split
            then holds :class:`honed.data.streaming.LazyInputs` instead of an array.
    """

    x: pd.DataFrame | np.ndarray
    y: np.ndarray | None
    kind: RawKind
    task: str | None = None
    class_names: list[str] | None = None
    target: str | None = None
    origin: str = ""
    pixel_scale: float = 1.0
    extra: dict[str, Any] = field(default_factory=dict)
    max_classes: int = 1000
    stream: bool = False

    def __len__(self) -> int:
        return int(self.x.shape[0])

    def copy(self) -> RawData:
        """A deep copy (arrays writable), so callers may change it without touching a cached original."""
        return copy.deepcopy(self)
