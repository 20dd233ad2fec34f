"""The first bytes of a forward-proxy connection: a CONNECT, or anything else for aiohttp's server.

Only the method is looked at (does the connection start with "CONNECT "?). A CONNECT head is parsed by
aiohttp's HTTP parser and handed to the owner (`connect_requested`), with reading paused: what follows
belongs to TLS or a tunnel. Any other first bytes are handed, untouched, to the owner's aiohttp server
(`plain_server`), which parses them as it would on a socket of its own. A connection that sends no
complete first line within the owner's `idle_timeout_s` is closed: idle sockets must not pile up
(issue 15); from the hand-over on, aiohttp's own keep-alive timeout watches the connection.

This module knows nothing about TLS, tunnels, clients or the trace.
"""

from __future__ import annotations

import asyncio
from typing import Protocol

from aiohttp import web
from aiohttp.base_protocol import BaseProtocol
from aiohttp.http import HttpRequestParser
from aiohttp.http_exceptions import HttpProcessingError
from yarl import URL

from claude_tap.proxy.http_server import refusal_reason
from claude_tap.proxy.relay import MAX_HEADER_LINE_BYTES

_CONNECT = b"CONNECT "


class FrontOwner(Protocol):
    @property
    def plain_server(self) -> web.Server | None: ...  # None: stopping

    @property
    def idle_timeout_s(self) -> float: ...

    def refused(self, reason: str) -> None: ...  # a CONNECT head the parser refused

    def connect_requested(
        self, transport: asyncio.Transport, front: FrontProtocol, url: URL, tail: bytes
    ) -> None: ...


def refuse(transport: asyncio.Transport, status: bytes) -> None:
    """Answer `status` ("400 Bad Request") and close."""
    if not transport.is_closing():
        transport.write(b"HTTP/1.1 " + status + b"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        transport.close()


class FrontProtocol(asyncio.Protocol):
    """The first bytes of a connection: a CONNECT head is parsed here; anything else goes to aiohttp."""

    def __init__(self, proxy: FrontOwner) -> None:
        self._proxy = proxy
        self._transport: asyncio.Transport | None = None
        self._seen = bytearray()
        self._parser: HttpRequestParser | None = None
        self._connecting = False
        self._idle: asyncio.TimerHandle | None = None
        # Decrypted bytes that arrive with the end of the TLS handshake, before start_tls() returns
        # (a client may send its request in the same packet as its Finished message).
        self.early = bytearray()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        self._idle = asyncio.get_running_loop().call_later(self._proxy.idle_timeout_s, transport.close)

    def data_received(self, data: bytes) -> None:
        transport = self._transport
        assert transport is not None
        if self._connecting:
            self.early += data
            return
        if self._parser is None:
            self._seen += data
            start = bytes(self._seen[: len(_CONNECT)])
            if not _CONNECT.startswith(start):  # not a CONNECT: aiohttp's server takes the connection
                self._hand_to_http_server(transport, bytes(self._seen))
                return
            if len(self._seen) < len(_CONNECT):
                return
            loop = asyncio.get_running_loop()
            self._parser = HttpRequestParser(
                BaseProtocol(loop),
                loop,
                2**16,
                max_line_size=MAX_HEADER_LINE_BYTES,
                max_field_size=MAX_HEADER_LINE_BYTES,
            )
            data = bytes(self._seen)
        try:
            messages, _, tail = self._parser.feed_data(data)
        except HttpProcessingError as error:
            refuse(transport, b"400 Bad Request")
            self._stop_idle_timer()
            self._proxy.refused(refusal_reason(400, error))
            return
        if messages:
            self._connecting = True
            self._stop_idle_timer()  # the CONNECT is handled now (TLS and tunnels have their own timeouts)
            transport.pause_reading()  # the rest belongs to TLS or the tunnel
            self._proxy.connect_requested(transport, self, messages[0][0].url, bytes(tail))

    def _hand_to_http_server(self, transport: asyncio.Transport, first: bytes) -> None:
        self._stop_idle_timer()
        server = self._proxy.plain_server
        if server is None:  # stopping
            transport.close()
            return
        handler = server()
        transport.set_protocol(handler)
        handler.connection_made(transport)
        handler.data_received(first)

    def _stop_idle_timer(self) -> None:
        if self._idle is not None:
            self._idle.cancel()
            self._idle = None

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_idle_timer()
        self._transport = None
