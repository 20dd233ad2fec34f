"""viewer/session_name.py: a trace that does not name its client (an earlier claude-tap's JSONL) is
named from the turns it holds, so the viewer is not headed "unknown" (issue 14)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

from claude_tap.viewer.export import export_trace, load_session
from claude_tap.viewer.session_name import named_session
from tests.factories import make_turn, session_info, write_trace
from tests.unit.test_export import legacy_line

UNNAMED = session_info(client=None, mode=None, started_at=None, source_format="legacy-jsonl")


def test_the_client_comes_from_the_first_user_agent_that_names_an_agent() -> None:
    turns = [
        make_turn(0, request_headers={"user-agent": "python-httpx/0.27"}),
        make_turn(1, request_headers={"User-Agent": "codex_cli_rs/0.46.0 (Mac OS 15.0)"}),
    ]
    named = named_session(UNNAMED, turns)
    assert named["client"] == "Codex"
    assert named["started_at"] == turns[0]["timing"]["started_at"]
    assert named["source_format"] == "legacy-jsonl"
    assert UNNAMED["client"] is None  # the caller's info is not changed


def test_without_a_known_agent_the_provider_names_it_and_a_named_session_is_kept() -> None:
    assert named_session(UNNAMED, [make_turn(0, provider="openai")])["client"] == "openai API"
    assert named_session(UNNAMED, [make_turn(0, provider="unknown")])["client"] is None
    unknown = session_info(client="unknown")
    assert named_session(unknown, [make_turn(0, provider="anthropic")])["client"] == "anthropic API"
    assert named_session(UNNAMED, [])["started_at"] is None
    named = session_info()
    assert named_session(named, [make_turn(0, provider="openai")]) is named


def test_a_legacy_trace_loads_named_and_exports_its_name(tmp_path: Path) -> None:
    line = legacy_line(1, "first")
    line["request"]["headers"]["user-agent"] = "claude-cli/1.0.61 (external, cli)"
    del line["capture"]  # the old trace does not say which client: the legacy reader says "unknown"
    trace = write_trace(tmp_path / "old.jsonl", [line, copy.deepcopy(line) | {"turn": 2}])

    info, _ = load_session(trace)

    assert info["client"] == "Claude Code"
    assert info["started_at"]  # the legacy reader dates it already
    exported = json.loads(export_trace(trace, tmp_path / "old.json").read_text())
    assert exported["session"]["client"] == "Claude Code"
