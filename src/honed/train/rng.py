"""Capture and restore every random number generator a fit draws from."""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import torch

__all__ = ["capture_rng", "restore_rng", "seed_everything"]


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (CPU and every CUDA device)."""
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


def capture_rng(generators: dict[str, torch.Generator]) -> tuple[dict[str, torch.Tensor], dict]:
    """RNG states split into tensors (for safetensors) and JSON (for the header)."""
    tensors = {"rng.torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        for index, state in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"rng.cuda.{index}"] = state
    for name, generator in generators.items():
        tensors[f"rng.gen.{name}"] = generator.get_state()
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    version, internal, gauss = random.getstate()
    # the key array (a copy) and the tuple stay as they are: the checkpoint writer's JSON
    # turns them into lists, and a trainer takes this state after every epoch
    state = {
        "numpy": [kind, keys, int(pos), int(has_gauss), float(cached)],
        "python": [version, internal, gauss],
    }
    return tensors, state


def restore_rng(tensors: dict[str, torch.Tensor], state: dict[str, Any],
                generators: dict[str, torch.Generator]) -> None:
    """Put back what :func:`capture_rng` took."""
    torch.set_rng_state(tensors["rng.torch"])
    if torch.cuda.is_available():
        cuda = [tensors[k] for k in sorted(tensors) if k.startswith("rng.cuda.")]
        if cuda:
            torch.cuda.set_rng_state_all(cuda)
    for name, generator in generators.items():
        generator.set_state(tensors[f"rng.gen.{name}"])
    kind, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((kind, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached))
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
