"""The page's threads, context bar and cache explanation (issue 14), on the golden traces of
tests/golden/threads (Claude Code's request shapes: parallel subagents, side requests, cache misses)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from claude_tap.normalize.model import Turn
from claude_tap.normalize.session import normalize_records
from tests.browser.conftest import OpenViewer

pytestmark = pytest.mark.browser

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "threads"
SHOTS = os.environ.get("CLAUDE_TAP_SCREENSHOTS")  # a directory to keep screenshots in, to look at them


def golden_turns(name: str) -> list[Turn]:
    records = json.loads((GOLDEN / f"{name}.records.json").read_text(encoding="utf-8"))
    return normalize_records(records)[1]


def shot(page: Page, name: str) -> None:
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=False)


def test_the_thread_tree_lists_main_subagents_and_side_requests_and_filters_the_turns(
    open_viewer: OpenViewer,
) -> None:
    page = open_viewer(golden_turns("claude_subagents"))
    rows = page.locator("#thread-tree .thread-row")
    expect(rows).to_have_count(4)
    expect(rows.nth(0)).to_contain_text("main agent")
    expect(rows.nth(1)).to_contain_text("Explore: Find auth code")
    expect(rows.nth(1)).to_have_class("thread-row kind-subagent depth-1")
    expect(rows.nth(3)).to_contain_text("side requests")
    expect(page.locator("#turn-list .row")).to_have_count(10)
    shot(page, "threads-tree")
    rows.nth(1).click()
    expect(page.locator("#turn-list .row")).to_have_count(2)
    expect(page.locator("#turn-list .row .row-thread").first).to_have_text("agent-1")
    rows.nth(1).click()  # again: every thread
    expect(page.locator("#turn-list .row")).to_have_count(10)


def test_a_subagent_turn_jumps_to_its_dispatch_and_the_dispatch_to_the_subagent(
    open_viewer: OpenViewer,
) -> None:
    page = open_viewer(golden_turns("claude_subagents"), "#turn=5")
    heading = page.locator("#detail .detail-head h2")
    expect(page.locator(".thread-line .chip-thread")).to_have_text("Explore: Find auth code")
    page.locator(".thread-line .jump-parent").click()
    expect(heading).to_contain_text("4")
    children = page.locator(".thread-line .jump-child")
    expect(children).to_have_count(2)
    expect(children.nth(1)).to_contain_text("general-purpose: Run the tests")
    children.nth(1).click()
    expect(heading).to_contain_text("6")
    page.locator(".thread-line .jump-result").click()
    expect(heading).to_contain_text("10")


def test_the_context_bar_shows_each_part_with_its_share_of_the_window(open_viewer: OpenViewer) -> None:
    page = open_viewer(golden_turns("claude_cache_misses"), "#turn=3")
    card = page.locator(".ctx-card")
    expect(card).to_contain_text("4,603 prompt tokens")
    expect(card).to_contain_text("2.3% of a 200k-token window")
    segments = page.locator(".ctx-bar .ctx-seg")
    expect(segments).to_have_count(6)
    widths = segments.evaluate_all("nodes => nodes.map(n => parseFloat(n.style.width))")
    assert abs(sum(widths) - 100) < 0.1
    expect(segments.nth(1)).to_have_attribute("title", "tools: 2,384")
    expect(page.locator(".ctx-largest li").first).to_contain_text("tool definitions (4)")
    shot(page, "context-and-cache")


def test_the_cache_explanation_names_the_cause_and_opens_the_diff(open_viewer: OpenViewer) -> None:
    page = open_viewer(golden_turns("claude_cache_misses"), "#turn=3")
    box = page.locator(".cache-box")
    expect(box).to_contain_text("read 0 of the 4,300 tokens the previous turn cached")
    expect(box.locator("li")).to_have_text("system_changed system prompt changed at character 1,489 of 1,496")
    box.locator(".cache-diff").click()
    expect(page.locator(".panel")).to_have_attribute("data-tab", "diff")
    assert "vs=2" in page.url
    page.goto(page.url.split("#")[0] + "#turn=2")
    expect(page.locator(".cache-box")).to_have_count(0)  # the turn that read its cache has nothing to explain


def test_the_insights_read_in_chinese_and_on_a_phone(open_viewer: OpenViewer) -> None:
    page = open_viewer(
        golden_turns("claude_subagents"), "#turn=5", viewport={"width": 390, "height": 844}, locale="zh-CN"
    )
    expect(page.locator("#thread-tree .thread-row").first).to_contain_text("主代理")
    expect(page.locator(".ctx-card summary")).to_contain_text("上下文")
    shot(page, "phone-zh")


def test_the_chart_over_the_thread_has_a_column_per_turn_and_opens_the_one_clicked(
    open_viewer: OpenViewer,
) -> None:
    page = open_viewer(golden_turns("claude_cache_misses"), "#turn=3")
    columns = page.locator(".ctx-chart .ctx-col")
    expect(columns).to_have_count(15)
    expect(columns.nth(2)).to_have_class("ctx-col is-current")
    heights = columns.evaluate_all("nodes => nodes.map(n => parseFloat(n.style.height))")
    assert heights[8] == 100.0  # turn 9 has the largest prompt of the thread (6,403 tokens)
    columns.nth(8).click()
    expect(page.locator("#detail .detail-head h2")).to_contain_text("9")
    expect(page.locator(".ctx-chart .ctx-col.is-current")).to_have_count(1)
    shot(page, "context-chart")
