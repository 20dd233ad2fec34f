"""WebSocket relay: one upgrade from the client becomes one WebSocket to the upstream, spliced together.

The upstream is connected first (same URL rule as HTTP, ws/wss from the target's scheme, the client's
subprotocols and headers passed on, the upstream's handshake headers passed back), so a refused
upgrade reaches the client as an error status. Then two pumps copy messages each way: text, binary,
ping and pong pass through unchanged (neither side answers pings on the other's behalf); text,
binary and close are reported as `WebSocketMessage`s.
A close frame from either side is passed on with its code and reason and the other side's reply
comes back; a connection dropped without a close frame is mirrored (the client's transport is
aborted) or, for a vanished client, the upstream is told 1001 "going away". A vanished client is
reported as a failure by the client (a stop of the tap with a socket open, as one by the stop); only the
record, which knows the API, can tell whether that came between responses (a normal end) or in the
middle of one.

This module knows nothing about clients or API formats.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import aiohttp
from aiohttp import WSCloseCode, WSMsgType, web
from yarl import URL

from claude_tap.capture.exchange import Exchange, Finished, ResponseStarted, WebSocketMessage
from claude_tap.proxy.failures import UpstreamFailure, fail, without_query
from claude_tap.proxy.tasks import spawn
from claude_tap.proxy.upstream import request_headers_for_upstream, response_headers_for_client

if TYPE_CHECKING:
    from claude_tap.proxy.relay import Relay

Side = Literal["client", "server"]
AnyWebSocket = web.WebSocketResponse | aiohttp.ClientWebSocketResponse

# aiohttp builds these from its own arguments; the client's values would clash with them.
_HANDSHAKE_HEADERS = frozenset(
    {"sec-websocket-key", "sec-websocket-version", "sec-websocket-protocol", "sec-websocket-extensions"}
)
_CLOSE_TIMEOUT_S = 10.0


def is_upgrade(request: web.BaseRequest) -> bool:
    return request.method == "GET" and request.headers.get("Upgrade", "").lower() == "websocket"


@dataclass(frozen=True, slots=True)
class _Ended:
    """Why a pump stopped: `side` closed (`close_code` set) or dropped its connection (`close_code` None)."""

    side: Side
    close_code: int | None
    reason: str


async def relay_websocket(
    relay: Relay, request: web.BaseRequest, upstream_url: str, exchange: Exchange
) -> web.StreamResponse:
    """Connect upstream, accept the client, and splice the two until either side ends."""
    ws_url = ("wss" if upstream_url.startswith("https:") else "ws") + upstream_url[upstream_url.index(":") :]
    protocols = [p.strip() for p in request.headers.get("Sec-WebSocket-Protocol", "").split(",") if p.strip()]
    wants_deflate = "permessage-deflate" in request.headers.get("Sec-WebSocket-Extensions", "").lower()
    headers = [
        (name, value)
        for name, value in request_headers_for_upstream(request.headers.items(), upstream_url)
        if name.lower() not in _HANDSHAKE_HEADERS
    ]
    try:
        upstream = await relay.session.ws_connect(
            URL(ws_url, encoded=True),
            protocols=protocols,
            headers=headers,
            autoclose=False,  # close frames are relayed, not answered by aiohttp
            autoping=False,  # pings are relayed, not answered by aiohttp
            max_msg_size=0,  # a conversation can exceed any fixed limit
            compress=15 if wants_deflate else 0,
            decode_text=False,
            **relay.route_via_proxy(ws_url, headers),
            timeout=aiohttp.ClientWSTimeout(ws_receive=None, ws_close=_CLOSE_TIMEOUT_S),
        )
    except aiohttp.WSServerHandshakeError as exc:
        exchange.feed(ResponseStarted(time.monotonic(), exc.status, tuple((exc.headers or {}).items())))
        status = exc.status if exc.status >= 400 else 502
        reason = f"upstream {without_query(ws_url)} refused the WebSocket upgrade: {exc.status} {exc.message}"
        return relay.error_response(exchange, UpstreamFailure(status, reason))
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        return relay.error_response(exchange, relay.connect_failure(ws_url, exc))

    try:
        handshake = upstream._response  # the 101 the upstream sent; aiohttp has no public accessor
        exchange.feed(ResponseStarted(time.monotonic(), handshake.status, tuple(handshake.headers.items())))
        client = web.WebSocketResponse(
            protocols=(upstream.protocol,) if upstream.protocol else (),
            autoclose=False,
            autoping=False,
            max_msg_size=0,
            compress=wants_deflate,
            decode_text=False,
            timeout=_CLOSE_TIMEOUT_S,
        )
        # The upstream's own headers (cookies, request ids, state) go to the client as with HTTP;
        # the Sec-WebSocket-* ones belong to each handshake, and aiohttp makes the client's.
        client.headers.extend(
            (name, value)
            for name, value in response_headers_for_client(handshake.headers.items())
            if not name.lower().startswith("sec-websocket-")
        )
        await client.prepare(request)
        try:
            await _splice(request, client, upstream, exchange)
        except asyncio.CancelledError:
            # The server cancels this handler when the client's connection goes (handler_cancellation):
            # a client that exits without a close frame, as Codex does, ends here rather than in a pump,
            # or in the tap's stop, should the stop come first. Whether either cut a response short is
            # for the record to tell (capture/record.py), which knows the API.
            if relay.stopping:
                fail(exchange, "claude-tap stopped with the WebSocket open", by_stop=True)
            else:
                fail(exchange, "the client went away without closing the WebSocket", by_client=True)
            raise
        return client
    finally:
        if not upstream.closed:
            await upstream.close(code=WSCloseCode.GOING_AWAY)


async def _splice(
    request: web.BaseRequest,
    client: web.WebSocketResponse,
    upstream: aiohttp.ClientWebSocketResponse,
    exchange: Exchange,
) -> None:
    name = f"ws-{exchange.seq}"
    to_upstream = spawn(_pump(client, upstream, "client", exchange), f"{name}-client-to-upstream")
    to_client = spawn(_pump(upstream, client, "server", exchange), f"{name}-upstream-to-client")
    pumps = {to_upstream, to_client}
    try:
        done, _ = await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        ended = next(iter(done)).result()
        match ended:
            case _Ended(side="client", close_code=int(code)):
                # The upstream's reply code is what a direct client would have seen.
                await upstream.close(code=code or WSCloseCode.OK, message=ended.reason.encode("utf-8"))
                reply = upstream.close_code or code or WSCloseCode.OK
                exchange.feed(
                    WebSocketMessage(time.monotonic(), "server", "close", _close_payload(reply, ""))
                )
                await client.close(code=reply)
                exchange.feed(Finished(time.monotonic()))
            case _Ended(side="server", close_code=int(code)):
                await client.close(code=code or WSCloseCode.OK, message=ended.reason.encode("utf-8"))
                await upstream.close(code=code or WSCloseCode.OK)  # the close handshake's reply
                exchange.feed(Finished(time.monotonic()))
            case _Ended(side="client", close_code=None):
                fail(exchange, f"the client dropped the WebSocket: {ended.reason}", by_client=True)
                await upstream.close(code=WSCloseCode.GOING_AWAY)
            case _Ended(side="server", close_code=None):
                fail(exchange, f"the upstream dropped the WebSocket: {ended.reason}")
                transport = request.transport
                if transport is not None:
                    transport.abort()  # the client sees the same abnormal end (1006) it would have seen
    finally:
        for pump in pumps:
            pump.cancel()
        await asyncio.gather(*pumps, return_exceptions=True)


async def _pump(source: AnyWebSocket, dest: AnyWebSocket, sender: Side, exchange: Exchange) -> _Ended:
    """Copy messages from `source` (the `sender` side) to `dest` until `source` closes or drops."""
    receiver: Side = "server" if sender == "client" else "client"
    while True:
        msg = await source.receive()
        try:
            match msg.type:
                case WSMsgType.TEXT | WSMsgType.BINARY:
                    await dest.send_frame(msg.data, msg.type)
                    kind: Literal["text", "binary"] = "text" if msg.type is WSMsgType.TEXT else "binary"
                    exchange.feed(WebSocketMessage(time.monotonic(), sender, kind, msg.data))
                case WSMsgType.PING:
                    await dest.ping(msg.data)
                case WSMsgType.PONG:
                    await dest.pong(msg.data)
                case WSMsgType.CLOSE:
                    reason = msg.extra or ""
                    exchange.feed(
                        WebSocketMessage(time.monotonic(), sender, "close", _close_payload(msg.data, reason))
                    )
                    return _Ended(sender, msg.data, reason)
                case WSMsgType.ERROR:
                    return _Ended(sender, None, f"protocol error: {msg.data}")
                case _:  # CLOSING or CLOSED: the connection went away without a close frame
                    return _Ended(sender, None, "connection lost without a close frame")
        except (ConnectionError, aiohttp.ClientError) as exc:
            return _Ended(receiver, None, f"sending failed: {exc}")


def _close_payload(code: int, reason: str) -> bytes:
    """A close frame's payload as on the wire: the code (2 bytes, big-endian), then the UTF-8 reason.

    aiohttp reports a close frame without a payload as code 0; it is recorded empty and passed on
    as 1000 (normal closure), since a close frame cannot carry code 0.
    """
    return code.to_bytes(2, "big") + reason.encode("utf-8") if code else b""
