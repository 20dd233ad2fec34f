"""The supported agent CLIs, one `ClientConfig` each, written out by hand.

The order is the order people see in help text, error messages and docs/support-matrix.md. Adding a
client means adding its module, its entry here, its tests, and regenerating the support matrix
(`python -m claude_tap.clients.matrix`, with the client's notes in matrix.py); nothing in the proxy
changes.

This module knows nothing about processes, sockets or the proxy.
"""

from __future__ import annotations

from claude_tap.clients.agy import AGY
from claude_tap.clients.base import ClientConfig
from claude_tap.clients.claude import CLAUDE
from claude_tap.clients.codebuddy import CODEBUDDY
from claude_tap.clients.codex import CODEX
from claude_tap.clients.cursor import CURSOR
from claude_tap.clients.gemini import GEMINI
from claude_tap.clients.hermes import HERMES
from claude_tap.clients.kimi import KIMI
from claude_tap.clients.opencode import OPENCODE
from claude_tap.clients.pi import PI
from claude_tap.clients.qoder import QODER

CLIENT_CONFIGS: dict[str, ClientConfig] = {
    "claude": CLAUDE,
    "codex": CODEX,
    "gemini": GEMINI,
    "kimi": KIMI,
    "opencode": OPENCODE,
    "pi": PI,
    "hermes": HERMES,
    "cursor": CURSOR,
    "qoder": QODER,
    "agy": AGY,
    "codebuddy": CODEBUDDY,
}

DEFAULT_CLIENT = "claude"


def get_client(name: str) -> ClientConfig:
    """The client called `name`; ValueError naming the valid choices when there is none."""
    try:
        return CLIENT_CONFIGS[name]
    except KeyError:
        choices = ", ".join(CLIENT_CONFIGS)
        raise ValueError(f"unknown client {name!r}; choose one of: {choices}") from None


__all__ = ["CLIENT_CONFIGS", "DEFAULT_CLIENT", "ClientConfig", "get_client"]
