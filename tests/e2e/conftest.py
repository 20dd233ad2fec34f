"""Fixtures shared by the end-to-end tests.

`upstream` is the base URL of the demo's Anthropic stand-in (claude_tap.demo.upstream) on 127.0.0.1,
sending its stream events without pauses: the vendor for tests that run the real `claude-tap`.
`collector` is the loopback OTLP/HTTP collector of tests/unit/test_otlp_export.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from claude_tap.demo.upstream import DemoUpstream
from tests.unit.test_otlp_export import collector  # noqa: F401 (a fixture, shared)


@pytest.fixture
async def upstream() -> AsyncIterator[str]:
    server = DemoUpstream(event_delay_s=0)
    url = await server.start()
    yield url
    await server.stop()
