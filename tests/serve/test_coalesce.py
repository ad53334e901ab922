"""The transport wrapper that joins the writes of one event-loop turn into one send."""

import asyncio

from honed.serve.coalesce import HOLD_BYTES, CoalescingTransport


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
