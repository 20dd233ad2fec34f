"""One session as the session index stores it: totals for the list and the texts to search.

    entry = session_entry(session_dir, info, turns, trace_size, trace_mtime_ns)

Built from the normalized model (normalize/session.py), never from raw records, so the index agrees
with the viewer: the same turns, in the same order, numbered as the page numbers them (index + 1).

What is searchable, per turn: the system prompt (once per session for each distinct prompt), the
messages the turn added to its conversation (user text, tool results, tool calls), the model's output,
and the names of the tools offered (once per session for each name). A request repeats its whole
conversation; only what is new since the previous turn of the same conversation (`prev`) is taken, so
a session's searchable text grows with its new content, not with the square of its length. A block's
text is capped (MAX_BLOCK_CHARS): a 5 MB file read by a tool is found by its first pages.

Pure: no file, no database. This module knows the turn model, not SQLite.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from claude_tap.normalize.failures import is_failed
from claude_tap.normalize.model import Block, Message, SessionInfo, Turn

Kind = Literal["system", "message", "tool_use", "tool_result", "output", "tools"]

MAX_BLOCK_CHARS = 32_000
MAX_PART_CHARS = 200_000
PROMPT_CHARS = 200
_TOOL_INPUT_CHARS = 2_000
# Text a client injects before what the person typed (Claude Code's reminders): not "the prompt".
_NOT_A_PROMPT = ("<system-reminder>", "<command-", "<local-command", "Caveat:")


@dataclass(frozen=True, slots=True)
class TextPart:
    """Searchable text of one kind from one turn. `turn` is 0-based (the turn's `index`)."""

    turn: int
    kind: Kind
    text: str


@dataclass(frozen=True, slots=True)
class SessionEntry:
    """A session's row in the index and its searchable parts."""

    session_dir: str  # absolute path, the key
    trace_size: int  # of the trace file when it was read: a changed file is indexed again
    trace_mtime_ns: int
    started_at: str | None  # ISO-8601 as recorded
    started_ts: float | None  # the same as a POSIX time, for sorting and date filters
    client: str | None
    mode: str | None
    target: str | None
    calls: int
    errors: int
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    cost_usd: float  # of the priced turns
    unpriced_calls: int  # calls with usage but a model of unknown price
    duration_ms: float | None  # first start to last end
    first_prompt: str
    models: tuple[str, ...]
    parts: tuple[TextPart, ...]

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens + self.cache_read_tokens + self.cache_write_tokens


def session_entry(
    session_dir: Path, info: SessionInfo, turns: Sequence[Turn], trace_size: int, trace_mtime_ns: int
) -> SessionEntry:
    """The index entry of a normalized session (turns in order of start, as normalize_records gives)."""
    totals = {"input_tokens": 0, "output_tokens": 0, "cache_read_tokens": 0, "cache_write_tokens": 0}
    cost = 0.0
    unpriced = errors = 0
    models: dict[str, None] = {}
    for turn in turns:
        usage = turn["usage"]
        if usage is not None:
            for key in totals:
                totals[key] += int(usage[key])  # type: ignore[literal-required]
        if turn["cost_usd"] is not None:
            cost += turn["cost_usd"]
        elif usage is not None:
            unpriced += 1
        if is_failed(turn):
            errors += 1
        if turn["model"]:
            models[turn["model"]] = None
    started_at = info["started_at"] or (turns[0]["timing"]["started_at"] if turns else None)
    return SessionEntry(
        session_dir=str(session_dir),
        trace_size=trace_size,
        trace_mtime_ns=trace_mtime_ns,
        started_at=started_at,
        started_ts=parse_time(started_at),
        client=info["client"],
        mode=info["mode"],
        target=info["target"],
        calls=len(turns),
        errors=errors,
        cost_usd=round(cost, 10),
        unpriced_calls=unpriced,
        duration_ms=_duration_ms(parse_time(started_at), turns),
        first_prompt=first_prompt(turns),
        models=tuple(models),
        parts=tuple(searchable_parts(turns)),
        **totals,
    )


def parse_time(text: str | None) -> float | None:
    """POSIX seconds of an ISO-8601 time (UTC when it names no zone); None when unreadable."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def _duration_ms(start: float | None, turns: Sequence[Turn]) -> float | None:
    first, last = start, None
    for turn in turns:
        begun = parse_time(turn["timing"]["started_at"])
        if begun is None:
            continue
        first = begun if first is None else min(first, begun)
        ended = begun + (turn["timing"]["duration_ms"] or 0.0) / 1000
        last = ended if last is None else max(last, ended)
    if first is None or last is None:
        return None
    return round(max(last - first, 0.0) * 1000, 3)


def first_prompt(turns: Sequence[Turn]) -> str:
    """What the person first asked: the first user text of the main agent's first call (the first
    call that offers tools: Claude Code's quota and topic checks offer none), reminders skipped."""
    main = next((turn for turn in turns if turn["tools"]), turns[0] if turns else None)
    if main is None:
        return ""
    fallback = ""
    for message in main["messages"]:
        if message["role"] != "user":
            continue
        for block in message["content"]:
            text = block.get("text", "").strip() if block.get("type") == "text" else ""
            if not text:
                continue
            if not text.startswith(_NOT_A_PROMPT):
                return _one_line(text)[:PROMPT_CHARS]
            fallback = fallback or _one_line(text)[:PROMPT_CHARS]
    return fallback


def _one_line(text: str) -> str:
    return " ".join(text.split())


def searchable_parts(turns: Sequence[Turn]) -> Iterable[TextPart]:
    """Each turn's new text, by kind (see the module docstring)."""
    seen_system: set[str] = set()
    seen_tools: set[str] = set()
    for turn in turns:
        index = turn["index"]
        system = _join(_block_texts(turn["system"]))
        if system and system not in seen_system:
            seen_system.add(system)
            yield TextPart(index, "system", system)
        new_tools = [tool["name"] for tool in turn["tools"] if tool["name"] not in seen_tools]
        if new_tools:
            seen_tools.update(new_tools)
            yield TextPart(index, "tools", " ".join(new_tools))
        by_kind: dict[Kind, list[str]] = {"message": [], "tool_use": [], "tool_result": []}
        for message in new_messages(turn, turns):
            text_kind: Kind = "tool_result" if message["role"] in ("tool", "function") else "message"
            for block in message["content"]:
                _collect(block, by_kind, text_kind)
        for kind, texts in by_kind.items():
            if joined := _join(texts):
                yield TextPart(index, kind, joined)
        output: dict[Kind, list[str]] = {"message": [], "tool_use": [], "tool_result": []}
        for block in turn["output"]:
            _collect(block, output, "message")
        if joined := _join(output["message"] + output["tool_use"]):
            yield TextPart(index, "output", joined)


def new_messages(turn: Turn, turns: Sequence[Turn]) -> list[Message]:
    """The messages this turn added: after the previous turn's of its conversation, without the
    assistant messages (they are the earlier turns' outputs, indexed there)."""
    messages = turn["messages"]
    prev = turn["prev"]
    if prev is None or not 0 <= prev < len(turns):
        return messages
    known = len(turns[prev]["messages"])
    if known > len(messages):  # not a continuation after all (a compaction): all of it is new
        return messages
    return [message for message in messages[known:] if message["role"] not in ("assistant", "model")]


def _collect(block: Block, into: dict[Kind, list[str]], text_kind: Kind) -> None:
    kind = block.get("type")
    if kind == "text":
        into[text_kind].append(block.get("text", "")[:MAX_BLOCK_CHARS])
    elif kind == "tool_use":
        arguments = json.dumps(block.get("input"), ensure_ascii=False)[:_TOOL_INPUT_CHARS]
        into["tool_use"].append(f"{block.get('name', '')} {arguments}")
    elif kind == "tool_result":
        into["tool_result"].append(_join(_block_texts(block.get("content", []))))


def _block_texts(blocks: Iterable[Block]) -> list[str]:
    return [block.get("text", "")[:MAX_BLOCK_CHARS] for block in blocks if block.get("type") == "text"]


def _join(texts: list[str]) -> str:
    return "\n".join(text for text in texts if text)[:MAX_PART_CHARS]
