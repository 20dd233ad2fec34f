"""store/inbox: bytes held between a fast writer and a slow reader, read back exactly as written."""

from __future__ import annotations

import threading
import time

from hypothesis import given
from hypothesis import strategies as st

from claude_tap.store.inbox import Inbox


@given(st.lists(st.binary(max_size=64), max_size=20), st.lists(st.integers(0, 80), max_size=30))
def test_reads_of_any_size_return_the_bytes_in_order_whatever_the_pieces(
    pieces: list[bytes], reads: list[int]
) -> None:
    inbox = Inbox(max_bytes=1 << 20)
    for piece in pieces:
        assert inbox.put(piece)
    inbox.end()
    stream = b"".join(pieces)
    taken = b""
    for n in reads:
        got = inbox.read(n)
        expected = stream[len(taken) : len(taken) + n]
        assert got == expected  # exactly n bytes, fewer only at the end
        taken += got
    assert taken + inbox.read(len(stream)) == stream
    assert inbox.read(1) == b""


def test_a_read_waits_for_the_bytes_it_asks_for() -> None:
    inbox = Inbox(max_bytes=1 << 20)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(inbox.read(6)))
    reader.start()
    inbox.put(b"abc")
    time.sleep(0.05)
    assert not got  # half a frame is not a frame
    inbox.put(b"defg")
    reader.join(5)
    assert got == [b"abcdef"] and inbox.read(1) == b"g"


def test_a_full_inbox_holds_the_writer_until_the_reader_makes_room() -> None:
    inbox = Inbox(max_bytes=4)
    assert inbox.put(b"1234")
    done: list[bool] = []
    writer = threading.Thread(target=lambda: done.append(inbox.put(b"5")))
    writer.start()
    time.sleep(0.05)
    assert not done  # the pipe stays unread: the tap's own bounded queue takes the backlog
    assert inbox.read(2) == b"12"
    writer.join(5)
    assert done == [True] and inbox.read(3) == b"345"


def test_once_the_reader_is_gone_the_writer_is_told_and_never_waits() -> None:
    inbox = Inbox(max_bytes=4)
    inbox.put(b"1234")
    done: list[bool] = []
    writer = threading.Thread(target=lambda: done.append(inbox.put(b"5")))
    writer.start()
    time.sleep(0.05)
    inbox.abandon()
    writer.join(5)
    assert done == [False] and inbox.put(b"6") is False


def test_a_frame_bigger_than_the_bound_still_gets_through() -> None:
    inbox = Inbox(max_bytes=4)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(inbox.read(10)), daemon=True)
    reader.start()
    writer = threading.Thread(
        target=lambda: [inbox.put(piece) for piece in (b"123", b"456", b"789", b"0")], daemon=True
    )
    writer.start()
    reader.join(5)
    writer.join(5)
    assert got == [b"1234567890"]  # the reader asked for more than the bound: it was let through
    assert not writer.is_alive()
