"""Shared by tests: tiny synthetic data and models (a few hundred rows, a 2-layer net), and
``wait_until``, the one way a test waits for something to happen."""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import Callable, Sequence
from typing import TypeVar

import numpy as np
import pytest
import torch
from torch import nn

from honed.data.dataset import PreparedData, Split


def blobs(n: int = 240, features: int = 6, classes: int = 3, seed: int = 0) -> PreparedData:
    """Separable Gaussian blobs, split 60/20/20."""
    rng = np.random.default_rng(seed)
    centers = rng.normal(0, 3, size=(classes, features))
    y = rng.integers(0, classes, size=n)
    x = (centers[y] + rng.normal(0, 1, size=(n, features))).astype(np.float32)
    a, b = int(n * 0.6), int(n * 0.8)
    return PreparedData(
        train=Split(x[:a], y[:a].astype(np.int64)), val=Split(x[a:b], y[a:b].astype(np.int64)),
        test=Split(x[b:], y[b:].astype(np.int64)), task="classification", kind="table",
        input_shape=(features,), num_outputs=classes,
        class_names=[f"c{i}" for i in range(classes)])


def linear_regression(n: int = 200, features: int = 4, seed: int = 0) -> PreparedData:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, features)).astype(np.float32)
    y = (x @ rng.normal(size=(features, 1)) + 0.1 * rng.normal(size=(n, 1))).astype(np.float32)
    a, b = int(n * 0.6), int(n * 0.8)
    return PreparedData(train=Split(x[:a], y[:a]), val=Split(x[a:b], y[a:b]),
                        test=Split(x[b:], y[b:]), task="regression", kind="table",
                        input_shape=(features,), num_outputs=1)


def tiny_net(inputs: int = 6, outputs: int = 3, hidden: int = 16, dropout: float = 0.1,
             seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(inputs, hidden), nn.ReLU(), nn.Dropout(dropout),
                         nn.Linear(hidden, outputs))


T = TypeVar("T")

#: How long ``wait_until`` polls before it gives up. A hang guard only, never a bound on speed:
#: generous enough that a loaded machine never reaches it while the awaited thing progresses.
HANG_GUARD_S = 120.0


class _Poll:
    """One wait (the options of ``wait_until``): looks once per ``done()``, and fails once past
    the hang guard or once a watched process has exited."""

    def __init__(self, condition: Callable[[], T], *, what: str,
                 until: Callable[[T], object] = bool, timeout: float = HANG_GUARD_S,
                 processes: Sequence[subprocess.Popen] = (),
                 output: Callable[[subprocess.Popen], str] = lambda _: "(output not captured)",
                 retry_on: tuple[type[BaseException], ...] = ()):
        self.condition, self.until, self.what, self.timeout = condition, until, what, timeout
        self.processes, self.output, self.retry_on = processes, output, retry_on
        self.end = time.monotonic() + timeout
        self.last: object = "nothing yet"

    def done(self) -> bool:
        try:
            self.last = self.condition()
            if self.until(self.last):
                return True
        except self.retry_on as error:  # not there yet (a refused connection, a busy file)
            self.last = error
        for process in self.processes:
            if process.poll() is not None:
                pytest.fail(f"process {process.pid} exited ({process.returncode}) while "
                            f"waiting for {self.what}: {self.output(process)[-2000:]}")
        if time.monotonic() >= self.end:
            pytest.fail(f"gave up waiting for {self.what} after {self.timeout:.0f} s (a hang "
                        f"guard); last seen: {self.last!r:.500}")
        return False


def wait_until(condition: Callable[[], T], *, interval: float = 0.05, **options) -> T:
    """Poll ``condition()`` until ``until(value)`` holds (by default: until the value is true),
    and return that value.

    Tests wait on state, never on time: ``timeout`` (default ``HANG_GUARD_S``) is a hang guard,
    generous so that a loaded machine never reaches it, not a bound on how fast anything must
    be. The test fails naming ``what`` and the last value seen once past it, or as soon as one
    of ``processes`` exits (with ``output(process)``, e.g. its standard error). Exceptions of
    the ``retry_on`` types count as "not yet".

    Example: ``wait_until(lambda: epochs_done(run), until=lambda n: n >= 3,
    what="3 epochs in the history", processes=[proc])``
    """
    poll = _Poll(condition, **options)
    while not poll.done():
        time.sleep(interval)
    return poll.last  # type: ignore[return-value]


async def wait_until_async(condition: Callable[[], T], *, interval: float = 0.01,
                           **options) -> T:
    """``wait_until`` inside an event loop: yields to the loop between looks."""
    poll = _Poll(condition, **options)
    while not poll.done():
        await asyncio.sleep(interval)
    return poll.last  # type: ignore[return-value]
