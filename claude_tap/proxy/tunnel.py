"""Blind tunnels: a CONNECT to a host forward mode does not decrypt, copied byte for byte both ways.

    tunnel = await open_tunnel(client_transport, "github.com", 443, connect_to, via_proxy, timeout_s)
    ... the bytes flow, with back-pressure, until either side closes ...
    record = tunnel_record(tunnel)           # host, port, bytes each way, duration

The upstream is reached directly (`connect_to` may map the name, see resolve.py) or through the tap's
own upstream proxy with a CONNECT of our own. Reading from one side stops while the other side's write
buffer is full, so a fast sender cannot fill our memory. Half-closes are passed on (EOF one way keeps
the other way open), as a TCP splice would.

This module knows nothing about clients, TLS or HTTP beyond that one CONNECT to an upstream proxy.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

_PROXY_HEAD_LIMIT = 64 * 1024


class TunnelError(Exception):
    """The upstream could not be reached; the message says where and why (no credentials)."""


@dataclass(eq=False)
class Tunnel:
    host: str
    port: int
    via_proxy: bool
    started_wall: float = field(default_factory=time.time)
    started: float = field(default_factory=time.monotonic)
    ended: float | None = None
    bytes_up: int = 0  # client -> upstream
    bytes_down: int = 0  # upstream -> client
    closed: asyncio.Event = field(default_factory=asyncio.Event)
    _client: _Side | None = None
    _upstream: _Side | None = None

    def close(self) -> None:
        for side in (self._client, self._upstream):
            if side is not None and side.transport is not None:
                side.transport.close()


class _Side(asyncio.Protocol):
    """One end of a tunnel: what it reads goes to `peer`'s transport, counted."""

    def __init__(self, tunnel: Tunnel, upstream: bool) -> None:
        self.tunnel = tunnel
        self.upstream = upstream
        self.transport: asyncio.Transport | None = None
        self.peer: _Side | None = None
        self.got_eof = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        if self.upstream:
            self.tunnel.bytes_down += len(data)
        else:
            self.tunnel.bytes_up += len(data)
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.write(data)

    def eof_received(self) -> bool:
        self.got_eof = True
        peer = self.peer.transport if self.peer is not None else None
        if self.peer is None or self.peer.got_eof or peer is None:
            return False  # both directions are done: close (connection_lost closes the peer)
        if peer.can_write_eof() and not peer.is_closing():
            peer.write_eof()
            return True  # keep our own direction open: the other side may still answer
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        # Either side closing closes the other; the tunnel is over when the upstream side is gone,
        # since the client's side closes the upstream's (at once, or in open_tunnel if it left early).
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.close()
        if self.upstream:
            self.tunnel.ended = time.monotonic()
            self.tunnel.closed.set()

    # Our transport's write buffer is full: stop reading from the peer until it drains.
    def pause_writing(self) -> None:
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.pause_reading()

    def resume_writing(self) -> None:
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.resume_reading()


class _ProxyConnect(asyncio.Protocol):
    """Our own CONNECT through an upstream proxy; then the connection becomes a tunnel side."""

    def __init__(self, authority: str, authorization: str | None) -> None:
        self.authority = authority
        self.authorization = authorization
        self.answered: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._head = bytearray()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        lines = [f"CONNECT {self.authority} HTTP/1.1", f"Host: {self.authority}"]
        if self.authorization is not None:
            lines.append(f"Proxy-Authorization: {self.authorization}")
        transport.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))

    def data_received(self, data: bytes) -> None:
        if self.answered.done():
            return
        self._head += data
        end = self._head.find(b"\r\n\r\n")
        if end < 0:
            if len(self._head) > _PROXY_HEAD_LIMIT:
                self.answered.set_exception(TunnelError("the upstream proxy sent an endless answer"))
            return
        status_line = bytes(self._head[: self._head.find(b"\r\n")])
        version, _, rest = status_line.partition(b" ")
        if not version.startswith(b"HTTP/1.") or not rest.startswith(b"200"):
            shown = status_line.decode("latin-1", "replace")[:100]
            self.answered.set_exception(TunnelError(f"the upstream proxy refused the CONNECT: {shown}"))
            return
        self.answered.set_result(bytes(self._head[end + 4 :]))  # bytes the server already sent

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.answered.done():
            self.answered.set_exception(TunnelError("the upstream proxy closed the connection"))


async def open_tunnel(
    client: asyncio.Transport,
    host: str,
    port: int,
    *,
    connect_to: tuple[str, int],
    proxy: tuple[str, int, str | None] | None,
    timeout_s: float,
    answer: bytes,
    client_tail: bytes = b"",
) -> Tunnel:
    """Connect to the upstream, send the client `answer` (our 200 to its CONNECT), then splice `client`
    to the upstream; `client_tail` is what the client sent after its CONNECT head. Raises TunnelError
    when the upstream cannot be reached (the caller answers 502)."""
    loop = asyncio.get_running_loop()
    tunnel = Tunnel(host, port, via_proxy=proxy is not None)
    upstream_side = _Side(tunnel, upstream=True)
    early = b""
    try:
        async with asyncio.timeout(timeout_s):
            if proxy is None:
                transport, _ = await loop.create_connection(lambda: upstream_side, *connect_to)
            else:
                proxy_host, proxy_port, authorization = proxy
                authority = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
                transport, handshake = await loop.create_connection(
                    lambda: _ProxyConnect(authority, authorization), proxy_host, proxy_port
                )
                try:
                    early = await handshake.answered
                except BaseException:
                    transport.close()
                    raise
                transport.set_protocol(upstream_side)
                upstream_side.connection_made(transport)
    except TimeoutError:
        raise TunnelError(f"connecting to {host}:{port} timed out after {timeout_s:g} s") from None
    except OSError as error:
        raise TunnelError(f"cannot connect to {host}:{port}: {error.strerror or error}") from error
    client_side = _Side(tunnel, upstream=False)
    client_side.peer, upstream_side.peer = upstream_side, client_side
    tunnel._client, tunnel._upstream = client_side, upstream_side
    client.set_protocol(client_side)
    client_side.connection_made(client)
    client.write(answer)
    if client_tail:
        client_side.data_received(client_tail)
    if early:
        upstream_side.data_received(early)
    if client.is_closing():  # the client left while we were connecting
        transport.close()
    else:
        client.resume_reading()
    return tunnel


def tunnel_record(tunnel: Tunnel, error: str | None = None) -> dict[str, Any]:
    """The trace line for one tunnel (readers skip record types they do not know)."""
    ended = tunnel.ended if tunnel.ended is not None else time.monotonic()
    return {
        "type": "tunnel",
        "host": tunnel.host,
        "port": tunnel.port,
        "started_at": datetime.fromtimestamp(tunnel.started_wall, UTC).isoformat(timespec="milliseconds"),
        "duration_ms": round((ended - tunnel.started) * 1000, 1),
        "bytes_up": tunnel.bytes_up,
        "bytes_down": tunnel.bytes_down,
        "via_proxy": tunnel.via_proxy,
        "error": error,
    }
