"""The micro-batcher on its own: gathering, limits, timeouts and draining."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from honed.serve.batcher import BatcherClosed, MicroBatcher, QueueFull, RequestTimeout


def doubled(payloads):
    return [[2 * v for v in p] for p in payloads]


def run(coro):
    return asyncio.run(coro)


def test_concurrent_requests_share_one_call():
    calls = []

    def fn(payloads):
        calls.append([len(p) for p in payloads])
        return doubled(payloads)

    async def main():
        batcher = MicroBatcher(fn, max_batch=8, window_ms=20)
        await batcher.start()
        results = await asyncio.gather(*(batcher.submit([i], 1) for i in range(5)),
                                       batcher.submit([7, 8], 2))
        await batcher.close()
        return results

    assert run(main()) == [[0], [2], [4], [6], [8], [14, 16]]
    assert calls == [[1, 1, 1, 1, 1, 2]]


def test_max_batch_splits_calls_and_a_large_request_runs_alone():
    sizes = []

    def fn(payloads):
        sizes.append(sum(len(p) for p in payloads))
        return doubled(payloads)

    async def main():
        batcher = MicroBatcher(fn, max_batch=3, window_ms=5)
        await batcher.start()
        await asyncio.gather(*(batcher.submit([i], 1) for i in range(7)),
                             batcher.submit(list(range(5)), 5))
        await batcher.close()

    run(main())
    assert max(sizes) == 5 and sum(sizes) == 12 and all(s <= 3 for s in sizes if s != 5)


def test_a_full_queue_refuses_and_a_slow_call_times_out():
    release = threading.Event()

    def slow(payloads):
        release.wait(5)
        return doubled(payloads)

    async def main():
        batcher = MicroBatcher(slow, max_batch=1, window_ms=0, max_queue=2, timeout_s=0.2)
        await batcher.start()
        first = asyncio.ensure_future(batcher.submit([1], 1))  # runs, blocked in the thread
        await asyncio.sleep(0.05)
        queued = [asyncio.ensure_future(batcher.submit([i], 1)) for i in (2, 3)]
        await asyncio.sleep(0.01)
        with pytest.raises(QueueFull):
            await batcher.submit([4], 1)
        with pytest.raises(RequestTimeout):
            await first
        release.set()
        outcomes = await asyncio.gather(*queued, return_exceptions=True)
        await batcher.close()
        return outcomes

    outcomes = run(main())
    assert all(isinstance(o, (RequestTimeout, list)) for o in outcomes)


def test_errors_fail_only_their_request_and_close_drains():
    def fn(payloads):
        return [ValueError("bad") if p == ["x"] else doubled([p])[0] for p in payloads]

    async def main():
        batcher = MicroBatcher(fn, max_batch=8, window_ms=30)
        await batcher.start()
        good = asyncio.ensure_future(batcher.submit([1], 1))
        bad = asyncio.ensure_future(batcher.submit(["x"], 1))
        await asyncio.sleep(0)
        start = time.perf_counter()
        await batcher.close()  # waits for the queued pair, although its window is still open
        with pytest.raises(BatcherClosed):
            await batcher.submit([3], 1)
        return await good, await asyncio.gather(bad, return_exceptions=True), start

    good, (bad,), _ = run(main())
    assert good == [2] and isinstance(bad, ValueError)
