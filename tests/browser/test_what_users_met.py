"""Issue 14, "what users met in the page today": each complaint, checked in real Chromium.

A turn opens at what is new; long tool results are capped and large ones badged; filter and search
match alike and mark their hits; rows tell themselves apart; a phone shows the list or one turn; a
legacy trace is named; no empty "sse" chip; CJK chips are whole; secondary text is readable; live
turns carry their context figures.
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from claude_tap.normalize.model import Block, Message, Turn
from claude_tap.viewer.live import LiveServer
from tests.browser.conftest import READY, OpenViewer, PageProblems
from tests.browser.fixtures.turns import SESSION_INFO, make_turn
from tests.factories import assistant, json_exchange_record, session_info, text, user

pytestmark = pytest.mark.browser

NEEDLE = "zebracorn"  # only inside the big tool result
BIG_RESULT = ("line of a very long pytest log\n" * 2200) + f"the {NEEDLE} appears here\n"  # ~68 KB
HISTORY = 40


def history(count: int) -> list[Message]:
    messages = [user(text("Fix the failing build, please."))]
    for n in range(1, count):
        messages.append(assistant(text(f"step {n}")) if n % 2 else user(text(f"ok {n}")))
    return messages


def call(tool_id: str, name: str, **tool_input: Any) -> Block:
    return {"type": "tool_use", "id": tool_id, "name": name, "input": tool_input}


def result(tool_id: str, body: str) -> Block:
    return {"type": "tool_result", "tool_use_id": tool_id, "is_error": False, "content": [text(body)]}


def session() -> list[Turn]:
    """Two turns of one conversation: the second adds 3 messages to a 40-message history, one of them
    a 68 KB tool result; its call is a Bash command and a tool with a Chinese name."""
    old = history(HISTORY)
    first_call = call("toolu_1", "Bash", command="pytest -q tests/test_build.py")
    first = make_turn(0, messages=old, output=[first_call], events=[])
    new: list[Message] = [
        assistant(first_call),
        user(result("toolu_1", BIG_RESULT)),
        user(text("and check the docs too")),
    ]
    second = make_turn(
        1,
        messages=[*old, *new],
        output=[
            call("toolu_2", "读取文件工具", path="文档/说明.md"),
            call("toolu_3", "搜索代码库", query="x"),
        ],
        prev=0,
        events=[{"offset_ms": 5.0, "event": "message_start", "data": "{}"}],
    )
    return [first, second]


def test_a_turn_opens_at_its_new_messages_with_the_history_one_click_away(open_viewer: OpenViewer) -> None:
    page = open_viewer(session(), "#turn=2&tab=overview")
    folded = page.locator(".collapsed-group button")
    expect(folded).to_have_text(f"Show {HISTORY} earlier messages")
    first_shown = page.locator(".messages > .msg").first
    expect(first_shown).to_have_class(re.compile(r"\bis-new\b"))
    page.locator(".jump-new").click()
    assert page.locator(".msg.is-new").first.bounding_box()["y"] < 300  # type: ignore[index]
    folded.click()
    expect(page.locator(".messages > .msg")).to_have_count(HISTORY + 3)


def test_a_long_tool_result_is_capped_with_expand_and_a_large_one_badged(open_viewer: OpenViewer) -> None:
    page = open_viewer(session(), "#turn=2&tab=overview")
    output = page.locator(".tool-result .tool-output")
    assert output.bounding_box()["height"] <= 260  # type: ignore[index]
    toggle = page.locator(".result-toggle")
    expect(toggle).to_have_text(re.compile(r"Show all \(6\d\.\d KB\)"))
    toggle.click()
    assert output.bounding_box()["height"] > 2000  # type: ignore[index]
    badge = page.locator('[data-turn="2"] .row-oversized')
    expect(badge).to_have_text(re.compile(r"large result 6\d\.\d KB"))
    expect(page.locator('[data-turn="1"] .row-oversized')).to_have_count(0)


def test_filter_and_search_match_alike_and_mark_hits_in_the_turn(open_viewer: OpenViewer) -> None:
    page = open_viewer(session(), "#turn=1")
    page.locator("#filter-text").fill(NEEDLE)
    expect(page.locator("#filter-count")).to_have_text("1 of 2 turns match")
    expect(page.locator("#turn-list .row")).to_have_count(1)
    page.locator('[data-turn="2"]').click()
    expect(page.locator("#detail mark.hl")).to_have_count(1)
    expect(page.locator("#filter-marks")).to_have_text("· 1 marked in this turn")
    expect(page.locator("#detail mark.hl")).to_be_in_viewport()  # uncapped and scrolled to
    page.locator("#filter-text").fill("")
    page.locator("#search").fill(NEEDLE)
    page.locator("#search").press("Enter")
    expect(page.locator("#search-count")).to_have_text("1/1 · turn 1 of 1")
    expect(page.locator("#detail mark.hl.current")).to_have_text(NEEDLE)


def test_rows_show_the_time_the_first_command_and_how_many_messages_are_new(open_viewer: OpenViewer) -> None:
    page = open_viewer(session())
    first, second = page.locator('[data-turn="1"]'), page.locator('[data-turn="2"]')
    expect(first.locator(".row-clock")).to_have_text(re.compile(r"^\d\d:\d\d:\d\d$"))
    expect(first.locator(".row-3")).to_have_text("Bash: pytest -q tests/test_build.py")
    expect(second.locator(".row-3")).to_have_text("读取文件工具: 文档/说明.md")
    expect(second.locator(".row-new")).to_have_text("+3")
    expect(first.locator(".row-new")).to_have_count(0)  # no previous turn: nothing to count against


def test_cjk_tool_chips_are_not_clipped(open_viewer: OpenViewer) -> None:
    page = open_viewer(session(), locale="zh-CN")
    chips = page.locator('[data-turn="2"] .row-tool')
    expect(chips).to_have_count(2)
    row = page.locator('[data-turn="2"]').bounding_box()
    for n in range(2):
        chip = chips.nth(n)
        fits = chip.evaluate("el => el.scrollWidth <= el.clientWidth && el.scrollHeight <= el.clientHeight")
        assert fits, chip.text_content()
        box = chip.bounding_box()
        assert box is not None and row is not None
        assert box["x"] + box["width"] <= row["x"] + row["width"]


def test_no_sse_chip_on_a_turn_without_events(open_viewer: OpenViewer) -> None:
    page = open_viewer(session(), "#turn=1")
    expect(page.locator(".detail-head .chip", has_text=re.compile("^sse$"))).to_have_count(0)
    assert session()[1]["events"]  # the other turn has events: its chip stays
    page.locator('[data-turn="2"]').click()
    expect(page.locator(".detail-head .chip", has_text=re.compile("^sse$"))).to_have_count(1)


def test_an_imported_legacy_trace_is_named_from_its_turns(open_viewer: OpenViewer) -> None:
    turns = session()
    for turn in turns:
        turn["request_headers"] = {"User-Agent": "claude-cli/1.0.61 (external, cli)"}
    info = session_info(client=None, mode=None, started_at=None, source_format="legacy-jsonl")
    page = open_viewer(turns, info=info)
    expect(page.locator("#session-title")).to_have_text(re.compile(r"^Claude Code · \d{4}-\d\d-\d\d "))
    assert page.title().startswith("claude-tap: Claude Code")


CONTRAST = """(selectors) => {
  const rgb = (s) => s.match(/[\\d.]+/g).map(Number);
  const lum = ([r, g, b]) => {
    const c = [r, g, b]
      .map((v) => v / 255)
      .map((v) => (v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4));
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
  };
  const background = (el) => {
    for (; el; el = el.parentElement) {
      const bg = getComputedStyle(el).backgroundColor;
      const parts = rgb(bg);
      if (parts.length === 3 || parts[3] > 0.9) return parts.slice(0, 3);
    }
    return rgb(getComputedStyle(document.body).backgroundColor);
  };
  const worst = [];
  for (const selector of selectors)
    for (const el of document.querySelectorAll(selector)) {
      if (!el.textContent.trim() || !el.getClientRects().length) continue;
      const a = lum(rgb(getComputedStyle(el).color)), b = lum(background(el));
      const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
      worst.push([ratio, selector]);
    }
  return worst.sort((x, y) => x[0] - y[0]).slice(0, 3);
}"""
SECONDARY = [".row-num", ".row-dur", ".row-clock", ".row-2", ".row-3", ".tool-id", ".muted", ".filter-count"]


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_secondary_text_has_at_least_4_5_to_1_contrast(open_viewer: OpenViewer, scheme: str) -> None:
    page = open_viewer(session(), "#turn=2&tab=overview", color_scheme=scheme)
    page.locator(".row").first.hover()  # the hover background is a surface too
    worst = page.evaluate(CONTRAST, SECONDARY)
    assert worst, "no secondary text measured"
    assert worst[0][0] >= 4.5, worst


# -- phone ---------------------------------------------------------------------------------------


def test_a_phone_switches_between_the_list_and_one_turn(open_viewer: OpenViewer, tmp_path: Path) -> None:
    """Screenshots land in the test's tmp_path (phone-list.png, phone-detail.png) to be looked at."""
    page = open_viewer(session(), viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    shots = tmp_path
    expect(page.locator("#detail")).to_be_hidden()
    first_row = page.locator('[data-turn="1"]').bounding_box()
    assert first_row is not None and first_row["y"] < 844 / 3, first_row  # header and filters stay small
    page.screenshot(path=str(shots / "phone-list.png"))
    page.locator('[data-turn="2"]').tap()
    expect(page.locator("#detail")).to_be_visible()
    expect(page.locator(".sidebar")).to_be_hidden()
    title = page.locator(".detail-head h2").bounding_box()
    assert title is not None and title["y"] < 200
    expect(page.locator(".collapsed-group")).to_be_in_viewport()  # the new messages start on screen 1
    page.screenshot(path=str(shots / "phone-detail.png"))
    page.locator(".back-btn").tap()
    expect(page.locator(".sidebar")).to_be_visible()
    expect(page.locator("#detail")).to_be_hidden()
    page.locator(".filter-more").tap()
    expect(page.locator("#filter-model")).to_be_visible()


# -- live: figures without a reload --------------------------------------------------------------


def exchange(seq: int, history_size: int) -> dict[str, Any]:
    messages = [
        {"role": "user" if n % 2 == 0 else "assistant", "content": f"message {n} " + "words " * 200}
        for n in range(history_size)
    ]
    request = {"model": "claude-sonnet-4-5", "max_tokens": 64, "messages": messages}
    response = {
        "id": f"msg_{seq}",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5",
        "content": [{"type": "text", "text": f"reply {seq}"}],
        "stop_reason": "end_turn",
        "usage": {"input_tokens": 400 * history_size, "output_tokens": 5},
    }
    return json_exchange_record(seq, request, response)


class LiveThread:
    """The real LiveServer on an event loop of its own thread (Playwright owns the test's)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.server = LiveServer(lambda: SESSION_INFO)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self.server.start(), self.loop).result(timeout=10)
        return self.server

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.server.stop(), self.loop).result(timeout=10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)


@pytest.fixture
def live_server() -> Iterator[LiveServer]:
    with LiveThread() as server:
        yield server


def test_a_live_turn_shows_its_context_figures_without_a_reload(
    browser: Browser, live_server: LiveServer, page_problems: PageProblems
) -> None:
    live_server.publish_record(exchange(1, 1))
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page: Page = context.new_page()
    page_problems.watch(page)
    try:
        page.goto(live_server.url)
        page.wait_for_selector(READY)
        expect(page.locator("#live-status")).to_have_text("live")
        live_server.publish_record(exchange(2, 3))
        page.locator('[data-turn="2"]').click()
        card = page.locator(".ctx-card")
        expect(card).to_be_visible(timeout=5000)
        expect(card).to_contain_text("1,200")  # the prompt the provider reported: 400 x 3 messages
    finally:
        context.close()
