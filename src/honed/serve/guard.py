"""A connection guard in uvicorn's HTTP protocol: a header-phase deadline and a connection cap.

uvicorn alone keeps a connection open for as long as its client sends nothing, or trickles a
request's headers a byte at a time: its keep-alive timeout starts only after a response, and
``limit_concurrency`` answers 503 only once a request's headers are complete. Such sockets
each hold a file descriptor, and a few hundred of them exhaust the process's limit, after
which the server accepts nothing at all (``/health`` times out). So, one level below the app:

- every connection must deliver a complete request head within ``header_timeout`` seconds of
  opening, and again from the first byte of each following request on a kept-alive
  connection; past it the server closes the socket (with a 408 when some of a request came);
- beyond ``max_connections`` open connections, a new one gets a 503 and is closed at once, so
  descriptors never run out (the default stays below the process's open-file limit).
"""

from __future__ import annotations

import asyncio
import json
import logging

from .coalesce import CoalescingTransport

__all__ = ["guarded_protocol", "default_max_connections", "FD_RESERVE"]

log = logging.getLogger("honed.serve")

#: descriptors kept free for the process itself (model, logs, threads, the listening socket)
FD_RESERVE = 64
_MOST = 1024


def default_max_connections() -> int:
    """At most 1024 connections, and at most half of what the open-file limit leaves after a
    reserve: asyncio accepts a burst of connections before the guard sees the first of
    them, and those need descriptors too."""
    try:
        import resource
    except ImportError:  # Windows: no such limit to stay under
        return _MOST
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return _MOST
    return max(1, min(_MOST, (soft - FD_RESERVE) // 2))


def _answer(status: str, detail: str, extra: bytes = b"") -> bytes:
    body = json.dumps({"detail": detail}).encode()
    return (f"HTTP/1.1 {status}\r\ncontent-type: application/json\r\n"
            f"content-length: {len(body)}\r\nconnection: close\r\n").encode() + extra + \
        b"\r\n" + body


def guarded_protocol(base: type[asyncio.Protocol], *, header_timeout: float,
                     max_connections: int) -> type[asyncio.Protocol]:
    """``base`` (uvicorn's h11 or httptools protocol) with the guard described above, writing
    through a :class:`~honed.serve.coalesce.CoalescingTransport` (one send per response).

    Args:
        base: The uvicorn HTTP protocol class to extend.
        header_timeout: Seconds allowed for a request's line and headers.
        max_connections: Most connections open at once.

    Returns:
        A subclass to pass as ``uvicorn.Config(http=...)``.
    """
    late = _answer("408 Request Timeout",
                   f"request headers not received within {header_timeout:g} s")
    busy = _answer("503 Service Unavailable", "too many open connections; retry shortly",
                   b"retry-after: 1\r\n")

    class GuardedProtocol(base):
        _timer: asyncio.TimerHandle | None = None
        _waiting_on: object = None  # the request cycle that was current when the timer started
        _partial = False  # some bytes of the awaited request came

        def connection_made(self, transport) -> None:
            full = len(self.connections) >= max_connections
            super().connection_made(CoalescingTransport(transport, self.loop))
            if full:
                log.warning("%d connections open, the most allowed (--max-connections); "
                            "refusing new ones", max_connections)
                transport.write(busy)
                transport.close()
                return
            self._start_timer()

        def data_received(self, data: bytes) -> None:
            cycle = self.cycle
            super().data_received(data)
            if self.cycle is not cycle:  # a request head was complete: its cycle started
                self._stop_timer()
            elif self._timer is None and (cycle is None or cycle.response_complete):
                self._start_timer()  # the next request on a kept-alive connection began
            if self._timer is not None:
                self._partial = True

        def connection_lost(self, exc) -> None:
            self._stop_timer()
            super().connection_lost(exc)

        def _start_timer(self) -> None:
            self._waiting_on, self._partial = self.cycle, False
            self._timer = self.loop.call_later(header_timeout, self._expired)

        def _stop_timer(self) -> None:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None

        def _expired(self) -> None:
            self._timer = None
            if self.transport.is_closing() or self.cycle is not self._waiting_on:
                return  # closed already, or a pipelined request started meanwhile
            log.warning("closed connections that sent no complete request head within %g s "
                        "(--header-timeout)", header_timeout)
            if self._partial:
                self.transport.write(late)
            self.transport.close()

    GuardedProtocol.__name__ = GuardedProtocol.__qualname__ = f"Guarded{base.__name__}"
    return GuardedProtocol
