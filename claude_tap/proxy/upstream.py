"""Where a request goes and which headers travel with it: the pure rules of the proxy.

- `Target.parse` turns the user's `--tap-target` into a frozen value once, or raises ValueError quoting it.
- `build_upstream_url` follows the spec's "URL Construction Rules": upstream = target + forwarded path,
  with `strip_path_prefix` removed first (only at a segment boundary) and the query kept byte for byte.
- `request_headers_for_upstream` / `response_headers_for_client` apply the hop-by-hop policy of
  RFC 9110 section 7.6.1: everything else travels unchanged, Content-Length and Content-Encoding included.
- `proxy_for` picks the tap's own outbound proxy from HTTP(S)_PROXY / ALL_PROXY / NO_PROXY (either case).

No sockets, no event loop, no clock. This module knows nothing about clients or API formats.
"""

from __future__ import annotations

import base64
import functools
import ipaddress
import socket
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal
from urllib.parse import unquote, urlsplit

Header = tuple[str, str]

_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}

# RFC 9110 7.6.1 plus the legacy names proxies still see. Any `Proxy-*` header is dropped as well.
_HOP_BY_HOP = frozenset({"connection", "keep-alive", "te", "trailer", "transfer-encoding", "upgrade"})
# The tap answers `Expect: 100-continue` itself (it is the client's peer), so it is not passed on.
_REQUEST_ONLY_DROPS = frozenset({"expect"})


@dataclass(frozen=True, slots=True)
class Target:
    """The upstream the reverse proxy forwards to: `scheme://host[:port][/base/path]`."""

    scheme: Literal["http", "https"]
    host: str  # lower-case; an IPv6 address without brackets
    port: int | None  # None: the scheme's default
    base_path: str  # "" or "/a/b", no trailing slash, percent-encoding as given

    @classmethod
    def parse(cls, text: str) -> Target:
        """Parse `text` (e.g. "https://chatgpt.com/backend-api/codex"); ValueError names what is wrong.

        The message quotes the target without user info, query and fragment: they may hold a
        password or a key, and the message is printed.
        """
        parts = urlsplit(text.strip())
        shown = repr(parts._replace(netloc=parts.netloc.rpartition("@")[2], query="", fragment="").geturl())
        match parts.scheme.lower():
            case "http" | "https" as scheme:
                pass
            case _:
                raise ValueError(f"target {shown}: the scheme must be http or https")
        if not parts.hostname:
            raise ValueError(f"target {shown}: a host is required, e.g. https://api.openai.com")
        if parts.username is not None or parts.password is not None:
            raise ValueError(f"target {shown}: credentials do not belong in the target URL")
        if parts.query or parts.fragment:
            raise ValueError(f"target {shown}: a query or fragment is not allowed in the target")
        try:
            port = parts.port
        except ValueError:
            raise ValueError(f"target {shown}: the port is not a number between 0 and 65535") from None
        return cls(scheme=scheme, host=parts.hostname, port=port, base_path=parts.path.rstrip("/"))

    @property
    def authority(self) -> str:
        """`host[:port]` as it goes into a URL or a Host header."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port is None else f"{host}:{self.port}"

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.authority}{self.base_path}"

    @property
    def origin(self) -> str:
        return f"{self.scheme}://{self.authority}"

    @property
    def websocket_scheme(self) -> Literal["ws", "wss"]:
        return "wss" if self.scheme == "https" else "ws"


@functools.lru_cache(maxsize=64)
def _parse_target(text: str) -> Target:
    return Target.parse(text)


def build_upstream_url(target: str | Target, path_with_query: str, strip_path_prefix: str | None) -> str:
    """The URL to forward to, for a request whose target is `path_with_query` (as the client sent it).

    Three steps, in this order:
    1. `strip_path_prefix` (e.g. "/v1") is removed from the front of the path, but only at a segment
       boundary: "/v1/responses" -> "/responses"; "/v10/x" is left alone.
    2. The path is appended to the target's base path. When the base path already ends in the first
       segments of the path, they are not doubled: ".../v1" + "/v1/chat" -> ".../v1/chat".
    3. The query string is appended unchanged, byte for byte.
    """
    parsed = target if isinstance(target, Target) else _parse_target(target)
    path, question_mark, query = path_with_query.partition("?")
    if not path.startswith("/"):
        path = "/" + path
    path = _strip_prefix(path, strip_path_prefix)
    path = _drop_overlap(parsed.base_path, path)
    return parsed.url + path + question_mark + query


def _strip_prefix(path: str, prefix: str | None) -> str:
    if not prefix or not prefix.strip("/"):
        return path
    prefix = "/" + prefix.strip("/")
    if path == prefix:
        return ""
    if path.startswith(prefix + "/"):
        return path[len(prefix) :]
    return path


def _drop_overlap(base_path: str, path: str) -> str:
    """`path` without its leading segments that repeat the last segments of `base_path` (longest first)."""
    if not base_path or not path:
        return path
    base = base_path.split("/")[1:]
    segments = path.split("/")[1:]
    for size in range(min(len(base), len(segments)), 0, -1):
        if base[-size:] == segments[:size]:
            rest = segments[size:]
            return "/" + "/".join(rest) if rest else ""
    return path


def _connection_tokens(headers: list[Header]) -> frozenset[str]:
    """Header names listed in Connection: they are hop-by-hop for this message only."""
    return frozenset(
        token.strip().lower()
        for name, value in headers
        if name.lower() == "connection"
        for token in value.split(",")
        if token.strip()
    )


def _is_hop_by_hop(lower_name: str, named_by_connection: frozenset[str]) -> bool:
    return lower_name in _HOP_BY_HOP or lower_name.startswith("proxy-") or lower_name in named_by_connection


def request_headers_for_upstream(headers: Iterable[Header], upstream_url: str) -> list[Header]:
    """The client's headers as the upstream should get them, in the client's order.

    Hop-by-hop headers (and those named by Connection) and Expect are dropped; Host becomes the
    upstream's and keeps its place (or comes first when the client sent none); the rest is unchanged.
    """
    headers = list(headers)
    named = _connection_tokens(headers)
    host = ("Host", _host_header(upstream_url))
    forwarded: list[Header] = []
    has_host = False
    for name, value in headers:
        lower = name.lower()
        if lower == "host":
            if not has_host:
                forwarded.append(host)
                has_host = True
        elif not _is_hop_by_hop(lower, named) and lower not in _REQUEST_ONLY_DROPS:
            forwarded.append((name, value))
    if not has_host:
        forwarded.insert(0, host)
    return forwarded


def response_headers_for_client(headers: Iterable[Header]) -> list[Header]:
    """The upstream's response headers minus hop-by-hop ones, in the upstream's order."""
    headers = list(headers)
    named = _connection_tokens(headers)
    return [(name, value) for name, value in headers if not _is_hop_by_hop(name.lower(), named)]


def _host_header(url: str) -> str:
    return urlsplit(url).netloc.rpartition("@")[2]


def is_loopback_host(host: str) -> bool:
    """True for localhost names and loopback addresses (127.0.0.0/8, ::1, ::ffff:127.x.y.z)."""
    host = host.strip("[]").lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return _is_loopback_ipv4_shorthand(host)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


def _is_loopback_ipv4_shorthand(host: str) -> bool:
    """127.1 or 2130706433: spellings the OS connects to 127.0.0.1 that `ipaddress` refuses."""
    if not host or not all(part.isdigit() for part in host.split(".")):
        return False  # a name: inet_aton would not resolve it, but keep to digits and dots anyway
    try:
        packed = socket.inet_aton(host)
    except OSError:
        return False
    return packed[0] == 127


def _env(env: Mapping[str, str], lower_name: str) -> str | None:
    """A proxy variable, lower-case spelling first (as curl and urllib prefer it); "" counts as unset."""
    return env.get(lower_name) or env.get(lower_name.upper()) or None


def proxy_for(upstream_url: str, env: Mapping[str, str]) -> str | None:
    """The outbound proxy URL for `upstream_url` according to `env`, or None to connect directly.

    Loopback upstreams always connect directly. ws/wss follow the http/https variables. A value
    without a scheme means http://; proxies other than http(s) (e.g. socks5) are not supported by
    the HTTP client and are ignored.
    """
    parts = urlsplit(upstream_url)
    scheme = parts.scheme.lower()
    host = parts.hostname or ""
    if is_loopback_host(host):
        return None
    port = parts.port or _DEFAULT_PORTS.get(scheme, 0)
    if _bypassed(host, port, _env(env, "no_proxy") or ""):
        return None
    variable = "https_proxy" if scheme in ("https", "wss") else "http_proxy"
    proxy = _env(env, variable) or _env(env, "all_proxy")
    if proxy is None:
        return None
    proxy = proxy.strip()
    if "://" not in proxy:
        proxy = "http://" + proxy
    if urlsplit(proxy).scheme.lower() not in ("http", "https"):
        return None
    return proxy


def _bypassed(host: str, port: int, no_proxy: str) -> bool:
    """Whether NO_PROXY names `host` (curl's rules: *, domain and its subdomains, IP, CIDR, :port)."""
    host = host.lower().rstrip(".")
    for entry in no_proxy.replace(" ", ",").split(","):
        entry = entry.strip().lower()
        if not entry:
            continue
        if entry == "*":
            return True
        entry_host, entry_port = _split_host_port(entry)
        if entry_port is not None and entry_port != port:
            continue
        if _host_matches(host, entry_host):
            return True
    return False


def _split_host_port(entry: str) -> tuple[str, int | None]:
    if entry.startswith("["):
        inside, _, after = entry[1:].partition("]")
        return inside, int(after[1:]) if after.startswith(":") and after[1:].isdigit() else None
    if entry.count(":") == 1:
        name, _, port = entry.partition(":")
        return name, int(port) if port.isdigit() else None
    return entry, None  # a bare name, or an IPv6 address without brackets


def _host_matches(host: str, entry: str) -> bool:
    if "/" in entry:
        try:
            return ipaddress.ip_address(host) in ipaddress.ip_network(entry, strict=False)
        except ValueError:
            return False
    domain = entry.removeprefix("*").lstrip(".").rstrip(".")
    return host == domain or host.endswith("." + domain)


def proxy_credentials(proxy_url: str) -> tuple[str, str | None]:
    """Split `http://user:pass@host:port` into the URL without credentials and a Proxy-Authorization value."""
    parts = urlsplit(proxy_url)
    if parts.username is None:
        return proxy_url, None
    user_pass = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
    token = base64.b64encode(user_pass.encode("utf-8")).decode("ascii")
    netloc = parts.netloc.rpartition("@")[2]
    return parts._replace(netloc=netloc).geturl(), f"Basic {token}"
