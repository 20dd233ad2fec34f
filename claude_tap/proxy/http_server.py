"""The aiohttp server both proxy modes read requests with, and what it says about the ones it refuses.

aiohttp's HTTP parser answers a request it cannot read (a malformed request line, a header without
a colon, an over-long line) with 400 in `RequestHandler.handle_error`, before any handler of ours
runs: without this module such a request leaves only a traceback in proxy.log. Here the refusal is
also handed to `refused`, which the modes point at `Relay.refused`, so the trace holds an exchange
with only a failure: the agent (or whatever spoke to the port) did send something, and was told no.

A refusal in the middle of a body (a malformed chunk after the handler started) is the request's own:
aiohttp queues it as a message of its own and leaves the body's reader waiting for bytes that will
never come, so the relay would hold the upstream request open until its read timeout and record
nothing. Here the body's reader gets `RequestBodyRefused` at once instead; the relay records it in
that request's exchange, answers 400, and the connection closes.

The reason names the parser's complaint by its kind only: the parser's own message quotes the bytes
it choked on, and those may be a secret header's.

    server = http_server(handler, relay.refused, keepalive_timeout_s=15.0)

This module knows nothing about clients, API formats or the trace file.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_protocol import RequestHandler, _ErrInfo

from claude_tap.proxy.failures import RequestBodyRefused
from claude_tap.proxy.relay import MAX_HEADER_LINE_BYTES

Handler = Callable[[web.BaseRequest], Awaitable[web.StreamResponse]]
Refused = Callable[[str], None]


def http_server(handler: Handler, refused: Refused, *, keepalive_timeout_s: float) -> web.Server:
    """A server for `handler` that streams bodies as they come and reports parser refusals to `refused`.
    `keepalive_timeout_s`: how long a connection may sit without a request, before its first too."""
    return _Server(
        handler,
        refused,
        handler_cancellation=True,  # a client that leaves cancels its upstream request at once
        access_log=None,
        auto_decompress=False,  # request bodies go upstream as sent, compressed or not
        max_line_size=MAX_HEADER_LINE_BYTES,
        max_field_size=MAX_HEADER_LINE_BYTES,
        keepalive_timeout=keepalive_timeout_s,
    )


def refusal_reason(status: int, error: HttpProcessingError) -> str:
    """What the record says: "refused by claude-tap's HTTP parser (400, BadHttpMethod): not forwarded"."""
    return f"refused by claude-tap's HTTP parser ({status}, {type(error).__name__}): not forwarded"


def body_refusal_reason(error: HttpProcessingError) -> str:
    """What the record says of a body refused halfway; what came before it is in the record."""
    return (
        f"the request body was refused by claude-tap's HTTP parser ({type(error).__name__}) "
        "before it ended: the upstream request was dropped"
    )


class _Server(web.Server):
    def __init__(self, handler: Handler, refused: Refused, **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self._refused = refused

    def __call__(self) -> RequestHandler:
        return _RequestHandler(self, self._refused, loop=self._loop, **self._kwargs)


class _RequestHandler(RequestHandler):
    __slots__ = ("_refused",)

    def __init__(self, manager: web.Server, refused: Refused, **kwargs: Any) -> None:
        super().__init__(manager, **kwargs)
        self._refused = refused

    def data_received(self, data: bytes) -> None:
        queued = len(self._messages)
        super().data_received(data)
        request = self._current_request
        if request is None or len(self._messages) == queued or request.content.is_eof():
            return
        item = self._messages[-1]
        refusal = item[0]
        if isinstance(refusal, _ErrInfo) and isinstance(refusal.exc, HttpProcessingError):
            # The refusal cut the body being read: it is that request's, answered and recorded by the
            # relay; nothing on this connection is read after it.
            self._messages.remove(item)
            request.content.set_exception(RequestBodyRefused(body_refusal_reason(refusal.exc)))
            self.close()

    def handle_error(
        self,
        request: web.BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        # Only the parser's refusals (its own status, 400): a handler's exception comes here as a 500,
        # and the relay has recorded it in its exchange already (a body cut by a parser error too).
        if status != HTTPStatus.INTERNAL_SERVER_ERROR and isinstance(exc, HttpProcessingError):
            self._refused(refusal_reason(status, exc))
        return super().handle_error(request, status, exc, message)
