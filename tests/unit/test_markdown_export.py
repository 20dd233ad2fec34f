"""viewer/markdown.py: the Markdown report of a normalized session.

Turns are built by hand (plain dicts in the turn model's shape), so these tests pin the report alone.
`_outside_fences` reads the output the way a CommonMark renderer finds code blocks, so "the fence
survives ``` in the content" is checked on structure, not on a substring.
"""

from __future__ import annotations

import re
from typing import Any

from claude_tap.viewer.markdown import to_markdown
from tests.factories import assistant, make_turn, session_info, text, usage, user

INFO = session_info()

_FENCE_OPEN = re.compile(r"^ {0,3}(`{3,}|~{3,})(.*)$")


def _outside_fences(markdown: str) -> list[str]:
    """The lines a CommonMark renderer would NOT put in a fenced code block (section 4.5)."""
    outside: list[str] = []
    fence: str | None = None
    for line in markdown.splitlines():
        match = _FENCE_OPEN.match(line)
        if fence is None:
            if match and not (match.group(1)[0] == "`" and "`" in match.group(2)):
                fence = match.group(1)
            else:
                outside.append(line)
        elif match and match.group(1)[0] == fence[0] and len(match.group(1)) >= len(fence):
            fence = fence if match.group(2).strip() else None
    return outside


def _tool_session() -> list[dict[str, Any]]:
    call = {"type": "tool_use", "id": "toolu_01", "name": "Bash", "input": {"command": "ls"}}
    result = {
        "type": "tool_result",
        "tool_use_id": "toolu_01",
        "content": [text("a.txt\nb.txt")],
        "is_error": False,
    }
    first = make_turn(
        0,
        messages=[user(text("list files"))],
        output=[call],
        stop_reason="tool_use",
        usage=usage(10, 5, read=100, write=20),
        cost_usd=0.0123,
    )
    second = make_turn(
        1,
        messages=[user(text("list files")), assistant(call), user(result)],
        output=[text("Two files.")],
        usage=usage(12, 3, read=120),
        cost_usd=0.0045,
        prev=0,
    )
    return [first, second]


def test_header_gives_session_facts_and_totals_with_cache_and_cost() -> None:
    report = to_markdown(INFO, _tool_session())

    assert report.startswith("# claude-tap session\n")
    assert "- **Client:** claude" in report
    assert "- **Target:** https://api.anthropic.com" in report
    assert "- **Turns:** 2" in report
    assert "- **Models:** `claude-sonnet-4-5`" in report
    # input 10+12, cache read 100+120, cache write 20, output 5+3: total 22+220+20+8
    assert "- **Tokens:** input 22 · cache read 220 · cache write 20 · output 8 · total 270" in report
    assert "- **Cost:** $0.0168" in report


def test_each_turn_has_a_heading_with_model_tokens_and_duration() -> None:
    report = to_markdown(INFO, _tool_session())

    headings = [line for line in report.splitlines() if line.startswith("## Turn")]
    assert headings == [
        "## Turn 1 · claude-sonnet-4-5 · 135 tokens · 2.3 s",
        "## Turn 2 · claude-sonnet-4-5 · 135 tokens · 2.3 s",
    ]


def test_tool_call_is_fenced_json_and_its_result_links_to_it() -> None:
    report = to_markdown(INFO, _tool_session())

    call = '<a id="tool-toolu_01"></a>**Tool call** `Bash` · id `toolu_01`'
    assert call + '\n\n```json\n{\n  "command": "ls"\n}\n```' in report
    assert "**Tool result** for [`toolu_01`](#tool-toolu_01)\n\n```text\na.txt\nb.txt\n```" in report
    assert report.count('<a id="tool-toolu_01">') == 1  # the repeat in turn 2 gets no second anchor


def test_messages_already_shown_by_the_previous_turn_are_summarized() -> None:
    report = to_markdown(INFO, _tool_session())

    turn_two = report.split("## Turn 2")[1]
    assert "_1 earlier message as in Turn 1._" in turn_two
    assert "list files" not in turn_two
    assert "**assistant**" in turn_two and "**user**" in turn_two


def test_fences_survive_backticks_inside_content() -> None:
    nasty = "before\n```\nnot the end\n````\nstill inside\n"
    call = {"type": "tool_use", "id": "t1", "name": "Write", "input": {"content": nasty}}
    result = {"type": "tool_result", "tool_use_id": "t1", "content": [text(nasty)], "is_error": True}
    turns = [
        make_turn(0, system=[text(nasty)], messages=[user(text("go"))], output=[call]),
        make_turn(1, messages=[user(result)], output=[text("done")]),
    ]

    report = to_markdown(INFO, turns)

    outside = _outside_fences(report)
    assert "## Turn 2 · claude-sonnet-4-5 · 2.3 s" in outside
    assert "### Response" in outside
    assert not any(line in ("not the end", "still inside") for line in outside)
    assert "`````text\nbefore\n```\nnot the end\n````\nstill inside\n`````" in report
    assert "**Tool result** (error) for [`t1`](#tool-t1)" in report


def test_message_text_that_leaves_a_fence_open_is_closed_before_the_next_section() -> None:
    turns = [make_turn(0, messages=[user(text("look:\n~~~~python\nprint(1)"))], output=[text("ok")])]

    report = to_markdown(INFO, turns)

    assert "look:\n~~~~python\nprint(1)\n~~~~" in report
    assert "### Response" in _outside_fences(report)


def test_system_prompt_is_collapsed_and_repeats_are_summarized() -> None:
    system = [text("You are Claude Code.")]
    turns = [
        make_turn(0, system=system, messages=[user(text("hi"))]),
        make_turn(1, system=system, messages=[user(text("hi"))], prev=0),
    ]

    report = to_markdown(INFO, turns)

    assert (
        "<details><summary>System prompt (20 characters)</summary>\n\n"
        "```text\nYou are Claude Code.\n```\n\n</details>"
    ) in report
    assert "_System prompt as in Turn 1._" in report.split("## Turn 2")[1]


def test_thinking_is_quoted_and_images_are_described() -> None:
    image = {"type": "image", "media_type": "image/png", "data": "iVBORw0KGgo="}  # 8 bytes
    turns = [
        make_turn(
            0,
            messages=[user(text("what is this?"), image)],
            output=[{"type": "thinking", "text": "It looks\n\nlike a PNG."}, text("A PNG header.")],
        )
    ]

    report = to_markdown(INFO, turns)

    assert "[image: image/png, 8 bytes]" in report
    assert "> _Thinking:_\n>\n> It looks\n>\n> like a PNG.\n\nA PNG header." in report


def test_tools_are_listed_with_name_and_one_line_description() -> None:
    tools = [
        {"name": "Bash", "description": "Run a command.\n\nUse it   wisely.", "input_schema": {}},
        {"name": "Read", "description": "", "input_schema": None},
    ]
    report = to_markdown(INFO, [make_turn(0, tools=tools)])

    assert (
        "<details><summary>Tools (2)</summary>\n\n- `Bash`: Run a command. Use it wisely.\n- `Read`" in report
    )


def test_usage_and_errors_are_reported() -> None:
    failed = make_turn(
        0,
        status=529,
        error="upstream said: overloaded",
        complete=False,
        usage=usage(3, 0, reasoning=0),
        cost_usd=None,
        model=None,
    )
    report = to_markdown(INFO, [failed])

    assert "## Turn 1 · unknown model · 3 tokens · 2.3 s" in report
    assert "`POST /v1/messages` → 529 · anthropic\\_messages · sse · anthropic" in report
    assert "> **Error:** upstream said: overloaded" in report
    assert "### Usage\n\ninput 3 · output 0 · total 3" in report
    assert "- **Turns:** 1 (1 failed)" in report
    assert "- **Cost:** unknown" in report


def test_strings_from_the_trace_cannot_inject_markup_into_headings() -> None:
    turns = [make_turn(0, model="<img src=x onerror=alert(1)>")]

    report = to_markdown(INFO, turns)

    assert "## Turn 1 · \\<img src=x onerror=alert(1)\\> · 2.3 s" in report
    assert "- **Models:** `<img src=x onerror=alert(1)>`" in report  # a code span shows it literally
    assert report.count("<img") == 2  # those two, and no raw tag anywhere else
