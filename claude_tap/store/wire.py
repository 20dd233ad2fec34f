"""An Exchange as plain tuples and its bytes apart, to cross the pipe to the recorder process cheaply.

Pickling the Exchange itself costs a Python-level `__getstate__` per event (slotted dataclasses), tens
of them for a stream, on the proxy's side of the pipe, under its GIL, for every request: at 2,000
requests a second that was half a core. Plain tuples of floats and strings pickle in C. The bytes
(bodies, stream chunks, WebSocket messages) are not pickled at all: the frame carries them raw, in
the order `to_wire` lists them, so a 20 MB upload is not copied once more in the proxy.

The request body crosses as one piece: the recorder reads it from the pipe in one call, straight
into the bytes the record parses. Its chunks' arrival times are not kept (nothing shows them; the
response's chunks, which time a stream's events, cross one by one). Slicing a 1.5 MB body back into
the 256 KB chunks it arrived in, then joining them to parse it, cost the recorder 0.9 ms per request
at the end of a long session: fresh pages for every copy.

`from_wire(to_wire(x))` equals `x` but for that; a test checks it field by field, so a field added to
the events must be added here too.

This module knows the Exchange's fields; nothing of pipes, records or API formats.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from claude_tap.capture.exchange import (
    Exchange,
    Failed,
    RequestChunk,
    RequestStarted,
    ResponseChunk,
    ResponseStarted,
    WebSocketMessage,
)

Wire = tuple[Any, ...]


def to_wire(exchange: Exchange) -> tuple[Wire, list[bytes]]:
    """(the exchange without its bytes, as tuples; its bytes, in order)."""
    request, response, failure = exchange.request, exchange.response, exchange.failure
    raw = [chunk.data for chunk in exchange.request_chunks]
    raw += [chunk.data for chunk in exchange.response_chunks]
    raw += [message.data for message in exchange.ws_messages]
    wire = (
        exchange.seq,
        exchange.started_wall,
        None
        if request is None
        else (
            request.at,
            request.method,
            request.path,
            request.headers,
            request.upstream_url,
            request.is_websocket,
        ),
        [(chunk.at, len(chunk.data)) for chunk in exchange.request_chunks],
        exchange.request_ended_at,
        None if response is None else (response.at, response.status, response.headers),
        [(chunk.at, len(chunk.data)) for chunk in exchange.response_chunks],
        [(m.at, m.direction, m.kind, len(m.data)) for m in exchange.ws_messages],
        exchange.finished_at,
        None if failure is None else (failure.at, failure.reason, failure.by_client, failure.by_stop),
    )
    return wire, raw


def from_wire(wire: Wire, read: Callable[[int], bytes]) -> Exchange:
    """The exchange back from `to_wire`'s tuples, its bytes taken in order by `read(n)` (which
    returns exactly n bytes, or raises: see store/recorder.py). The request body comes back as one
    chunk, stamped when its last piece arrived."""
    seq, started_wall, request, request_chunks, ended_at, response, response_chunks, ws, finished, failure = (
        wire
    )
    exchange = Exchange(seq=seq, started_wall=started_wall)
    exchange.request = None if request is None else RequestStarted(*request)
    if request_chunks:
        body_length = sum(length for _, length in request_chunks)
        exchange.request_chunks = [RequestChunk(request_chunks[-1][0], read(body_length))]
    exchange.request_ended_at = ended_at
    exchange.response = None if response is None else ResponseStarted(*response)
    exchange.response_chunks = [ResponseChunk(at, read(length)) for at, length in response_chunks]
    exchange.ws_messages = [
        WebSocketMessage(at, direction, kind, read(length)) for at, direction, kind, length in ws
    ]
    exchange.finished_at = finished
    exchange.failure = None if failure is None else Failed(*failure)
    return exchange
