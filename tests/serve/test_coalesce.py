"""The transport wrapper that joins the writes of one event-loop turn into one send, alone
and under the real server."""

import asyncio
import json
import socket

import pytest

from honed.serve.coalesce import HOLD_BYTES, CoalescingTransport
from tests.serve.test_runtime import IRIS_ROW


class Recording(asyncio.Transport):
    """A transport that records each write as the socket would see it."""

    def __init__(self):
        super().__init__()
        self.sent: list[bytes] = []
        self.closed = self.aborted = False

    def write(self, data):
        self.sent.append(bytes(data))

    def is_closing(self):
        return self.closed or self.aborted

    def close(self):
        self.closed = True

    def abort(self):
        self.aborted = True

    def get_write_buffer_size(self):
        return 0

    def get_extra_info(self, name, default=None):
        return {"peername": ("127.0.0.1", 1)}.get(name, default)


def test_the_writes_of_one_turn_leave_as_one_and_later_turns_separately():
    async def run():
        raw = Recording()
        transport = CoalescingTransport(raw, asyncio.get_running_loop())
        transport.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n")
        transport.write(b"")
        transport.write(b"{}")
        assert raw.sent == [] and transport.get_write_buffer_size() == 40
        await asyncio.sleep(0)
        assert raw.sent == [b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}"]
        transport.writelines([b"a", b"b"])
        await asyncio.sleep(0)
        transport.write(b"c")
        await asyncio.sleep(0)
        assert raw.sent[1:] == [b"ab", b"c"]
        assert transport.get_write_buffer_size() == 0
        assert transport.get_extra_info("peername") == ("127.0.0.1", 1)

    asyncio.run(run())


def test_close_sends_what_is_held_first_and_abort_drops_it():
    async def run():
        loop = asyncio.get_running_loop()
        closing, aborting = Recording(), Recording()
        transport = CoalescingTransport(closing, loop)
        transport.write(b"HTTP/1.1 503 Service Unavailable\r\n\r\n")
        transport.close()
        assert closing.sent == [b"HTTP/1.1 503 Service Unavailable\r\n\r\n"] and closing.closed
        transport = CoalescingTransport(aborting, loop)
        transport.write(b"lost")
        transport.abort()
        await asyncio.sleep(0)  # the turn's flush finds nothing held
        assert aborting.sent == [] and aborting.aborted

    asyncio.run(run())


def test_nothing_is_written_to_a_transport_that_closed_within_the_turn():
    async def run():
        raw = Recording()
        transport = CoalescingTransport(raw, asyncio.get_running_loop())
        transport.write(b"late")
        raw.closed = True  # the peer went away before the end of the turn
        await asyncio.sleep(0)
        assert raw.sent == []

    asyncio.run(run())


def test_a_large_answer_is_written_without_waiting_for_the_turn():
    async def run():
        raw = Recording()
        transport = CoalescingTransport(raw, asyncio.get_running_loop())
        transport.write(b"h" * 100)
        transport.write(b"b" * HOLD_BYTES)  # the transport's flow control sees it now
        assert raw.sent == [b"h" * 100 + b"b" * HOLD_BYTES]
        transport.write(b"tail")
        await asyncio.sleep(0)
        assert raw.sent[1:] == [b"tail"]

    asyncio.run(run())


def _answer(stream) -> tuple[int, dict]:
    """One HTTP/1.1 response read off ``stream``: status and JSON body (by content-length)."""
    status = int(stream.readline().split()[1])
    length = 0
    while (line := stream.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        if name.strip().lower() == "content-length":
            length = int(value)
    return status, json.loads(stream.read(length))


@pytest.mark.parametrize("http", ["h11", "httptools"])
def test_pipelined_requests_come_back_whole_and_in_order(bundles, start_server, http):
    # three requests in one packet: their answers, each held and joined within a turn, must
    # still leave one after the other, each complete
    server = start_server(bundles["iris"], "--http", http)
    body = json.dumps({"records": [IRIS_ROW]}).encode()
    predict = (b"POST /v1/predict HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
               b"content-length: %d\r\n\r\n" % len(body)) + body
    health = b"GET /health HTTP/1.1\r\nhost: x\r\n\r\n"
    with socket.create_connection(("127.0.0.1", server.port), timeout=60) as sock:
        sock.sendall(predict + health + predict)
        stream = sock.makefile("rb")
        answers = [_answer(stream) for _ in range(3)]
    assert [status for status, _ in answers] == [200, 200, 200]
    assert len(answers[0][1]["predictions"]) == 1 and answers[2][1] == answers[0][1]
    assert answers[1][1]["status"] == "ok"
