"""Forward mode: an HTTP(S) proxy that decrypts model hosts and tunnels everything else (DESIGN section 3).

The child gets HTTPS_PROXY/HTTP_PROXY pointing here. Each connection starts with one of:

    CONNECT host:port      host decrypted: answer 200, TLS with a leaf for `host` from the local CA
                           (ALPN http/1.1), then aiohttp's own HTTP server parses the decrypted stream
                           and every request goes to the shared `Relay` as https://host:port + path;
                           any other host: a blind tunnel (tunnel.py), recorded as a `tunnel` line
    POST http://host/path  absolute-form, in clear (https:// too): forwarded to that URL and recorded
    POST /v1/messages      origin-form, straight at the proxy port: the configured target, as in
                           reverse mode

So there is one pipeline: after TLS the bytes meet the same relay, capture and recording as reverse
mode. Only the first bytes of a connection are looked at (front.py: does it start with "CONNECT "?);
the CONNECT head is read by aiohttp's HTTP parser, everything else goes to aiohttp's server untouched.

Decrypted: `intercept_hosts` (the client adapter's model hosts plus the target's host), or every host
with `intercept_all`. The capture watchdog (watchdog.py) hears about rejected certificates and requests.

Web pages (guard.py): an origin-form request is checked like one to the reverse proxy (Host, Origin,
Sec-Fetch-Site); an absolute-form or decrypted request names the upstream in its Host, so only its
Origin and Sec-Fetch-Site are checked. Connections idle for `idle_timeout_s` are closed, before their
first byte and between requests alike.

This module knows nothing about clients, API formats or the trace file.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import ssl
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from aiohttp import web
from yarl import URL

from claude_tap.proxy.ca import LocalCa
from claude_tap.proxy.failures import describe
from claude_tap.proxy.front import FrontProtocol, refuse
from claude_tap.proxy.guard import Guard
from claude_tap.proxy.http_server import http_server
from claude_tap.proxy.relay import (
    ErrorBody,
    ExchangeSink,
    Relay,
    RelaySettings,
    openai_error_body,
)
from claude_tap.proxy.resolve import Resolve, bypass_proxy_for
from claude_tap.proxy.resolver import MappedResolver
from claude_tap.proxy.reverse import IDLE_CONNECTION_TIMEOUT_S
from claude_tap.proxy.tunnel import Tunnel, TunnelError, open_tunnel, tunnel_record
from claude_tap.proxy.upstream import (
    Target,
    build_upstream_url,
    is_loopback_host,
    proxy_credentials,
    proxy_for,
)
from claude_tap.proxy.watchdog import CaptureWatchdog, untrusted_alert

_SHUTDOWN_GRACE_S = 1.0
_TLS_HANDSHAKE_TIMEOUT_S = 30.0
_ESTABLISHED = b"HTTP/1.1 200 Connection established\r\n\r\n"
_ABSOLUTE_SCHEMES = {"http": "http", "https": "https", "ws": "http", "wss": "https"}


class RecordSink(Protocol):
    """Where ready records (tunnel, notice) go: the trace writer's `submit_record`."""

    def submit_record(self, record: dict[str, Any], block: bool = ...) -> bool: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class ForwardConfig:
    target: str  # where origin-form requests go; checked by Target.parse
    strip_path_prefix: str | None = None
    intercept_hosts: frozenset[str] = frozenset()  # lower-case names decrypted
    intercept_all: bool = False
    resolve: tuple[Resolve, ...] = ()
    host: str = "127.0.0.1"
    port: int = 0
    error_body: ErrorBody = openai_error_body
    connect_timeout_s: float = 30.0
    read_timeout_s: float = 600.0
    idle_timeout_s: float = IDLE_CONNECTION_TIMEOUT_S  # a connection without a request this long is closed
    env: Mapping[str, str] | None = None  # the tap's own HTTP(S)_PROXY/NO_PROXY; None: os.environ
    upstream_ssl: ssl.SSLContext | None = None  # None: the system's trust store
    idle_warning_s: float | None = None  # watchdog: warn when no request came this long after start
    who: str = "the client"  # for the watchdog's lines, e.g. "Claude Code"

    def __post_init__(self) -> None:
        Target.parse(self.target)


@dataclass
class _Counts:
    connects: int = 0
    intercepted: int = 0
    tunnels: int = 0
    tunnel_failures: int = 0
    handshake_failures: int = 0
    hosts_tunnelled: set[str] = field(default_factory=set)


class ForwardProxy:
    """Serves `config.host:config.port` as an HTTP proxy; see the module docstring."""

    def __init__(
        self,
        config: ForwardConfig,
        sink: ExchangeSink,
        records: RecordSink | None,
        ca: LocalCa,
        log: logging.Logger,
        warn: Callable[[str], None],
    ) -> None:
        self.config = config
        self.ca = ca
        self._target = Target.parse(config.target)
        self._records = records
        self._log = log
        self._resolver = MappedResolver(config.resolve)
        self._relay = Relay(
            sink,
            log,
            RelaySettings(
                error_body=config.error_body,
                connect_timeout_s=config.connect_timeout_s,
                read_timeout_s=config.read_timeout_s,
                upstream_ssl=config.upstream_ssl,
                resolver=self._resolver,
            ),
        )
        self.watchdog = CaptureWatchdog(warn, self._submit, who=config.who, ca_path=str(ca.cert_path))
        self.counts = _Counts()
        self._env: Mapping[str, str] = {}
        self._server: asyncio.Server | None = None
        self._plain: web.Server | None = None
        self._decrypted: set[web.Server] = set()
        self._tunnels: set[Tunnel] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._guard: Guard | None = None  # set once the port is known
        self.port: int | None = None
        self.url: str | None = None

    @property
    def submit_failures(self) -> int:
        return self._relay.submit_failures

    async def start(self) -> str:
        """Listen and return the proxy URL for HTTPS_PROXY, e.g. "http://127.0.0.1:54321"."""
        config = self.config
        self._env = bypass_proxy_for(os.environ if config.env is None else config.env, config.resolve)
        self._relay.stopping = False
        await self._relay.open(self._env)
        self._plain = self._http_server(self._handle_plain)
        loop = asyncio.get_running_loop()
        try:
            self._server = await loop.create_server(lambda: FrontProtocol(self), config.host, config.port)
        except BaseException:
            await self._relay.close()
            raise
        self.port = self._server.sockets[0].getsockname()[1]
        self._guard = Guard.for_server(config.host, self.port)
        host = f"[{config.host}]" if ":" in config.host else config.host
        self.url = f"http://{host}:{self.port}"
        if not is_loopback_host(config.host):
            self._log.warning("listening on %s: reachable from other machines, not just this one", self.url)
        decrypted = "every host" if config.intercept_all else ", ".join(sorted(config.intercept_hosts))
        self._log.info(
            "forward proxy %s decrypts %s; origin-form -> %s", self.url, decrypted, self._target.url
        )
        self.watchdog.start(config.idle_warning_s)
        return self.url

    async def stop(self) -> None:
        """Stop listening, let exchanges finish for a short grace, close tunnels and upstream connections."""
        self.watchdog.stop()
        self._relay.stopping = True
        if self._server is not None:
            self._server.close()
        servers = [s for s in (self._plain, *self._decrypted) if s is not None]
        for server in servers:
            server.pre_shutdown()
        await asyncio.gather(*(server.shutdown(_SHUTDOWN_GRACE_S) for server in servers))
        for tunnel in list(self._tunnels):
            tunnel.close()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(_SHUTDOWN_GRACE_S):
                    await self._server.wait_closed()
            self._server = None
        await self._relay.close()
        await self._resolver.close()
        self._log.info(
            "forward proxy: %d CONNECTs, %d decrypted, %d tunnelled (%d failed), %d TLS handshakes failed",
            self.counts.connects,
            self.counts.intercepted,
            self.counts.tunnels,
            self.counts.tunnel_failures,
            self.counts.handshake_failures,
        )

    # -- what is decrypted, and where requests go ---------------------------------------------------

    def decrypts(self, host: str) -> bool:
        return self.config.intercept_all or host.lower() in self.config.intercept_hosts

    def _http_server(self, handler: Callable[[web.BaseRequest], Awaitable[web.StreamResponse]]) -> web.Server:
        return http_server(handler, self.refused, keepalive_timeout_s=self.config.idle_timeout_s)

    def refused(self, reason: str) -> None:
        """A request the HTTP parser refused (http_server.py, front.py): recorded as only a failure."""
        self._relay.refused(reason)

    @property
    def idle_timeout_s(self) -> float:
        return self.config.idle_timeout_s

    async def _handle_plain(self, request: web.BaseRequest) -> web.StreamResponse:
        """A request in clear: absolute-form goes where it says, origin-form to the target."""
        upstream_url = absolute_form_url(request.raw_path)
        if (refused := self._refuse(request, names_upstream=upstream_url is not None)) is not None:
            return refused
        self.watchdog.saw_request()
        if upstream_url is None:
            upstream_url = build_upstream_url(self._target, request.raw_path, self.config.strip_path_prefix)
        return await self._relay.handle(request, upstream_url)

    async def _handle_decrypted(self, origin: str, request: web.BaseRequest) -> web.StreamResponse:
        if (refused := self._refuse(request, names_upstream=True)) is not None:
            return refused
        self.watchdog.saw_request()
        upstream_url = absolute_form_url(request.raw_path) or origin + request.raw_path
        return await self._relay.handle(request, upstream_url)

    def _refuse(self, request: web.BaseRequest, *, names_upstream: bool) -> web.Response | None:
        """The answer to a web page's request (guard.py), or None for an agent's; nothing is recorded.
        A request whose Host `names_upstream` (absolute-form, decrypted) has only its Origin checked."""
        guard = self._guard
        if guard is None:
            return None
        return (Guard(None, guard.origins) if names_upstream else guard).refuse(request)

    def _submit(self, record: dict[str, Any]) -> None:
        if self._records is None:
            return
        try:
            # Never block the event loop: a full queue drops the line (the writer counts it).
            self._records.submit_record(record, block=False)
        except Exception:
            self._log.exception("recording a %s line failed", record.get("type"))

    # -- CONNECT ------------------------------------------------------------------------------------

    @property
    def plain_server(self) -> web.Server | None:
        return self._plain

    def connect_requested(
        self, transport: asyncio.Transport, front: FrontProtocol, url: URL, tail: bytes
    ) -> None:
        task = asyncio.get_running_loop().create_task(self._connect(transport, front, url, tail))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _connect(
        self, transport: asyncio.Transport, front: FrontProtocol, url: URL, tail: bytes
    ) -> None:
        self.counts.connects += 1
        host, port = (url.host or "").lower(), url.port or 443
        if not host:
            refuse(transport, b"400 Bad Request")
            return
        try:
            if self.decrypts(host):
                await self._decrypt(transport, front, host, port, tail)
            else:
                await self._tunnel(transport, host, port, tail)
        except asyncio.CancelledError:  # stop() during a handshake or a connect: the client goes too
            transport.close()
            raise

    async def _decrypt(
        self, transport: asyncio.Transport, front: FrontProtocol, host: str, port: int, tail: bytes
    ) -> None:
        if tail:  # TLS bytes sent before our 200: no client does that; it would break the handshake
            refuse(transport, b"400 Bad Request")
            return
        context = self.ca.server_context(host)
        transport.write(_ESTABLISHED)
        loop = asyncio.get_running_loop()
        try:
            tls = await loop.start_tls(
                transport, front, context, server_side=True, ssl_handshake_timeout=_TLS_HANDSHAKE_TIMEOUT_S
            )
        except ssl.SSLError as error:
            self.counts.handshake_failures += 1
            alert = untrusted_alert(error.reason)
            if alert is not None:
                self.watchdog.rejected_certificate(host, alert)
            self._log.info("TLS handshake with the client for %s failed: %s", host, error.reason or error)
            transport.close()
            return
        except (OSError, TimeoutError) as error:
            self.counts.handshake_failures += 1
            # Python's asyncio clients close without an alert; only an alert says why, so only it warns.
            self._log.info("TLS handshake with the client for %s failed: %s", host, describe(error))
            transport.close()
            return
        if tls is None:  # the client went away during the handshake
            return
        self.counts.intercepted += 1
        shown = f"[{host}]" if ":" in host else host
        origin = f"https://{shown}" if port == 443 else f"https://{shown}:{port}"
        for server in [s for s in self._decrypted if not s.connections]:
            self._decrypted.discard(server)  # its connections are over
        server = self._http_server(functools.partial(self._handle_decrypted, origin))
        self._decrypted.add(server)
        handler = server()
        tls.set_protocol(handler)
        handler.connection_made(tls)
        if front.early:
            handler.data_received(bytes(front.early))

    async def _tunnel(self, transport: asyncio.Transport, host: str, port: int, tail: bytes) -> None:
        connect_to = self._resolver.address_for(host, port)
        proxy_url = proxy_for(f"https://{host}:{port}", self._env)
        proxy: tuple[str, int, str | None] | None = None
        if proxy_url is not None:
            bare, authorization = proxy_credentials(proxy_url)
            parsed = URL(bare)
            proxy = (parsed.host or "127.0.0.1", parsed.port or 80, authorization)
        try:
            tunnel = await open_tunnel(
                transport,
                host,
                port,
                connect_to=connect_to,
                proxy=proxy,
                timeout_s=self.config.connect_timeout_s,
                answer=_ESTABLISHED,
                client_tail=tail,
            )
        except TunnelError as error:
            self.counts.tunnel_failures += 1
            self._log.info("tunnel to %s:%d failed: %s", host, port, error)
            refuse(transport, b"502 Bad Gateway")
            failed = Tunnel(host, port, via_proxy=proxy is not None)
            self._submit(tunnel_record(failed, str(error)))
            return
        self.counts.tunnels += 1
        self.counts.hosts_tunnelled.add(host)
        self.watchdog.tunnelled(host)
        self._tunnels.add(tunnel)
        try:
            await tunnel.closed.wait()
        finally:
            self._tunnels.discard(tunnel)
            tunnel.close()
            self._submit(tunnel_record(tunnel))


def absolute_form_url(raw_path: str) -> str | None:
    """The upstream URL of an absolute-form request target ("https://host/p?q"), else None.
    ws:// and wss:// become http:// and https:// (the relay chooses the WebSocket scheme)."""
    scheme, sep, rest = raw_path.partition("://")
    mapped = _ABSOLUTE_SCHEMES.get(scheme.lower()) if sep else None
    if mapped is None or not rest or rest.startswith("/"):
        return None
    authority, slash, path = rest.partition("/")
    return f"{mapped}://{authority}/{path}" if slash else f"{mapped}://{authority}/"
