"""Rate-limited logging for the server: a flood of one message becomes one line per interval.

Under a flood (hundreds of idle sockets, a scan of bad requests, descriptors running out),
uvicorn, asyncio and honed each log the same warning once per event; asyncio adds a
traceback to every ``socket.accept() out of system resource``. :class:`RateLimit` lets the
first record of a kind through, drops the rest for ``interval`` seconds, and tells on the next
one it lets through how many it dropped.
"""

from __future__ import annotations

import logging
import time

__all__ = ["RateLimit", "rate_limit_logs", "LOGGERS"]

#: the loggers a server writes to: uvicorn's, asyncio's (accept errors) and honed's
LOGGERS = ("uvicorn.error", "asyncio", "honed.serve")


class RateLimit(logging.Filter):
    """At most one record per logger and message (its first line) every ``interval`` s."""

    def __init__(self, interval: float = 10.0, clock=time.monotonic):
        super().__init__()
        self.interval, self.clock = interval, clock
        self._last: dict[tuple[str, str], float] = {}
        self._dropped: dict[tuple[str, str], int] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.name, str(record.msg).split("\n", 1)[0])
        now = self.clock()
        last = self._last.get(key)
        if last is not None and now - last < self.interval:
            self._dropped[key] = self._dropped.get(key, 0) + 1
            return False
        self._last[key] = now
        dropped = self._dropped.pop(key, 0)
        if dropped:
            record.msg = f"{record.getMessage()} ({dropped} more like it in the last " \
                         f"{self.interval:g} s not shown)"
            record.args = ()
        return True


def rate_limit_logs(interval: float = 10.0) -> None:
    """Put one :class:`RateLimit` on each of :data:`LOGGERS` (once per process)."""
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RateLimit) for f in logger.filters):
            logger.addFilter(RateLimit(interval))
