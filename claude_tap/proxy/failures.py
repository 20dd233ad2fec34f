"""How the proxy names what went wrong: a short cause for people, and the status the client gets.

`connect_failure` turns an exception raised before the upstream answered into an `UpstreamFailure`
(502, or 504 for a timeout) whose message names the upstream URL (without its query, which may
hold a key) and the cause. `fail` records the
end of an exchange once: its first ending is the true one, later ones are echoes.

This module knows nothing about clients or API formats.
"""

from __future__ import annotations

import re
import ssl
import time

import aiohttp

from claude_tap.capture.exchange import Exchange, Failed

# A URL's query inside an exception's text: aiohttp's ClientResponseError (e.g. a bad status line)
# ends with url='...?key=...', and the message goes to the client, the trace and proxy.log.
_URL_QUERY_RE = re.compile(r"(\b[a-z][a-z0-9+.-]*://[^\s?'\"]*)\?[^\s'\"]*", re.IGNORECASE)


class UpstreamFailure(Exception):
    """No usable response came from the upstream; the client gets `status` and `message` instead."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def describe(
    exc: BaseException, *, connect_timeout_s: float | None = None, read_timeout_s: float | None = None
) -> str:
    """A short cause, e.g. "TLS certificate not trusted: ..." or "connection failed: Connection refused"."""
    detail = _URL_QUERY_RE.sub(r"\1", str(exc)) or type(exc).__name__
    match exc:
        case aiohttp.ConnectionTimeoutError():
            return f"no connection within the connect timeout{_seconds(connect_timeout_s)}"
        case TimeoutError():
            return f"no data within the read timeout{_seconds(read_timeout_s)}"
        case aiohttp.ClientConnectorCertificateError():
            return f"TLS certificate not trusted: {exc.certificate_error}"
        case aiohttp.ClientSSLError() | ssl.SSLError():
            return f"TLS handshake failed: {detail}"
        case aiohttp.ClientConnectorError():
            return f"connection failed: {exc.os_error.strerror or exc.os_error}"
        case aiohttp.ServerDisconnectedError():
            return "the upstream closed the connection without answering"
        case aiohttp.ClientPayloadError():
            return f"the response was cut short: {detail}"
        case _:
            return f"{type(exc).__name__}: {detail}"


def _seconds(value: float | None) -> str:
    return "" if value is None else f" ({value:g} s)"


class RequestBodyRefused(Exception):
    """The HTTP parser refused the rest of a request body being read (a malformed chunk): raised by
    the body's reader (proxy/http_server.py); the message is the refusal's reason."""


def connect_failure(
    upstream_url: str, exc: BaseException, *, connect_timeout_s: float, read_timeout_s: float
) -> UpstreamFailure:
    """The failure to report when `exc` was raised before the upstream sent a status line."""
    cause = describe(exc, connect_timeout_s=connect_timeout_s, read_timeout_s=read_timeout_s)
    status = 504 if isinstance(exc, TimeoutError) else 502
    return UpstreamFailure(
        status, f"claude-tap could not get a response from {without_query(upstream_url)}: {cause}"
    )


def without_query(url: str) -> str:
    """`url` for messages and logs: the query may carry an API key (e.g. Gemini's ?key=)."""
    return url.partition("?")[0]


def fail(exchange: Exchange, reason: str, *, by_client: bool = False, by_stop: bool = False) -> None:
    """Record that `exchange` ended early, unless it has already ended."""
    if not exchange.is_done:
        exchange.feed(Failed(time.monotonic(), reason, by_client=by_client, by_stop=by_stop))
