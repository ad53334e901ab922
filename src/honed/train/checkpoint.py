"""Checkpoints as single safetensors files: tensors in the body, JSON state in the header.

One file per checkpoint makes the write atomic (temp file, fsync, rename): a kill can never
leave the weights of one epoch next to the optimizer state of another. The JSON header holds the
epoch, the step, the optimizer's non-tensor state, the schedule, every callback's state, the
Python and NumPy RNG states and the history; tensors hold model and EMA weights, optimizer
moments and the torch RNG and data-order generator states. Loading uses safetensors only, never
pickle.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_safetensors
from safetensors.torch import save as save_safetensors

from honed.errors import CheckpointError
from honed.io import atomic_write_bytes, remove_stale_temp_files

__all__ = ["write_checkpoint", "read_checkpoint", "flatten_optimizer", "unflatten_optimizer",
           "FORMAT"]

FORMAT = "honed.checkpoint/1"
_HEADER_KEY = "honed"


def write_checkpoint(path: str | Path, tensors: dict[str, torch.Tensor], state: dict) -> None:
    """Write tensors and JSON state atomically; refuse non-finite weights.

    The temp files that killed earlier writes of the same checkpoint left are deleted first
    (a run killed every few epochs would otherwise gather one per kill).
    """
    for name, tensor in tensors.items():
        if (name.startswith(("model.", "ema.")) and tensor.is_floating_point()
                and not bool(torch.isfinite(tensor).all())):
            raise CheckpointError(f"refusing to write {path}: {name} holds NaN or inf")
    body = {name: t.detach().to("cpu").contiguous() for name, t in tensors.items()}
    header = json.dumps({"format": FORMAT, **state}, default=_json_default)
    path = Path(path)
    remove_stale_temp_files(path.parent, recursive=False, target=path.name)
    atomic_write_bytes(path, save_safetensors(body, metadata={_HEADER_KEY: header}))


def read_checkpoint(path: str | Path) -> tuple[dict[str, torch.Tensor], dict]:
    """Tensors and JSON state of a checkpoint; one-line CheckpointError when unreadable."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CheckpointError(f"cannot read checkpoint {path}: {exc.strerror or exc}") from None
    try:
        tensors = load_safetensors(data)
        header = _read_header(data)
        state = json.loads(header[_HEADER_KEY])
    except (SafetensorError, KeyError, ValueError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{path} is not a honed checkpoint ({exc})") from None
    if state.get("format") != FORMAT:
        raise CheckpointError(f"{path} has format {state.get('format')!r}; expected {FORMAT}")
    return tensors, state


def flatten_optimizer(state_dict: dict) -> tuple[dict[str, torch.Tensor], dict]:
    """Split an optimizer ``state_dict`` into tensors and a JSON skeleton."""
    tensors: dict[str, torch.Tensor] = {}
    skeleton: dict[str, Any] = {"param_groups": state_dict["param_groups"], "state": {}}
    for index, values in state_dict["state"].items():
        entry = {}
        for key, value in values.items():
            if isinstance(value, torch.Tensor):
                tensors[f"optim.{index}.{key}"] = value
                entry[key] = {"tensor": f"optim.{index}.{key}"}
            else:
                entry[key] = value
        skeleton["state"][str(index)] = entry
    return tensors, skeleton


def unflatten_optimizer(tensors: dict[str, torch.Tensor], skeleton: dict) -> dict:
    """Inverse of :func:`flatten_optimizer`."""
    state = {}
    for index, values in skeleton["state"].items():
        state[int(index)] = {
            key: tensors[value["tensor"]] if isinstance(value, dict) and "tensor" in value
            else value
            for key, value in values.items()
        }
    return {"state": state, "param_groups": skeleton["param_groups"]}


def _read_header(data: bytes) -> dict[str, str]:
    size = int.from_bytes(data[:8], "little")
    return json.loads(data[8:8 + size]).get("__metadata__", {})


def _json_default(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return value.tolist()
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"cannot store {type(value).__name__} in a checkpoint header")


