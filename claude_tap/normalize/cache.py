"""Why a turn missed the prompt cache, read from the requests themselves.

A turn is diagnosed against the previous turn of its thread (threads.py) that reported usage when
    reads dropped   that turn read or wrote at least MIN_TOKENS and this one reads less than half of it
    writes jumped   this turn writes at least MIN_TOKENS, and more than it reads
(a first turn of a thread is a cold start: not diagnosed). The causes, every one that applies, in order:

    model_changed       a cache belongs to one model
    system_changed      the system prompt differs (where: the first differing character)
    tools_changed       tools added, removed, reordered, or a schema/description changed
    history_rewritten   the messages do not start with the previous turn's (compacted: fewer of them)
    breakpoint_moved    Anthropic `cache_control` marks: gone (now or in the previous request), moved in
                        system/tools, or the new mark is more than 20 blocks past the last cached one
                        (the API looks back only 20); not checked when the history was rewritten
    ttl_elapsed         more time passed since the previous response ended than the cache lives:
                        5 min, or 1 h where the previous request asked for `"ttl": "1h"`
    unexplained         none of these: the prefix was the same (the provider evicted it, or a gateway
                        routed the call elsewhere)

`against` names the turn to diff with (the viewer's diff tab, `#turn=N`).
The breakpoints come from the recorded request body (the turn model drops cache marks from blocks).

This module knows turns and Anthropic's cache rules, not records.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from claude_tap.normalize.blocks import as_dict, as_list, as_str
from claude_tap.normalize.model import Block, JsonValue, Turn

MIN_TOKENS = 1_024  # Anthropic's smallest cacheable prompt (Sonnet/Opus); OpenAI's too
DEFAULT_TTL_S = 300
LONG_TTL_S = 3_600
LOOKBACK_BLOCKS = 20


@dataclass(frozen=True, slots=True)
class Cause:
    kind: str
    detail: str


@dataclass(frozen=True, slots=True)
class Diagnosis:
    turn: int
    against: int  # index of the turn to diff with
    event: str  # "reads_dropped" or "writes_jumped"
    cache_read: int
    previous_cached: int  # what the previous turn read from and wrote to the cache
    cache_write: int
    causes: tuple[Cause, ...]

    def as_json(self) -> dict[str, object]:
        return {
            "against": self.against,
            "event": self.event,
            "cache_read": self.cache_read,
            "previous_cached": self.previous_cached,
            "cache_write": self.cache_write,
            "causes": [{"kind": cause.kind, "detail": cause.detail} for cause in self.causes],
        }

    def sentence(self) -> str:
        """One line for people: what happened and why."""
        what = (
            f"read {self.cache_read:,} of the {self.previous_cached:,} tokens the previous turn cached"
            if self.event == "reads_dropped"
            else f"{self.cache_write:,} tokens written to the cache, {self.cache_read:,} read"
        )
        return f"{what}: " + "; ".join(cause.detail for cause in self.causes)


def diagnose_session(turns: list[Turn]) -> dict[int, Diagnosis]:
    """Each diagnosed turn's diagnosis, by turn index."""
    last_of_thread: dict[str, Turn] = {}
    found: dict[int, Diagnosis] = {}
    for turn in turns:
        if turn["usage"] is None or turn["api"] == "raw":
            continue
        thread = turn.get("thread") or turn["conversation"]
        previous = last_of_thread.get(thread)
        last_of_thread[thread] = turn
        if previous is not None:
            diagnosis = diagnose(turn, previous)
            if diagnosis is not None:
                found[turn["index"]] = diagnosis
    return found


def diagnose(turn: Turn, previous: Turn) -> Diagnosis | None:
    """Why `turn` missed the cache that `previous` (same thread, earlier, with usage) left, or None."""
    now, before = turn["usage"], previous["usage"]
    if now is None or before is None:
        return None
    read, write = now["cache_read_tokens"], now["cache_write_tokens"]
    was_cached = before["cache_read_tokens"] + before["cache_write_tokens"]
    if was_cached >= MIN_TOKENS and read < was_cached / 2:
        event = "reads_dropped"
    elif write >= MIN_TOKENS and write > read:
        event = "writes_jumped"
    else:
        return None
    history = _history_change(turn, previous)
    causes = [
        *_model_change(turn, previous),
        *_system_change(turn["system"], previous["system"]),
        *_tool_changes(turn, previous),
        *history,
        *([] if history else _breakpoint_change(turn, previous)),  # marks of another history: moot
        *_ttl_elapsed(turn, previous),
    ]
    if not causes:
        causes.append(
            Cause(
                "unexplained",
                "system prompt, tools and history are unchanged and within the cache's lifetime: "
                "the provider evicted the prefix or served the call from another cache",
            )
        )
    return Diagnosis(
        turn["index"],
        previous["index"],
        event,
        read,
        was_cached,
        write,
        tuple(causes),
    )


def _model_change(turn: Turn, previous: Turn) -> list[Cause]:
    if turn["model"] == previous["model"]:
        return []
    return [Cause("model_changed", f"model changed from {previous['model']} to {turn['model']}")]


def _system_change(now: list[Block], before: list[Block]) -> list[Cause]:
    if now is before or now == before:
        return []
    new, old = _text_of(now), _text_of(before)
    at = next((k for k, (a, b) in enumerate(zip(new, old, strict=False)) if a != b), min(len(new), len(old)))
    where = f"at character {at + 1:,} of {len(new):,}" if new != old else "in a non-text block"
    return [Cause("system_changed", f"system prompt changed {where}")]


def _tool_changes(turn: Turn, previous: Turn) -> list[Cause]:
    now, before = turn["tools"], previous["tools"]
    if now is before or now == before:
        return []
    names, old_names = [tool["name"] for tool in now], [tool["name"] for tool in before]
    notes = []
    added = [name for name in names if name not in old_names]
    removed = [name for name in old_names if name not in names]
    if added:
        notes.append("added " + ", ".join(added))
    if removed:
        notes.append("removed " + ", ".join(removed))
    kept = [name for name in names if name in old_names]
    if kept != [name for name in old_names if name in names]:
        notes.append("reordered")
    old_by_name = {tool["name"]: tool for tool in before}
    changed = [
        tool["name"] for tool in now if tool["name"] in old_by_name and tool != old_by_name[tool["name"]]
    ]
    if changed:
        notes.append("schema or description changed: " + ", ".join(changed))
    return [Cause("tools_changed", "tools " + "; ".join(notes or ["changed"]))]


def _history_change(turn: Turn, previous: Turn) -> list[Cause]:
    now, before = turn["messages"], previous["messages"]
    shared = 0
    for old, new in zip(before, now, strict=False):
        if old is not new and old != new:
            break
        shared += 1
    if shared == len(before):
        return []
    if len(now) < len(before):
        detail = f"history compacted: {len(before)} messages became {len(now)}"
        return [Cause("history_rewritten", detail)]
    return [Cause("history_rewritten", f"history rewritten from message {shared + 1} on")]


# -- Anthropic cache breakpoints -----------------------------------------------------------------

Mark = tuple[str, int, int]  # (section, item, block): ("system", i, 0), ("tools", i, 0), ("messages", i, j)


def breakpoints(request_body: JsonValue) -> list[Mark]:
    """Where a Messages request marks `cache_control`, in prompt order."""
    body = as_dict(request_body)
    marks: list[Mark] = []
    for section in ("tools", "system"):  # the cache prefix runs tools, system, messages
        for i, item in enumerate(as_list(body.get(section))):
            if "cache_control" in as_dict(item):
                marks.append((section, i, 0))
    for i, message in enumerate(as_list(body.get("messages"))):
        for j, block in enumerate(as_list(as_dict(message).get("content"))):
            if "cache_control" in as_dict(block):
                marks.append(("messages", i, j))
    return marks


def _breakpoint_change(turn: Turn, previous: Turn) -> list[Cause]:
    if turn["api"] != "anthropic_messages":
        return []
    now, before = breakpoints(turn["request_body"]), breakpoints(previous["request_body"])
    if not before:
        if not now:
            return []
        return [
            Cause("breakpoint_moved", "the previous request marked no cache breakpoint: nothing was cached")
        ]
    if not now:
        return [Cause("breakpoint_moved", "the request marks no cache breakpoint (the previous one did)")]
    fixed_now = [mark for mark in now if mark[0] != "messages"]
    fixed_before = [mark for mark in before if mark[0] != "messages"]
    if fixed_now != fixed_before:
        return [
            Cause(
                "breakpoint_moved",
                f"cache breakpoints in tools/system moved: {_marks(fixed_before)} → {_marks(fixed_now)}",
            )
        ]
    last_cached = max((mark for mark in before if mark[0] == "messages"), default=None)
    if last_cached is None:
        return []
    later = [mark for mark in now if mark[0] == "messages" and mark >= last_cached]
    if not later:
        return [Cause("breakpoint_moved", "no cache breakpoint at or after the previous turn's last one")]
    gap = _blocks_between(turn["request_body"], last_cached, min(later))
    if gap > LOOKBACK_BLOCKS:
        return [
            Cause(
                "breakpoint_moved",
                f"the nearest cache breakpoint is {gap} blocks past the previous one "
                f"(the API looks back {LOOKBACK_BLOCKS})",
            )
        ]
    return []


def _marks(marks: list[Mark]) -> str:
    return ", ".join(f"{section} {item + 1}" for section, item, _ in marks) or "none"


def _blocks_between(request_body: JsonValue, start: Mark, end: Mark) -> int:
    count = 0
    for i, message in enumerate(as_list(as_dict(request_body).get("messages"))):
        content = as_dict(message).get("content")
        blocks = as_list(content) if isinstance(content, list) else [content]
        for j in range(len(blocks)):
            if start < ("messages", i, j) <= end:
                count += 1
    return count


def _ttl_of(request_body: JsonValue) -> int:
    body = as_dict(request_body)
    places = [*as_list(body.get("tools")), *as_list(body.get("system"))]
    for message in as_list(body.get("messages")):
        places += as_list(as_dict(message).get("content"))
    for item in places:
        if as_str(as_dict(as_dict(item).get("cache_control")).get("ttl")) == "1h":
            return LONG_TTL_S
    return DEFAULT_TTL_S


def _ttl_elapsed(turn: Turn, previous: Turn) -> list[Cause]:
    start, previous_start = _moment(turn), _moment(previous)
    if start is None or previous_start is None:
        return []
    gap = start - previous_start - (previous["timing"]["duration_ms"] or 0) / 1000
    ttl = _ttl_of(previous["request_body"]) if previous["api"] == "anthropic_messages" else DEFAULT_TTL_S
    if gap <= ttl:
        return []
    lives = "1 h" if ttl == LONG_TTL_S else "5 min"
    return [Cause("ttl_elapsed", f"{_minutes(gap)} since the previous response; the cache lives {lives}")]


def _moment(turn: Turn) -> float | None:
    text = turn["timing"]["started_at"]
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() if text else None
    except ValueError:
        return None


def _minutes(seconds: float) -> str:
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s" if minutes else f"{rest} s"


def _text_of(blocks: list[Block]) -> str:
    return "\n".join(block.get("text", "") for block in blocks if block.get("type") == "text")
