"""Refuse what web pages send to our local servers: DNS rebinding and cross-origin requests.

The proxy and the live viewer listen on loopback, but any web page the user opens can make the
browser send requests there: to `http://127.0.0.1:PORT` directly (cross-origin), or to a name of
the attacker's that they re-point at 127.0.0.1 once the page is loaded (DNS rebinding), which makes
the page "same-origin" with our server. Agents never do either; browsers always say so:

    Host            names the server as the page knows it: a rebinding attack's own name. Only our
                    loopback names and the address we listen on are accepted (unless we listen on a
                    non-loopback address, where the user chose to be reached by other names).
    Origin          sent by browsers with every cross-origin request and every POST: only our own
                    origin is accepted ("null", from a sandboxed frame or a file:// page, is not).
    Sec-Fetch-Site  sent by browsers with every request: "cross-site" and "same-site" are refused.

    guard = Guard.for_server("127.0.0.1", port)
    refusal = guard.check(request.headers)   # None, or (status, reason) to answer with

`guard_middleware` wraps the check for an aiohttp Application; a low-level `web.Server` (the
reverse proxy) calls `refuse` at the top of its handler. Knows nothing about what is served.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from aiohttp import web
from aiohttp.typedefs import Middleware

from claude_tap.proxy.upstream import is_loopback_host

logger = logging.getLogger(__name__)

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
_FOREIGN_FETCH_SITES = frozenset({"cross-site", "same-site"})

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True, slots=True)
class Refusal:
    status: int  # 421 Misdirected Request for a foreign Host, 403 for a foreign page
    reason: str


@dataclass(frozen=True, slots=True)
class Guard:
    """The Hosts (None: any) and Origins a server answers."""

    hosts: frozenset[str] | None  # names, without the port: a rebinding page's Host is its own name
    origins: frozenset[str]

    @classmethod
    def for_server(cls, host: str, port: int) -> Guard:
        """The guard of a server listening on `host:port`: its loopback names, or any Host when it
        listens on a non-loopback address (0.0.0.0, a LAN address: other machines use other names)."""
        shown = f"[{host.strip('[]')}]" if ":" in host else host
        names = frozenset({*LOOPBACK_NAMES, shown.lower()})
        origins = frozenset(f"http://{name}:{port}" for name in names)
        return cls(names if is_loopback_host(host) else None, origins)

    def check(self, headers: Mapping[str, str]) -> Refusal | None:
        """Why a request with these headers must be refused, or None when it may pass."""
        host = headers.get("Host", "").strip().lower()
        if self.hosts is not None and _host_name(host) not in self.hosts:
            return Refusal(421, f"Host {host or '(none)'!r} is not this server (DNS rebinding?)")
        origin = headers.get("Origin")
        if origin is not None and origin.strip().lower() not in self.origins:
            return Refusal(403, f"a web page at {origin!r} may not use this server")
        fetch_site = headers.get("Sec-Fetch-Site", "").strip().lower()
        if fetch_site in _FOREIGN_FETCH_SITES:
            return Refusal(403, f"a {fetch_site} web page may not use this server")
        return None

    def refuse(self, request: web.BaseRequest) -> web.Response | None:
        """The answer to a request `check` refuses (logged), or None when it may pass."""
        refusal = self.check(request.headers)
        if refusal is None:
            return None
        logger.warning("refused %s %s: %s", request.method, request.path, refusal.reason)
        return web.Response(status=refusal.status, text=f"{refusal.status}: claude-tap {refusal.reason}.\n")


def guard_middleware(guard: Callable[[], Guard | None]) -> Middleware:
    """An aiohttp middleware applying the guard `guard()` returns (None until the server listens)."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        current = guard()
        refusal = current.refuse(request) if current is not None else None
        return refusal if refusal is not None else await handler(request)

    return middleware


def _host_name(host: str) -> str:
    """A Host header without its port: "127.0.0.1:8080" -> "127.0.0.1", "[::1]:80" -> "[::1]"."""
    if host.startswith("["):
        return host.partition("]")[0] + "]"
    return host.partition(":")[0]
