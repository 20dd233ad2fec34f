"""The real ForwardProxy, in-process, between a real aiohttp client using it as HTTPS_PROXY and loopback
upstreams, one of them TLS under a real host name (reached through a Resolve rule and its own CA).

Each test checks what the client got, what the upstream saw and what was recorded.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import logging
import socket
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import WSMsgType

from claude_tap.capture.exchange import Exchange
from claude_tap.proxy.ca import LocalCa
from claude_tap.proxy.forward import ForwardConfig, ForwardProxy, absolute_form_url
from claude_tap.proxy.resolve import Resolve
from tests.loopback import CountingProxy, Loopback, pattern_bytes

LOG = logging.getLogger("test.forward_proxy")
MODEL_HOST = "api.model.test"  # decrypted
OTHER_HOST = "files.other.test"  # tunnelled


class Sinks:
    """Collects exchanges (`submit`) and ready records (`submit_record`)."""

    def __init__(self) -> None:
        self.exchanges: list[Exchange] = []
        self.records: list[dict[str, Any]] = []
        self.warnings: list[str] = []

    def submit(self, exchange: Exchange) -> None:
        self.exchanges.append(exchange)

    def submit_record(self, record: dict[str, Any], block: bool = True) -> bool:
        assert block is False  # called from the event loop: must never block it
        self.records.append(record)
        return True

    async def wait(self, what: Callable[[], bool], timeout_s: float = 5.0) -> None:
        async with asyncio.timeout(timeout_s):
            while not what():
                await asyncio.sleep(0.01)


@pytest.fixture
def sinks() -> Sinks:
    return Sinks()


@pytest.fixture
def ca(tmp_path: Path) -> LocalCa:
    return LocalCa.load_or_create(tmp_path / "ca", LOG.warning)


@pytest.fixture
def vendor_ca(tmp_path: Path) -> LocalCa:
    """The 'public' CA of the vendor's servers: the proxy trusts it (as --tap-upstream-ca would)."""
    return LocalCa.load_or_create(tmp_path / "vendor-ca", LOG.warning)


@pytest.fixture
async def model_upstream(vendor_ca: LocalCa) -> AsyncIterator[Loopback]:
    async with Loopback(ssl_context=vendor_ca.server_context(MODEL_HOST)) as upstream:
        yield upstream


@pytest.fixture
async def other_upstream(vendor_ca: LocalCa) -> AsyncIterator[Loopback]:
    async with Loopback(ssl_context=vendor_ca.server_context(OTHER_HOST)) as upstream:
        yield upstream


StartProxy = Callable[..., Awaitable[ForwardProxy]]


@pytest.fixture
async def start_proxy(
    sinks: Sinks, ca: LocalCa, vendor_ca: LocalCa, model_upstream: Loopback, other_upstream: Loopback
) -> AsyncIterator[StartProxy]:
    started: list[ForwardProxy] = []

    async def start(**options: Any) -> ForwardProxy:
        settings: dict[str, Any] = {
            "target": model_upstream.url,
            "intercept_hosts": frozenset({MODEL_HOST}),
            "resolve": (
                Resolve(MODEL_HOST, 443, "127.0.0.1", model_upstream.port),
                Resolve(OTHER_HOST, 443, "127.0.0.1", other_upstream.port),
            ),
            "upstream_ssl": ssl.create_default_context(cadata=vendor_ca.cert_pem.decode()),
            "env": {},
        }
        settings.update(options)
        proxy = ForwardProxy(ForwardConfig(**settings), sinks, sinks, ca, LOG, sinks.warnings.append)
        await proxy.start()
        started.append(proxy)
        return proxy

    yield start
    for proxy in started:
        await proxy.stop()


def client_trusting(*cas: LocalCa) -> ssl.SSLContext:
    context = ssl.create_default_context(cadata="".join(ca.cert_pem.decode() for ca in cas))
    context.verify_flags |= ssl.VERIFY_X509_STRICT
    return context


async def test_a_decrypted_https_request_is_forwarded_and_recorded(
    start_proxy: StartProxy, sinks: Sinks, ca: LocalCa, model_upstream: Loopback
) -> None:
    proxy = await start_proxy()
    trusting = client_trusting(ca)
    async with aiohttp.ClientSession() as client:
        for i in range(2):  # the second request reuses the decrypted connection
            response = await client.post(
                f"https://{MODEL_HOST}/v1/echo?i={i}",
                json={"hello": i},
                headers={"x-api-key": "sk-test"},
                proxy=proxy.url,
                ssl=trusting,
            )
            answer = await response.json()
            assert response.status == 200 and answer["path"] == f"/v1/echo?i={i}"
    await sinks.wait(lambda: len(sinks.exchanges) == 2)
    first = sinks.exchanges[0]
    assert first.request is not None and first.request.upstream_url == f"https://{MODEL_HOST}/v1/echo?i=0"
    assert first.response is not None and first.response.status == 200
    assert model_upstream.seen[0].header("x-api-key") == "sk-test"
    assert model_upstream.seen[0].header("Host") == MODEL_HOST
    assert proxy.counts.intercepted == 1 and proxy.counts.tunnels == 0
    assert sinks.records == [] and sinks.warnings == []


async def test_sse_streams_through_a_decrypted_connection(
    start_proxy: StartProxy, sinks: Sinks, ca: LocalCa
) -> None:
    proxy = await start_proxy()
    async with aiohttp.ClientSession() as client:
        response = await client.get(
            f"https://{MODEL_HOST}/v1/sse?n=5&delay_ms=20", proxy=proxy.url, ssl=client_trusting(ca)
        )
        body = await response.read()
    assert body.count(b"data: ") == 5
    await sinks.wait(lambda: len(sinks.exchanges) == 1)
    exchange = sinks.exchanges[0]
    assert exchange.response is not None and exchange.failure is None
    assert b"".join(chunk.data for chunk in exchange.response_chunks) == body


async def test_a_websocket_through_a_decrypted_connection(
    start_proxy: StartProxy, sinks: Sinks, ca: LocalCa, model_upstream: Loopback
) -> None:
    proxy = await start_proxy()
    async with (
        aiohttp.ClientSession() as client,
        client.ws_connect(
            f"wss://{MODEL_HOST}/v1/ws?greet=1", proxy=proxy.url, ssl=client_trusting(ca)
        ) as ws,
    ):
        assert (await ws.receive()).data == "hello 0"
        await ws.send_str("ping-pong")
        assert (await ws.receive()).data == "ping-pong"
        await ws.send_str("close 1000 done")
        closing = await ws.receive()
        assert closing.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED)
    await sinks.wait(lambda: len(sinks.exchanges) == 1)
    assert sinks.exchanges[0].request is not None and sinks.exchanges[0].request.is_websocket
    assert ("text", "ping-pong") in model_upstream.ws_log


async def test_other_hosts_are_tunnelled_byte_for_byte_and_recorded_as_tunnels(
    start_proxy: StartProxy, sinks: Sinks, vendor_ca: LocalCa, other_upstream: Loopback
) -> None:
    proxy = await start_proxy()
    payload = pattern_bytes(3_000_000)
    async with aiohttp.ClientSession() as client:
        # The client verifies the vendor's own certificate: nothing was decrypted.
        response = await client.post(
            f"https://{OTHER_HOST}/upload/echo",
            data=io.BytesIO(payload),
            proxy=proxy.url,
            ssl=client_trusting(vendor_ca),
        )
        answer = await response.json()
        large = await client.get(
            f"https://{OTHER_HOST}/large?bytes=2000000", proxy=proxy.url, ssl=client_trusting(vendor_ca)
        )
        got = await large.read()
    assert answer["body_sha256"] == hashlib.sha256(payload).hexdigest()
    assert got == pattern_bytes(2_000_000)
    await sinks.wait(lambda: len(sinks.records) == proxy.counts.tunnels)
    tunnels = [r for r in sinks.records if r["type"] == "tunnel"]
    assert tunnels and all(
        r["host"] == OTHER_HOST and r["port"] == 443 and r["error"] is None for r in tunnels
    )
    assert (
        sum(r["bytes_up"] for r in tunnels) > 3_000_000 and sum(r["bytes_down"] for r in tunnels) > 2_000_000
    )
    assert all(r["duration_ms"] > 0 for r in tunnels)
    assert sinks.exchanges == []  # not decrypted, not recorded as exchanges
    assert proxy.counts.intercepted == 0


async def test_a_tunnel_passes_a_half_close_on_and_keeps_the_other_way_open(
    start_proxy: StartProxy, sinks: Sinks
) -> None:
    """The client sends, then shuts its sending side; the upstream reads to EOF and only then answers."""
    received = bytearray()

    async def read_all_then_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        received.extend(await reader.read())  # until the client's EOF, passed on by the tunnel
        writer.write(b"got %d bytes" % len(received))
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(read_all_then_answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        proxy = await start_proxy(resolve=(Resolve("raw.test", 7000, "127.0.0.1", port),))
        reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
        writer.write(b"CONNECT raw.test:7000 HTTP/1.1\r\nHost: raw.test:7000\r\n\r\n")
        assert (await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)).startswith(b"HTTP/1.1 200")
        payload = bytes(range(256)) * 4096  # every byte value, 1 MiB
        writer.write(payload)
        writer.write_eof()
        answer = await asyncio.wait_for(reader.read(), 5)
        writer.close()
    finally:
        server.close()
    assert bytes(received) == payload
    assert answer == b"got %d bytes" % len(payload)
    await sinks.wait(lambda: len(sinks.records) == 1)
    record = sinks.records[0]
    assert (record["host"], record["port"], record["bytes_up"]) == ("raw.test", 7000, len(payload))
    assert record["bytes_down"] == len(answer)


async def test_intercept_all_decrypts_every_host(
    start_proxy: StartProxy, sinks: Sinks, ca: LocalCa, other_upstream: Loopback
) -> None:
    proxy = await start_proxy(intercept_all=True)
    async with aiohttp.ClientSession() as client:
        response = await client.get(f"https://{OTHER_HOST}/echo", proxy=proxy.url, ssl=client_trusting(ca))
        assert response.status == 200
    await sinks.wait(lambda: len(sinks.exchanges) == 1)
    assert sinks.exchanges[0].request is not None
    assert sinks.exchanges[0].request.upstream_url == f"https://{OTHER_HOST}/echo"


async def test_a_tunnel_to_an_unreachable_host_gets_502_and_a_record(
    start_proxy: StartProxy, sinks: Sinks
) -> None:
    proxy = await start_proxy(resolve=(Resolve("dead.test", 443, "127.0.0.1", 9),))
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    writer.write(b"CONNECT dead.test:443 HTTP/1.1\r\nHost: dead.test:443\r\n\r\n")
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    writer.close()
    assert head.startswith(b"HTTP/1.1 502")
    await sinks.wait(lambda: len(sinks.records) == 1)
    assert sinks.records[0]["type"] == "tunnel" and "cannot connect" in sinks.records[0]["error"]


async def test_tunnels_go_through_the_taps_own_upstream_proxy(
    start_proxy: StartProxy, sinks: Sinks, vendor_ca: LocalCa, other_upstream: Loopback
) -> None:
    corporate = CountingProxy(forward={"elsewhere.test:443": other_upstream.port})
    await corporate.start()
    try:
        proxy = await start_proxy(env={"HTTPS_PROXY": corporate.url})
        async with aiohttp.ClientSession() as client:
            context = client_trusting(vendor_ca)
            context.check_hostname = False  # the stand-in serves OTHER_HOST's certificate
            response = await client.get("https://elsewhere.test/echo", proxy=proxy.url, ssl=context)
            assert response.status == 200
    finally:
        await corporate.stop()
    assert corporate.request_lines == ["CONNECT elsewhere.test:443 HTTP/1.1"]
    await sinks.wait(lambda: len(sinks.records) == 1)
    assert sinks.records[0]["via_proxy"] is True


async def test_absolute_form_requests_in_clear_are_forwarded_and_recorded(
    start_proxy: StartProxy, sinks: Sinks, loopback: Loopback, model_upstream: Loopback
) -> None:
    proxy = await start_proxy()
    async with aiohttp.ClientSession() as client:
        # http:// through the proxy: aiohttp sends `GET http://127.0.0.1:PORT/plain/echo HTTP/1.1`.
        response = await client.get(f"{loopback.url}/plain/echo?x=1", proxy=proxy.url)
        assert (await response.json())["path"] == "/plain/echo?x=1"
    # https:// in absolute form, in clear (some agents' helpers do this): the proxy makes the TLS.
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    writer.write(
        f"POST https://{MODEL_HOST}/v1/echo HTTP/1.1\r\nHost: {MODEL_HOST}\r\nContent-Length: 2\r\n"
        "Connection: close\r\n\r\n{}".encode()
    )
    answer = await asyncio.wait_for(reader.read(), 5)
    writer.close()
    assert answer.startswith(b"HTTP/1.1 200") and b'"path": "/v1/echo"' in answer
    await sinks.wait(lambda: len(sinks.exchanges) == 2)
    urls = sorted(e.request.upstream_url for e in sinks.exchanges if e.request is not None)
    assert urls == sorted([f"{loopback.url}/plain/echo?x=1", f"https://{MODEL_HOST}/v1/echo"])
    assert model_upstream.seen[0].method == "POST"


async def test_origin_form_requests_go_to_the_target(
    start_proxy: StartProxy, sinks: Sinks, model_upstream: Loopback
) -> None:
    proxy = await start_proxy(target=f"https://{MODEL_HOST}/base")
    async with aiohttp.ClientSession() as client:
        response = await client.get(f"{proxy.url}/v1/echo")
        assert (await response.json())["path"] == "/base/v1/echo"
    await sinks.wait(lambda: len(sinks.exchanges) == 1)


def connect_and_handshake(port: int, host: str, context: ssl.SSLContext) -> None:
    """A blocking client (it sends the TLS alert on failure, as Node, curl and Rust clients do;
    Python's asyncio client just closes)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(f"CONNECT {host}:443 HTTP/1.1\r\nHost: {host}:443\r\n\r\n".encode())
        assert sock.recv(1000).startswith(b"HTTP/1.1 200")
        with context.wrap_socket(sock, server_hostname=host):
            pass


async def test_a_client_that_rejects_the_certificate_wakes_the_watchdog(
    start_proxy: StartProxy, sinks: Sinks, ca: LocalCa
) -> None:
    proxy = await start_proxy()
    assert proxy.port is not None
    for _ in range(3):  # clients retry; one line on stderr, every failure counted
        with pytest.raises(ssl.SSLCertVerificationError):
            await asyncio.to_thread(
                connect_and_handshake, proxy.port, MODEL_HOST, ssl.create_default_context()
            )
    await sinks.wait(lambda: len(sinks.records) == 3)
    assert {r["type"] for r in sinks.records} == {"notice"}
    assert {r["kind"] for r in sinks.records} == {"certificate_rejected"}
    assert len(sinks.warnings) == 1
    warning = sinks.warnings[0]
    assert MODEL_HOST in warning and "unknown_ca" in warning and str(ca.cert_path) in warning
    assert "--tap-proxy-mode reverse" in warning
    assert sinks.exchanges == []


async def test_the_watchdog_speaks_when_no_request_arrives(
    start_proxy: StartProxy, sinks: Sinks, other_upstream: Loopback
) -> None:
    proxy = await start_proxy(idle_warning_s=0.5, who="Some Agent")
    # A tunnel is not a recorded request; the warning names the host, in case it should be decrypted.
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    writer.write(f"CONNECT {OTHER_HOST}:443 HTTP/1.1\r\nHost: {OTHER_HOST}:443\r\n\r\n".encode())
    assert (await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)).startswith(b"HTTP/1.1 200")
    await sinks.wait(lambda: len(sinks.warnings) == 1)
    writer.close()
    assert "no request has reached the proxy 0.5 s after Some Agent started" in sinks.warnings[0]
    assert f"connections to {OTHER_HOST} were tunnelled" in sinks.warnings[0]
    assert sinks.records[0]["kind"] == "no_requests"


async def test_a_handshake_the_client_drops_is_not_a_request(start_proxy: StartProxy, sinks: Sinks) -> None:
    # Python's asyncio clients close without an alert when they reject a certificate: no line names
    # the cause, but the idle watchdog must still speak.
    proxy = await start_proxy(idle_warning_s=0.5)
    async with aiohttp.ClientSession() as client:
        with pytest.raises(aiohttp.ClientConnectorCertificateError):
            await client.get(
                f"https://{MODEL_HOST}/v1/echo", proxy=proxy.url, ssl=ssl.create_default_context()
            )
    await sinks.wait(lambda: len(sinks.warnings) == 1)
    assert "no request has reached the proxy" in sinks.warnings[0]
    assert proxy.counts.handshake_failures == 1


async def test_the_watchdog_stays_quiet_when_requests_arrive(
    start_proxy: StartProxy, sinks: Sinks, loopback: Loopback
) -> None:
    proxy = await start_proxy(idle_warning_s=0.3)
    async with aiohttp.ClientSession() as client:
        await (await client.get(f"{loopback.url}/echo", proxy=proxy.url)).read()
    await asyncio.sleep(0.5)
    assert sinks.warnings == []


async def test_garbage_instead_of_a_connect_head_gets_400_and_a_record(
    start_proxy: StartProxy, sinks: Sinks
) -> None:
    proxy = await start_proxy()
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    writer.write(b"CONNECT \x00\x01 nonsense\r\n\r\n")
    head = await asyncio.wait_for(reader.read(), 5)
    writer.close()
    assert head.startswith(b"HTTP/1.1 400")
    await sinks.wait(lambda: len(sinks.exchanges) == 1)
    refused = sinks.exchanges[0]
    assert refused.request is None and refused.failure is not None
    assert "refused by claude-tap's HTTP parser (400, " in refused.failure.reason


async def test_stop_closes_open_tunnels(
    start_proxy: StartProxy, sinks: Sinks, other_upstream: Loopback
) -> None:
    proxy = await start_proxy()
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    writer.write(f"CONNECT {OTHER_HOST}:443 HTTP/1.1\r\nHost: {OTHER_HOST}:443\r\n\r\n".encode())
    assert (await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)).startswith(b"HTTP/1.1 200")
    await asyncio.wait_for(proxy.stop(), 5)
    assert await asyncio.wait_for(reader.read(), 5) == b""
    writer.close()
    assert [r["type"] for r in sinks.records] == ["tunnel"]


@pytest.mark.parametrize(
    ("raw", "url"),
    [
        ("http://h:8080/p?q=1", "http://h:8080/p?q=1"),
        ("HTTPS://h/p", "https://h/p"),
        ("wss://h/ws", "https://h/ws"),
        ("http://h", "http://h/"),
        ("/v1/messages", None),
        ("ftp://h/x", None),
        ("http:///x", None),
    ],
)
def test_absolute_form_url(raw: str, url: str | None) -> None:
    assert absolute_form_url(raw) == url


# --- web pages (proxy/guard.py) and idle connections ---


@pytest.mark.parametrize(
    "headers, status",
    [
        ({"Host": "rebind.attacker.example"}, 421),
        ({"Origin": "https://attacker.example"}, 403),
        ({"Sec-Fetch-Site": "cross-site"}, 403),
    ],
)
async def test_origin_form_requests_from_web_pages_are_refused_and_not_forwarded(
    start_proxy: StartProxy, sinks: Sinks, model_upstream: Loopback, headers: dict[str, str], status: int
) -> None:
    proxy = await start_proxy(target=f"https://{MODEL_HOST}")
    async with aiohttp.ClientSession() as client:
        async with client.post(f"{proxy.url}/v1/echo", json={"a": 1}, headers=headers) as response:
            assert response.status == status
        async with client.post(f"{proxy.url}/v1/echo", json={"a": 2}) as response:  # an agent
            assert response.status == 200
    assert [seen.body_bytes for seen in model_upstream.seen] == [8]
    await sinks.wait(lambda: len(sinks.exchanges) == 1)


async def test_absolute_form_and_decrypted_requests_check_origin_but_not_host(
    start_proxy: StartProxy, sinks: Sinks, ca: LocalCa, loopback: Loopback, model_upstream: Loopback
) -> None:
    proxy = await start_proxy()
    foreign = {"Origin": "https://attacker.example"}
    async with aiohttp.ClientSession() as client:
        # The Host of these names the upstream, never the proxy: it alone refuses nothing.
        async with client.get(f"{loopback.url}/plain/echo", proxy=proxy.url) as response:
            assert response.status == 200
        async with client.get(f"{loopback.url}/plain/echo", proxy=proxy.url, headers=foreign) as response:
            assert response.status == 403
        decrypted = {"proxy": proxy.url, "ssl": client_trusting(ca)}
        async with client.get(f"https://{MODEL_HOST}/v1/echo", **decrypted) as response:
            assert response.status == 200
        cross_site = {"Sec-Fetch-Site": "cross-site"}
        async with client.get(f"https://{MODEL_HOST}/v1/echo", headers=cross_site, **decrypted) as response:
            assert response.status == 403
    assert [seen.path for seen in loopback.seen] == ["/plain/echo"]
    assert [seen.path for seen in model_upstream.seen] == ["/v1/echo"]
    await sinks.wait(lambda: len(sinks.exchanges) == 2)


@pytest.mark.parametrize(
    "first_bytes",
    [b"", b"CONN", b"GET /v1/echo HTTP/1.1\r\nHost: 127.0.0.1\r\n"],
    ids=["silent", "half-a-connect", "half-a-request"],
)
async def test_idle_connections_are_closed(start_proxy: StartProxy, first_bytes: bytes) -> None:
    proxy = await start_proxy(idle_timeout_s=0.5)
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    writer.write(first_bytes)
    try:
        assert await asyncio.wait_for(reader.read(), 5) == b""
    finally:
        writer.close()
