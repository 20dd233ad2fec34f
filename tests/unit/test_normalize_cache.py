"""normalize/cache.py: when reads drop or writes jump, why, from the two requests."""

from __future__ import annotations

from typing import Any

from claude_tap.normalize.cache import breakpoints, diagnose, diagnose_session
from claude_tap.normalize.model import Turn
from tests.factories import make_turn, text, usage, user

MARK = {"type": "ephemeral"}


def tool(name: str, description: str = "") -> Any:
    return {"name": name, "description": description, "input_schema": {"type": "object"}}


def pair(before: dict[str, Any], after: dict[str, Any]) -> tuple[Turn, Turn]:
    previous = make_turn(0, usage=usage(3, 50, read=0, write=5000), **before)
    turn = make_turn(1, usage=usage(3, 50, read=0, write=5200), **after)
    return previous, turn


def kinds_and_details(previous: Turn, turn: Turn) -> list[tuple[str, str]]:
    diagnosis = diagnose(turn, previous)
    assert diagnosis is not None
    return [(cause.kind, cause.detail) for cause in diagnosis.causes]


def test_a_turn_that_reads_what_the_previous_one_cached_is_not_diagnosed() -> None:
    previous = make_turn(0, usage=usage(3, 50, write=5000))
    turn = make_turn(1, usage=usage(3, 50, read=5000, write=300))
    assert diagnose(turn, previous) is None


def test_small_prompts_below_the_cache_minimum_are_not_diagnosed() -> None:
    previous = make_turn(0, usage=usage(3, 50, write=900))
    turn = make_turn(1, usage=usage(900, 50))
    assert diagnose(turn, previous) is None


def test_tools_added_removed_reordered_and_changed_are_each_named() -> None:
    previous, turn = pair(
        {"tools": [tool("Bash"), tool("Read"), tool("Grep"), tool("Old")]},
        {"tools": [tool("Read"), tool("Bash"), tool("Grep", "now with globs"), tool("New")]},
    )
    assert kinds_and_details(previous, turn) == [
        ("tools_changed", "tools added New; removed Old; reordered; schema or description changed: Grep")
    ]


def test_a_new_breakpoint_more_than_20_blocks_past_the_last_cached_one_misses() -> None:
    def body(blocks: int) -> dict[str, Any]:
        content: list[dict[str, Any]] = [{"type": "text", "text": str(n)} for n in range(blocks)]
        content[-1] = {**content[-1], "cache_control": MARK}
        return {"messages": [{"role": "user", "content": content}]}

    previous, turn = pair({"request_body": body(2)}, {"request_body": body(30)})
    previous["messages"] = turn["messages"] = [user(text("same"))]
    assert breakpoints(turn["request_body"]) == [("messages", 0, 29)]
    assert kinds_and_details(previous, turn) == [
        (
            "breakpoint_moved",
            "the nearest cache breakpoint is 28 blocks past the previous one (the API looks back 20)",
        )
    ]


def test_a_breakpoint_moved_off_the_system_prompt_is_named() -> None:
    system = [{"type": "text", "text": "s", "cache_control": MARK}, {"type": "text", "text": "t"}]
    moved = [{"type": "text", "text": "s"}, {"type": "text", "text": "t", "cache_control": MARK}]
    previous, turn = pair({"request_body": {"system": system}}, {"request_body": {"system": moved}})
    assert kinds_and_details(previous, turn) == [
        ("breakpoint_moved", "cache breakpoints in tools/system moved: system 1 → system 2")
    ]


def test_a_one_hour_cache_outlives_a_seven_minute_pause_and_a_five_minute_one_does_not() -> None:
    def turns(ttl: dict[str, str]) -> tuple[Turn, Turn]:
        body = {"system": [{"type": "text", "text": "s", "cache_control": {**MARK, **ttl}}]}
        later = {"started_at": "2026-03-02T10:07:05+00:00", "ttfb_ms": None, "ttft_ms": None}
        return pair(
            {
                "request_body": body,
                "timing": {"started_at": "2026-03-02T10:00:00+00:00", "duration_ms": 5000.0},
            },
            {"request_body": body, "timing": {**later, "duration_ms": 1000.0, "tokens_per_s": None}},
        )

    assert kinds_and_details(*turns({})) == [
        ("ttl_elapsed", "7 min 0 s since the previous response; the cache lives 5 min")
    ]
    assert [kind for kind, _ in kinds_and_details(*turns({"ttl": "1h"}))] == ["unexplained"]


def test_history_rewritten_in_the_middle_says_from_where() -> None:
    previous, turn = pair(
        {"messages": [user(text("a")), user(text("b")), user(text("c"))]},
        {"messages": [user(text("a")), user(text("B")), user(text("c")), user(text("d"))]},
    )
    assert kinds_and_details(previous, turn) == [("history_rewritten", "history rewritten from message 2 on")]


def test_a_session_is_diagnosed_thread_by_thread_against_the_turn_to_diff() -> None:
    main = make_turn(0, thread="main", usage=usage(3, 5, write=5000))
    agent = make_turn(1, thread="agent-1", usage=usage(3, 5, write=3000), system=[text("agent")])
    main_again = make_turn(2, thread="main", usage=usage(3, 5, read=5000, write=100))
    agent_missed = make_turn(3, thread="agent-1", usage=usage(3, 5, write=3100), system=[text("agent v2")])
    found = diagnose_session([main, agent, main_again, agent_missed])
    assert list(found) == [3]
    assert found[3].against == 1
    assert found[3].sentence() == (
        "read 0 of the 3,000 tokens the previous turn cached: system prompt changed at character 6 of 8"
    )
