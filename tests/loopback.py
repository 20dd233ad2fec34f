"""A stand-in for the vendor API: a real aiohttp server on 127.0.0.1, the only fake our tests use.

Routes are chosen by the last segment of the path, so any prefix works ("/v1/sse", "/backend-api/sse");
parameters come from the query string. Anything not listed is echoed.

    echo                      JSON: method, path (raw, with query), headers, body_sha256, body_bytes
    sse?n=3&delay_ms=0        text/event-stream: n events `data: {"i": i}`, delay_ms apart
    sse-die?n=2               n events, then the connection is aborted (no terminating chunk)
    cut?total=1000&send=500   Content-Length: total, `send` bytes of pattern_bytes, then aborted
    slow?ms=500               nothing at all for ms milliseconds, then a JSON answer
    status?code=429&shape=anthropic|openai
                              that status with the API's error body
    encoded?coding=gzip|br|zstd|deflate
                              ENCODED_JSON compressed, with Content-Encoding
    large?bytes=N             pattern_bytes(N), with X-Body-Sha256
    redirect                  302 to ./echo (the proxy must pass it on, not follow it)
    ws?greet=N                WebSocket: N server-initiated texts, then echo; see _websocket

Every request is recorded in `seen` (body hashed as it streams in); a handler cancelled because its
peer went away is recorded in `cancelled`. `route(name, handler)` adds a route for one test (it may
call `record(request)` to appear in `seen`).

Usable from a script too:

    async with Loopback() as upstream:
        print(upstream.url)
"""

from __future__ import annotations

import asyncio
import datetime
import gzip
import hashlib
import ipaddress
import json
import ssl
import tempfile
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import brotli
import zstandard
from aiohttp import WSMsgType, web

Handler = Callable[[web.BaseRequest], Awaitable[web.StreamResponse]]

ENCODED_JSON = json.dumps({"message": "the same bytes, compressed " * 20, "n": 42}).encode()


def encode_body(coding: str, data: bytes) -> bytes:
    """`data` compressed with an HTTP content coding (gzip, br, zstd, deflate, identity)."""
    match coding:
        case "gzip":
            return gzip.compress(data, mtime=0)
        case "br":
            return bytes(brotli.compress(data))
        case "zstd":
            return zstandard.ZstdCompressor().compress(data)
        case "deflate":
            return zlib.compress(data)
        case "identity":
            return data
    raise ValueError(f"unknown content coding {coding!r}")


def pattern_bytes(size: int) -> bytes:
    """`size` deterministic bytes that do not compress to nothing (so sizes stay honest)."""
    block = hashlib.sha256(b"claude-tap").digest() * 2048  # 64 KiB
    return (block * (size // len(block) + 1))[:size]


@dataclass(frozen=True, slots=True)
class Seen:
    method: str
    path: str  # raw, with the query
    headers: tuple[tuple[str, str], ...]
    body_sha256: str
    body_bytes: int

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)


@dataclass
class Loopback:
    host: str = "127.0.0.1"
    ssl_context: ssl.SSLContext | None = None
    seen: list[Seen] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)
    ws_log: list[tuple[str, object]] = field(default_factory=list)  # what the WebSocket route received
    port: int = 0
    _routes: dict[str, Handler] = field(default_factory=dict)
    _runner: web.ServerRunner | None = None
    _cancel_seen: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self._routes.update(
            {
                "echo": self._echo,
                "sse": self._sse,
                "sse-die": self._sse_die,
                "cut": self._cut,
                "slow": self._slow,
                "status": self._status,
                "encoded": self._encoded,
                "large": self._large,
                "redirect": self._redirect,
                "ws": self._websocket,
            }
        )

    @property
    def url(self) -> str:
        scheme = "https" if self.ssl_context else "http"
        return f"{scheme}://{self.host}:{self.port}"

    def route(self, name: str, handler: Handler) -> None:
        self._routes[name] = handler

    async def start(self) -> str:
        server = web.Server(self._dispatch, handler_cancellation=True, access_log=None, auto_decompress=False)
        self._runner = web.ServerRunner(server, shutdown_timeout=0.5)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, 0, ssl_context=self.ssl_context).start()
        self.port = self._runner.addresses[0][1]
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Loopback:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def wait_cancelled(self, timeout_s: float = 2.0) -> list[str]:
        """Wait until some handler has been cancelled because its peer left; returns `cancelled`."""
        await asyncio.wait_for(self._cancel_seen.wait(), timeout_s)
        return self.cancelled

    async def _dispatch(self, request: web.BaseRequest) -> web.StreamResponse:
        name = request.path.rstrip("/").rsplit("/", 1)[-1]
        handler = self._routes.get(name, self._echo)
        try:
            return await handler(request)
        except asyncio.CancelledError:
            self.cancelled.append(request.raw_path)
            self._cancel_seen.set()
            raise

    async def record(self, request: web.BaseRequest) -> Seen:
        """Read the request body (hashing it as it streams in) and add the request to `seen`."""
        digest = hashlib.sha256()
        size = 0
        async for chunk in request.content.iter_any():
            digest.update(chunk)
            size += len(chunk)
        seen = Seen(
            request.method, request.raw_path, tuple(request.headers.items()), digest.hexdigest(), size
        )
        self.seen.append(seen)
        return seen

    async def _echo(self, request: web.BaseRequest) -> web.StreamResponse:
        seen = await self.record(request)
        return web.json_response(
            {
                "method": seen.method,
                "path": seen.path,
                "headers": [list(pair) for pair in seen.headers],
                "body_sha256": seen.body_sha256,
                "body_bytes": seen.body_bytes,
            }
        )

    async def _sse(self, request: web.BaseRequest) -> web.StreamResponse:
        await self.record(request)
        n = int(request.query.get("n", "3"))
        delay_s = int(request.query.get("delay_ms", "0")) / 1000
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        )
        await response.prepare(request)
        for i in range(n):
            if i and delay_s:
                await asyncio.sleep(delay_s)
            await response.write(f'data: {{"i": {i}}}\n\n'.encode())
        await response.write_eof()
        return response

    async def _sse_die(self, request: web.BaseRequest) -> web.StreamResponse:
        await self.record(request)
        n = int(request.query.get("n", "2"))
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        for i in range(n):
            await response.write(f'data: {{"i": {i}}}\n\n'.encode())
        await asyncio.sleep(0.05)  # let the events reach the peer before the connection dies
        _abort(request)
        return response

    async def _cut(self, request: web.BaseRequest) -> web.StreamResponse:
        await self.record(request)
        total = int(request.query.get("total", "1000"))
        send = int(request.query.get("send", str(total // 2)))
        response = web.StreamResponse(headers={"Content-Type": "application/octet-stream"})
        response.content_length = total
        await response.prepare(request)
        await response.write(pattern_bytes(total)[:send])
        await asyncio.sleep(0.05)
        _abort(request)
        return response

    async def _slow(self, request: web.BaseRequest) -> web.StreamResponse:
        await self.record(request)
        await asyncio.sleep(int(request.query.get("ms", "500")) / 1000)
        return web.json_response({"slow": True})

    async def _status(self, request: web.BaseRequest) -> web.StreamResponse:
        await self.record(request)
        code = int(request.query.get("code", "500"))
        message = f"loopback says {code}"
        body: dict[str, object]
        if request.query.get("shape", "anthropic") == "openai":
            body = {"error": {"message": message, "type": "server_error", "code": str(code)}}
        else:
            body = {"type": "error", "error": {"type": "api_error", "message": message}}
        return web.json_response(body, status=code)

    async def _encoded(self, request: web.BaseRequest) -> web.StreamResponse:
        await self.record(request)
        coding = request.query.get("coding", "gzip")
        return web.Response(
            body=encode_body(coding, ENCODED_JSON),
            headers={"Content-Type": "application/json", "Content-Encoding": coding},
        )

    async def _large(self, request: web.BaseRequest) -> web.StreamResponse:
        await self.record(request)
        body = pattern_bytes(int(request.query.get("bytes", str(1 << 20))))
        return web.Response(
            body=body,
            headers={
                "Content-Type": "application/octet-stream",
                "X-Body-Sha256": hashlib.sha256(body).hexdigest(),
            },
        )

    async def _redirect(self, request: web.BaseRequest) -> web.StreamResponse:
        await self.record(request)
        return web.Response(status=302, headers={"Location": "./echo"})

    async def _websocket(self, request: web.BaseRequest) -> web.StreamResponse:
        """Echoes text and binary. Text commands: "close CODE [REASON]" (server closes), "push N"
        (N server-initiated texts), "ping DATA" (server pings; the pong is logged), "die" (abort).
        A client's close is answered with the same code, as real servers do."""
        await self.record(request)
        ws = web.WebSocketResponse(
            protocols=("realtime", "v2"), autoclose=False, autoping=False, max_msg_size=0
        )
        await ws.prepare(request)
        for i in range(int(request.query.get("greet", "0"))):
            await ws.send_str(f"hello {i}")
        while True:
            msg = await ws.receive()
            self.ws_log.append((msg.type.name.lower(), msg.data))
            if msg.type is WSMsgType.TEXT:
                command, _, arg = msg.data.partition(" ")
                if command == "close":
                    code, _, reason = arg.partition(" ")
                    await ws.close(code=int(code), message=reason.encode())
                    break
                if command == "push":
                    for i in range(int(arg)):
                        await ws.send_str(f"push {i}")
                elif command == "ping":
                    await ws.ping(arg.encode())
                elif command == "die":
                    _abort(request)
                    break
                else:
                    await ws.send_str(msg.data)
            elif msg.type is WSMsgType.BINARY:
                await ws.send_bytes(msg.data)
            elif msg.type is WSMsgType.PING:
                await ws.pong(msg.data)
            elif msg.type is WSMsgType.CLOSE:
                self.ws_log.append(("close_extra", msg.extra))
                await ws.close(code=msg.data)
                break
            elif msg.type is not WSMsgType.PONG:
                break
        return ws


def _abort(request: web.BaseRequest) -> None:
    if request.transport is not None:
        request.transport.abort()


@dataclass
class CountingProxy:
    """A tiny outbound HTTP proxy on 127.0.0.1 that counts requests and forwards only to `forward`.

    `forward` maps "host:port" names to ports on 127.0.0.1, so an upstream can have a name that is
    not loopback (and so goes through the proxy) without anything being resolved. For such a name,
    CONNECT is answered 200 and tunnelled, and an absolute-form request (`GET ws://host/path`) is
    passed on in origin form without its Proxy-* headers, its connection spliced afterwards (so a
    WebSocket upgrade works). For any other name, absolute-form requests get 200 with JSON
    {"proxied": request line} and CONNECT gets 403. `request_lines` lists what arrived, in order.
    """

    forward: dict[str, int] = field(default_factory=dict)
    request_lines: list[str] = field(default_factory=list)
    heads: list[bytes] = field(default_factory=list)  # request line and headers, as received
    port: int = 0
    _server: asyncio.Server | None = None
    _open: set[asyncio.StreamWriter] = field(default_factory=set)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> str:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.url

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for writer in list(self._open):  # tunnels still open; wait_closed() would wait for them
                writer.close()
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._open.add(writer)
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            line = head.split(b"\r\n", 1)[0].decode("latin-1")
            self.heads.append(head)
            self.request_lines.append(line)
            method, target, version = line.split(" ", 2)
            port = self.forward.get(target if method == "CONNECT" else _authority(target))
            if port is not None:
                await self._tunnel(reader, writer, port, None if method == "CONNECT" else head)
            elif method == "CONNECT":
                writer.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            else:
                body = json.dumps({"proxied": line}).encode()
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
                    + f"Content-Length: {len(body)}\r\n\r\n".encode()
                    + body
                )
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self._open.discard(writer)
            writer.close()

    async def _tunnel(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, port: int, head: bytes | None
    ) -> None:
        """Connect to 127.0.0.1:`port`; send `head` in origin form (None: answer a CONNECT); splice."""
        upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", port)
        self._open.add(upstream_writer)
        try:
            if head is None:
                writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            else:
                upstream_writer.write(_origin_form(head))
            await asyncio.gather(_pipe(reader, upstream_writer), _pipe(upstream_reader, writer))
        finally:
            self._open.discard(upstream_writer)
            upstream_writer.close()


def _authority(target: str) -> str:
    """ "host:port" of an absolute-form request target, the port defaulted from the scheme."""
    parts = urlsplit(target)
    default_port = 443 if parts.scheme in ("https", "wss") else 80
    return f"{parts.hostname}:{parts.port or default_port}"


def _origin_form(head: bytes) -> bytes:
    """A proxy request's head as the origin server gets it: path-only target, no Proxy-* headers."""
    request_line, *fields = head.rstrip(b"\r\n").split(b"\r\n")
    method, target, version = request_line.split(b" ", 2)
    parts = urlsplit(target.decode("latin-1"))
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    kept = [f for f in fields if not f.lower().startswith(b"proxy-")]
    return b"\r\n".join([b" ".join([method, path.encode("latin-1"), version]), *kept]) + b"\r\n\r\n"


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Copy bytes until `reader` ends, then close `writer` (which ends the other direction too)."""
    try:
        while chunk := await reader.read(65536):
            writer.write(chunk)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()


@dataclass(frozen=True)
class SelfSignedTls:
    """A certificate for 127.0.0.1 (and any `host_names` asked for) that no trust store knows:
    `server` serves it, `client` trusts it."""

    server: ssl.SSLContext
    client: ssl.SSLContext


def self_signed_tls(*host_names: str) -> SelfSignedTls:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "loopback upstream")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), *map(x509.DNSName, host_names)]
            ),
            False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with tempfile.TemporaryDirectory() as directory:
        cert_path, key_path = Path(directory, "cert.pem"), Path(directory, "key.pem")
        cert_path.write_bytes(cert_pem)
        key_path.write_bytes(key_pem)
        server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        server.load_cert_chain(cert_path, key_path)
    client = ssl.create_default_context(cadata=cert_pem.decode())
    return SelfSignedTls(server=server, client=client)
