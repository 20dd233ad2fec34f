"""`--tap-resolve HOST:PORT:ADDR:PORT`: send connections for a host name somewhere else (like curl's
--connect-to), while TLS still checks the certificate against the name.

    rule = Resolve.parse("api.anthropic.com:443:127.0.0.1:8443")
    env = bypass_proxy_for(env, [rule])      # the host is reached directly

A mapped host is reached directly, never through the tap's own upstream proxy: the user has said where
it is (`bypass_proxy_for` adds it to NO_PROXY). resolver.py applies the rules to connections.
Pure: no sockets, no event loop, so options.py can parse the flag without importing aiohttp.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Resolve:
    host: str  # lower-case name as clients ask for it
    port: int
    address: str  # an IP address or a name, IPv6 without brackets
    address_port: int

    @classmethod
    def parse(cls, text: str) -> Resolve:
        """`HOST:PORT:ADDR:PORT`, IPv6 addresses in brackets; ValueError quoting `text` otherwise."""
        parts = _split(text.strip())
        if len(parts) != 4 or not parts[0] or not parts[2]:
            raise ValueError(
                f"{text!r} is not HOST:PORT:ADDR:PORT, e.g. api.anthropic.com:443:127.0.0.1:8443 "
                "(IPv6 addresses in brackets)"
            )
        host, port, address, address_port = parts
        return cls(host.lower(), _port(port, text), address, _port(address_port, text))


def _split(text: str) -> list[str]:
    parts: list[str] = []
    rest = text
    while rest:
        if rest.startswith("["):
            end = rest.find("]")
            if end < 0:
                return []
            parts.append(rest[1:end])
            rest = rest[end + 1 :]
            if rest and not rest.startswith(":"):
                return []
            rest = rest[1:]
        else:
            part, _, rest = rest.partition(":")
            parts.append(part)
    return parts


def _port(value: str, text: str) -> int:
    if not value.isdigit() or not 0 < int(value) < 65536:
        raise ValueError(f"{text!r}: {value!r} is not a port (1-65535)")
    return int(value)


def bypass_proxy_for(env: Mapping[str, str], rules: Sequence[Resolve]) -> dict[str, str]:
    """`env` with the mapped host names added to NO_PROXY (both spellings), so they are reached directly."""
    child = dict(env)
    if not rules:
        return child
    for name in ("NO_PROXY", "no_proxy"):
        hosts = [host.strip() for host in child.get(name, "").split(",") if host.strip()]
        hosts += [rule.host for rule in rules if rule.host not in hosts]
        child[name] = ",".join(hosts)
    return child
