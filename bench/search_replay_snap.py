"""Snapping a sampler's point to the nearest config of a replay pool (bench/search_replay.py).

The rule: a choice whose options are mappings (the model family, the optimizer, the schedule)
picks a branch of the spec, so the pool config must take the same option of every such choice
(the same "path"). Among the configs on that path, the nearest in the unit cube wins: a float
or int dimension is scaled to [0, 1] over its range (log dimensions in log units), a choice
of plain values (batch size, channel widths, kernel size) by its option's position in the
list, ``index / (options - 1)``, so a list written in order gives a meaningful distance. The
distance is the root mean square of the differences over the dimensions either point has (one
that only one of them has counts 1). When no config is on the path, every config competes
and each differing path choice counts 1 too; the share of such misses is reported.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from honed.search.space import choice_labels
from honed.spec.space import Dimension, flatten

__all__ = ["Snapper", "Snap"]


@dataclass(frozen=True)
class Snap:
    config: int  # index into the pool's configs
    distance: float  # root mean square over the compared dimensions, in unit-cube units
    on_path: bool  # the config takes the same option of every path choice


class Snapper:
    """Nearest pool config for Optuna parameters over ``dimensions``."""

    def __init__(self, dimensions: list[Dimension], configs: list[Mapping[str, Any]]):
        dims = flatten(dimensions)
        self.path = [d.name for d in dims if d.kind == "choice"
                     and any(isinstance(o, Mapping) for o in d.choices)]
        self.scales = {d.name: _scale(d) for d in dims if d.name not in self.path}
        self.names = list(self.scales)
        self.configs = [dict(c) for c in configs]
        self.coords = np.array([self._coords(c) for c in self.configs])  # nan: absent
        self.by_path: dict[tuple, list[int]] = {}
        for index, config in enumerate(self.configs):
            self.by_path.setdefault(self._path_of(config), []).append(index)
        self._memo: dict[tuple, Snap] = {}

    def snap(self, params: Mapping[str, Any]) -> Snap:
        key = tuple(sorted(params.items()))
        if key not in self._memo:
            self._memo[key] = self._snap(params)
        return self._memo[key]

    def _snap(self, params: Mapping[str, Any]) -> Snap:
        path = self._path_of(params)
        rows = self.by_path.get(path)
        on_path = rows is not None
        if rows is None:
            rows = list(range(len(self.configs)))
        point = np.array(self._coords(params))
        there = self.coords[rows]
        diff = np.where(np.isnan(point) & np.isnan(there), 0.0,
                        np.nan_to_num(np.abs(there - point), nan=1.0))
        compared = (~(np.isnan(point) & np.isnan(there))).sum(axis=1)
        squares = (diff ** 2).sum(axis=1)
        if not on_path:
            misses = np.array([sum(a != b for a, b in zip(path, self._path_of(self.configs[r]),
                                                          strict=True)) for r in rows])
            squares, compared = squares + misses, compared + len(self.path)
        distance = np.sqrt(squares / np.maximum(compared, 1))
        best = int(np.argmin(distance))  # the first of equals: the lower config index
        return Snap(rows[best], float(distance[best]), on_path)

    def _path_of(self, params: Mapping[str, Any]) -> tuple:
        return tuple(params.get(name) for name in self.path)

    def _coords(self, params: Mapping[str, Any]) -> list[float]:
        return [self.scales[n](params[n]) if n in params else math.nan for n in self.names]


def _scale(dim: Dimension):
    """The map of ``dim``'s values (as Optuna stores them) onto [0, 1]."""
    if dim.kind == "choice":
        labels = choice_labels(dim)
        return lambda label: labels.index(label) / max(1, len(labels) - 1)
    low, high = float(dim.low), float(dim.high)
    if dim.log:
        low, high = math.log(low), math.log(high)
        return lambda v: (math.log(v) - low) / (high - low) if high > low else 0.0
    return lambda v: (float(v) - low) / (high - low) if high > low else 0.0
