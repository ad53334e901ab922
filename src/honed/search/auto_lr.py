"""``train.optimizer.lr: auto`` in a search: the LR range test sets the learning-rate range.

Trained on its own, ``lr: auto`` takes the range test's suggestion (``honed.train.fit``). In a
search, it becomes a dimension instead, ``{float: [low, high], log: true, default: suggested}``
with ``(low, high)`` the test's ``search_range``, so the study searches around the suggestion.
The test runs once, before the study, on the spec's default point (its model and data), and the
results are cached in ``DIR/lr_find.json``: a resumed study reads them back and so searches
exactly the same range.

Inside a conditional optimizer (``optimizer: {choice: [{name: sgd, lr: auto}, ...]}``) every
option holding ``lr: auto`` gets its own test with its own optimizer, because SGD and Adam
want learning rates orders of magnitude apart; the dimension is then
``train.optimizer[sgd].lr``.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from honed.data import prepare_data
from honed.errors import UserInputError
from honed.io import atomic_write_json
from honed.rundir import RunDir
from honed.search.study import fingerprint
from honed.spec.schema import OptimizerSpec
from honed.spec.space import is_dimension, option_label, resolve
from honed.spec.template import SpecTemplate
from honed.spec.validate import validate_template
from honed.train.lr_find import lr_find
from honed.train.session import absolute_paths, build_model

__all__ = ["expand_auto_lr", "auto_lr_sites", "CACHE_KEY"]

#: key of lr_find.json holding this module's cache (the rest is ``honed lr-find``'s layout)
CACHE_KEY = "honed.auto_lr"


def auto_lr_sites(raw: Mapping) -> list[tuple[str, dict]]:
    """Where ``lr: auto`` sits: (dimension name it becomes, the optimizer mapping holding it)."""
    train = raw.get("train")
    optimizer = train.get("optimizer") if isinstance(train, Mapping) else None
    if isinstance(optimizer, dict) and not is_dimension(optimizer):
        return [("train.optimizer.lr", optimizer)] if optimizer.get("lr") == "auto" else []
    if not (is_dimension(optimizer) and isinstance(optimizer.get("choice"), list)):
        return []
    options = optimizer["choice"]
    # the same labels as honed.spec.space gives the options, so the names match its dimensions
    labels = [option_label(option, i) for i, option in enumerate(options)]
    if len(set(labels)) != len(labels):
        labels = [str(i) for i in range(len(options))]
    pairs = zip(labels, options, strict=True)
    return [(f"train.optimizer[{label}].lr", option) for label, option in pairs
            if isinstance(option, dict) and option.get("lr") == "auto"]


def expand_auto_lr(template: SpecTemplate, *, run_dir: str | Path) -> SpecTemplate:
    """``template`` with every ``lr: auto`` replaced by a log-scale range from the LR range test.

    Runs the test(s) unless ``run_dir/lr_find.json`` holds results for the same data, model and
    train sections; writes that file when it runs them. A template without ``lr: auto`` comes
    back unchanged and nothing is written.

    Raises:
        UserInputError: the range test could not read a range (the loss diverged at once).
    """
    raw = copy.deepcopy(template.raw)
    sites = auto_lr_sites(raw)
    if not sites:
        return template
    key = fingerprint({k: template.raw.get(k) for k in ("data", "model", "train", "seed")})
    path = RunDir(run_dir).lr_find
    results = _cached(path, key, [name for name, _ in sites])
    if results is None:
        results = _range_tests(template, sites)
        first = results[sites[0][0]]
        atomic_write_json(path, {**first, CACHE_KEY: {"fingerprint": key, "results": results}})
    for name, optimizer in sites:
        optimizer["lr"] = _dimension(results[name])
    return SpecTemplate(raw=raw, base_dir=template.base_dir, default=validate_template(raw))


def _cached(path: Path, key: str, names: list[str]) -> dict[str, dict] | None:
    # another spec's results, or a plain `honed lr-find` file, are run again rather than trusted
    try:
        saved = json.loads(path.read_text(encoding="utf-8")).get(CACHE_KEY) or {}
    except (OSError, ValueError, AttributeError):
        return None
    results = saved.get("results") or {}
    if saved.get("fingerprint") != key or not all(name in results for name in names):
        return None
    return results


def _range_tests(template: SpecTemplate, sites: list[tuple[str, dict]]) -> dict[str, dict]:
    spec = absolute_paths(template.default, template.base_dir)
    data = prepare_data(spec.data, seed=spec.seed)
    results = {}
    for name, option in sites:
        # the option at its default point; its lr is never used (the test sweeps its own)
        fields = resolve({**option, "lr": 1.0e-3})
        train = spec.train.model_copy(update={"optimizer": OptimizerSpec.model_validate(fields)})
        try:
            result = lr_find(build_model(spec, data), data, train, seed=spec.seed)
        except ValueError as exc:
            raise UserInputError(f"{name}: auto: the LR range test found no range ({exc}); "
                                 "write the range by hand, e.g. {float: [1.0e-4, 1.0e-1], "
                                 "log: true}") from None
        results[name] = result.to_dict()
    return results


def _dimension(result: Mapping[str, Any]) -> dict[str, Any]:
    # three significant digits keep space.yaml and trials.csv readable
    low, high = (float(f"{bound:.3g}") for bound in result["search_range"])
    high = max(high, low * 10)
    suggested = min(max(float(f"{result['suggested_lr']:.3g}"), low), high)
    return {"float": [low, high], "log": True, "default": suggested}
