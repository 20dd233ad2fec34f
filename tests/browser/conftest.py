"""The viewer in headless Chromium: Debian's /usr/bin/chromium driven by Playwright's sync API.

`open_viewer(turns, hash="", **context_options)` writes trace.html for the turns into tmp_path,
opens it from file:// in a fresh browser context (own localStorage, locale, colour scheme), waits
for <body data-ready="true"> and returns the page. Every page fails its test on a JavaScript error
or a dialog (alert/confirm/prompt), so no test can pass while the page is broken or injected.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from claude_tap.normalize.model import SessionInfo, Turn
from claude_tap.viewer.html import write_html
from tests.browser.fixtures.turns import SESSION_INFO, sample_turns

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
READY = "body[data-ready=true]"

OpenViewer = Callable[..., Page]


# Module scope, not session: sync Playwright runs an event loop in this thread while it is open, and
# pytest-asyncio cannot start its own loop for the async tests collected after tests/browser.
@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.skip(f"the browser tests need Chromium at {CHROMIUM}")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


class PageProblems:
    """What went wrong on the pages of one test: script errors, console errors, dialogs."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.dialogs: list[str] = []

    def watch(self, page: Page) -> None:
        page.on("pageerror", lambda error: self.errors.append(f"pageerror: {error}"))
        page.on("console", lambda msg: msg.type == "error" and self.errors.append(f"console: {msg.text}"))
        page.on("dialog", self._on_dialog)

    def _on_dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()


@pytest.fixture(scope="module")
def module_page(browser: Browser, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Page]:
    """One page of the sample session for a whole module whose tests only call the page's functions
    and change nothing."""
    path = tmp_path_factory.mktemp("module-page") / "trace.html"
    write_html(path, SESSION_INFO, sample_turns())
    context = browser.new_context()
    page = context.new_page()
    page.goto(path.as_uri())
    page.wait_for_selector("body[data-ready=true]")
    yield page
    context.close()


@pytest.fixture
def page_problems() -> Iterator[PageProblems]:
    problems = PageProblems()
    yield problems
    assert problems.dialogs == [], "a dialog opened: something in the trace ran as script"
    assert problems.errors == []


@pytest.fixture
def open_viewer(browser: Browser, tmp_path: Path, page_problems: PageProblems) -> Iterator[OpenViewer]:
    contexts = []

    def open_page(
        turns: list[Turn], hash: str = "", *, info: SessionInfo = SESSION_INFO, **context_options: Any
    ) -> Page:
        path = tmp_path / f"trace-{len(contexts)}.html"
        write_html(path, info, turns)
        context_options.setdefault("viewport", {"width": 1400, "height": 900})
        context = browser.new_context(**context_options)
        contexts.append(context)
        page = context.new_page()
        page_problems.watch(page)
        page.goto(path.as_uri() + hash)
        page.wait_for_selector(READY, timeout=10_000)
        return page

    yield open_page
    for context in contexts:
        context.close()
