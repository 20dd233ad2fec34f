"""Exchange -> trace record: the one place where recorded bytes are interpreted.

Runs off the proxy's hot path (in the writer thread). Content-decodes bodies, parses event streams
chunk by chunk (so each event carries the arrival offset of the chunk that completed it), reassembles
known APIs and shapes everything as capture/records.py says. Never raises on garbage bytes: what
cannot be decoded is kept raw and the reason is written beside it.

No redaction here: capture/redact.py is applied to the record afterwards. Knows nothing about
sockets, clocks, clients or the trace file.
"""

from __future__ import annotations

import base64
import functools
from collections.abc import Iterator
from datetime import UTC, datetime
from urllib.parse import urlsplit

from claude_tap.capture import formats
from claude_tap.capture.bodies import (
    ContentDecodingError,
    base64_field,
    body_fields,
    decode_chunks,
    header_value,
    make_decoder,
)
from claude_tap.capture.body_delta import BodyHistory
from claude_tap.capture.exchange import Exchange, Failed, Headers, RequestStarted, Transport, WebSocketMessage
from claude_tap.capture.records import (
    ExchangeRecord,
    JsonValue,
    RequestPart,
    ResponsePart,
    SseEventRecord,
    WsEventRecord,
)
from claude_tap.capture.sse import SseEvent, SseLineTooLong, SseParser


def build_record(
    exchange: Exchange,
    exchange_id: str,
    *,
    defer_base64: bool = False,
    history: BodyHistory | None = None,
) -> ExchangeRecord:
    """The exchange record. With `defer_base64`, a binary body's `body_b64` is a `Base64Body`
    (its bytes, to be encoded as the record is written; see capture/bodies.py), not text.

    With `history`, a JSON object request body is parsed reusing what it repeats from an earlier
    body of the session and stored as what is new (`body_ref`, see capture/body_delta.py); the
    body is staged in `history` under `exchange_id` for the writer to commit once written."""
    request = exchange.request
    upstream_url = request.upstream_url if request is not None else ""
    failure = _failure(exchange)
    response = _response_part(exchange, defer_base64)
    if failure is not None and _answered_before_the_cut(exchange, failure, response):
        failure = None
    response["complete"] = failure is None and exchange.finished_at is not None
    return {
        "type": "exchange",
        "id": exchange_id,
        "seq": exchange.seq,
        "transport": exchange.transport.value,
        "started_at": datetime.fromtimestamp(exchange.started_wall, UTC).isoformat(timespec="milliseconds"),
        "ttfb_ms": exchange.offset_ms(exchange.response.at) if exchange.response is not None else None,
        "duration_ms": exchange.offset_ms(exchange.finished_at) if exchange.finished_at is not None else None,
        "request": _request_part(exchange, exchange_id, defer_base64, history),
        "response": response,
        "upstream": upstream_base(upstream_url),
        "error": failure.reason if failure is not None else None,
    }


def _failure(exchange: Exchange) -> Failed | None:
    """What cut the exchange short, or None when it ended normally.

    A client that leaves a WebSocket between responses has ended its session: Codex exits without a
    close frame once its last response completed (issue 10), and the tap, stopping as the client exits,
    may cut the socket before it reads that. Either with a response unanswered, a socket whose API we
    do not know, or an upstream that broke the socket, stays a failure."""
    failure = exchange.failure
    ended_by_us_or_client = failure is not None and (failure.by_client or failure.by_stop)
    if failure is None or not ended_by_us_or_client or exchange.transport is not Transport.WEBSOCKET:
        return failure
    path = exchange.request.path if exchange.request is not None else ""
    texts = [(message.direction, message.data) for message in exchange.ws_messages if message.kind == "text"]
    return None if formats.websocket_unanswered(path, texts) == 0 else failure


def _answered_before_the_cut(exchange: Exchange, failure: Failed, response: ResponsePart) -> bool:
    """A stream cut by its client or by the tap's stop after its API's final event was whole: Codex
    hangs up the moment it has read response.completed, and the tap stops as the client exits, both
    possibly before the upstream's end of stream reached the proxy."""
    if not (failure.by_client or failure.by_stop) or exchange.transport is not Transport.SSE:
        return False
    path = exchange.request.path if exchange.request is not None else ""
    return formats.stream_finished(path, response.get("events", []))


def headers_dict(headers: Headers) -> dict[str, str]:
    """Lower-case names; a repeated header's values joined with ", " in the order they came."""
    joined: dict[str, str] = {}
    for name, value in headers:
        key = name.lower()
        joined[key] = f"{joined[key]}, {value}" if key in joined else value
    return joined


@functools.lru_cache(maxsize=256)  # an agent calls the same few URLs thousands of times
def upstream_base(url: str) -> str:
    """scheme://host[:port] of a URL (user info dropped: it may hold credentials); "" if none."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:  # "http://[::1", "http://host:99999"
        return ""
    if not parts.scheme or not parts.hostname:
        return ""
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{parts.scheme}://{host}" + (f":{port}" if port is not None else "")


def _request_part(
    exchange: Exchange, exchange_id: str, defer_base64: bool, history: BodyHistory | None
) -> RequestPart:
    request = exchange.request
    if request is None:  # failed before the request was even read
        return {"method": "", "url": "", "path": "", "headers": {}, "body_bytes": 0}
    # The chunks as they came, never joined here: a large upload would be held twice.
    chunks = [chunk.data for chunk in exchange.request_chunks]
    part: RequestPart = {
        "method": request.method,
        "url": request.upstream_url,
        "path": request.path,
        "headers": headers_dict(request.headers),
        "body_bytes": sum(len(chunk) for chunk in chunks),
    }
    if history is not None and (delta := _body_delta(chunks, request, exchange_id, history)) is not None:
        part.update(delta)  # type: ignore[typeddict-item]
    else:
        part.update(body_fields(chunks, request.headers, defer_base64=defer_base64))  # type: ignore[typeddict-item]
    return part


def _body_delta(
    chunks: list[bytes], request: RequestStarted, exchange_id: str, history: BodyHistory
) -> dict[str, JsonValue] | None:
    """`body` (and `body_ref`) of a JSON object body, parsed against the history; None for any
    other body, which `body_fields` then classifies (and explains, when it does not decode)."""
    try:
        decoded = decode_chunks(chunks, header_value(request.headers, "content-encoding"))
    except ContentDecodingError:
        return None
    if not decoded or not decoded[0][:64].lstrip().startswith(b"{"):  # decode_chunks drops empty chunks
        return None  # not a JSON object: never joined (a 20 MB binary upload stays in its chunks)
    data = decoded[0] if len(decoded) == 1 else b"".join(decoded)
    try:
        encoded = history.encode(data, request.path.partition("?")[0], exchange_id)
    except (ValueError, RecursionError):  # not JSON (or UTF-8) after all: body_fields says what it is
        return None
    fields: dict[str, JsonValue] = {"body": encoded.stored}
    if encoded.ref is not None:
        fields["body_ref"] = encoded.ref
    return fields


def _response_part(exchange: Exchange, defer_base64: bool) -> ResponsePart:
    """The response, `complete` left for the caller, who knows whether a cut mattered."""
    response = exchange.response
    headers: Headers = response.headers if response is not None else ()
    part: ResponsePart = {
        "status": response.status if response is not None else None,
        "headers": headers_dict(headers),
        "body_bytes": sum(len(chunk.data) for chunk in exchange.response_chunks),
        "complete": False,
    }
    if exchange.transport is Transport.WEBSOCKET:
        part["events"] = [_ws_event(exchange, message) for message in exchange.ws_messages]
    elif exchange.transport is Transport.SSE:
        part.update(_sse_fields(exchange, headers, defer_base64))  # type: ignore[typeddict-item]
    else:
        chunks = [chunk.data for chunk in exchange.response_chunks]
        part.update(body_fields(chunks, headers, defer_base64=defer_base64))  # type: ignore[typeddict-item]
    return part


def _sse_fields(exchange: Exchange, headers: Headers, defer_base64: bool) -> dict[str, JsonValue]:
    """`events` with arrival offsets, and `body`: the reassembled object when the API is known.

    A stream that would not content-decode or parse keeps the events read before the trouble, its
    raw bytes in `body_b64` and the reason in `decode_error`, instead of a reassembled body."""
    stamped, error = _parse_stream(exchange, headers)
    fields: dict[str, JsonValue] = {"events": [_sse_event(offset_ms, event) for offset_ms, event in stamped]}
    if error is not None:
        fields["body_b64"] = base64_field([chunk.data for chunk in exchange.response_chunks], defer_base64)
        fields["decode_error"] = error
        return fields
    path = exchange.request.path if exchange.request is not None else ""
    body = formats.reassemble(path, [event for _, event in stamped])
    if body is not None:
        fields["body"] = body
    return fields


def _parse_stream(exchange: Exchange, headers: Headers) -> tuple[list[tuple[float, SseEvent]], str | None]:
    """(offset_ms, event) pairs, each event stamped with the arrival of the chunk that completed it,
    and the reason parsing stopped early (None when it did not).

    The stream is content-decoded chunk by chunk, so a gzip event stream keeps its timing. Events
    that only the end of the stream completes get the end's offset."""
    chunks = exchange.response_chunks
    end_at = exchange.finished_at if exchange.finished_at is not None else (chunks[-1].at if chunks else 0.0)
    end_ms = exchange.offset_ms(end_at)
    stamped: list[tuple[float, SseEvent]] = []
    parser = SseParser()
    error = None
    try:
        decoder = make_decoder(header_value(headers, "content-encoding"))  # capped: see bodies.py
        for chunk in chunks:
            offset_ms = exchange.offset_ms(chunk.at)
            for piece in _sse_pieces(decoder.decode(chunk.data)):
                stamped += [(offset_ms, event) for event in parser.feed(piece)]
                _check_event_count(stamped)
        stamped += [(end_ms, event) for event in parser.feed(decoder.flush())]
        _check_event_count(stamped)
    except (ContentDecodingError, SseLineTooLong, SseTooManyEvents) as exc:
        error = str(exc)
    # Whatever decoded before any trouble is still events; an event cut off by the end is kept too.
    stamped += [(end_ms, event) for event in parser.close()]
    return stamped, error


# What one event stream may hold as events (issue 15): a small gzip body can inflate to millions of
# tiny events, each a few hundred bytes once parsed and recorded. A long real answer (64k output
# tokens) streams well under this; past it the stream is kept as received, with the reason.
MAX_SSE_EVENTS = 100_000
# Decoded bytes are parsed this much at a time, so the event count is checked before one decoded
# chunk (up to the decoded-body cap) turns into millions of events at once.
_SSE_PIECE_BYTES = 1 << 20


class SseTooManyEvents(ValueError):
    """The stream holds more events than one record may (MAX_SSE_EVENTS)."""


def _sse_pieces(data: bytes) -> Iterator[bytes]:
    """`data` in pieces of about _SSE_PIECE_BYTES, each cut just after a line feed, so a line is never
    split between pieces (the parser then sees each line whole, as it would the chunk)."""
    start = 0
    while len(data) - start > _SSE_PIECE_BYTES:
        cut = data.rfind(b"\n", start, start + _SSE_PIECE_BYTES) + 1
        if cut <= start:  # one line longer than a piece: it goes whole
            cut = data.find(b"\n", start + _SSE_PIECE_BYTES) + 1 or len(data)
        yield data[start:cut]
        start = cut
    yield data[start:]


def _check_event_count(stamped: list[tuple[float, SseEvent]]) -> None:
    if len(stamped) > MAX_SSE_EVENTS:
        del stamped[MAX_SSE_EVENTS:]
        raise SseTooManyEvents(f"more than {MAX_SSE_EVENTS} events (the cap on one stream); kept as received")


def _sse_event(offset_ms: float, event: SseEvent) -> SseEventRecord:
    record: SseEventRecord = {"offset_ms": offset_ms, "event": event.event, "data": event.data}
    if event.id is not None:
        record["id"] = event.id
    if event.retry is not None:
        record["retry"] = event.retry
    if event.incomplete:
        record["incomplete"] = True
    return record


def _ws_event(exchange: Exchange, message: WebSocketMessage) -> WsEventRecord:
    data = (
        message.data.decode("utf-8", errors="replace")
        if message.kind == "text"
        else base64.b64encode(message.data).decode("ascii")
    )
    return {
        "offset_ms": exchange.offset_ms(message.at),
        "direction": message.direction,
        "kind": message.kind,
        "data": data,
    }
