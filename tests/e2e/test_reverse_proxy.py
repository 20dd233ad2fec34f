"""The real ReverseProxy, in-process, between a real aiohttp client and the loopback upstream.

Each test checks both what the client got and what the sink received. Failures are caused for real:
a closed port, an untrusted certificate, a server that never answers, an upstream that hangs up
mid-stream, a client that walks away.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import WSMsgType, web
from yarl import URL

from claude_tap.capture.exchange import Exchange, Transport
from claude_tap.proxy.reverse import ProxyConfig, ReverseProxy
from tests.loopback import ENCODED_JSON, CountingProxy, Loopback, encode_body, pattern_bytes, self_signed_tls

LOG = logging.getLogger("test.reverse_proxy")


class ListSink:
    """Collects submitted exchanges; `wait_for(n)` waits until n have arrived."""

    def __init__(self) -> None:
        self.exchanges: list[Exchange] = []
        self._arrived = asyncio.Event()

    def submit(self, exchange: Exchange) -> None:
        self.exchanges.append(exchange)
        self._arrived.set()

    async def wait_for(self, count: int, timeout_s: float = 5.0) -> list[Exchange]:
        async with asyncio.timeout(timeout_s):
            while len(self.exchanges) < count:
                self._arrived.clear()
                await self._arrived.wait()
        return self.exchanges

    async def one(self) -> Exchange:
        (exchange,) = await self.wait_for(1)
        return exchange


StartProxy = Callable[..., Awaitable[ReverseProxy]]


@pytest.fixture
def sink() -> ListSink:
    return ListSink()


@pytest.fixture
async def start_proxy(sink: ListSink) -> AsyncIterator[StartProxy]:
    started: list[ReverseProxy] = []

    async def start(target: str, **options: Any) -> ReverseProxy:
        proxy = ReverseProxy(ProxyConfig(target=target, **options), sink, LOG)
        await proxy.start()
        started.append(proxy)
        return proxy

    yield start
    for proxy in started:
        await proxy.stop()


@pytest.fixture
async def proxy(start_proxy: StartProxy, loopback: Loopback) -> ReverseProxy:
    return await start_proxy(loopback.url + "/v1")


@pytest.fixture
async def client() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(auto_decompress=False) as session:
        yield session


def body_of(chunks: list[Any]) -> bytes:
    return b"".join(chunk.data for chunk in chunks)


def relayed(exchange: Exchange) -> list[tuple[str, str, bytes]]:
    return [(m.direction, m.kind, m.data) for m in exchange.ws_messages]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def raw_request(port: int, request: bytes) -> bytes:
    """Send literal bytes, read until the server closes (send `Connection: close`)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    await writer.drain()
    answer = await reader.read()
    writer.close()
    await writer.wait_closed()
    return answer


# --- plain HTTP ---------------------------------------------------------------------------------------


async def test_start_returns_a_loopback_url_with_the_chosen_port(proxy: ReverseProxy) -> None:
    assert proxy.port is not None and proxy.port > 0
    assert proxy.url == f"http://127.0.0.1:{proxy.port}"


async def test_json_request_round_trip_and_its_exchange(
    proxy: ReverseProxy, loopback: Loopback, client: aiohttp.ClientSession, sink: ListSink
) -> None:
    body = b'{"model": "m", "input": "hi"}'
    async with client.post(
        f"{proxy.url}/v1/echo?x=1", data=body, headers={"Content-Type": "application/json"}
    ) as r:
        assert r.status == 200
        answer = await r.read()
    echoed = json.loads(answer)
    assert echoed["path"] == "/v1/echo?x=1"
    assert echoed["body_sha256"] == hashlib.sha256(body).hexdigest()

    exchange = await sink.one()
    assert exchange.seq == 1
    assert abs(exchange.started_wall - time.time()) < 5
    assert exchange.transport is Transport.HTTP
    assert exchange.request is not None and exchange.response is not None
    assert (exchange.request.method, exchange.request.path) == ("POST", "/v1/echo?x=1")
    assert exchange.request.upstream_url == f"{loopback.url}/v1/echo?x=1"
    assert ("Content-Type", "application/json") in exchange.request.headers
    assert body_of(exchange.request_chunks) == body
    assert exchange.response.status == 200
    assert body_of(exchange.response_chunks) == answer
    assert exchange.failure is None
    assert exchange.request_ended_at is not None and exchange.finished_at is not None
    times = [exchange.request.at, exchange.request_ended_at, exchange.response.at, exchange.finished_at]
    assert times == sorted(times)


async def test_upstream_gets_exactly_the_client_headers_minus_hop_by_hop(
    proxy: ReverseProxy, loopback: Loopback, sink: ListSink
) -> None:
    answer = await raw_request(
        proxy.port or 0,
        b"POST /v1/echo HTTP/1.1\r\n"
        b"Host: 127.0.0.1\r\n"
        b"Authorization: Bearer sk-test\r\n"
        b"Connection: close, X-Hop\r\n"
        b"X-Hop: this hop only\r\n"
        b"Keep-Alive: timeout=5\r\n"
        b"Proxy-Authorization: Basic abc\r\n"
        b"TE: trailers\r\n"
        b"anthropic-beta: one\r\n"
        b"anthropic-beta: two\r\n"
        b"Content-Length: 2\r\n"
        b"\r\n"
        b"{}",
    )
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n")
    (seen,) = loopback.seen
    assert list(seen.headers) == [
        ("Host", f"127.0.0.1:{loopback.port}"),
        ("Authorization", "Bearer sk-test"),
        ("anthropic-beta", "one"),
        ("anthropic-beta", "two"),
        ("Content-Length", "2"),
    ]
    exchange = await sink.one()
    assert exchange.request is not None
    assert ("X-Hop", "this hop only") in exchange.request.headers  # the record shows what the client sent


async def test_chunked_request_body_is_forwarded_chunked(
    proxy: ReverseProxy, loopback: Loopback, sink: ListSink
) -> None:
    answer = await raw_request(
        proxy.port or 0,
        b"POST /v1/echo HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Connection: close\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
    )
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n")
    (seen,) = loopback.seen
    assert seen.body_sha256 == hashlib.sha256(b"hello world").hexdigest()
    assert seen.header("Transfer-Encoding") == "chunked"
    assert body_of((await sink.one()).request_chunks) == b"hello world"


async def test_a_chunked_body_the_parser_refuses_halfway_is_answered_and_recorded_at_once(
    proxy: ReverseProxy, sink: ListSink
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port or 0)
    writer.write(
        b"POST /v1/echo HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n"
    )
    await writer.drain()
    await asyncio.sleep(0.2)  # the handler is reading the body, the upstream request is under way
    writer.write(b"zz\r\nnot a chunk size\r\n")
    answer = await asyncio.wait_for(reader.read(), 5)  # not the 30 s read timeout
    writer.close()
    assert answer.startswith(b"HTTP/1.1 400 "), answer
    assert answer.count(b"HTTP/1.1 ") == 1, answer  # one answer, then the connection closes
    exchange = await sink.one()
    assert exchange.failure is not None and "request body was refused" in exchange.failure.reason
    assert body_of(exchange.request_chunks) == b"hello"  # what came before the refusal is kept
    assert len(sink.exchanges) == 1  # the refusal is this request's, not another exchange


async def test_request_body_reaches_upstream_before_the_client_has_sent_it_all(
    proxy: ReverseProxy, loopback: Loopback, sink: ListSink
) -> None:
    first_bytes_arrived = asyncio.Event()

    async def read_slowly(request: web.BaseRequest) -> web.StreamResponse:
        first = await request.content.readany()
        first_bytes_arrived.set()
        rest = await request.content.read()
        return web.Response(body=first + rest)

    loopback.route("upload", read_slowly)
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    writer.write(
        b"POST /v1/upload HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: 10\r\n\r\nhello"
    )
    await asyncio.wait_for(first_bytes_arrived.wait(), 2)  # would time out if the proxy buffered the body
    writer.write(b"world")
    answer = await reader.read()
    writer.close()
    assert answer.endswith(b"\r\n\r\nhelloworld")
    exchange = await sink.one()
    assert [chunk.data for chunk in exchange.request_chunks] == [b"hello", b"world"]


async def test_client_leaving_mid_upload_cancels_the_upstream_request(
    proxy: ReverseProxy, loopback: Loopback, sink: ListSink
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    writer.write(b"POST /v1/echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n\r\nonly a little")
    await writer.drain()
    await asyncio.sleep(0.1)
    writer.transport.abort()
    assert await loopback.wait_cancelled(timeout_s=1.0) == ["/v1/echo"]
    exchange = await sink.one()
    assert exchange.failure is not None and exchange.failure.by_client
    assert exchange.request_ended_at is None


async def test_expect_100_continue_is_answered_by_the_proxy(proxy: ReverseProxy, loopback: Loopback) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    writer.write(
        b"POST /v1/echo HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        b"Expect: 100-continue\r\nContent-Length: 4\r\n\r\n"
    )
    assert await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 2) == b"HTTP/1.1 100 Continue\r\n\r\n"
    writer.write(b"ping")
    answer = await reader.read()
    writer.close()
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n")
    (seen,) = loopback.seen
    assert seen.header("Expect") is None
    assert seen.body_sha256 == hashlib.sha256(b"ping").hexdigest()


async def test_response_headers_are_relayed_minus_hop_by_hop(
    proxy: ReverseProxy, loopback: Loopback, client: aiohttp.ClientSession
) -> None:
    async def headers(request: web.BaseRequest) -> web.StreamResponse:
        response = web.Response(
            body=b"ok", headers={"Connection": "X-Internal", "X-Internal": "1", "Keep-Alive": "5"}
        )
        response.headers.add("Set-Cookie", "a=1")
        response.headers.add("Set-Cookie", "b=2")
        response.headers["request-id"] = "req_123"
        return response

    loopback.route("headers", headers)
    async with client.get(f"{proxy.url}/v1/headers") as r:
        assert r.headers.getall("Set-Cookie") == ["a=1", "b=2"]
        assert r.headers["request-id"] == "req_123"
        assert "X-Internal" not in r.headers
        assert "Keep-Alive" not in r.headers
        assert await r.read() == b"ok"


async def test_head_request_ends_without_a_body(
    proxy: ReverseProxy, client: aiohttp.ClientSession, sink: ListSink
) -> None:
    async with client.head(f"{proxy.url}/v1/echo") as r:
        assert r.status == 200
        assert await r.read() == b""
    assert (await sink.one()).failure is None


async def test_upstream_error_status_and_body_pass_through(
    proxy: ReverseProxy, client: aiohttp.ClientSession, sink: ListSink
) -> None:
    async with client.post(f"{proxy.url}/v1/status?code=429", data=b"{}") as r:
        assert r.status == 429
        assert await r.json() == {
            "type": "error",
            "error": {"type": "api_error", "message": "loopback says 429"},
        }
    exchange = await sink.one()
    assert exchange.response is not None and exchange.response.status == 429
    assert exchange.failure is None


async def test_redirects_are_passed_on_not_followed(
    proxy: ReverseProxy, loopback: Loopback, client: aiohttp.ClientSession
) -> None:
    async with client.get(f"{proxy.url}/v1/redirect", allow_redirects=False) as r:
        assert r.status == 302
        assert r.headers["Location"] == "./echo"
    assert [seen.path for seen in loopback.seen] == ["/v1/redirect"]


async def test_strip_path_prefix_is_applied(
    start_proxy: StartProxy, loopback: Loopback, client: aiohttp.ClientSession, sink: ListSink
) -> None:
    proxy = await start_proxy(loopback.url + "/backend-api/codex", strip_path_prefix="/v1")
    async with client.get(URL(f"{proxy.url}/v1/echo?a=%2F", encoded=True)) as r:
        assert (await r.json())["path"] == "/backend-api/codex/echo?a=%2F"
    exchange = await sink.one()
    assert exchange.request is not None
    assert exchange.request.path == "/v1/echo?a=%2F"
    assert exchange.request.upstream_url == f"{loopback.url}/backend-api/codex/echo?a=%2F"


# --- bodies: compressed, large -----------------------------------------------------------------------


@pytest.mark.parametrize("coding", ["gzip", "zstd", "br"])
async def test_compressed_request_body_reaches_upstream_byte_identical(
    coding: str, proxy: ReverseProxy, loopback: Loopback, client: aiohttp.ClientSession, sink: ListSink
) -> None:
    body = encode_body(coding, b'{"input": "' + b"compress me " * 500 + b'"}')
    headers = {"Content-Encoding": coding, "Content-Type": "application/json"}
    async with client.post(f"{proxy.url}/v1/echo", data=body, headers=headers) as r:
        assert r.status == 200
    (seen,) = loopback.seen
    assert seen.body_sha256 == hashlib.sha256(body).hexdigest()
    assert seen.header("Content-Encoding") == coding
    assert seen.header("Content-Length") == str(len(body))
    assert body_of((await sink.one()).request_chunks) == body


@pytest.mark.parametrize("coding", ["gzip", "zstd", "br"])
async def test_compressed_response_reaches_client_byte_identical(
    coding: str, proxy: ReverseProxy, client: aiohttp.ClientSession, sink: ListSink
) -> None:
    async with client.get(f"{proxy.url}/v1/encoded?coding={coding}") as r:
        assert r.headers["Content-Encoding"] == coding
        received = await r.read()
    assert received == encode_body(coding, ENCODED_JSON)
    assert body_of((await sink.one()).response_chunks) == received


@pytest.mark.slow
async def test_50_mb_request_body_streams_to_upstream_intact(
    proxy: ReverseProxy, loopback: Loopback, client: aiohttp.ClientSession, sink: ListSink
) -> None:
    body = pattern_bytes(50 * 1024 * 1024)

    async def in_slices() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 1 << 20):
            yield body[start : start + (1 << 20)]

    headers = {"Content-Length": str(len(body))}
    async with client.post(f"{proxy.url}/v1/echo", data=in_slices(), headers=headers) as r:
        echoed = await r.json()
    assert echoed["body_bytes"] == len(body)
    assert echoed["body_sha256"] == hashlib.sha256(body).hexdigest()
    exchange = await sink.one()
    assert len(exchange.request_chunks) > 1  # streamed in pieces, not buffered into one
    assert sum(len(chunk.data) for chunk in exchange.request_chunks) == len(body)


async def test_large_response_body_arrives_intact(
    proxy: ReverseProxy, client: aiohttp.ClientSession, sink: ListSink
) -> None:
    async with client.get(f"{proxy.url}/v1/large?bytes={8 * 1024 * 1024}") as r:
        received = await r.read()
        assert hashlib.sha256(received).hexdigest() == r.headers["X-Body-Sha256"]
    assert len(received) == 8 * 1024 * 1024
    assert sum(len(chunk.data) for chunk in (await sink.one()).response_chunks) == len(received)


# --- SSE --------------------------------------------------------------------------------------------


async def test_sse_events_reach_the_client_before_the_upstream_finishes(
    proxy: ReverseProxy, client: aiohttp.ClientSession, sink: ListSink
) -> None:
    arrivals: list[tuple[float, bytes]] = []
    started = time.monotonic()
    async with client.get(f"{proxy.url}/v1/sse?n=3&delay_ms=400") as r:
        assert r.headers["Content-Type"] == "text/event-stream"
        async for chunk in r.content.iter_any():
            arrivals.append((time.monotonic() - started, chunk))
    assert (
        b"".join(chunk for _, chunk in arrivals) == b'data: {"i": 0}\n\ndata: {"i": 1}\n\ndata: {"i": 2}\n\n'
    )
    assert arrivals[0][0] < 0.3  # the first event did not wait for the other two
    assert arrivals[-1][0] >= 0.75

    exchange = await sink.one()
    assert exchange.transport is Transport.SSE
    assert exchange.failure is None and exchange.finished_at is not None
    assert [chunk.data for chunk in exchange.response_chunks] == [chunk for _, chunk in arrivals]
    assert exchange.finished_at - exchange.response_chunks[0].at >= 0.75


async def test_twenty_parallel_sse_streams(
    proxy: ReverseProxy, client: aiohttp.ClientSession, sink: ListSink
) -> None:
    async def stream(i: int) -> bytes:
        async with client.get(f"{proxy.url}/v1/sse?n=5&delay_ms=50&stream={i}") as r:
            return await r.read()

    bodies = await asyncio.gather(*(stream(i) for i in range(20)))
    expected = b"".join(f'data: {{"i": {i}}}\n\n'.encode() for i in range(5))
    assert bodies == [expected] * 20
    exchanges = await sink.wait_for(20)
    assert sorted(exchange.seq for exchange in exchanges) == list(range(1, 21))
    assert all(body_of(exchange.response_chunks) == expected for exchange in exchanges)
    assert all(exchange.transport is Transport.SSE and exchange.failure is None for exchange in exchanges)


# --- WebSocket -------------------------------------------------------------------------------------


async def test_websocket_relays_both_ways_and_the_client_close(
    proxy: ReverseProxy, loopback: Loopback, client: aiohttp.ClientSession, sink: ListSink
) -> None:
    async with client.ws_connect(
        f"{proxy.url}/v1/ws?greet=1",
        protocols=["v2"],
        headers={"Authorization": "Bearer sk-ws"},
        autoping=False,
    ) as ws:
        assert ws.protocol == "v2"
        assert (await ws.receive()).data == "hello 0"  # server-initiated
        await ws.send_str("text out")
        assert (await ws.receive()).data == "text out"
        await ws.send_bytes(b"\x00\x01binary")
        assert (await ws.receive()).data == b"\x00\x01binary"
        await ws.send_str("push 2")
        assert [(await ws.receive()).data for _ in range(2)] == ["push 0", "push 1"]
        await ws.ping(b"client-ping")
        pong = await ws.receive()
        assert (pong.type, pong.data) == (WSMsgType.PONG, b"client-ping")
        await ws.send_str("ping server-ping")
        ping = await ws.receive()
        assert (ping.type, ping.data) == (WSMsgType.PING, b"server-ping")
        await ws.pong(b"server-ping")
        await ws.close(code=4001, message=b"bye")
        assert ws.close_code == 4001  # the upstream's reply, relayed

    (handshake,) = loopback.seen
    assert handshake.header("Authorization") == "Bearer sk-ws"
    assert handshake.header("Sec-WebSocket-Protocol") == "v2"
    assert ("pong", b"server-ping") in loopback.ws_log
    assert ("close_extra", "bye") in loopback.ws_log

    exchange = await sink.one()
    assert exchange.transport is Transport.WEBSOCKET
    assert exchange.response is not None and exchange.response.status == 101
    assert exchange.failure is None and exchange.finished_at is not None
    assert relayed(exchange) == [
        ("server", "text", b"hello 0"),
        ("client", "text", b"text out"),
        ("server", "text", b"text out"),
        ("client", "binary", b"\x00\x01binary"),
        ("server", "binary", b"\x00\x01binary"),
        ("client", "text", b"push 2"),
        ("server", "text", b"push 0"),
        ("server", "text", b"push 1"),
        ("client", "text", b"ping server-ping"),
        ("client", "close", (4001).to_bytes(2, "big") + b"bye"),
        ("server", "close", (4001).to_bytes(2, "big")),
    ]


async def test_websocket_handshake_headers_of_the_upstream_reach_the_client(
    proxy: ReverseProxy, loopback: Loopback, client: aiohttp.ClientSession
) -> None:
    async def with_headers(request: web.BaseRequest) -> web.StreamResponse:
        ws = web.WebSocketResponse(protocols=("v2",))
        ws.headers["x-codex-turn-state"] = "turn-7"
        ws.headers.add("Set-Cookie", "a=1")
        ws.headers.add("Set-Cookie", "b=2")
        await ws.prepare(request)
        await ws.close()
        return ws

    loopback.route("ws-headers", with_headers)
    async with client.ws_connect(f"{proxy.url}/v1/ws-headers", protocols=["v2"]) as ws:
        assert ws.protocol == "v2"
        assert ws._response.headers["x-codex-turn-state"] == "turn-7"
        assert ws._response.headers.getall("Set-Cookie") == ["a=1", "b=2"]
        assert ws._response.headers.getall("Sec-WebSocket-Accept")[1:] == []  # one, the proxy's own


async def test_websocket_close_from_the_upstream_reaches_the_client(
    proxy: ReverseProxy, client: aiohttp.ClientSession, sink: ListSink
) -> None:
    async with client.ws_connect(f"{proxy.url}/v1/ws") as ws:
        await ws.send_str("close 4002 done")
        msg = await ws.receive()
        assert (msg.type, msg.data, msg.extra) == (WSMsgType.CLOSE, 4002, "done")
    exchange = await sink.one()
    assert exchange.failure is None
    assert (exchange.ws_messages[-1].direction, exchange.ws_messages[-1].kind) == ("server", "close")
    assert exchange.ws_messages[-1].data == (4002).to_bytes(2, "big") + b"done"


async def test_websocket_upstream_that_dies_cuts_the_client_abnormally(
    proxy: ReverseProxy, client: aiohttp.ClientSession, sink: ListSink
) -> None:
    async with client.ws_connect(f"{proxy.url}/v1/ws") as ws:
        await ws.send_str("die")
        msg = await ws.receive()
        assert msg.type in (WSMsgType.CLOSED, WSMsgType.ERROR)
        assert ws.close_code == 1006
    exchange = await sink.one()
    assert exchange.failure is not None and not exchange.failure.by_client
    assert "upstream dropped the WebSocket" in exchange.failure.reason


async def raw_websocket(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A WebSocket opened by hand, for frames no well-behaved library sends."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        b"GET /v1/ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    assert (await reader.readuntil(b"\r\n\r\n")).startswith(b"HTTP/1.1 101 ")
    return reader, writer


async def test_websocket_empty_close_frame_is_passed_on_as_normal_closure(
    proxy: ReverseProxy, loopback: Loopback, sink: ListSink
) -> None:
    reader, writer = await raw_websocket(proxy.port or 0)
    writer.write(b"\x88\x80\x00\x00\x00\x00")  # FIN + close, masked with a zero key, no payload
    assert await asyncio.wait_for(reader.readexactly(4), 2) == b"\x88\x02\x03\xe8"  # close 1000
    writer.close()
    assert ("close", 1000) in loopback.ws_log
    exchange = await sink.one()
    assert exchange.failure is None
    assert relayed(exchange) == [
        ("client", "close", b""),
        ("server", "close", b"\x03\xe8"),
    ]


async def test_websocket_client_that_vanishes_closes_the_upstream(
    proxy: ReverseProxy, loopback: Loopback, sink: ListSink
) -> None:
    _, writer = await raw_websocket(proxy.port or 0)
    writer.transport.abort()  # no close frame
    exchange = await sink.one()
    assert exchange.failure is not None and exchange.failure.by_client
    async with asyncio.timeout(2):
        while ("close", 1001) not in loopback.ws_log:
            await asyncio.sleep(0.01)


async def test_websocket_upgrade_refused_by_the_upstream(
    proxy: ReverseProxy, client: aiohttp.ClientSession, sink: ListSink
) -> None:
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await client.ws_connect(f"{proxy.url}/v1/status?code=403")
    assert refused.value.status == 403
    exchange = await sink.one()
    assert exchange.response is not None and exchange.response.status == 403
    assert exchange.failure is not None and "refused the WebSocket upgrade: 403" in exchange.failure.reason


# --- failures ----------------------------------------------------------------------------------------


async def error_message(response: aiohttp.ClientResponse) -> str:
    body = await response.json()
    assert body["error"]["type"] == "proxy_error"
    return str(body["error"]["message"])


async def test_unreachable_upstream_gives_502_naming_it(
    start_proxy: StartProxy, client: aiohttp.ClientSession, sink: ListSink
) -> None:
    port = free_port()
    proxy = await start_proxy(f"http://127.0.0.1:{port}")
    async with client.post(f"{proxy.url}/v1/messages?key=secret", data=b"{}") as r:
        assert r.status == 502
        assert r.headers["Content-Type"] == "application/json"
        message = await error_message(r)
    assert f"http://127.0.0.1:{port}/v1/messages" in message
    assert "connection failed" in message
    assert "secret" not in message
    exchange = await sink.one()
    assert exchange.response is None
    assert exchange.failure is not None and exchange.failure.reason == message
    assert not exchange.failure.by_client


async def test_error_body_comes_from_the_configured_shape(
    start_proxy: StartProxy, client: aiohttp.ClientSession
) -> None:
    def anthropic_shape(status: int, message: str) -> tuple[bytes, str]:
        body = {"type": "error", "error": {"type": "api_error", "message": message}}
        return json.dumps(body).encode(), "application/json"

    proxy = await start_proxy(f"http://127.0.0.1:{free_port()}", error_body=anthropic_shape)
    async with client.get(f"{proxy.url}/v1/models") as r:
        assert r.status == 502
        body = await r.json()
    assert body["type"] == "error" and "connection failed" in body["error"]["message"]


async def test_untrusted_tls_upstream_gives_502_and_a_trusted_one_works(
    start_proxy: StartProxy, client: aiohttp.ClientSession, sink: ListSink
) -> None:
    tls = self_signed_tls()
    async with Loopback(ssl_context=tls.server) as upstream:
        untrusting = await start_proxy(upstream.url)
        async with client.get(f"{untrusting.url}/v1/echo") as r:
            assert r.status == 502
            message = await error_message(r)
        assert f"{upstream.url}/v1/echo" in message and "TLS certificate not trusted" in message

        trusting = await start_proxy(upstream.url, upstream_ssl=tls.client)
        async with client.get(f"{trusting.url}/v1/echo") as r:
            assert r.status == 200
            assert (await r.json())["path"] == "/v1/echo"
        failed, succeeded = await sink.wait_for(2)
        assert failed.failure is not None and succeeded.failure is None


async def test_connect_timeout_gives_504(
    start_proxy: StartProxy, client: aiohttp.ClientSession, sink: ListSink
) -> None:
    accepted: list[asyncio.StreamWriter] = []

    def accept_and_say_nothing(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(writer)  # the TLS handshake never gets an answer

    silent = await asyncio.start_server(accept_and_say_nothing, "127.0.0.1", 0)
    port = silent.sockets[0].getsockname()[1]
    try:
        proxy = await start_proxy(f"https://127.0.0.1:{port}", connect_timeout_s=0.3)
        started = time.monotonic()
        async with client.get(f"{proxy.url}/v1/echo") as r:
            assert r.status == 504
            message = await error_message(r)
        assert time.monotonic() - started < 3
        assert "connect timeout (0.3 s)" in message and f"https://127.0.0.1:{port}/v1/echo" in message
        assert (await sink.one()).failure is not None
    finally:
        for writer in accepted:
            writer.close()
        silent.close()
        await silent.wait_closed()


async def test_read_timeout_before_the_first_byte_gives_504(
    start_proxy: StartProxy, loopback: Loopback, client: aiohttp.ClientSession, sink: ListSink
) -> None:
    proxy = await start_proxy(loopback.url, read_timeout_s=0.3)
    async with client.get(f"{proxy.url}/v1/slow?ms=3000") as r:
        assert r.status == 504
        assert "read timeout (0.3 s)" in await error_message(r)
    exchange = await sink.one()
    assert exchange.response is None and exchange.failure is not None
    assert await loopback.wait_cancelled() == ["/v1/slow?ms=3000"]  # the upstream request was dropped


async def test_read_timeout_mid_stream_cuts_the_client(
    start_proxy: StartProxy, loopback: Loopback, client: aiohttp.ClientSession, sink: ListSink
) -> None:
    proxy = await start_proxy(loopback.url, read_timeout_s=0.3)
    received = b""
    async with client.get(f"{proxy.url}/v1/sse?n=3&delay_ms=2000") as r:
        with pytest.raises(aiohttp.ClientPayloadError):
            async for chunk in r.content.iter_any():
                received += chunk
    assert received == b'data: {"i": 0}\n\n'
    exchange = await sink.one()
    assert exchange.failure is not None and "read timeout" in exchange.failure.reason
    assert body_of(exchange.response_chunks) == received


async def test_upstream_dying_mid_sse_cuts_the_client_the_same_way(
    proxy: ReverseProxy, client: aiohttp.ClientSession, sink: ListSink
) -> None:
    received = b""
    async with client.get(f"{proxy.url}/v1/sse-die?n=2") as r:
        assert r.status == 200
        with pytest.raises(aiohttp.ClientPayloadError):
            async for chunk in r.content.iter_any():
                received += chunk
    assert received == b'data: {"i": 0}\n\ndata: {"i": 1}\n\n'
    exchange = await sink.one()
    assert exchange.failure is not None and not exchange.failure.by_client
    assert "broke off the response" in exchange.failure.reason
    assert body_of(exchange.response_chunks) == received


async def test_upstream_dying_mid_body_with_content_length_cuts_the_client(
    proxy: ReverseProxy, client: aiohttp.ClientSession, sink: ListSink
) -> None:
    async with client.get(f"{proxy.url}/v1/cut?total=1000&send=400") as r:
        assert r.headers["Content-Length"] == "1000"
        with pytest.raises(aiohttp.ClientPayloadError):
            await r.read()
    exchange = await sink.one()
    assert exchange.failure is not None
    assert body_of(exchange.response_chunks) == pattern_bytes(1000)[:400]


async def test_upstream_hanging_up_without_an_answer_gives_502(
    proxy: ReverseProxy, loopback: Loopback, client: aiohttp.ClientSession
) -> None:
    async def hang_up(request: web.BaseRequest) -> web.StreamResponse:
        assert request.transport is not None
        request.transport.abort()
        return web.Response()

    loopback.route("hang-up", hang_up)
    async with client.get(f"{proxy.url}/v1/hang-up") as r:
        assert r.status == 502
        assert "closed the connection without answering" in await error_message(r)


async def test_a_malformed_upstream_answer_never_puts_the_query_in_the_log_or_the_502(
    proxy: ReverseProxy,
    loopback: Loopback,
    client: aiohttp.ClientSession,
    sink: ListSink,
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def garbage(request: web.BaseRequest) -> web.StreamResponse:
        assert request.transport is not None
        request.transport.write(b"garbage\r\n\r\n")  # not a status line
        await asyncio.sleep(0.05)
        request.transport.abort()
        return web.Response()

    loopback.route("garbage", garbage)
    caplog.set_level(logging.DEBUG, logger=LOG.name)
    async with client.post(f"{proxy.url}/v1/garbage?key=AIzaQuerySecret123", data=b"{}") as r:
        assert r.status == 502
        message = await error_message(r)
    assert f"{loopback.url}/v1/garbage" in message
    assert "AIzaQuerySecret123" not in message
    exchange = await sink.one()
    assert exchange.failure is not None and "AIzaQuerySecret123" not in exchange.failure.reason
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "/v1/garbage" in logged and "AIzaQuerySecret123" not in logged


async def test_client_leaving_cancels_the_upstream_request_at_once(
    proxy: ReverseProxy, loopback: Loopback, client: aiohttp.ClientSession, sink: ListSink
) -> None:
    response = await client.get(f"{proxy.url}/v1/sse?n=100&delay_ms=100")
    assert await response.content.readany() == b'data: {"i": 0}\n\n'
    response.close()  # drops the connection mid-stream
    left = time.monotonic()
    assert await loopback.wait_cancelled(timeout_s=5.0) == ["/v1/sse?n=100&delay_ms=100"]
    assert time.monotonic() - left < 3  # not the 10 s the stream had left to run
    exchange = await sink.one()
    assert exchange.failure is not None and exchange.failure.by_client


async def test_client_leaving_before_the_response_cancels_the_upstream(
    proxy: ReverseProxy, loopback: Loopback, sink: ListSink
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    writer.write(b"GET /v1/slow?ms=5000 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    await writer.drain()
    while not loopback.seen:
        await asyncio.sleep(0.01)
    writer.transport.abort()
    assert await loopback.wait_cancelled(timeout_s=1.0) == ["/v1/slow?ms=5000"]
    exchange = await sink.one()
    assert exchange.failure is not None and exchange.failure.by_client


async def test_a_failing_sink_never_breaks_forwarding(
    loopback: Loopback, client: aiohttp.ClientSession
) -> None:
    class BrokenSink:
        def submit(self, exchange: Exchange) -> None:
            raise RuntimeError("disk full")

    proxy = ReverseProxy(ProxyConfig(target=loopback.url), BrokenSink(), LOG)
    await proxy.start()
    try:
        for _ in range(2):
            async with client.get(f"{proxy.url}/v1/echo") as r:
                assert r.status == 200
        async with asyncio.timeout(2):
            while proxy.submit_failures < 2:
                await asyncio.sleep(0.01)
    finally:
        await proxy.stop()


async def test_stop_does_not_wait_for_a_stream_that_never_ends(
    loopback: Loopback, client: aiohttp.ClientSession, sink: ListSink
) -> None:
    proxy = ReverseProxy(ProxyConfig(target=loopback.url), sink, LOG)
    await proxy.start()
    response = await client.get(f"{proxy.url}/v1/sse?n=1000&delay_ms=100")
    await response.content.readany()
    started = time.monotonic()
    await proxy.stop()
    assert time.monotonic() - started < 3
    exchange = await sink.one()
    assert exchange.failure is not None
    response.close()


async def test_a_stream_cut_by_stop_is_recorded_as_cut_by_the_tap_not_by_the_client(
    loopback: Loopback, client: aiohttp.ClientSession, sink: ListSink
) -> None:
    proxy = ReverseProxy(ProxyConfig(target=loopback.url), sink, LOG)
    await proxy.start()
    response = await client.get(f"{proxy.url}/v1/sse?n=1000&delay_ms=100")
    await response.content.readany()
    await proxy.stop()
    exchange = await sink.one()
    assert exchange.failure is not None and not exchange.failure.by_client
    assert exchange.failure.reason == "claude-tap stopped before the exchange finished"
    response.close()


# --- the tap's own outbound proxy ---------------------------------------------------------------


@pytest.fixture
async def counting_proxy() -> AsyncIterator[CountingProxy]:
    outbound = CountingProxy()
    await outbound.start()
    yield outbound
    await outbound.stop()


async def echo_over_websocket(proxy: ReverseProxy, client: aiohttp.ClientSession) -> None:
    """One WebSocket through the tap: a server greeting, a text and a binary echo, a client close."""
    async with client.ws_connect(f"{proxy.url}/v1/ws?greet=1") as ws:
        assert (await ws.receive()).data == "hello 0"
        await ws.send_str("through")
        assert (await ws.receive()).data == "through"
        await ws.send_bytes(b"\x00bin")
        assert (await ws.receive()).data == b"\x00bin"
        await ws.close(code=4001, message=b"bye")
        assert ws.close_code == 4001


ECHOED = [
    ("server", "text", b"hello 0"),
    ("client", "text", b"through"),
    ("server", "text", b"through"),
    ("client", "binary", b"\x00bin"),
    ("server", "binary", b"\x00bin"),
    ("client", "close", (4001).to_bytes(2, "big") + b"bye"),
    ("server", "close", (4001).to_bytes(2, "big")),
]


async def test_http_proxy_from_the_environment_is_used(
    start_proxy: StartProxy,
    counting_proxy: CountingProxy,
    client: aiohttp.ClientSession,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    port = counting_proxy.port
    monkeypatch.setenv("HTTP_PROXY", f"http://alice:s3cret@127.0.0.1:{port}")
    proxy = await start_proxy("http://vendor.invalid")  # never resolved: the outbound proxy answers
    async with client.get(f"{proxy.url}/v1/models?q=1") as r:
        assert await r.json() == {"proxied": "GET http://vendor.invalid/v1/models?q=1 HTTP/1.1"}
    assert counting_proxy.request_lines == ["GET http://vendor.invalid/v1/models?q=1 HTTP/1.1"]
    assert b"\r\nProxy-Authorization: Basic YWxpY2U6czNjcmV0\r\n" in counting_proxy.heads[0]


async def test_https_proxy_from_the_environment_is_asked_to_connect(
    start_proxy: StartProxy,
    counting_proxy: CountingProxy,
    client: aiohttp.ClientSession,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("https_proxy", counting_proxy.url)
    proxy = await start_proxy("https://vendor.invalid")
    async with client.get(f"{proxy.url}/v1/models") as r:
        assert r.status == 502  # our counting proxy refuses CONNECT
    assert counting_proxy.request_lines == ["CONNECT vendor.invalid:443 HTTP/1.1"]


async def test_a_loopback_target_bypasses_the_proxy(
    start_proxy: StartProxy,
    loopback: Loopback,
    counting_proxy: CountingProxy,
    client: aiohttp.ClientSession,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.setenv(name, counting_proxy.url)
    proxy = await start_proxy(loopback.url)
    async with client.get(f"{proxy.url}/v1/echo") as r:
        assert (await r.json())["path"] == "/v1/echo"
    await echo_over_websocket(proxy, client)  # a WebSocket too
    assert counting_proxy.request_lines == []
    assert [seen.path for seen in loopback.seen] == ["/v1/echo", "/v1/ws?greet=1"]


async def test_env_in_the_config_replaces_the_process_environment(
    start_proxy: StartProxy,
    counting_proxy: CountingProxy,
    client: aiohttp.ClientSession,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:1")  # would fail if it were read
    proxy = await start_proxy("http://vendor.invalid", env={"http_proxy": counting_proxy.url})
    async with client.get(f"{proxy.url}/x") as r:
        assert r.status == 200
    assert counting_proxy.request_lines == ["GET http://vendor.invalid/x HTTP/1.1"]


async def test_a_websocket_goes_through_the_http_proxy_from_the_environment(
    start_proxy: StartProxy,
    loopback: Loopback,
    counting_proxy: CountingProxy,
    client: aiohttp.ClientSession,
    sink: ListSink,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    counting_proxy.forward["vendor.invalid:80"] = loopback.port  # nothing resolves the name
    monkeypatch.setenv("HTTP_PROXY", f"http://alice:s3cret@127.0.0.1:{counting_proxy.port}")
    proxy = await start_proxy("http://vendor.invalid")
    await echo_over_websocket(proxy, client)

    (line,) = counting_proxy.request_lines
    assert line == "GET ws://vendor.invalid/v1/ws?greet=1 HTTP/1.1"
    (head,) = counting_proxy.heads
    assert b"\r\nUpgrade: websocket\r\n" in head
    assert b"\r\nProxy-Authorization: Basic YWxpY2U6czNjcmV0\r\n" in head
    (handshake,) = loopback.seen
    assert handshake.path == "/v1/ws?greet=1"
    assert handshake.header("Host") == "vendor.invalid"
    exchange = await sink.one()
    assert exchange.failure is None and relayed(exchange) == ECHOED


async def test_a_wss_websocket_is_tunnelled_through_the_https_proxy_with_connect(
    start_proxy: StartProxy,
    counting_proxy: CountingProxy,
    client: aiohttp.ClientSession,
    sink: ListSink,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tls = self_signed_tls("vendor.invalid")
    async with Loopback(ssl_context=tls.server) as upstream:
        counting_proxy.forward["vendor.invalid:443"] = upstream.port
        monkeypatch.setenv("HTTPS_PROXY", f"http://alice:s3cret@127.0.0.1:{counting_proxy.port}")
        monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:1")  # the wrong variable for wss: unused
        proxy = await start_proxy("https://vendor.invalid", upstream_ssl=tls.client)
        await echo_over_websocket(proxy, client)

        assert counting_proxy.request_lines == ["CONNECT vendor.invalid:443 HTTP/1.1"]
        assert b"\r\nProxy-Authorization: Basic YWxpY2U6czNjcmV0\r\n" in counting_proxy.heads[0]
        (handshake,) = upstream.seen  # inside the tunnel: the proxy's credentials stay outside
        assert handshake.path == "/v1/ws?greet=1"
        assert handshake.header("Proxy-Authorization") is None
        exchange = await sink.one()
        assert exchange.request is not None
        assert exchange.request.upstream_url == "https://vendor.invalid/v1/ws?greet=1"
        assert exchange.failure is None and relayed(exchange) == ECHOED


@pytest.mark.parametrize(("no_proxy", "through_the_proxy"), [("", True), ("0.0.0.0", False)])
async def test_no_proxy_naming_the_host_bypasses_the_proxy_for_a_websocket(
    no_proxy: str,
    through_the_proxy: bool,
    start_proxy: StartProxy,
    loopback: Loopback,
    counting_proxy: CountingProxy,
    client: aiohttp.ClientSession,
    sink: ListSink,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # 0.0.0.0 is not a loopback address, so only NO_PROXY can keep it from the proxy; connecting to
    # it reaches this machine without resolving anything. The run without NO_PROXY proves both.
    counting_proxy.forward[f"0.0.0.0:{loopback.port}"] = loopback.port
    monkeypatch.setenv("HTTP_PROXY", counting_proxy.url)
    monkeypatch.setenv("NO_PROXY", no_proxy)
    proxy = await start_proxy(f"http://0.0.0.0:{loopback.port}")
    await echo_over_websocket(proxy, client)

    expected = [f"GET ws://0.0.0.0:{loopback.port}/v1/ws?greet=1 HTTP/1.1"] if through_the_proxy else []
    assert counting_proxy.request_lines == expected
    assert [seen.path for seen in loopback.seen] == ["/v1/ws?greet=1"]
    exchange = await sink.one()
    assert exchange.failure is None and relayed(exchange) == ECHOED


async def test_a_streamed_request_to_an_unreachable_upstream_is_recorded_whole(
    start_proxy: StartProxy, client: aiohttp.ClientSession, sink: ListSink
) -> None:
    proxy = await start_proxy(f"http://127.0.0.1:{free_port()}")
    payload = os.urandom(1024) * 2048  # 2 MiB, sent chunked: the proxy sees it arrive, not whole

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(payload), 256 * 1024):
            yield payload[start : start + 256 * 1024]
            await asyncio.sleep(0.005)

    async with client.post(f"{proxy.url}/v1/upload", data=chunks()) as r:
        assert r.status == 502
    exchange = await sink.one()
    assert body_of(exchange.request_chunks) == payload  # what the agent sent is not lost with the upstream
    assert exchange.request_ended_at is not None
    assert exchange.failure is not None and "connection failed" in exchange.failure.reason
