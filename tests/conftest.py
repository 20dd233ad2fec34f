"""Fixtures shared by every test.

`clean_environ` (autouse) removes every variable that could route, trust or configure traffic the
way the developer's shell does, so no test depends on it and none can reach a real vendor:
base URLs (`*_BASE_URL`, `*_API_BASE`, endpoint overrides), proxies (`*_proxy` in any case, NO_PROXY
included), trust stores (NODE_EXTRA_CA_CERTS, SSL_CERT_FILE, ...), API keys and `CLAUDE_TAP_*`.
Tests set what they need with `monkeypatch.setenv`.

`loopback` is a started `tests.loopback.Loopback`: the vendor stand-in on 127.0.0.1.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import pytest

from tests.loopback import Loopback

_TRUST_VARIABLES = frozenset(
    {
        "NODE_EXTRA_CA_CERTS",
        "NODE_TLS_REJECT_UNAUTHORIZED",
        "SSL_CERT_FILE",
        "SSL_CERT_DIR",
        "REQUESTS_CA_BUNDLE",
        "CURL_CA_BUNDLE",
        "CODEX_CA_CERTIFICATE",
        "GIT_SSL_CAINFO",
        "AWS_CA_BUNDLE",
    }
)
# Endpoint overrides whose names do not follow the *_BASE_URL pattern.
_ENDPOINT_VARIABLES = frozenset({"CLOUD_CODE_URL", "CODE_ASSIST_ENDPOINT", "GOOGLE_CLOUD_PROJECT"})


def leaks_into_tests(name: str) -> bool:
    """Whether an environment variable of the developer's shell could change what a test does."""
    upper = name.upper()
    return (
        upper.startswith("CLAUDE_TAP_")
        or upper.endswith(("_BASE_URL", "_API_BASE", "_PROXY", "_API_KEY", "_AUTH_TOKEN"))
        or upper in _TRUST_VARIABLES
        or upper in _ENDPOINT_VARIABLES
    )


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if leaks_into_tests(name):
            monkeypatch.delenv(name)


@pytest.fixture
async def loopback() -> AsyncIterator[Loopback]:
    async with Loopback() as upstream:
        yield upstream
