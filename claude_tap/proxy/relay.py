"""The forwarding engine shared by every proxy mode: one request in, the same request upstream.

A mode (reverse, forward) decides *where* a request goes and hands `Relay.handle` the client's
request and the upstream URL. The relay moves the bytes, unchanged and streamed both ways, and
reports what it saw as `capture.exchange` events; when the exchange is over it hands the Exchange to
the sink exactly once. Reporting never gates forwarding: each chunk is written to the client first
and recorded second, and a failing sink is logged and counted, never raised.

Failures are answered the way a client can understand:
- no response from the upstream (unreachable, TLS, timeout): an API-shaped 502/504 naming the
  upstream URL and the cause;
- the upstream breaks off mid-response: the client's connection is aborted the same way, so it
  never mistakes a cut answer for a complete one;
- the client goes away: the upstream request is dropped at once (the server cancels the handler).

This module knows nothing about clients, API formats or the trace file.
"""

from __future__ import annotations

import asyncio
import contextlib
import http
import itertools
import json
import logging
import ssl
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import aiohttp
from aiohttp import web
from aiohttp.abc import AbstractResolver
from yarl import URL

from claude_tap.capture.exchange import (
    Exchange,
    Finished,
    RequestChunk,
    RequestEnded,
    RequestStarted,
    ResponseChunk,
    ResponseStarted,
)
from claude_tap.proxy import websocket
from claude_tap.proxy.failures import (
    RequestBodyRefused,
    UpstreamFailure,
    connect_failure,
    describe,
    fail,
    without_query,
)
from claude_tap.proxy.upstream import (
    Header,
    proxy_credentials,
    proxy_for,
    request_headers_for_upstream,
    response_headers_for_client,
)

ErrorBody = Callable[[int, str], tuple[bytes, str]]

# Headers beyond these limits make aiohttp answer 400; agents send long cookies and tokens.
MAX_HEADER_LINE_BYTES = 64 * 1024
# aiohttp adds these to outgoing requests unless told not to; the upstream must see only the client's.
_SKIP_AUTO_HEADERS = ("Accept", "Accept-Encoding", "User-Agent", "Content-Type")
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
# How long a request the upstream refused may go on reading the client's body for the record.
_READ_REST_LIMIT_S = 10.0


class ExchangeSink(Protocol):
    def submit(self, exchange: Exchange) -> object: ...


def openai_error_body(status: int, message: str) -> tuple[bytes, str]:
    """An OpenAI-shaped error body, the default when the caller names no client-specific shape."""
    code = http.HTTPStatus(status).phrase.lower().replace(" ", "_")
    payload = {"error": {"message": message, "type": "proxy_error", "code": code}}
    return json.dumps(payload).encode("utf-8"), "application/json"


@dataclass(frozen=True, slots=True)
class RelaySettings:
    error_body: ErrorBody = openai_error_body
    connect_timeout_s: float = 30.0
    read_timeout_s: float = 600.0
    upstream_ssl: ssl.SSLContext | None = None  # None: the system's trust store
    resolver: AbstractResolver | None = None  # None: aiohttp's default (forward mode maps --tap-resolve)


class Relay:
    """Forwards requests for one proxy: owns the upstream HTTP session, numbers exchanges, feeds the sink."""

    def __init__(self, sink: ExchangeSink, log: logging.Logger, settings: RelaySettings) -> None:
        self._sink = sink
        self._log = log
        self.settings = settings
        self._seq = itertools.count(1)
        self._session: aiohttp.ClientSession | None = None
        self._env: Mapping[str, str] = {}
        self._proxy_by_origin: dict[str, tuple[str | None, str | None]] = {}
        self.submit_failures = 0
        self.stopping = False  # set by the mode before it cancels what is in flight

    async def open(self, env: Mapping[str, str]) -> None:
        """Create the session (inside the running loop); `env` supplies HTTP(S)_PROXY and NO_PROXY."""
        self._env = dict(env)
        self._proxy_by_origin.clear()
        settings = self.settings
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(
                limit=0, ssl=settings.upstream_ssl or True, resolver=settings.resolver
            ),
            timeout=aiohttp.ClientTimeout(
                total=None, connect=settings.connect_timeout_s, sock_read=settings.read_timeout_s
            ),
            auto_decompress=False,  # the client gets the bytes the upstream sent
            cookie_jar=aiohttp.DummyCookieJar(),  # cookies are the client's business, not ours
            trust_env=False,  # proxies are chosen per request by `proxy_for`
            skip_auto_headers=_SKIP_AUTO_HEADERS,
            max_line_size=MAX_HEADER_LINE_BYTES,
            max_field_size=MAX_HEADER_LINE_BYTES,
        )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise RuntimeError("Relay.open() has not been called")
        return self._session

    def route_via_proxy(self, upstream_url: str, headers: list[Header]) -> dict[str, Any]:
        """The `proxy`/`proxy_headers` arguments for a request to `upstream_url` (empty: go direct).

        Credentials in the proxy URL become Proxy-Authorization: on the CONNECT for TLS upstreams,
        on the request itself (appended to `headers`) when a plain-HTTP request goes through the proxy.
        """
        origin = "/".join(upstream_url.split("/", 3)[:3])
        cached = self._proxy_by_origin.get(origin)
        if cached is None:
            proxy = proxy_for(origin, self._env)
            cached = proxy_credentials(proxy) if proxy is not None else (None, None)
            self._proxy_by_origin[origin] = cached
        proxy_url, authorization = cached
        if proxy_url is None:
            return {}
        if authorization is None:
            return {"proxy": proxy_url}
        if upstream_url.startswith(("https:", "wss:")):
            return {"proxy": proxy_url, "proxy_headers": {"Proxy-Authorization": authorization}}
        headers.append(("Proxy-Authorization", authorization))
        return {"proxy": proxy_url}

    def connect_failure(self, upstream_url: str, exc: BaseException) -> UpstreamFailure:
        return connect_failure(
            upstream_url,
            exc,
            connect_timeout_s=self.settings.connect_timeout_s,
            read_timeout_s=self.settings.read_timeout_s,
        )

    def error_response(self, exchange: Exchange, failure: UpstreamFailure) -> web.Response:
        """The client-API-shaped answer for a request the upstream never answered; records the failure."""
        fail(exchange, failure.message)
        body, content_type = self.settings.error_body(failure.status, failure.message)
        return web.Response(status=failure.status, body=body, headers={"Content-Type": content_type})

    async def handle(self, request: web.BaseRequest, upstream_url: str) -> web.StreamResponse:
        """Forward `request` to `upstream_url` and relay the answer; record it as one exchange."""
        exchange = Exchange(seq=next(self._seq), started_wall=time.time())
        is_upgrade = websocket.is_upgrade(request)
        exchange.feed(
            RequestStarted(
                at=time.monotonic(),
                method=request.method,
                path=request.raw_path,
                headers=tuple(request.headers.items()),
                upstream_url=upstream_url,
                is_websocket=is_upgrade,
            )
        )
        try:
            if is_upgrade:
                return await websocket.relay_websocket(self, request, upstream_url, exchange)
            return await self._relay_http(request, upstream_url, exchange)
        except asyncio.CancelledError:
            if self.stopping:  # the server cancels what is still running when the tap stops
                fail(exchange, "claude-tap stopped before the exchange finished", by_stop=True)
            else:
                reason = "the client closed the connection before the exchange finished"
                fail(exchange, reason, by_client=True)
            raise
        except Exception as exc:
            fail(exchange, f"proxy error: {describe(exc)}")
            raise
        finally:
            self._finish(exchange)

    async def _relay_http(
        self, request: web.BaseRequest, upstream_url: str, exchange: Exchange
    ) -> web.StreamResponse:
        if request.headers.get("Expect", "").lower() == "100-continue":
            await request.writer.write(_CONTINUE)  # we are the client's peer; the upstream sees no Expect
        body = _request_body(request, exchange)
        headers = request_headers_for_upstream(request.headers.items(), upstream_url)
        try:
            upstream = await self.session.request(
                request.method,
                URL(upstream_url, encoded=True),  # encoded: the path and query go out byte for byte
                headers=headers,
                data=body,
                allow_redirects=False,
                **self.route_via_proxy(upstream_url, headers),
            )
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            if exchange.failure is not None:  # the client's body was refused: its fault, not the upstream's
                return self.error_response(exchange, UpstreamFailure(400, exchange.failure.reason))
            failure = self.connect_failure(upstream_url, exc)
            await _read_rest_into_record(body)
            return self.error_response(exchange, failure)
        try:
            return await self._relay_response(request, upstream, upstream_url, exchange)
        finally:
            upstream.close()  # a no-op after a complete read; drops the connection after a cut one

    async def _relay_response(
        self,
        request: web.BaseRequest,
        upstream: aiohttp.ClientResponse,
        upstream_url: str,
        exchange: Exchange,
    ) -> web.StreamResponse:
        exchange.feed(ResponseStarted(time.monotonic(), upstream.status, tuple(upstream.headers.items())))
        response = _RelayedResponse(
            status=upstream.status,
            reason=upstream.reason or None,
            headers=response_headers_for_client(upstream.headers.items()),
        )
        reader = upstream.content
        try:
            await response.prepare(request)
            if reader.total_bytes == 0 and not reader.is_eof():
                await response.write(b"")  # no body yet: the client gets the headers now, as we did
            while True:
                try:
                    chunk = await reader.readany()
                except (aiohttp.ClientError, TimeoutError) as exc:
                    cause = describe(exc, read_timeout_s=self.settings.read_timeout_s)
                    fail(exchange, f"upstream {without_query(upstream_url)} broke off the response: {cause}")
                    _abort(request)  # a clean end would pass the cut answer off as complete
                    return response
                if not chunk:
                    # The whole answer went to the client. One that hangs up now (Codex does, the
                    # moment it has read the last event) cut nothing short: finished first.
                    exchange.feed(Finished(time.monotonic()))
                    await response.write_eof()
                    break
                if reader.is_eof():  # the last piece and the end marker in one write; as above
                    exchange.feed(ResponseChunk(time.monotonic(), chunk))
                    exchange.feed(Finished(time.monotonic()))
                    await response.write_eof(chunk)
                    break
                # To the client first, then to the record.
                await response.write(chunk)
                exchange.feed(ResponseChunk(time.monotonic(), chunk))
        except ConnectionError:
            fail(exchange, "the client closed the connection during the response", by_client=True)
        return response

    def refused(self, reason: str) -> None:
        """Record a request refused before it could be read (http_server.py): only a failure."""
        exchange = Exchange(seq=next(self._seq), started_wall=time.time())
        fail(exchange, reason)
        self._finish(exchange)

    def _finish(self, exchange: Exchange) -> None:
        """Hand the finished exchange to the sink; a sink failure is logged and counted, never raised."""
        fail(exchange, "the proxy stopped following this exchange")  # a no-op unless a path forgot to end it
        level = _log_level(exchange)
        if self._log.isEnabledFor(level):
            self._log.log(level, "%s", _summary(exchange))
        try:
            self._sink.submit(exchange)
        except Exception:
            self.submit_failures += 1
            self._log.exception("recording exchange %d failed; forwarding goes on", exchange.seq)


class _RelayedResponse(web.StreamResponse):
    """A streamed response whose headers wait for the first body write (one packet, not two).

    aiohttp's StreamResponse sends headers at prepare(); its Response coalesces them with the body
    through this class attribute. `_relay_response` flushes the headers at once when no body has
    arrived yet, so the client sees them when we did. Were the attribute to go, headers would simply
    go out at prepare() again.
    """

    _send_headers_immediately = False


def _request_body(request: web.BaseRequest, exchange: Exchange) -> bytes | AsyncIterator[bytes] | None:
    """What to send upstream: the whole body when it has already arrived (the usual small JSON
    request, sent in one packet with the headers), else a stream fed as the client sends it."""
    if not request.body_exists:
        exchange.feed(RequestEnded(time.monotonic()))
        return None
    reader = request.content
    if reader.is_eof() and "Content-Length" in request.headers:  # a chunked body stays chunked
        body = reader.read_nowait()
        now = time.monotonic()
        exchange.feed(RequestChunk(now, body))
        exchange.feed(RequestEnded(now))
        return body
    return _stream_request_body(reader, exchange)


async def _stream_request_body(reader: aiohttp.StreamReader, exchange: Exchange) -> AsyncIterator[bytes]:
    """The client's body as it arrives: each chunk goes upstream first, then into the record. A
    body the parser refuses halfway fails the exchange and the upstream request with it."""
    try:
        while chunk := await reader.readany():
            yield chunk
            exchange.feed(RequestChunk(time.monotonic(), chunk))
    except RequestBodyRefused as refusal:
        fail(exchange, str(refusal))
        raise
    exchange.feed(RequestEnded(time.monotonic()))


async def _read_rest_into_record(body: bytes | AsyncIterator[bytes] | None) -> None:
    """The upstream never took a streamed body: read what is left of it anyway (the stream feeds the
    record), so the trace holds what the agent sent. Bounded, so a never-ending upload cannot hang us."""
    if body is None or isinstance(body, bytes):
        return
    with contextlib.suppress(TimeoutError, aiohttp.ClientError, ConnectionError):
        async with asyncio.timeout(_READ_REST_LIMIT_S):
            async for _ in body:
                pass


def _log_level(exchange: Exchange) -> int:
    """Failures are worth a line in proxy.log; successes are in the trace already (debug only)."""
    if exchange.failure is None:
        return logging.DEBUG
    return logging.INFO if exchange.failure.by_client else logging.WARNING


def _summary(exchange: Exchange) -> str:
    """One log line: "#3 POST https://api.openai.com/v1/responses -> 200" (no query: it may hold a key)."""
    request = exchange.request
    if exchange.failure is not None:
        outcome = f"failed: {exchange.failure.reason}"
    else:
        outcome = str(exchange.response.status) if exchange.response is not None else "no response"
    if request is None:  # refused before it was read (Relay.refused)
        return f"#{exchange.seq} (an unreadable request) -> {outcome}"
    return f"#{exchange.seq} {request.method} {without_query(request.upstream_url)} -> {outcome}"


def _abort(request: web.BaseRequest) -> None:
    transport = request.transport
    if transport is not None:
        transport.abort()
