"""Search objectives: ``val.<metric>:max|min``, ``params:min``, ``latency_ms:min``, ``size_mb:min``."""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass

import torch
from torch import nn

from honed.errors import UserInputError
from honed.train.metrics import metric_mode, metrics_for_task, parse_monitor

__all__ = ["Objective", "parse_objectives", "study_objectives", "describe_objectives",
           "measure_latency_ms", "model_size_mb", "MODEL_MEASURES"]

MODEL_MEASURES = ("params", "latency_ms", "size_mb")


@dataclass(frozen=True)
class Objective:
    """One objective of a study: what to read and which way is better."""

    name: str  # "val.accuracy", "params", "latency_ms" or "size_mb"
    direction: str  # "minimize" or "maximize"

    @property
    def metric(self) -> str | None:
        """The validation metric, or None for a measure of the model itself."""
        return self.name.split(".", 1)[1] if self.name.startswith("val.") else None

    @property
    def mode(self) -> str:
        return "min" if self.direction == "minimize" else "max"


def parse_objectives(texts: list[str], task: str) -> list[Objective]:
    """Objectives from the spec; a metric the task does not produce is a one-line error."""
    valid = [f"val.{m}" for m in metrics_for_task(task)] + list(MODEL_MEASURES)
    objectives = []
    for text in texts:
        name, _, direction = text.rpartition(":")
        if name not in valid:
            raise UserInputError(f"search.objectives: {name!r} is not produced by a {task} run; "
                                 f"valid: {', '.join(valid)}")
        objectives.append(Objective(name, "minimize" if direction == "min" else "maximize"))
    return objectives


def study_objectives(objectives: list[str] | None, monitor: str, task: str) -> list[Objective]:
    """``search.objectives`` as written, or else the validation metric of ``train.monitor``.

    A study ranks its trials the way their training picks its best epoch: a spec that monitors
    accuracy or F1 is searched for accuracy or F1, not for the loss.
    """
    if objectives is not None:
        return parse_objectives(objectives, task)
    metric = parse_monitor(monitor, task)[1]
    return parse_objectives([f"val.{metric}:{metric_mode(metric)}"], task)


def describe_objectives(objectives: list[Objective], *, written: bool) -> str:
    """One line saying what the study optimizes and where that came from."""
    names = ", ".join(f"{o.name} ({o.mode})" for o in objectives)
    source = "search.objectives" if written else "train.monitor"
    return f"{'objectives' if len(objectives) > 1 else 'objective'}: {names}, from {source}"


@torch.no_grad()
def measure_latency_ms(model: nn.Module, input_shape: tuple[int, ...], *, repeats: int = 50,
                       warmup: int = 10) -> float:
    """Median wall time of one batch-1 forward pass on CPU, in milliseconds."""
    model = model.eval().cpu()
    # a private generator: measuring must not move the global RNG that dropout draws from
    x = torch.randn(1, *input_shape, generator=torch.Generator().manual_seed(0))
    for _ in range(warmup):
        model(x)
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        model(x)
        times.append(time.perf_counter() - began)
    return statistics.median(times) * 1e3


def model_size_mb(model: nn.Module) -> float:
    """Bytes of every parameter and buffer, in MB (what the weights file holds)."""
    total = sum(t.numel() * t.element_size() for t in model.state_dict().values())
    return total / 1e6
