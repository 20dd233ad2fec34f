"""Deep links on a long session: `#turn=N` opens the turn the page calls "Turn N" (issue 10).

The page keeps a turn's 0-based index internally; the address, the sidebar's data-turn, the heading and
the diff picker all say the number people see. Before the fix `#turn=150` opened "Turn 151".
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from claude_tap.viewer.html import write_html
from tests.browser.conftest import READY, PageProblems
from tests.browser.fixtures.synthetic import growing_session
from tests.browser.fixtures.turns import SESSION_INFO

pytestmark = pytest.mark.browser

TURNS = 400
HEADING = "#detail .detail-head h2"


@pytest.fixture(scope="module")
def long_session(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """trace.html of a 400-turn growing session, kept light (short results, few events)."""
    turns = growing_session(
        TURNS,
        turns_per_conversation=40,
        result_chars=(40, 120),
        big_result_every=TURNS + 1,
        events_per_turn=4,
        tool_count=3,
    )
    start = datetime(2025, 11, 20, 9, 0, tzinfo=UTC)
    for turn in turns:  # make_turn's clock runs past :59 after 12 turns; the list follows start times
        turn["timing"]["started_at"] = (start + timedelta(seconds=4 * turn["index"])).isoformat()
    path = tmp_path_factory.mktemp("deep-links") / "trace.html"
    write_html(path, SESSION_INFO, turns)
    return path


@pytest.fixture
def open_at(browser: Browser, long_session: Path, page_problems: PageProblems) -> Iterator[object]:
    contexts = []

    def open_page(address: str) -> Page:
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        contexts.append(context)
        page = context.new_page()
        page_problems.watch(page)
        page.goto(address if "://" in address else long_session.as_uri() + address)
        page.wait_for_selector(READY, timeout=20_000)
        return page

    yield open_page
    for context in contexts:
        context.close()


def selected_number(page: Page) -> str:
    row = page.locator("#turn-list .row.selected")
    expect(row).to_have_count(1)
    expect(row).to_have_attribute("aria-selected", "true")
    return str(row.get_attribute("data-turn"))


@pytest.mark.parametrize("number", [1, 150, TURNS])
def test_turn_n_in_the_address_opens_the_turn_titled_n(open_at, number: int) -> None:
    page = open_at(f"#turn={number}")

    expect(page.locator(HEADING)).to_have_text(f"Turn {number}")
    assert selected_number(page) == str(number)
    expect(page.locator("#turn-list .row.selected .row-num")).to_have_text(f"#{number}")
    assert page.evaluate("location.hash") == f"#turn={number}&tab=overview"


@pytest.mark.parametrize("address", ["#turn=0", f"#turn={TURNS + 1}", "#turn=-3", "#turn=x"])
def test_an_address_that_names_no_turn_opens_turn_1(open_at, address: str) -> None:
    page = open_at(address)

    expect(page.locator(HEADING)).to_have_text("Turn 1")
    assert page.evaluate("location.hash") == "#turn=1&tab=overview"


def test_a_copied_link_opens_the_same_turn_tab_and_diff_target(open_at) -> None:
    page = open_at("#turn=150&tab=diff")
    expect(page.locator("#diff-picker")).to_have_value("149")  # its previous turn, by the shown number
    page.select_option("#diff-picker", "100")
    expect(page.locator(".diff-head .chip")).to_have_text("picked by hand")
    link = page.evaluate("location.href")
    assert link.endswith("#turn=150&tab=diff&vs=100")

    copy = open_at(link)

    expect(copy.locator(HEADING)).to_have_text("Turn 150")
    expect(copy.locator('#detail .tab[data-tab="diff"]')).to_have_class("tab active")
    expect(copy.locator("#diff-picker")).to_have_value("100")
    assert copy.locator("#diff-picker option:checked").inner_text().startswith("#100 ")
    assert copy.evaluate("location.href") == link


def test_clicking_a_row_writes_the_number_it_shows(open_at) -> None:
    page = open_at("#turn=150")

    page.locator('#turn-list [data-turn="151"]').click()

    expect(page.locator(HEADING)).to_have_text("Turn 151")
    expect(page.locator("#turn-list .row.selected .row-num")).to_have_text("#151")
    assert page.evaluate("location.hash") == "#turn=151&tab=overview"
    page.keyboard.press("k")
    assert page.evaluate("location.hash") == "#turn=150&tab=overview"


def test_changing_the_address_goes_to_turn_n(open_at) -> None:
    page = open_at("")

    page.evaluate(f"location.hash = '#turn={TURNS}&tab=usage'")

    expect(page.locator(HEADING)).to_have_text(f"Turn {TURNS}")
    assert selected_number(page) == str(TURNS)
    expect(page.locator('#detail .tab[data-tab="usage"]')).to_have_class("tab active")
