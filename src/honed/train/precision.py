"""Device choice, autocast contexts and the fp16 gradient scaler."""

from __future__ import annotations

import contextlib

import torch

from honed.errors import UserInputError

__all__ = ["pick_device", "pick_precision", "autocast", "make_scaler"]


def pick_device(name: str = "auto") -> torch.device:
    """``auto`` is CUDA when present, else CPU; asking for CUDA without one is an input error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise UserInputError("train.device is cuda but no CUDA device is available; use auto or cpu")
    return torch.device(name)


def pick_precision(name: str, device: torch.device) -> str:
    """Resolve ``auto``: bf16 on GPUs that support it, else fp16; fp32 on CPU.

    On CPU bf16 autocast is only a win on chips with AMX/AVX512-BF16, so ``auto`` stays fp32 and
    ``bf16`` must be asked for. fp16 autocast on CPU is refused: it is slow and needs no scaler
    there, which is not what users asking for fp16 expect.
    """
    if name == "auto":
        if device.type == "cuda":
            return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
        return "fp32"
    if name == "fp16" and device.type != "cuda":
        raise UserInputError("train.precision fp16 needs a CUDA device; use bf16 on CPU")
    return name


def autocast(precision: str, device: torch.device):
    """The autocast context for a forward pass (a null context for fp32)."""
    if precision == "fp32":
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    return torch.autocast(device_type=device.type, dtype=dtype)


def make_scaler(precision: str, device: torch.device) -> torch.amp.GradScaler | None:
    """A gradient scaler for fp16 on CUDA; None otherwise (bf16 has fp32's range)."""
    if precision == "fp16" and device.type == "cuda":
        return torch.amp.GradScaler("cuda")
    return None
