"""Slowloris and idle sockets against a real server with a small open-file limit; the log's
rate limit; the host rule (loopback by default, a public address only with a token)."""

from __future__ import annotations

import logging
import resource
import select
import socket

import httpx
import pytest

from honed.errors import UserInputError
from honed.serve.lograte import RateLimit
from honed.serve.server import check_host
from tests.helpers import wait_until

FD_LIMIT = 256  # as in the report: 400 idle sockets against a 256-descriptor limit
SOCKETS = 400


def _small_fd_limit() -> None:
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (FD_LIMIT, hard))


def _closed_by_server(sock: socket.socket) -> bool:
    """True once the server closed ``sock`` (end of file or reset, after any answer)."""
    while select.select([sock], [], [], 0)[0]:
        try:
            if not sock.recv(65536):
                return True
        except ConnectionResetError:
            return True
    return False


@pytest.mark.parametrize("http", ["h11", "httptools"])
def test_idle_and_trickling_sockets_are_closed_and_health_still_answers(bundles, start_server,
                                                                         http):
    server = start_server(bundles["iris"], "--header-timeout", "0.5", "--http", http,
                          preexec_fn=_small_fd_limit)
    # a kept-alive connection that is answered once, then trickles its next request
    kept = socket.create_connection(("127.0.0.1", server.port), timeout=60)
    kept.sendall(b"GET /health HTTP/1.1\r\nhost: x\r\n\r\n")
    assert kept.recv(4096).startswith(b"HTTP/1.1 200 OK")
    kept.sendall(b"GET /health HTTP/1.1\r\n")
    idle, trickling = [], [kept]
    for i in range(SOCKETS):  # more than the server's descriptors
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=60)
        if i % 2:
            sock.sendall(b"GET /health HTTP/1.1\r\nhost: x\r\nx-pad: ")
            trickling.append(sock)
        else:
            idle.append(sock)

    def health_answers() -> bool:
        try:
            return httpx.get(f"{server.url}/health", timeout=10).status_code == 200
        except httpx.TransportError:
            return False

    def all_closed() -> bool:
        for sock in trickling:  # one more byte each round: trickling buys no time
            try:
                sock.send(b"a")
            except OSError:
                pass
        return all(_closed_by_server(sock) for sock in idle + trickling)

    wait_until(health_answers, what="/health to answer", processes=[server.process],
               output=lambda _: server.log())
    wait_until(all_closed, what="the server to close every idle and trickling socket",
               interval=0.02, processes=[server.process], output=lambda _: server.log())
    assert server.process.poll() is None
    assert health_answers()
    log = server.log()
    assert "Too many open files" not in log and "Traceback" not in log
    assert "--header-timeout" in log and len(log.splitlines()) < 20  # rate-limited
    for sock in idle + trickling:
        sock.close()


def test_the_http_option_picks_uvicorns_protocol_under_the_guard():
    from uvicorn.protocols.http.h11_impl import H11Protocol
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    from honed.serve.app import ServeSettings
    from honed.serve.server import _protocol

    assert issubclass(_protocol(ServeSettings(http="h11")), H11Protocol)
    assert issubclass(_protocol(ServeSettings(http="httptools")), HttpToolsProtocol)
    assert issubclass(_protocol(ServeSettings()), HttpToolsProtocol)  # installed: the default
    assert _protocol(ServeSettings()).__name__ == "GuardedHttpToolsProtocol"
    with pytest.raises(UserInputError, match="--http must be auto, h11 or httptools"):
        _protocol(ServeSettings(http="h2"))


def test_rate_limit_lets_one_line_per_message_through_per_interval():
    now = [0.0]
    limit = RateLimit(10.0, clock=lambda: now[0])
    logger = logging.getLogger("honed.test.lograte")

    def record(msg, *args):
        return logger.makeRecord(logger.name, logging.WARNING, __file__, 1, msg, args, None)

    assert limit.filter(record("socket.accept() out of system resource\nsocket: fd=6"))
    assert not limit.filter(record("socket.accept() out of system resource\nsocket: fd=7"))
    assert limit.filter(record("closed %d connections", 3))  # another message passes
    assert not limit.filter(record("closed %d connections", 4))
    now[0] = 10.5
    later = record("closed %d connections", 5)
    assert limit.filter(later)
    assert later.getMessage() == ("closed 5 connections (1 more like it in the last 10 s "
                                  "not shown)")


def test_loopback_by_default_and_a_public_address_only_with_a_token(bundles, start_server):
    server = start_server(bundles["iris"])
    assert server.url.startswith("http://127.0.0.1:")
    for host in ("127.0.0.1", "localhost", "::1", "[::1]", "127.0.0.2"):
        check_host(host, None)
    for host in ("0.0.0.0", "::", "192.168.1.5", "example.org"):
        with pytest.raises(UserInputError, match=f"--host {host} is reachable .* --token"):
            check_host(host, None)
        check_host(host, "s3cret")
