"""`MappedResolver`: aiohttp's resolver with the `--tap-resolve` rules (resolve.py) applied first.

    resolver = MappedResolver([Resolve.parse("api.anthropic.com:443:127.0.0.1:8443")])
    resolver.address_for("api.anthropic.com", 443)  -> ("127.0.0.1", 8443)   # for blind tunnels

TLS still checks the certificate against the name the client asked for (`hostname` in each result).
This module knows nothing about clients or the trace.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

from claude_tap.proxy.resolve import Resolve


class MappedResolver(AbstractResolver):
    """aiohttp's resolver with `Resolve` rules applied first; other names resolve as usual."""

    def __init__(self, rules: Iterable[Resolve]) -> None:
        self._rules = {(rule.host, rule.port): (rule.address, rule.address_port) for rule in rules}
        self._default: AbstractResolver | None = None

    def address_for(self, host: str, port: int) -> tuple[str, int]:
        return self._rules.get((host.lower(), port), (host, port))

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        mapped = self._rules.get((host.lower(), port))
        if mapped is None:
            if self._default is None:
                self._default = DefaultResolver()
            return await self._default.resolve(host, port, family)
        address, address_port = mapped
        try:
            family = socket.AF_INET6 if ipaddress.ip_address(address).version == 6 else socket.AF_INET
        except ValueError:  # a name: let the system resolve it, then use the mapped port
            if self._default is None:
                self._default = DefaultResolver()
            found = await self._default.resolve(address, address_port, family)
            return [{**result, "hostname": host} for result in found]
        return [
            {
                "hostname": host,
                "host": address,
                "port": address_port,
                "family": family,
                "proto": 0,
                "flags": socket.AI_NUMERICHOST,
            }
        ]

    async def close(self) -> None:
        if self._default is not None:
            await self._default.close()
