"""What to call a session whose trace does not say: an imported earlier-claude-tap JSONL trace has no
`session` record, so its client and start are read from the turns it holds (issue 14: such traces
were headed "unknown").

    named_session(info, turns)   info with `client` and `started_at` filled in where they were None
                                 (or, for the client, "unknown", as the legacy reader puts it)

The client comes from the first User-Agent that names a known agent, else from the provider the
turns went to ("anthropic API"); the start is the first turn's.
"""

from __future__ import annotations

import re

from claude_tap.normalize.model import SessionInfo, Turn

# Checked in order against the User-Agent; the first match names the client.
_AGENTS = (
    (re.compile(r"claude-cli|claude-code", re.I), "Claude Code"),
    (re.compile(r"codex", re.I), "Codex"),
    (re.compile(r"gemini-cli|geminicli", re.I), "Gemini CLI"),
    (re.compile(r"opencode", re.I), "OpenCode"),
    (re.compile(r"kimi", re.I), "Kimi CLI"),
    (re.compile(r"hermes", re.I), "Hermes"),
    (re.compile(r"cursor", re.I), "Cursor"),
    (re.compile(r"qoder", re.I), "Qoder"),
)
_TURNS_LOOKED_AT = 50  # the client shows in its first requests; no need to read a long session whole


def named_session(info: SessionInfo, turns: list[Turn]) -> SessionInfo:
    if _is_named(info["client"]) and info["started_at"]:
        return info
    named = info.copy()
    if not _is_named(info["client"]):
        named["client"] = _client_of(turns[:_TURNS_LOOKED_AT])
    if not info["started_at"] and turns:
        named["started_at"] = turns[0]["timing"]["started_at"]
    return named


def _is_named(client: str | None) -> bool:
    # store/legacy.py writes "unknown" when the old trace's `capture` block did not say.
    return bool(client) and client != "unknown"


def _client_of(turns: list[Turn]) -> str | None:
    for turn in turns:
        agent = _header(turn, "user-agent")
        for pattern, name in _AGENTS:
            if pattern.search(agent):
                return name
    providers = [turn["provider"] for turn in turns if _is_named(turn["provider"])]
    return f"{providers[0]} API" if providers else None


def _header(turn: Turn, name: str) -> str:
    for key, value in (turn["request_headers"] or {}).items():
        if key.lower() == name:
            return value
    return ""
