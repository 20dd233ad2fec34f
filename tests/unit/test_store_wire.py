"""store/wire: an exchange crosses to the recorder as tuples and raw bytes, and comes back equal."""

from __future__ import annotations

import dataclasses
import pickle

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
    return from_wire(pickle.loads(pickle.dumps(wire)), b"".join(raw))


def test_every_field_of_every_event_comes_back() -> None:
    original = full_exchange()
    assert through_the_pipe(original) == original


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
