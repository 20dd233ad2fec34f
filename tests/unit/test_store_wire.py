"""store/wire: an exchange crosses to the recorder as tuples and raw bytes, and comes back equal."""

from __future__ import annotations

import dataclasses
import io
import pickle

import pytest
from hypothesis import given
from hypothesis import strategies as st

from claude_tap.capture import exchange as events
from claude_tap.capture.exchange import (
    Exchange,
    Failed,
    Finished,
    RequestChunk,
    RequestEnded,
    RequestStarted,
    ResponseChunk,
    ResponseStarted,
    WebSocketMessage,
)
from claude_tap.store.inbox import Inbox
from claude_tap.store.recorder import encode_frame, read_frame
from claude_tap.store.wire import from_wire, to_wire


def full_exchange() -> Exchange:
    built = Exchange(seq=7, started_wall=1_700_000_000.5)
    for event in [
        RequestStarted(
            1.0, "POST", "/v1/x?k=1", (("a", "1"), ("a", "2")), "https://h/v1/x", is_websocket=True
        ),
        RequestChunk(1.1, b"req-1"),
        RequestChunk(1.2, b""),
        RequestEnded(1.3),
        ResponseStarted(1.4, 101, (("upgrade", "websocket"),)),
        ResponseChunk(1.5, b"\x00\xffbinary"),
        WebSocketMessage(1.6, "client", "text", "héllo".encode()),
        WebSocketMessage(1.7, "server", "close", b""),
        Failed(1.8, "cut", by_client=True, by_stop=True),
    ]:
        built.feed(event)
    return built


def through_the_pipe(exchange: Exchange) -> Exchange:
    wire, raw = to_wire(exchange)
    stream = io.BytesIO(b"".join(raw))
    back = from_wire(pickle.loads(pickle.dumps(wire)), stream.read)
    assert stream.read() == b""  # every byte taken, none left over for the next frame
    return back


def test_every_field_of_every_event_comes_back() -> None:
    original = full_exchange()
    back = through_the_pipe(original)
    # The request body crosses as one piece, stamped when its last chunk arrived.
    assert back.request_chunks == [RequestChunk(1.2, b"req-1")]
    assert dataclasses.replace(back, request_chunks=original.request_chunks) == original


def test_a_request_body_in_many_chunks_is_one_piece_that_joins_them() -> None:
    body = '{"a": "é漢"}'.encode()
    original = Exchange(seq=2, started_wall=0.0)
    for n, (start, end) in enumerate([(0, 5), (5, 5), (5, 9), (9, len(body))]):  # cut inside "é"
        original.feed(RequestChunk(float(n), body[start:end]))
    original.feed(ResponseChunk(5.0, b"data: 1\n\n"))
    original.feed(ResponseChunk(6.0, b"data: 2\n\n"))
    back = through_the_pipe(original)
    assert back.request_chunks == [RequestChunk(3.0, body)]
    assert back.response_chunks == original.response_chunks  # a stream's chunks keep their times


def test_a_frame_cut_inside_its_bytes_reads_as_the_end() -> None:
    exchange = full_exchange()
    frame = b"".join(encode_frame(("exchange", exchange)))
    whole = io.BytesIO(frame + frame)
    assert read_frame(whole) == read_frame(whole) != None  # noqa: E711
    assert read_frame(whole) is None
    for cut in (len(frame) - 1, len(frame) - len("héllo".encode()) - 1, 20):
        assert read_frame(io.BytesIO(frame[:cut])) is None


@pytest.mark.parametrize("length", [0, 1])
def test_bytes_taken_are_exactly_those_asked_for(length: int) -> None:
    original = Exchange(seq=3, started_wall=0.0)
    original.feed(ResponseChunk(1.0, b"x" * length))
    assert through_the_pipe(original).response_chunks == original.response_chunks


def test_a_plain_exchange_comes_back_too() -> None:
    original = Exchange(seq=1, started_wall=0.0)
    original.feed(Finished(2.0))
    assert through_the_pipe(original) == original


def test_the_wire_form_knows_every_field_the_events_have() -> None:
    """A field added to an event or the Exchange must be carried: this fails until wire.py does."""
    expected = {
        "Exchange": ["seq", "started_wall", "request", "request_chunks", "request_ended_at", "response",
                     "response_chunks", "ws_messages", "finished_at", "failure"],
        "RequestStarted": ["at", "method", "path", "headers", "upstream_url", "is_websocket"],
        "RequestChunk": ["at", "data"],
        "ResponseStarted": ["at", "status", "headers"],
        "ResponseChunk": ["at", "data"],
        "WebSocketMessage": ["at", "direction", "kind", "data"],
        "Failed": ["at", "reason", "by_client", "by_stop"],
    }  # fmt: skip
    for name, fields in expected.items():
        assert [field.name for field in dataclasses.fields(getattr(events, name))] == fields, name


def test_bytes_are_not_pickled() -> None:
    exchange = full_exchange()
    wire, raw = to_wire(exchange)
    assert b"req-1" not in pickle.dumps(wire)
    assert raw == [b"req-1", b"", b"\x00\xffbinary", "héllo".encode(), b""]


def test_a_frame_whose_head_disagrees_with_its_pieces_is_refused_not_misread() -> None:
    frame = b"".join(encode_frame(("exchange", full_exchange())))
    raw_size = int.from_bytes(frame[8:16], "big")
    wrong = frame[:8] + (raw_size - 1).to_bytes(8, "big") + frame[16:]
    stream = io.BytesIO(wrong + frame)
    with pytest.raises(ValueError, match="head says"):
        read_frame(stream)  # the next frame would start a byte early: stop instead


@given(st.lists(st.integers(1, 200), min_size=1, max_size=40))
def test_frames_read_through_the_inbox_are_the_same_whatever_pieces_the_pipe_gave(cuts: list[int]) -> None:
    """The recorder reads frames from the bytes its pipe thread took off the pipe, in whatever pieces
    they came: the messages must not depend on where the pieces end."""
    messages = [("exchange", full_exchange()), ("record", {"type": "transcript", "n": 1}), ("close", (0, 0))]
    stream = b"".join(b"".join(encode_frame(message)) for message in messages)
    inbox = Inbox(max_bytes=1 << 20)
    start = 0
    for cut in cuts:
        inbox.put(stream[start : start + cut])
        start += cut
    inbox.put(stream[start:])
    inbox.end()
    whole = io.BytesIO(stream)
    for _ in messages:
        assert read_frame(inbox) == read_frame(whole)
    assert read_frame(inbox) is None
