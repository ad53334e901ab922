"""``wait_until``: returns what it waited for, and fails naming it (past the hang guard, or a
process that exits first) with the last value seen."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import pytest

from tests.helpers import wait_until, wait_until_async


def test_returns_the_value_once_it_holds_and_retries_only_the_named_errors():
    seen = iter([OSError("refused"), 1, 2, 3, 4])

    def rows():
        value = next(seen)
        if isinstance(value, Exception):
            raise value
        return value

    assert wait_until(rows, until=lambda n: n >= 3, what="3 rows", interval=0,
                      retry_on=(OSError,)) == 3
    assert wait_until(rows, what="a row", interval=0) == 4  # by default: a true value
    with pytest.raises(ValueError):  # other errors are the test's own
        wait_until(lambda: int("x"), what="a number", interval=0)


def test_past_the_hang_guard_it_names_what_and_the_last_value_seen():
    with pytest.raises(pytest.fail.Exception,
                       match=r"waiting for 3 rows after 0 s \(a hang guard\); last seen: 2$"):
        wait_until(lambda: 2, until=lambda n: n >= 3, what="3 rows", timeout=0)

    def refused():
        raise ConnectionRefusedError("no one listens")

    with pytest.raises(pytest.fail.Exception, match=r"last seen: ConnectionRefusedError"):
        asyncio.run(wait_until_async(refused, what="an answer", timeout=0,
                                     retry_on=(OSError,)))


def test_a_process_that_exits_first_fails_the_wait_with_its_output():
    proc = subprocess.Popen([sys.executable, "-c", "import sys; sys.exit('broken spec')"],
                            stderr=subprocess.PIPE, text=True)
    proc.wait()
    with pytest.raises(pytest.fail.Exception,
                       match=r"exited \(1\) while waiting for a file: broken spec"):
        wait_until(lambda: False, what="a file", processes=[proc],
                   output=lambda p: p.stderr.read())
    proc.stderr.close()
