"""Dynamic micro-batching: concurrent requests gathered for a few milliseconds into one call.

Requests wait in a bounded queue (counted in rows). One worker task takes what is queued, waits
up to ``window_ms`` for more while the batch is smaller than ``max_batch`` rows, and runs the
batch in a worker thread (ONNX Runtime releases the GIL, so the event loop keeps parsing
requests meanwhile). While a batch runs, the next one fills up, so under load batches grow by
themselves and at low load a request waits at most ``window_ms`` (``honed serve`` uses 0).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

__all__ = ["MicroBatcher", "QueueFull", "RequestTimeout", "BatcherClosed"]


class QueueFull(Exception):
    """The queue holds ``max_queue`` rows already (HTTP 503)."""


class RequestTimeout(Exception):
    """The prediction did not finish within the request timeout (HTTP 504)."""


class BatcherClosed(Exception):
    """The server is shutting down and takes no new work (HTTP 503)."""


@dataclass
class _Item:
    payload: Any
    rows: int
    future: asyncio.Future


def _release(future: asyncio.Future) -> None:
    if not future.done():
        future.set_result(None)


def _expire(future: asyncio.Future) -> None:
    if not future.done():
        future.set_exception(RequestTimeout())


class MicroBatcher:
    """Gather concurrent ``submit`` calls into batched calls of ``fn``.

    Args:
        fn: Takes the payloads of one batch and returns one result per payload (an
            exception instance fails that request alone); called in a worker thread.
        max_batch: Most rows per call (a single larger request runs alone).
        window_ms: How long to wait for more requests when the batch is not full; 0 runs
            whatever is queued at once.
        max_queue: Most rows waiting; a request beyond it raises :class:`QueueFull`.
        timeout_s: Per-request limit from submit to result (:class:`RequestTimeout`).
        on_batch: Called with ``(rows, requests)`` after each call, for metrics.
    """

    def __init__(self, fn: Callable[[list[Any]], list[Any]], *, max_batch: int = 64,
                 window_ms: float = 2.0, max_queue: int = 1024, timeout_s: float = 10.0,
                 on_batch: Callable[[int, int], None] | None = None):
        if max_batch < 1 or max_queue < 1 or window_ms < 0 or timeout_s <= 0:
            raise ValueError("max_batch and max_queue must be >= 1, window_ms >= 0, "
                             "timeout_s > 0")
        self.fn, self.max_batch, self.window = fn, max_batch, window_ms / 1000.0
        self.max_queue, self.timeout_s, self.on_batch = max_queue, timeout_s, on_batch
        self._queue: deque[_Item] = deque()
        self.queued_rows = 0
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._closing = False
        self._full: asyncio.Future | None = None  # set while the worker gathers a batch
        # (deadline, future) of every request not answered yet, oldest first: requests are
        # answered in the order they came, so one timer for the oldest covers them all
        self._deadlines: deque[tuple[float, asyncio.Future]] = deque()
        self._timer: asyncio.TimerHandle | None = None

    async def start(self) -> None:
        """Start the worker task on the running loop."""
        self._wake = asyncio.Event()
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="honed-runtime")
        self._task = asyncio.get_running_loop().create_task(self._work())

    async def submit(self, payload: Any, rows: int = 1) -> Any:
        """Queue ``payload`` (``rows`` rows) and wait for its result.

        Raises:
            QueueFull: Too many rows wait already.
            RequestTimeout: No result within ``timeout_s``.
            BatcherClosed: The batcher is shutting down.
        """
        if self._closing or self._task is None:
            raise BatcherClosed
        if self.queued_rows + rows > self.max_queue and self.queued_rows > 0:
            raise QueueFull
        loop = asyncio.get_running_loop()
        item = _Item(payload, rows, loop.create_future())
        self._queue.append(item)
        self.queued_rows += rows
        self._wake.set()
        if self._full is not None and self.queued_rows >= self.max_batch:
            _release(self._full)
        self._watch(loop, item.future)
        return await item.future

    def _watch(self, loop: asyncio.AbstractEventLoop, future: asyncio.Future) -> None:
        """Fail ``future`` with :class:`RequestTimeout` if it is not done in ``timeout_s``.

        One timer per batcher, not per request (a timer set and cancelled costs 2-3 us under
        uvloop): it is set for the oldest deadline, and requests finish in order."""
        deadlines = self._deadlines
        while deadlines and deadlines[0][1].done():
            deadlines.popleft()
        deadlines.append((loop.time() + self.timeout_s, future))
        if self._timer is None:
            self._timer = loop.call_at(deadlines[0][0], self._expire_due, loop)

    def _expire_due(self, loop: asyncio.AbstractEventLoop) -> None:
        self._timer = None
        deadlines, now = self._deadlines, loop.time()
        while deadlines and (deadlines[0][1].done() or deadlines[0][0] <= now):
            _expire(deadlines.popleft()[1])  # the worker skips futures that are done
        if deadlines:
            self._timer = loop.call_at(deadlines[0][0], self._expire_due, loop)

    def flush(self) -> None:
        """Stop gathering: what is queued runs now, and later requests run as they come
        (the server calls this when it starts shutting down)."""
        self.window = 0.0
        if self._full is not None:
            _release(self._full)

    async def close(self) -> None:
        """Refuse new work, finish every queued request, then stop the worker."""
        self._closing = True
        if self._task is not None:
            self._wake.set()
            if self._full is not None:
                _release(self._full)  # no need to wait out the window
            await self._task
            self._task = None
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None
        if self._timer is not None:  # every request is answered by now
            self._timer.cancel()
            self._timer = None
        self._deadlines.clear()

    def _take(self) -> list[_Item]:
        batch: list[_Item] = []
        rows = 0
        while self._queue:
            item = self._queue[0]
            if item.future.done():  # timed out while waiting
                self._queue.popleft()
                self.queued_rows -= item.rows
                continue
            if batch and rows + item.rows > self.max_batch:
                break
            self._queue.popleft()
            self.queued_rows -= item.rows
            batch.append(item)
            rows += item.rows
        return batch

    async def _work(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            if not self._queue:
                if self._closing:
                    return
                self._wake.clear()
                await self._wake.wait()
                continue
            if self.window and self.queued_rows < self.max_batch and not self._closing:
                # gather: until the window ends or submit() sees a full batch
                self._full = loop.create_future()
                timer = loop.call_later(self.window, _release, self._full)
                await self._full
                timer.cancel()
                self._full = None
            batch = self._take()
            if not batch:
                continue
            try:
                results = await loop.run_in_executor(self._executor, self.fn,
                                                     [item.payload for item in batch])
            except Exception as error:  # the runtime failed on this batch: fail its requests
                results = [error] * len(batch)
            if self.on_batch is not None:
                self.on_batch(sum(item.rows for item in batch), len(batch))
            for item, result in zip(batch, results, strict=True):
                if item.future.done():
                    continue
                if isinstance(result, BaseException):
                    item.future.set_exception(result)
                else:
                    item.future.set_result(result)
