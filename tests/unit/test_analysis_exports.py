"""Threads, context composition and cache diagnoses where people read them: `export` to JSON and
Markdown, and the exit summary (issue 14)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from claude_tap.normalize.summary import summarize
from claude_tap.report import summary_lines
from claude_tap.store.writer import WriterStats
from claude_tap.viewer.export import export_trace
from tests.factories import write_trace

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "threads"


def trace_of(name: str, tmp_path: Path) -> Path:
    records = json.loads((GOLDEN / f"{name}.records.json").read_text(encoding="utf-8"))
    return write_trace(tmp_path / f"{name}.jsonl.zst", records)


def exported(name: str, tmp_path: Path, suffix: str) -> str:
    out = export_trace(trace_of(name, tmp_path), tmp_path / f"out{suffix}")
    return out.read_text(encoding="utf-8")


def test_the_json_export_carries_threads_and_each_turns_composition_and_diagnosis(tmp_path: Path) -> None:
    data: dict[str, Any] = json.loads(exported("claude_cache_misses", tmp_path, ".json"))
    assert [thread["id"] for thread in data["analysis"]["threads"]] == ["main"]
    assert data["analysis"]["cache_misses"] == 8
    third = data["turns"][2]
    assert third["thread"] == "main"
    assert sum(third["context"]["parts"].values()) == 3 + 4600  # input + cache write, as reported
    assert third["cache"]["against"] == 1
    assert third["cache"]["causes"] == [
        {"kind": "system_changed", "detail": "system prompt changed at character 1,489 of 1,496"}
    ]
    assert data["turns"][1]["cache"] is None


def test_the_json_export_says_who_dispatched_each_subagent(tmp_path: Path) -> None:
    data: dict[str, Any] = json.loads(exported("claude_subagents", tmp_path, ".json"))
    agent = data["analysis"]["threads"][1]
    assert (agent["id"], agent["parent_turn"], agent["parent_tool_use_id"]) == ("agent-1", 3, "toolu_01A")
    assert agent["totals"]["turns"] == 2
    assert [turn["parent_tool_use_id"] for turn in data["turns"] if turn["thread"] == "agent-1"] == [
        "toolu_01A",
        "toolu_01A",
    ]


def test_the_markdown_report_lists_threads_and_explains_each_cache_miss(tmp_path: Path) -> None:
    report = exported("claude_subagents", tmp_path, ".md")
    assert "## Threads" in report
    assert (
        "- **Explore: Find auth code** (`agent-1`): 2 turns · 3,067 tokens · $0.0082 · 5.8 s; "
        "dispatched by Turn 4 (call `toolu_01A`, matched by prompt, timing, result: high confidence), "
        "result back in Turn 10"
    ) in report
    assert "(quota check, title, token count, model list)" in report
    assert "thread agent-1" in report
    misses = exported("claude_cache_misses", tmp_path, ".md")
    assert (
        "> **Cache miss:** read 0 of the 4,300 tokens the previous turn cached: system prompt changed at "
        "character 1,489 of 1,496. Compare with Turn 2."
    ) in misses
    assert "history compacted: 17 messages became 1. Compare with Turn 9." in misses
    assert (
        "### Context\n\n4,603 prompt tokens (reported; estimated 913) · 2.3% of a 200,000-token window"
        in misses
    )


def test_the_exit_summary_has_a_line_of_threads_cache_misses_and_the_fullest_window(tmp_path: Path) -> None:
    summary = summarize(trace_of("claude_cache_misses", tmp_path))
    lines = summary_lines(summary, WriterStats(written=15, dropped=0, failed=0))
    assert lines[1] == (
        "claude-tap: threads: main agent; cache misses: 8 (system_changed 1, tools_changed 1, "
        "model_changed 1, ttl_elapsed 1, history_rewritten 1, breakpoint_moved 2, unexplained 1); "
        "fullest context: 3% of the window"
    )
    agents = summarize(trace_of("claude_subagents", tmp_path)).insight
    assert agents is not None and agents.startswith("threads: main agent, 2 subagents, 4 side requests;")


def test_a_failing_threads_line_leaves_the_rest_of_the_summary(tmp_path: Path, monkeypatch: Any) -> None:
    def broken(turns: object) -> str:
        raise RuntimeError("boom")

    monkeypatch.setattr("claude_tap.normalize.analysis.summary_line", broken)
    summary = summarize(trace_of("claude_subagents", tmp_path))
    assert (summary.calls, summary.insight) == (10, None)
    assert len(summary_lines(summary, WriterStats(written=10, dropped=0, failed=0))) == 1
