"""The run directory layout (docs/getting-started.md lists it), in one place for every stage."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from honed.errors import UserInputError

__all__ = ["RunDir"]


@dataclass(frozen=True)
class RunDir:
    """Paths inside one run directory; nothing is created by building one."""

    root: Path

    def __init__(self, root: str | Path):
        object.__setattr__(self, "root", Path(root))

    spec = property(lambda self: self.root / "spec.yaml")
    metrics = property(lambda self: self.root / "metrics.json")
    history = property(lambda self: self.root / "history.jsonl")
    probes = property(lambda self: self.root / "probes.jsonl")
    model = property(lambda self: self.root / "model")
    checkpoints = property(lambda self: self.root / "checkpoints")
    last_checkpoint = property(lambda self: self.root / "checkpoints" / "last.safetensors")
    best_checkpoint = property(lambda self: self.root / "checkpoints" / "best.safetensors")
    lr_find = property(lambda self: self.root / "lr_find.json")

    def require(self, *, model: bool = False) -> RunDir:
        """Raise a one-line error unless this is a run dir (holding a model when asked)."""
        if not self.root.is_dir():
            raise UserInputError(f"{self.root} is not a folder")
        if not self.spec.is_file():
            raise UserInputError(f"{self.root} is not a honed run dir (no spec.yaml)")
        if model and not (self.model / "weights.safetensors").is_file():
            raise UserInputError(f"{self.root} holds no trained model (model/weights.safetensors "
                                 "is missing; did the run finish?)")
        return self

    def read_metrics(self) -> dict[str, Any]:
        try:
            return json.loads(self.metrics.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise UserInputError(f"{self.metrics} does not exist; did the run finish?") from None
        except (OSError, json.JSONDecodeError) as exc:
            raise UserInputError(f"cannot read {self.metrics}: {exc}") from None

    def read_history(self) -> list[dict[str, Any]]:
        if not self.history.is_file():
            return []
        lines = self.history.read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines if line.strip()]
