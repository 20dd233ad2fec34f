"""One request/response pair, as the proxy saw it happen.

The proxy is the only producer of these events in production; tests build them by hand. Each event
is a fact with the monotonic time (`at`, seconds) at which the proxy saw it. `Exchange.feed` only
appends: it runs on the proxy's hot path, so it never decodes, parses or copies bytes. Everything that
interprets the bytes (content decoding, SSE parsing, reassembly, redaction) happens later, off the hot
path, in `capture.record`.

This module knows nothing about sockets, clients, API formats or the trace file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

Headers = tuple[tuple[str, str], ...]


class Transport(StrEnum):
    HTTP = "http"
    SSE = "sse"
    WEBSOCKET = "websocket"


@dataclass(frozen=True, slots=True)
class RequestStarted:
    at: float
    method: str
    path: str  # as the client sent it, with the query string
    headers: Headers
    upstream_url: str
    is_websocket: bool = False


@dataclass(frozen=True, slots=True)
class RequestChunk:
    at: float
    data: bytes


@dataclass(frozen=True, slots=True)
class RequestEnded:
    at: float


@dataclass(frozen=True, slots=True)
class ResponseStarted:
    at: float
    status: int
    headers: Headers


@dataclass(frozen=True, slots=True)
class ResponseChunk:
    at: float
    data: bytes


@dataclass(frozen=True, slots=True)
class WebSocketMessage:
    at: float
    direction: Literal["client", "server"]  # who sent it
    kind: Literal["text", "binary", "close"]
    data: bytes


@dataclass(frozen=True, slots=True)
class Finished:
    at: float


@dataclass(frozen=True, slots=True)
class Failed:
    """The exchange ended early. `reason` is for people: what happened and where."""

    at: float
    reason: str
    by_client: bool = False  # True when the client went away, False when the upstream failed
    by_stop: bool = False  # True when claude-tap's own stop cut it (in launch mode, after the client exited)


ExchangeEvent = (
    RequestStarted
    | RequestChunk
    | RequestEnded
    | ResponseStarted
    | ResponseChunk
    | WebSocketMessage
    | Finished
    | Failed
)


@dataclass(slots=True)
class Exchange:
    """Collects the events of one exchange in arrival order.

    `seq` numbers exchanges within a session (1, 2, ...); `started_wall` is the wall-clock time
    (epoch seconds) of the first event, for people; offsets are computed from the monotonic `at`s.
    """

    seq: int
    started_wall: float
    request: RequestStarted | None = None
    request_chunks: list[RequestChunk] = field(default_factory=list)
    request_ended_at: float | None = None
    response: ResponseStarted | None = None
    response_chunks: list[ResponseChunk] = field(default_factory=list)
    ws_messages: list[WebSocketMessage] = field(default_factory=list)
    finished_at: float | None = None
    failure: Failed | None = None

    def feed(self, event: ExchangeEvent) -> None:
        match event:
            case RequestStarted():
                self.request = event
            case RequestChunk():
                self.request_chunks.append(event)
            case RequestEnded():
                self.request_ended_at = event.at
            case ResponseStarted():
                self.response = event
            case ResponseChunk():
                self.response_chunks.append(event)
            case WebSocketMessage():
                self.ws_messages.append(event)
            case Finished():
                self.finished_at = event.at
            case Failed():
                if self.failure is None:  # the first failure is the cause; later ones are its echoes
                    self.failure = event
                self.finished_at = event.at

    @property
    def is_done(self) -> bool:
        return self.finished_at is not None

    @property
    def transport(self) -> Transport:
        if self.request is not None and self.request.is_websocket:
            return Transport.WEBSOCKET
        if self.response is not None:
            for name, value in self.response.headers:
                if name.lower() == "content-type" and value.lower().startswith("text/event-stream"):
                    return Transport.SSE
        return Transport.HTTP

    @property
    def started_at(self) -> float | None:
        return self.request.at if self.request is not None else None

    def offset_ms(self, at: float) -> float:
        """Milliseconds from the request's start to `at`, rounded to 0.01 ms."""
        start = self.started_at
        return round((at - start) * 1000.0, 2) if start is not None else 0.0
