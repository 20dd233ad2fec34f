"""normalize/context.py: a prompt split into parts, in tokens, as a share of the model's window."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from claude_tap.normalize import context
from claude_tap.normalize.context import composition_of, compositions, window_of
from claude_tap.normalize.session import normalize_records
from tests.factories import assistant, make_turn, text, usage, user

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
TRACES = sorted([*GOLDEN.glob("threads/*.records.json"), *GOLDEN.glob("normalize/*.records.json")])
TOLERANCE_TOKENS = 0  # the module docstring: parts are scaled to the reported prompt and sum to it exactly


@pytest.mark.parametrize("trace", TRACES, ids=lambda path: path.name.removesuffix(".records.json"))
def test_a_turns_composition_sums_to_its_reported_prompt_tokens(trace: Path) -> None:
    _, turns = normalize_records(json.loads(trace.read_text(encoding="utf-8")))
    found = compositions(turns)
    checked = 0
    for turn in turns:
        if turn["usage"] is None or turn["index"] not in found:
            continue
        reported = sum(
            turn["usage"][key] for key in ("input_tokens", "cache_read_tokens", "cache_write_tokens")
        )
        composition = found[turn["index"]]
        if composition.basis != "reported":
            continue
        assert abs(sum(composition.parts.values()) - reported) <= TOLERANCE_TOKENS, turn["id"]
        assert composition.prompt_tokens == reported
        checked += 1
    assert checked or not any(turn["usage"] for turn in turns)


def test_parts_are_split_by_role_and_block_kind_from_the_estimate_when_nothing_is_reported() -> None:
    tool_use = {"type": "tool_use", "id": "t1", "name": "Bash", "input": {"command": "ls"}}
    result = {"type": "tool_result", "tool_use_id": "t1", "content": [text("a" * 400)], "is_error": False}
    turn = make_turn(
        0,
        system=[text("s" * 40)],
        messages=[
            user(text("u" * 80), {"type": "image", "media_type": "image/png", "data": "AAAA"}),
            assistant({"type": "thinking", "text": "t" * 8}, tool_use),
            user(result),
        ],
    )
    composition = composition_of(turn)
    assert composition.basis == "estimated"
    overhead = context.MESSAGE_OVERHEAD_TOKENS
    assert composition.parts == {
        "system": 10,
        "user.text": 20 + overhead,
        "user.image": context.IMAGE_TOKENS,
        "assistant.thinking": 2 + overhead,
        "assistant.tool_call": round((len(json.dumps({"command": "ls"})) / 3.6) + 1),
        "user.tool_result": 100 + overhead,
    }
    assert composition.largest[0].what == "user image"
    assert composition.largest[1].what == "user tool_result (t1)"
    assert composition.largest[1].message == 2


def test_scaled_parts_keep_their_proportions_and_sum_to_the_reported_prompt() -> None:
    turn = make_turn(
        0,
        system=[text("s" * 400)],  # 100 estimated
        messages=[user(text("u" * 1184))],  # 296 + 4 estimated
        usage=usage(10, 5, read=3990),  # 4,000 reported
    )
    composition = composition_of(turn)
    assert composition.basis == "reported"
    assert composition.estimated_tokens == 400
    assert composition.parts == {"system": 1000, "user.text": 3000}


def test_what_is_new_is_what_follows_the_history_shared_with_the_previous_turn() -> None:
    first = make_turn(0, messages=[user(text("a" * 400))])
    second = make_turn(1, messages=[*first["messages"], assistant(text("b" * 40)), user(text("c" * 40))])
    composition = composition_of(second, first)
    assert (composition.new_messages, composition.new_tokens, composition.shared_with) == (2, 28, 0)


def test_compositions_compare_each_turn_with_the_previous_turn_of_its_thread() -> None:
    main = make_turn(0, thread="main", messages=[user(text("x"))])
    agent = make_turn(1, thread="agent-1", messages=[user(text("y"))])
    main_again = make_turn(2, thread="main", messages=[user(text("x")), assistant(text("z"))])
    raw = make_turn(3, api="raw")
    found = compositions([main, agent, main_again, raw])
    assert (found[1].shared_with, found[2].shared_with, found[2].new_messages) == (None, 0, 1)
    assert 3 not in found


def test_each_distinct_message_is_measured_once() -> None:
    history = [user(text(f"message {n}")) for n in range(50)]
    turns = [make_turn(n, messages=history[: n + 1]) for n in range(50)]
    calls = 0
    measure = context._measure_uncached

    def counting(raw: object) -> object:
        nonlocal calls
        calls += 1
        return measure(raw)

    memo = context._measure
    original = memo._fn
    memo._fn = counting  # type: ignore[assignment]
    try:
        compositions(turns)
    finally:
        memo._fn = original
    assert calls == 50


@pytest.mark.parametrize(
    ("model", "headers", "window"),
    [
        ("claude-sonnet-4-5-20250929", {}, 200_000),
        ("claude-sonnet-4-5-20250929", {"anthropic-beta": "context-1m-2025-08-07"}, 1_000_000),
        ("claude-sonnet-4-5[1m]", {}, 1_000_000),
        ("us.anthropic.claude-haiku-4-5-20251001-v1:0", {}, 200_000),
        ("gpt-5.2-codex", {}, 400_000),
        ("gpt-4o-mini", {}, 128_000),
        ("gemini-2.5-pro", {}, 1_048_576),
        ("some-local-model", {}, None),
        (None, {}, None),
    ],
)
def test_the_window_comes_from_the_dated_table(
    model: str | None, headers: dict[str, str], window: int | None
) -> None:
    assert window_of(make_turn(0, model=model, request_headers=headers)) == window


def test_the_share_of_the_window_is_the_prompt_over_the_window() -> None:
    turn = make_turn(0, model="claude-sonnet-4-5", messages=[user(text("u"))], usage=usage(50_000, 10))
    assert composition_of(turn).window_share == 0.25
