"""Reverse mode: a local HTTP server that stands in for the upstream's base URL (DESIGN section 3).

The client's base-URL variable (e.g. ANTHROPIC_BASE_URL) points here. Every request, plain, SSE or
WebSocket upgrade, is forwarded to `build_upstream_url(target, path, strip_path_prefix)` by the
shared `Relay`; this module only runs the server and decides where requests go.

    proxy = ReverseProxy(ProxyConfig(target="https://api.anthropic.com"), sink, log)
    base_url = await proxy.start()      # e.g. "http://127.0.0.1:54321"
    ...
    await proxy.stop()

This module knows nothing about clients, API formats or the trace file.
"""

from __future__ import annotations

import logging
import os
import ssl
from collections.abc import Mapping
from dataclasses import dataclass

from aiohttp import web

from claude_tap.proxy.guard import Guard
from claude_tap.proxy.http_server import http_server
from claude_tap.proxy.relay import (
    ErrorBody,
    ExchangeSink,
    Relay,
    RelaySettings,
    openai_error_body,
)
from claude_tap.proxy.upstream import Target, build_upstream_url, is_loopback_host

# How long stop() lets in-flight exchanges finish before cutting them (the client has usually exited).
_SHUTDOWN_GRACE_S = 1.0
# How long a connection may sit without a request, before its first one and between two (aiohttp's
# default is an hour): under a low file-descriptor limit a few hundred idle sockets would otherwise
# lock the agent out (issue 15). Clients expect this: Node's own HTTP server closes after 5 s.
IDLE_CONNECTION_TIMEOUT_S = 15.0


@dataclass(frozen=True, slots=True, kw_only=True)
class ProxyConfig:
    target: str  # e.g. "https://chatgpt.com/backend-api/codex"; checked by Target.parse
    strip_path_prefix: str | None = None  # e.g. "/v1" (spec: URL Construction Rules)
    host: str = "127.0.0.1"
    port: int = 0  # 0: any free port
    # The error body (bytes, content type) the client's API would send for a status and a message.
    error_body: ErrorBody = openai_error_body
    connect_timeout_s: float = 30.0
    read_timeout_s: float = 600.0  # longest silence from the upstream, between chunks too
    env: Mapping[str, str] | None = None  # HTTP(S)_PROXY/NO_PROXY source; None: os.environ at start()
    upstream_ssl: ssl.SSLContext | None = None  # None: the system's trust store

    def __post_init__(self) -> None:
        Target.parse(self.target)  # raises ValueError quoting the target


class ReverseProxy:
    """Serves `config.host:config.port` and forwards everything to the configured target."""

    def __init__(self, config: ProxyConfig, sink: ExchangeSink, log: logging.Logger) -> None:
        self.config = config
        self._target = Target.parse(config.target)
        self._log = log
        self._relay = Relay(
            sink,
            log,
            RelaySettings(
                error_body=config.error_body,
                connect_timeout_s=config.connect_timeout_s,
                read_timeout_s=config.read_timeout_s,
                upstream_ssl=config.upstream_ssl,
            ),
        )
        self._runner: web.ServerRunner | None = None
        self._guard: Guard | None = None  # set once the port is known
        self.port: int | None = None
        self.url: str | None = None

    @property
    def submit_failures(self) -> int:
        """Exchanges the sink refused (logged when they happened); report them at exit."""
        return self._relay.submit_failures

    async def start(self) -> str:
        """Listen and return the base URL clients should use, e.g. "http://127.0.0.1:54321"."""
        config = self.config
        self._relay.stopping = False
        await self._relay.open(os.environ if config.env is None else config.env)
        server = http_server(self._handle, self._relay.refused, keepalive_timeout_s=IDLE_CONNECTION_TIMEOUT_S)
        runner = web.ServerRunner(server, shutdown_timeout=_SHUTDOWN_GRACE_S)
        await runner.setup()
        try:
            await web.TCPSite(runner, config.host, config.port).start()
        except BaseException:
            await runner.cleanup()
            await self._relay.close()
            raise
        self._runner = runner
        self.port = runner.addresses[0][1]
        self._guard = Guard.for_server(config.host, self.port)
        host = f"[{config.host}]" if ":" in config.host else config.host
        self.url = f"http://{host}:{self.port}"
        if not is_loopback_host(config.host):
            self._log.warning("listening on %s: reachable from other machines, not just this one", self.url)
        strip = f" (strip {config.strip_path_prefix})" if config.strip_path_prefix else ""
        self._log.info("reverse proxy %s -> %s%s", self.url, self._target.url, strip)
        return self.url

    async def stop(self) -> None:
        """Stop listening, cut exchanges still running after a short grace, close upstream connections."""
        self._relay.stopping = True
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        await self._relay.close()

    async def _handle(self, request: web.BaseRequest) -> web.StreamResponse:
        if self._guard is not None and (refused := self._guard.refuse(request)) is not None:
            return refused  # a web page, not an agent (proxy/guard.py); nothing to record
        upstream_url = build_upstream_url(self._target, request.raw_path, self.config.strip_path_prefix)
        return await self._relay.handle(request, upstream_url)
