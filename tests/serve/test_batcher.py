"""The micro-batcher on its own: gathering, limits, timeouts and draining."""

from __future__ import annotations

import asyncio
import threading

import pytest

from honed.serve.batcher import BatcherClosed, MicroBatcher, QueueFull, RequestTimeout
from tests.helpers import wait_until_async


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
    entered, release = threading.Event(), threading.Event()

    def slow(payloads):
        entered.set()
        release.wait(60)
        return doubled(payloads)

    async def main():
        batcher = MicroBatcher(slow, max_batch=1, window_ms=0, max_queue=2, timeout_s=0.2)
        await batcher.start()
        first = asyncio.ensure_future(batcher.submit([1], 1))
        # the worker is blocked in the runtime call
        await wait_until_async(entered.is_set, what="the runtime call", interval=0.005)
        queued = [asyncio.ensure_future(batcher.submit([i], 1)) for i in (2, 3)]
        await wait_until_async(lambda: batcher.queued_rows, until=lambda rows: rows == 2,
                               what="two queued rows", interval=0.005)
        with pytest.raises(QueueFull):
            await batcher.submit([4], 1)
        # nothing can finish while the runtime call blocks: all three time out
        outcomes = await asyncio.gather(first, *queued, return_exceptions=True)
        release.set()
        # the worker drops expired requests
        await wait_until_async(lambda: batcher.queued_rows, until=lambda rows: rows == 0,
                               what="an empty queue", interval=0.005)
        after = await batcher.submit([5], 1)
        await batcher.close()
        return outcomes, after, batcher.queued_rows

    outcomes, after, left = run(main())
    assert [type(o) for o in outcomes] == [RequestTimeout] * 3
    assert after == [10] and left == 0


def test_errors_fail_only_their_request_and_close_drains():
    def fn(payloads):
        return [ValueError("bad") if p == ["x"] else doubled([p])[0] for p in payloads]

    async def main():
        batcher = MicroBatcher(fn, max_batch=8, window_ms=30)
        await batcher.start()
        good = asyncio.ensure_future(batcher.submit([1], 1))
        bad = asyncio.ensure_future(batcher.submit(["x"], 1))
        await wait_until_async(lambda: batcher.queued_rows, until=lambda rows: rows == 2,
                               what="two queued rows", interval=0.005)
        await batcher.close()  # waits for the queued pair, although its window is still open
        with pytest.raises(BatcherClosed):
            await batcher.submit([3], 1)
        return await good, await asyncio.gather(bad, return_exceptions=True)

    good, (bad,) = run(main())
    assert good == [2] and isinstance(bad, ValueError)


def test_a_slow_request_after_a_quick_one_times_out_on_its_own_deadline():
    # one timer serves every request: set for the first, it must move on to the second
    release = threading.Event()

    def maybe_slow(payloads):
        if "slow" in payloads:
            release.wait(60)
        return payloads

    async def main():
        batcher = MicroBatcher(maybe_slow, max_batch=1, window_ms=0, timeout_s=0.2)
        await batcher.start()
        quick = await batcher.submit("quick")
        with pytest.raises(RequestTimeout):
            await batcher.submit("slow")
        release.set()
        after = await batcher.submit("after")
        await batcher.close()
        return quick, after

    assert run(main()) == ("quick", "after")
