"""Golden tests of threads, context composition and cache diagnosis (issue 14).

tests/golden/threads/<name>.records.json are traces in Claude Code's and Codex's request shapes
(written by make_records.py there): subagents dispatched in parallel with side requests around them,
each cause of a cache miss in turn, two Codex sessions. <name>.expected.json holds each thread, and per
turn its thread, dispatch, composition and cache diagnosis. After a deliberate change, regenerate with
UPDATE_GOLDEN=1 and review the diff line by line.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from claude_tap.normalize.analysis import analyze
from claude_tap.normalize.session import normalize_records

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "threads"
CASES = sorted(path.name.removesuffix(".records.json") for path in GOLDEN.glob("*.records.json"))


def analyzed(name: str) -> dict[str, object]:
    records = json.loads((GOLDEN / f"{name}.records.json").read_text(encoding="utf-8"))
    _, turns = normalize_records(records)
    analysis = analyze(turns)
    per_turn = [
        {
            "index": turn["index"],
            "id": turn["id"],
            "thread": turn["thread"],
            "parent_tool_use_id": turn["parent_tool_use_id"],
            **analysis.turn_json(turn["index"]),
        }
        for turn in turns
    ]
    result = {"summary": analysis.summary(), **analysis.session_json(), "turns": per_turn}
    return json.loads(json.dumps(result))


def test_the_golden_cases_cover_each_pattern() -> None:
    assert set(CASES) == {"claude_subagents", "claude_cache_misses", "codex_sessions"}


@pytest.mark.parametrize("name", CASES)
def test_golden(name: str) -> None:
    actual = analyzed(name)
    expected_path = GOLDEN / f"{name}.expected.json"
    if os.environ.get("UPDATE_GOLDEN") == "1":
        expected_path.write_text(json.dumps(actual, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    expected = json.loads(expected_path.read_text(encoding="utf-8"))
    assert actual["summary"] == expected["summary"]
    assert actual["threads"] == expected["threads"]
    for got, want in zip(actual["turns"], expected["turns"], strict=True):  # type: ignore[call-overload]
        assert got == want, f"turn {want['index']} differs"


def test_each_cache_miss_cause_is_found_in_the_turn_that_has_it() -> None:
    causes = {
        turn["index"]: turn["cache"] for turn in analyzed("claude_cache_misses")["turns"] if turn["cache"]
    }  # type: ignore[attr-defined]
    kinds = {index: [cause["kind"] for cause in cache["causes"]] for index, cache in causes.items()}
    assert kinds == {
        2: ["system_changed"],
        4: ["tools_changed"],
        6: ["model_changed"],
        7: ["ttl_elapsed"],
        9: ["history_rewritten"],
        11: ["breakpoint_moved"],
        12: ["breakpoint_moved"],
        14: ["unexplained"],
    }
    assert all(cache["against"] == index - 1 for index, cache in causes.items())


def test_the_subagents_hang_under_the_main_agent_and_side_requests_stay_apart() -> None:
    threads = {thread["id"]: thread for thread in analyzed("claude_subagents")["threads"]}  # type: ignore[attr-defined]
    assert list(threads) == ["main", "agent-1", "agent-2", "side"]
    assert threads["agent-1"]["parent_tool_use_id"] == "toolu_01A"
    assert threads["agent-2"]["parent_tool_use_id"] == "toolu_01B"
    assert threads["agent-1"]["confidence"] == threads["agent-2"]["confidence"] == "high"
    assert threads["side"]["reasons"] == ["quota check", "title", "token count", "model list"]
