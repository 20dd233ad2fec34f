"""Fixtures shared by the end-to-end tests.

`upstream` is the base URL of the demo's Anthropic stand-in (claude_tap.demo.upstream) on 127.0.0.1,
sending its stream events without pauses: the vendor for tests that run the real `claude-tap`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from claude_tap.demo.upstream import DemoUpstream


@pytest.fixture
async def upstream() -> AsyncIterator[str]:
    server = DemoUpstream(event_delay_s=0)
    url = await server.start()
    yield url
    await server.stop()
