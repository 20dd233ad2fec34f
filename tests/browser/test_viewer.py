"""The viewer page from file://: turn list, every tab of every API, links, diff, search, keyboard,
deep links, theme, language, copy as curl, and hostile trace content."""

from __future__ import annotations

import copy

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import OpenViewer
from tests.browser.fixtures.turns import (
    ANTHROPIC_KEY_MARKER,
    XSS_NAME,
    XSS_TEXT,
    make_turn,
    sample_turns,
    text,
    user,
    xss_turns,
)

pytestmark = pytest.mark.browser

TABS = ["overview", "tools", "response", "events", "headers", "usage", "diff", "raw"]


def panel_text(page: Page) -> str:
    return page.locator("#detail .panel").inner_text()


def test_sidebar_lists_every_turn_with_its_facts(open_viewer: OpenViewer) -> None:
    page = open_viewer(sample_turns())

    rows = page.locator("#turn-list [data-turn]")
    assert rows.count() == 9
    first = page.locator('[data-turn="1"]').inner_text()
    assert "#1" in first and "claude-sonnet-4-5" in first
    assert "14k tok" in first and "$0.056" in first and "4.21 s" in first and "TTFT 820 ms" in first
    assert "Read" in first  # the tool the model called
    error_row = page.locator('[data-turn="9"]')
    expect(error_row).to_have_class("row is-error")
    expect(error_row.locator(".row-err")).to_be_visible()
    assert page.locator("#session-summary").inner_text().split() == [
        "9",
        "turns",
        "57k",
        "tok",
        "$0.112",
        "(+1",  # one turn has usage but a model with no known price
        "unpriced)",
        "1",
        "error",
    ]


def test_clicking_a_row_shows_that_turn_and_updates_the_link(open_viewer: OpenViewer) -> None:
    page = open_viewer(sample_turns())

    page.click('[data-turn="5"]')

    expect(page.locator("#detail .detail-head h2")).to_have_text("Turn 5")
    expect(page.locator('[data-turn="5"]')).to_have_attribute("aria-selected", "true")
    assert "kimi-k2-turbo-preview" in page.locator(".detail-head").inner_text()
    assert page.evaluate("location.hash") == "#turn=5&tab=overview"


@pytest.mark.parametrize("number", range(1, 10))
def test_every_sample_turn_renders_in_every_tab(open_viewer: OpenViewer, number: int) -> None:
    page = open_viewer(sample_turns(), f"#turn={number}")

    for tab in TABS:
        page.click(f'#detail .tab[data-tab="{tab}"]')
        expect(page.locator(f'#detail .panel[data-tab="{tab}"]')).to_be_attached()
        assert panel_text(page).strip(), f"tab {tab} of turn {number} is empty"


def test_messages_show_thinking_tool_pairs_image_and_error(open_viewer: OpenViewer) -> None:
    page = open_viewer(sample_turns(), "#turn=3")
    page.locator(".collapsed-group button").click()  # the turn opens at its new messages (issue 14)

    thinking = page.locator(".thinking").first
    expect(thinking).not_to_have_attribute("open", "")
    thinking.locator("summary").click()
    expect(thinking).to_contain_text("I should read the test file first")
    call = page.locator('.tool-call[data-tool-id="toolu_02RunPytest"]')
    result = page.locator('.tool-result[data-result-for="toolu_02RunPytest"]')
    assert (
        call.get_attribute("class").split()[1] == result.get_attribute("class").split()[1]
    )  # same pair colour
    expect(result).to_have_class("tool-result pair-1 is-error")
    image = page.locator("figure.image img")
    assert image.get_attribute("src").startswith("data:image/png;base64,iVBORw0KGgo")
    assert page.evaluate("document.querySelector('figure.image img').naturalWidth") == 8

    page.click('[data-turn="9"]')
    expect(page.locator(".error-box")).to_contain_text("upstream returned 529: overloaded_error: Overloaded")


def test_tool_call_jumps_to_its_result_and_back(open_viewer: OpenViewer) -> None:
    page = open_viewer(sample_turns(), "#turn=3")
    page.locator(".collapsed-group button").click()  # the call is in the history, folded at first

    page.locator('.tool-call[data-tool-id="toolu_01ReadTestFile"] .jump').click()
    result = page.locator('.tool-result[data-result-for="toolu_01ReadTestFile"]')
    expect(result).to_have_class("tool-result pair-0 flash")
    expect(result).to_be_in_viewport()

    result.locator(".jump").click()
    expect(page.locator('.tool-call[data-tool-id="toolu_01ReadTestFile"]')).to_have_class(
        "tool-call pair-0 flash"
    )


def test_a_call_in_the_response_links_to_its_result_in_the_next_turn(open_viewer: OpenViewer) -> None:
    page = open_viewer(sample_turns(), "#turn=1")

    page.locator('.is-response .tool-call[data-tool-id="toolu_01ReadTestFile"] .jump').click()

    expect(page.locator("#detail .detail-head h2")).to_have_text("Turn 2")
    expect(page.locator('.tool-result[data-result-for="toolu_01ReadTestFile"]')).to_have_class(
        "tool-result pair-0 flash"
    )


def test_diff_shows_added_messages_and_a_tool_schema_change(open_viewer: OpenViewer) -> None:
    page = open_viewer(sample_turns(), "#turn=2&tab=diff")

    summary = page.locator(".diff-summary").inner_text()
    assert "messages +2" in summary and "tools ~1" in summary and "system unchanged" in summary
    expect(page.locator(".diff-head")).to_contain_text("previous turn of this conversation")
    assert page.locator(".msg.diff-added").count() == 2
    added_schema_lines = page.locator(".tool-diffs .ld-add .ld-text").all_inner_texts()
    assert added_schema_lines == [
        "      },",
        '      "limit": {',
        '        "type": "integer",',
        '        "description": "The number of lines to read"',
    ]


def test_diff_of_a_guessed_match_says_so_and_the_picker_changes_the_target(open_viewer: OpenViewer) -> None:
    page = open_viewer(sample_turns(), "#turn=9&tab=diff")

    expect(page.locator(".diff-head .chip")).to_have_text("matched by content (guess)")
    assert page.locator("#diff-picker").input_value() == "3"

    page.select_option("#diff-picker", "1")

    expect(page.locator(".diff-head .chip")).to_have_text("picked by hand")
    assert page.evaluate("location.hash") == "#turn=9&tab=diff&vs=1"
    assert "messages +6" in page.locator(".diff-summary").inner_text()


def test_diff_marks_the_changed_words_of_an_edited_message(open_viewer: OpenViewer) -> None:
    before = make_turn(0, messages=[user(text("Please rename the function foo to bar.\nKeep tests green."))])
    after = make_turn(
        1, messages=[user(text("Please rename the method foo to baz.\nKeep tests green."))], prev=0
    )
    after["system"] = [text("line one\nline two")]

    page = open_viewer([before, after], "#turn=2&tab=diff")

    changed = page.locator(".changed-message")
    assert changed.locator(".ld-del .ld-text").inner_text() == "Please rename the function foo to bar."
    assert changed.locator(".ld-add .ld-text").inner_text() == "Please rename the method foo to baz."
    assert changed.locator("mark.w-del").all_inner_texts() == ["function", "bar"]
    assert changed.locator("mark.w-add").all_inner_texts() == ["method", "baz"]
    assert "Keep tests green." in changed.locator(".ld-same .ld-text").all_inner_texts()
    system_added = page.locator(".diff-section", has_text="System prompt").locator(".ld-add .ld-text")
    assert system_added.all_inner_texts() == ["line one", "line two"]


def test_search_walks_matches_across_turns_forward_and_back(open_viewer: OpenViewer) -> None:
    page = open_viewer(sample_turns())

    page.keyboard.press("/")
    page.keyboard.type("KeyError")
    page.keyboard.press("Enter")

    # Turns 1, 2, 3 and 9 carry the prompt and the thinking with "KeyError"; 3 and 9 the pytest output too.
    assert page.locator("#turn-list .row.hit").evaluate_all("rows => rows.map(r => r.dataset.turn)") == [
        "1",
        "2",
        "3",
        "9",
    ]
    heading, count = page.locator("#detail .detail-head h2"), page.locator("#search-count")
    expect(count).to_have_text("1/2 · turn 1 of 4")
    expect(page.locator("mark.hl.current")).to_have_text("KeyError")
    page.keyboard.press("Enter")
    expect(count).to_have_text("2/2 · turn 1 of 4")
    expect(page.locator("mark.hl.current")).to_be_in_viewport()
    page.keyboard.press("Enter")
    expect(heading).to_have_text("Turn 2")
    expect(count).to_have_text("1/2 · turn 2 of 4")

    page.keyboard.press("Shift+Enter")
    expect(heading).to_have_text("Turn 1")
    expect(count).to_have_text("2/2 · turn 1 of 4")
    page.click("#search-prev")
    page.click("#search-prev")  # wraps around to the last match of the last matching turn
    expect(heading).to_have_text("Turn 9")
    expect(count).to_have_text("3/3 · turn 4 of 4")


def test_search_opens_folded_thinking_that_holds_the_match(open_viewer: OpenViewer) -> None:
    page = open_viewer(sample_turns())

    page.fill("#search", "which key is missing")
    page.press("#search", "Enter")

    expect(page.locator("mark.hl.current")).to_be_visible()
    assert page.locator(".thinking[open]").count() >= 1


def test_deep_link_opens_the_turn_and_tab_and_navigation_updates_it(open_viewer: OpenViewer) -> None:
    page = open_viewer(sample_turns(), "#turn=4&tab=usage")

    expect(page.locator("#detail .detail-head h2")).to_have_text("Turn 4")
    expect(page.locator('#detail .tab[data-tab="usage"]')).to_have_class("tab active")
    expect(page.locator(".usage-head")).to_contain_text("$0.041")

    page.click('#detail .tab[data-tab="events"]')
    assert page.evaluate("location.hash") == "#turn=4&tab=events"
    page.keyboard.press("j")
    assert page.evaluate("location.hash") == "#turn=5&tab=events"

    page.evaluate("location.hash = '#turn=7&tab=raw'")
    expect(page.locator("#detail .detail-head h2")).to_have_text("Turn 7")
    expect(page.locator('#detail .tab[data-tab="raw"]')).to_have_class("tab active")


def test_keyboard_moves_between_turns_and_tabs_and_shows_help(open_viewer: OpenViewer) -> None:
    page = open_viewer(sample_turns())

    page.keyboard.press("j")
    page.keyboard.press("ArrowDown")
    expect(page.locator("#detail .detail-head h2")).to_have_text("Turn 3")
    page.keyboard.press("k")
    expect(page.locator("#detail .detail-head h2")).to_have_text("Turn 2")
    page.keyboard.press("ArrowRight")
    expect(page.locator("#detail .tab.active")).to_have_attribute("data-tab", "tools")
    page.keyboard.press("7")
    expect(page.locator("#detail .tab.active")).to_have_attribute("data-tab", "diff")

    page.keyboard.press("?")
    expect(page.locator("#help")).to_be_visible()
    expect(page.locator("#help")).to_contain_text("Next turn")
    page.keyboard.press("Escape")
    expect(page.locator("#help")).to_be_hidden()

    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "search"
    page.keyboard.press("Escape")
    assert page.evaluate("document.activeElement.id") != "search"


def test_dark_mode_follows_the_system_and_the_toggle(open_viewer: OpenViewer) -> None:
    page = open_viewer(sample_turns(), color_scheme="dark")

    assert page.evaluate("document.documentElement.dataset.theme") == "dark"
    dark_bg = page.evaluate("getComputedStyle(document.body).backgroundColor")
    page.click("#theme-toggle")
    assert page.evaluate("document.documentElement.dataset.theme") == "light"
    assert dark_bg == "rgb(18, 20, 23)"
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(246, 246, 243)"

    page.reload()
    page.wait_for_selector("body[data-ready=true]")
    assert page.evaluate("document.documentElement.dataset.theme") == "light"  # the choice is remembered


def test_language_follows_the_browser_and_the_toggle(open_viewer: OpenViewer) -> None:
    page = open_viewer(sample_turns(), "#turn=2&tab=diff", locale="zh-CN")

    assert page.evaluate("document.documentElement.lang") == "zh-CN"
    expect(page.locator('#detail .tab[data-tab="diff"]')).to_have_text("差异")
    expect(page.locator("#detail .detail-head h2")).to_have_text("第 2 轮")
    expect(page.locator(".diff-head .chip")).to_have_text("同一对话的上一轮")

    page.click("#lang-toggle")

    expect(page.locator('#detail .tab[data-tab="diff"]')).to_have_text("Diff")
    expect(page.locator("#detail .detail-head h2")).to_have_text("Turn 2")
    assert page.evaluate("document.documentElement.lang") == "en"
    assert page.get_attribute("#search", "placeholder") == "Search all turns  /"


def test_filters_and_orderings(open_viewer: OpenViewer) -> None:
    page = open_viewer(sample_turns())
    shown = "rows => rows.map(r => r.dataset.turn)"

    page.check("#filter-errors")
    assert page.locator("#turn-list [data-turn]").evaluate_all(shown) == ["9"]
    page.uncheck("#filter-errors")
    page.select_option("#filter-tool", "Bash")
    assert page.locator("#turn-list [data-turn]").evaluate_all(shown) == ["2"]
    page.select_option("#filter-tool", "")
    page.select_option("#filter-model", "gemini-2.5-pro")
    assert page.locator("#turn-list [data-turn]").evaluate_all(shown) == ["6"]
    page.select_option("#filter-model", "")
    page.fill("#filter-text", "kimi")
    assert page.locator("#turn-list [data-turn]").evaluate_all(shown) == ["5"]
    page.fill("#filter-text", "")

    page.select_option("#sort", "model")
    groups = page.locator(".group-row .group-label").all_inner_texts()
    assert groups[0] == "claude-sonnet-4-5"
    assert page.locator("#turn-list [data-turn]").evaluate_all(shown)[:4] == ["1", "2", "3", "9"]
    page.select_option("#sort", "prompt")
    assert (
        "The test in `tests/test_app.py` fails with a KeyError. Find the bug and fix it."
        in page.locator(".group-row .group-label").all_inner_texts()
    )


def test_markdown_toggle_renders_or_shows_the_source(open_viewer: OpenViewer) -> None:
    page = open_viewer(sample_turns(), "#turn=3")

    answer = page.locator(".is-response .block-text")
    expect(answer.locator("h2")).to_have_text("The fix")
    expect(answer.locator("pre.md-code code")).to_have_text(
        "timeout = raw.get('timeout', raw.get('time_out', 30))"
    )
    assert answer.locator("a").get_attribute("href") == "https://docs.python.org/3/library/json.html"
    assert answer.locator("ol li").count() == 2

    page.uncheck("#md-toggle")

    expect(page.locator(".is-response .block-text .plain")).to_contain_text("## The fix")
    assert page.locator(".is-response h2").count() == 0


def test_copy_as_curl_puts_variables_where_secrets_were(open_viewer: OpenViewer) -> None:
    page = open_viewer(sample_turns(), "#turn=1")
    page.evaluate("navigator.clipboard.writeText = async (text) => { window.copied = text; }")

    page.click("#copy-curl")

    command = page.evaluate("window.copied")
    lines = command.split("\n")
    assert lines[0] == "# needs: $ANTHROPIC_API_KEY"
    assert lines[1] == "curl -sS -N -X POST 'https://api.anthropic.com/v1/messages' \\"
    assert '  -H "x-api-key: ${ANTHROPIC_API_KEY}" \\' in lines
    assert "  -H 'anthropic-version: 2023-06-01' \\" in lines
    assert ANTHROPIC_KEY_MARKER not in command
    assert not any(line.startswith("  -H 'content-length") for line in lines)
    assert lines[-3] == "  --data-binary @- <<'JSON'"
    assert lines[-1] == "JSON"
    assert lines[-2].startswith('{"model":"claude-sonnet-4-5","max_tokens":32000,')

    page.click('[data-turn="6"]')  # Gemini: the key is a query parameter
    page.click("#copy-curl")
    assert "alt=sse&key=${GEMINI_API_KEY}" in page.evaluate("window.copied")

    page.click('[data-turn="7"]')  # an imported transcript was never an HTTP request
    expect(page.locator("#copy-curl")).to_be_disabled()


def test_copy_json_copies_the_whole_turn(open_viewer: OpenViewer) -> None:
    turns = sample_turns()
    page = open_viewer(turns, "#turn=4")
    page.evaluate("navigator.clipboard.writeText = async (text) => { window.copied = text; }")

    page.click("#copy-json")

    assert page.evaluate("JSON.parse(window.copied)") == turns[3]


def test_a_long_conversation_shows_its_tail_and_unfolds_the_rest(open_viewer: OpenViewer) -> None:
    messages = [user(text(f"message number {n}")) for n in range(100)]
    page = open_viewer([make_turn(0, messages=messages)])

    assert page.locator(".messages > .msg").count() == 30
    page.click(".collapsed-group button")
    assert page.locator(".messages > .msg").count() == 100
    expect(page.locator(".messages > .msg").first).to_contain_text("message number 0")


def test_hostile_trace_content_stays_text(open_viewer: OpenViewer, page_problems: object) -> None:
    page = open_viewer(xss_turns())

    for number in (1, 2):
        page.click(f'[data-turn="{number}"]')
        for tab in TABS:
            page.click(f'#detail .tab[data-tab="{tab}"]')
            injected = page.locator('img[src="x"], svg, [onerror], [onload], iframe, object').count()
            assert injected == 0, f"markup from the trace became elements in tab {tab}"
            assert page.evaluate("document.scripts.length") == 4  # config, strings, payload, the viewer
    page.click('[data-turn="1"]')
    page.click('#detail .tab[data-tab="overview"]')
    expect(page.locator(".tool-call .tool-name")).to_have_text(XSS_NAME)
    expect(page.locator(".msg").first).to_contain_text("[click](javascript:alert(3))")
    assert page.locator('a[href^="javascript"]').count() == 0
    expect(page.locator("#detail .chip-model")).to_have_text(XSS_NAME)
    expect(page.locator('[data-turn="1"] .row-model')).to_have_text(XSS_NAME)
    assert page.locator("figure.image img").count() == 0  # a media type that is not an image type

    page.fill("#search", "onerror")
    page.press("#search", "Enter")
    expect(page.locator("mark.hl.current")).to_have_text("onerror")
    page.uncheck("#md-toggle")
    expect(page.locator(".msg").first).to_contain_text(XSS_TEXT)


def test_the_page_makes_no_network_requests(open_viewer: OpenViewer) -> None:
    turns = copy.deepcopy(sample_turns())
    turns[0]["messages"][0]["content"].append(
        {"type": "image", "media_type": "image/png", "url": "http://127.0.0.1:9/x.png"}
    )
    requests: list[str] = []

    page = open_viewer(turns)
    page.on("request", lambda request: requests.append(request.url))
    for tab in [*TABS, "overview"]:
        page.click(f'#detail .tab[data-tab="{tab}"]')

    assert [url for url in requests if not url.startswith(("file:", "data:"))] == []
    expect(page.locator(".image-missing")).to_contain_text("not loaded")


def test_narrow_screen_shows_the_list_or_a_turn_without_sideways_scrolling(open_viewer: OpenViewer) -> None:
    page = open_viewer(sample_turns(), "#turn=3", viewport={"width": 390, "height": 844})

    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    expect(page.locator("#turn-list")).to_be_hidden()  # a link to a turn opens that turn
    expect(page.locator("#detail .detail-head h2")).to_have_text("Turn 3")
    page.locator(".back-btn").click()
    expect(page.locator("#detail")).to_be_hidden()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.click('[data-turn="4"]')
    expect(page.locator("#detail .detail-head h2")).to_have_text("Turn 4")


def test_a_session_of_unknown_models_is_shown_unpriced_never_as_zero(open_viewer: OpenViewer) -> None:
    from tests.factories import usage

    turns = [
        make_turn(0, model="claude-opus-9", usage=usage(100, 20), cost_usd=None),
        make_turn(1, model="claude-opus-9", usage=usage(150, 30), cost_usd=None),
    ]
    page = open_viewer(turns)

    summary = page.locator("#session-summary").inner_text()
    assert "price unknown" in summary and "$0" not in summary
    page.locator('[data-turn="2"]').click()
    page.locator('#detail [data-tab="usage"]').click()
    assert "price unknown" in panel_text(page) and "$0" not in panel_text(page)


def test_the_usage_tab_says_how_old_the_price_table_is(open_viewer: OpenViewer) -> None:
    from claude_tap.normalize.pricing import prices_as_of

    page = open_viewer(sample_turns(), "#turn=1&tab=usage")
    assert f"prices as of {prices_as_of()}" in panel_text(page)
