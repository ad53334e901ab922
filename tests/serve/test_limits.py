"""``within``: the request-body deadline of the limits middleware."""

import asyncio

import pytest

from honed.serve.limits import within


def test_within_returns_the_result_or_raises_timeout_and_leaves_the_task_usable():
    async def run():
        assert await within(asyncio.sleep(0, result="done"), 10) == "done"
        never = asyncio.get_running_loop().create_future()
        with pytest.raises(asyncio.TimeoutError):
            await within(never, 0.01)
        assert getattr(asyncio.current_task(), "cancelling", lambda: 0)() == 0
        return await asyncio.sleep(0, result="still running")  # no cancellation left over

    assert asyncio.run(run()) == "still running"


def test_a_cancel_from_outside_stays_a_cancel():
    async def waits(started):
        started.set()
        await within(asyncio.get_running_loop().create_future(), 60)

    async def run():
        started = asyncio.Event()
        task = asyncio.create_task(waits(started))
        await started.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(run())


def test_an_exception_of_the_awaited_passes_through():
    async def fails():
        raise ValueError("bad body")

    with pytest.raises(ValueError, match="bad body"):
        asyncio.run(within(fails(), 10))
