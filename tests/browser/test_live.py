"""Live mode: the page follows an SSE stream of turns without losing the user's place.

The server here is a stand-in that speaks the protocol of claude_tap/viewer/live.py (`event: turn`
with a Turn and an id, `event: session`, `event: end`), on 127.0.0.1 in a thread of its own, since
Playwright's sync API owns the test's thread.
"""

from __future__ import annotations

import asyncio
import copy
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from aiohttp import web
from playwright.sync_api import Browser, expect

from claude_tap.normalize.model import SessionInfo, Turn
from claude_tap.viewer.html import render_html
from tests.browser.conftest import READY, PageProblems
from tests.browser.fixtures.turns import SESSION_INFO, sample_turns

pytestmark = pytest.mark.browser

TOKEN = "t0k3n"


class LiveStub:
    """Serves the live page at / and streams whatever the test pushes at /events."""

    def __init__(self, info: SessionInfo, turns: list[Turn]) -> None:
        self.info, self.turns = info, turns
        self.requests: list[dict[str, str | None]] = []  # one per /events connection
        self._clients: set[asyncio.Queue[bytes | None]] = set()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner: web.AppRunner | None = None
        self.port = 0

    def start(self) -> None:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=10)

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_get("/", self._page)
        app.router.add_get("/events", self._events)
        self._runner = web.AppRunner(app, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    def stop(self) -> None:
        self.drop_connections()
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    async def _page(self, request: web.Request) -> web.Response:
        live = {"events_url": f"/events?token={TOKEN}&since={len(self.turns)}"}
        return web.Response(text=render_html(self.info, self.turns, live=live), content_type="text/html")

    async def _events(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(
            {"since": request.query.get("since"), "last_event_id": request.headers.get("Last-Event-ID")}
        )
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store"}
        )
        await response.prepare(request)
        queue: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._clients.add(queue)
        try:
            await response.write(b"retry: 200\n\n")
            while (frame := await queue.get()) is not None:
                await response.write(frame)
        finally:
            self._clients.discard(queue)
        return response

    def push(self, event: str, data: Any, event_id: int | None = None) -> None:
        head = f"event: {event}\n" + (f"id: {event_id}\n" if event_id is not None else "")
        frame = f"{head}data: {json.dumps(data)}\n\n".encode()
        self._loop.call_soon_threadsafe(lambda: [client.put_nowait(frame) for client in self._clients])

    def drop_connections(self) -> None:
        """End every open stream, as a server restart would; EventSource should come back."""
        self._loop.call_soon_threadsafe(lambda: [client.put_nowait(None) for client in self._clients])

    def wait_for_connections(self, count: int, timeout_s: float = 10.0) -> None:
        deadline = time.monotonic() + timeout_s
        while len(self.requests) < count or len(self._clients) < 1:
            if time.monotonic() > deadline:
                raise AssertionError(f"expected {count} /events connections, saw {len(self.requests)}")
            time.sleep(0.02)


@pytest.fixture
def stub() -> Iterator[LiveStub]:
    server = LiveStub(SESSION_INFO, sample_turns()[:3])
    server.start()
    yield server
    server.stop()


def test_live_turns_arrive_without_losing_selection_or_scroll(
    browser: Browser, stub: LiveStub, page_problems: PageProblems
) -> None:
    turns = sample_turns()
    context = browser.new_context(viewport={"width": 1200, "height": 520})
    page = context.new_page()
    page_problems.watch(page)
    page.goto(f"http://127.0.0.1:{stub.port}/?token={TOKEN}#turn=3&tab=overview")
    page.wait_for_selector(READY)
    stub.wait_for_connections(1)
    expect(page.locator("#live-status")).to_have_text("live")
    assert stub.requests[0] == {"since": "3", "last_event_id": None}
    panel = page.locator("#detail .panel")
    panel_scroll = panel.evaluate("el => { el.scrollTop = 150; return el.scrollTop; }")
    assert panel_scroll > 0

    for index in (3, 4, 5, 6):
        stub.push("turn", turns[index], event_id=index + 1)

    expect(page.locator("#turn-list [data-turn]")).to_have_count(7)
    expect(page.locator('[data-turn="3"]')).to_have_attribute("aria-selected", "true")
    assert page.evaluate("location.hash") == "#turn=3&tab=overview"
    assert panel.evaluate("el => el.scrollTop") == panel_scroll
    list_scroll = page.locator("#turn-list").evaluate("el => { el.scrollTop = 60; return el.scrollTop; }")
    assert list_scroll > 0

    replaced = copy.deepcopy(turns[2])
    replaced["model"] = "claude-opus-4-1"
    replaced["output"].append({"type": "text", "text": "A line added by the replacement."})
    stub.push("turn", replaced, event_id=8)

    expect(page.locator('[data-turn="3"] .row-model')).to_have_text("claude-opus-4-1")
    expect(page.locator("#detail .chip-model")).to_have_text("claude-opus-4-1")
    expect(page.locator(".is-response")).to_contain_text("A line added by the replacement.")
    expect(page.locator("#turn-list [data-turn]")).to_have_count(7)
    assert panel.evaluate("el => el.scrollTop") == panel_scroll
    assert page.locator("#turn-list").evaluate("el => el.scrollTop") == list_scroll

    stub.push("session", {**SESSION_INFO, "client": "codex"})
    expect(page.locator("#session-title")).to_contain_text("codex")

    stub.drop_connections()
    stub.wait_for_connections(2)
    expect(page.locator("#live-status")).to_have_text("live")
    assert stub.requests[1]["last_event_id"] == "8"  # it asks only for what it missed
    stub.push("turn", turns[7], event_id=9)
    expect(page.locator("#turn-list [data-turn]")).to_have_count(8)
    expect(page.locator('[data-turn="3"]')).to_have_attribute("aria-selected", "true")

    stub.push("end", {"type": "end", "exit_code": 0})
    expect(page.locator("#live-status")).to_have_text("ended")
    context.close()


def test_a_live_page_that_starts_empty_selects_the_first_turn_that_arrives(
    browser: Browser, page_problems: PageProblems
) -> None:
    server = LiveStub(SESSION_INFO, [])
    server.start()
    try:
        context = browser.new_context()
        page = context.new_page()
        page_problems.watch(page)
        page.goto(f"http://127.0.0.1:{server.port}/?token={TOKEN}")
        page.wait_for_selector(READY)
        expect(page.locator(".empty-state")).to_have_text("No turns recorded yet.")
        server.wait_for_connections(1)

        server.push("turn", sample_turns()[0], event_id=1)

        expect(page.locator('[data-turn="1"]')).to_have_attribute("aria-selected", "true")
        expect(page.locator("#detail .detail-head h2")).to_have_text("Turn 1")
        context.close()
    finally:
        server.stop()
