"""The JSON shapes of trace records (one JSON object per line of trace.jsonl.zst, DESIGN section 4).

Record types: `session` (first line), `exchange` (one per request/response pair), `transcript`
(imported from a client's own transcript), `end` (last line). Readers must tolerate unknown fields
and unknown record types (skip them), so the format can grow.

Body fields (request and response), exactly one of:
    body        decoded JSON, when the (content-decoded) bytes parse as JSON
    body_text   the text, when the bytes are UTF-8 but not JSON (or invalid JSON)
    body_b64    base64 of the content-decoded bytes otherwise
and always `body_bytes` (bytes on the wire, before content decoding). A body the tap could not
content-decode keeps its raw bytes in `body_b64` and says why in `decode_error`.
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict

JsonValue = Any

FORMAT_VERSION = 1


class SessionRecord(TypedDict):
    type: Literal["session"]
    format_version: int
    claude_tap_version: str
    client: str
    mode: Literal["reverse", "forward"]
    target: str | None
    argv: list[str]  # redacted
    started_at: str  # ISO-8601 with timezone
    id: str


class RequestPart(TypedDict):
    method: str
    url: str  # the upstream URL it was forwarded to
    path: str  # as the client sent it, with query (secret query values redacted)
    headers: dict[str, str]  # lower-case names; repeated headers joined with ", "
    body_bytes: int
    body: NotRequired[JsonValue]
    body_text: NotRequired[str]
    body_b64: NotRequired[str]
    decode_error: NotRequired[str]
    # The body continues an earlier record's (capture/body_delta.py): {"base": id, "same": [key],
    # "prefix": {key: n}}; `body` then holds only what is new.
    body_ref: NotRequired[dict[str, JsonValue]]


class SseEventRecord(TypedDict):
    offset_ms: float  # when the chunk that completed this event arrived, from request start
    event: str  # "message" when the stream gave no event name
    data: str
    id: NotRequired[str]
    retry: NotRequired[int]
    incomplete: NotRequired[bool]  # cut off by the end of the stream


class WsEventRecord(TypedDict):
    offset_ms: float
    direction: Literal["client", "server"]
    kind: Literal["text", "binary", "close"]
    data: str  # text as is; binary as base64


class ResponsePart(TypedDict):
    status: int | None  # None when no response ever came
    headers: dict[str, str]
    body_bytes: int
    body: NotRequired[JsonValue]  # for SSE: the reassembled final object when the API is known
    body_text: NotRequired[str]
    body_b64: NotRequired[str]
    decode_error: NotRequired[str]
    events: NotRequired[list[SseEventRecord] | list[WsEventRecord]]
    complete: bool


class ExchangeRecord(TypedDict):
    type: Literal["exchange"]
    id: str  # unique within the session, e.g. "ex-000001"
    seq: int
    transport: Literal["http", "sse", "websocket"]
    started_at: str  # ISO-8601 wall clock
    ttfb_ms: float | None
    duration_ms: float | None
    request: RequestPart
    response: ResponsePart
    upstream: str  # the upstream base URL (scheme://host[:port])
    error: str | None


class TranscriptRecord(TypedDict):
    type: Literal["transcript"]
    source: str  # e.g. "cursor"
    at: str
    entry: JsonValue


class EndRecord(TypedDict):
    type: Literal["end"]
    ended_at: str
    exit_code: int | None
    exchanges: int  # records written
    dropped: int  # exchanges that could not be recorded (queue full)
    failed: int  # records that failed to build or write
