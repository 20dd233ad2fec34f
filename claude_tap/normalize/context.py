"""Where a turn's context window goes: its prompt split into parts, in tokens and as a share of the window.

Parts, in prompt order: `system`, `tools` (their definitions), then the history by role and block kind,
`<role>.<kind>` with kind one of text, tool_call, tool_result, thinking, image, other ("user.text",
"assistant.tool_call", "user.tool_result", "tool.tool_result", ...). Beside the parts: what is new since
the previous turn of the same thread (the messages after the longest prefix both share), and the
largest items (a tool result, a system prompt, an image) by name.

Tokens. No API reports a per-part count, so each part is estimated from its characters:
    JSON-ish text (tool schemas, tool-call inputs, non-text blocks)   chars / 3.6
    prose (text, thinking, tool-result text)                          chars / 4.0
    an image                                                          1,600 (Anthropic's cost of an
                                                                      image resized to ~1.15 MP)
    each message                                                      +4 (role and separators)
When the provider reported the prompt (input + cache read + cache write), the estimates only share it
out: the parts are scaled to that count and rounded by largest remainder, so they sum to it exactly
(tolerance 0; `estimated_tokens` keeps the raw estimate, to show how far off it was). Otherwise
`basis` is "estimated" and the parts sum to the estimate.

Windows come from windows.json (dated, like prices.json); an unknown model has no window and no share.

Cost: a turn starts from the sums of the previous turn of its thread and measures only the messages
after the history they share (one C-speed `==` walk finds it; repeated messages are usually the same
objects, memo.py, and an IdentityMemo measures each object once anyway). A history that was rewritten
is summed again from the shared part. On the viewer benchmark's 200-turn session (120 MB of requests)
`compositions` takes under 0.1 s.

This module knows the turn model, not records or API formats.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

from claude_tap.normalize.memo import IdentityMemo
from claude_tap.normalize.model import Block, JsonValue, Message, Tool, Turn
from claude_tap.normalize.pricing import canonical_model_name

CHARS_PER_TOKEN_JSON = 3.6
CHARS_PER_TOKEN_TEXT = 4.0
IMAGE_TOKENS = 1_600
MESSAGE_OVERHEAD_TOKENS = 4
LARGEST_ITEMS = 5
ONE_MILLION = 1_000_000

_KIND_OF_BLOCK = {
    "text": "text",
    "tool_use": "tool_call",
    "tool_result": "tool_result",
    "thinking": "thinking",
    "image": "image",
}
_ONE_M_MODEL = re.compile(r"\[1m\]$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Item:
    """One large piece of a prompt, named for people."""

    what: str  # "system prompt", "tool definitions (25)", "user tool_result (toolu_01…)", ...
    message: int | None  # its message's position in the turn's messages
    tokens: int


@dataclass(frozen=True, slots=True)
class Composition:
    basis: str  # "reported" (scaled to the provider's prompt count) or "estimated"
    prompt_tokens: int  # the sum of parts
    estimated_tokens: int  # the raw estimate, before scaling
    parts: dict[str, int]  # in prompt order
    new_messages: int
    new_tokens: int
    shared_with: int | None  # index of the previous turn of the thread the history was compared with
    window: int | None
    window_share: float | None  # prompt_tokens / window
    largest: tuple[Item, ...]

    def as_json(self) -> dict[str, object]:
        return {
            "basis": self.basis,
            "prompt_tokens": self.prompt_tokens,
            "estimated_tokens": self.estimated_tokens,
            "parts": dict(self.parts),
            "new_messages": self.new_messages,
            "new_tokens": self.new_tokens,
            "shared_with": self.shared_with,
            "window": self.window,
            "window_share": self.window_share,
            "largest": [
                {"what": item.what, "message": item.message, "tokens": item.tokens} for item in self.largest
            ],
        }


@dataclass(frozen=True, slots=True)
class _Measure:
    """The estimate of one message: tokens per part, and its largest block."""

    parts: tuple[tuple[str, float], ...]
    total: float
    biggest: tuple[float, str]  # (tokens, what)


@dataclass(frozen=True, slots=True)
class _History:
    """What one turn's messages came to, kept for the next turn of its thread to build on."""

    messages: list[Message]
    measures: list[_Measure]
    totals: dict[str, float]  # parts of all the messages
    top: list[tuple[float, str, int]]  # the largest items among them: (tokens, what, position)
    setup: tuple[list[Block], list[Tool], float, float]  # system, tools and their tokens


def compositions(turns: list[Turn]) -> dict[int, Composition]:
    """The composition of every model call of a session, by turn index (raw turns have none).
    Turns carry their `thread` (threads.py); the history is compared with the previous turn of it."""
    last_of_thread: dict[str, tuple[Turn, _History]] = {}
    found: dict[int, Composition] = {}
    for turn in turns:
        if turn["api"] == "raw":
            continue
        thread = turn.get("thread") or turn["conversation"]
        previous, history = last_of_thread.get(thread, (None, None))
        composition, history = _compose(turn, previous, history)
        found[turn["index"]] = composition
        last_of_thread[thread] = (turn, history)
    return found


def composition_of(turn: Turn, previous: Turn | None = None) -> Composition:
    """One turn's composition; `previous` is the previous turn of its thread (for what is new)."""
    history = _compose(previous, None, None)[1] if previous is not None else None
    return _compose(turn, previous, history)[0]


def _compose(turn: Turn, previous: Turn | None, before: _History | None) -> tuple[Composition, _History]:
    messages = turn["messages"]
    shared = _shared_prefix(before.messages, messages) if before is not None else 0
    # A history that only grew (the usual case) starts from the previous turn's sums: each turn then
    # costs its new messages, whether or not the trace handed out its history as the same objects.
    if before is not None and shared == len(before.messages):
        measures = before.measures[:]
        totals = dict(before.totals)
        top = before.top[:]
    else:
        measures, totals, top = [], {}, []
        shared_measures = before.measures[:shared] if before is not None else []
        for position, measure in enumerate(shared_measures):
            _add(measure, position, measures, totals, top)
    new = 0.0
    for position in range(len(measures), len(messages)):
        measure = _measure(messages[position])
        _add(measure, position, measures, totals, top)
        new += measure.total
    setup = _setup(turn, before)
    history = _History(messages, measures, totals, top, setup)
    parts: dict[str, float] = {"system": setup[2], "tools": setup[3], **totals}
    estimate = sum(parts.values())
    reported = _reported_prompt(turn)
    scale = reported / estimate if reported and estimate else 1.0
    rounded = _largest_remainder({key: value * scale for key, value in parts.items() if value})
    prompt_tokens = sum(rounded.values())
    window = window_of(turn)
    items: list[tuple[float, str, int | str]] = [  # (tokens, name, message position or whole part)
        (parts["system"], "system prompt", "system"),
        (parts["tools"], f"tool definitions ({len(turn['tools'])})", "tools"),
        *top,
    ]
    items.sort(key=lambda item: -item[0])
    composition = Composition(
        basis="reported" if reported and estimate else "estimated",
        prompt_tokens=prompt_tokens,
        estimated_tokens=round(estimate),
        parts=rounded,
        new_messages=len(messages) - shared,
        new_tokens=round(new * scale),
        shared_with=previous["index"] if previous is not None else None,
        window=window,
        window_share=round(prompt_tokens / window, 4) if window else None,
        largest=tuple(
            # A whole part (system prompt, tools) shows the same rounded figure as in `parts`.
            Item(what, None, rounded[where])
            if isinstance(where, str)
            else Item(what, where, round(tokens * scale))
            for tokens, what, where in items[:LARGEST_ITEMS]
            if tokens
        ),
    )
    return composition, history


def _setup(turn: Turn, before: _History | None) -> tuple[list[Block], list[Tool], float, float]:
    """The system prompt's and tools' tokens, taken from the previous turn when they are equal."""
    system, tools = turn["system"], turn["tools"]
    if before is not None:
        old_system, old_tools, system_tokens, tools_tokens = before.setup
        if (system is old_system or system == old_system) and (tools is old_tools or tools == old_tools):
            return system, tools, system_tokens, tools_tokens
    return system, tools, _system_tokens(system), _tools_tokens(tools)


def _add(
    measure: _Measure,
    position: int,
    measures: list[_Measure],
    totals: dict[str, float],
    top: list[tuple[float, str, int]],
) -> None:
    measures.append(measure)
    for key, tokens in measure.parts:
        totals[key] = totals.get(key, 0.0) + tokens
    if measure.biggest[0] and (len(top) < LARGEST_ITEMS or measure.biggest[0] > top[-1][0]):
        top.append((measure.biggest[0], measure.biggest[1], position))
        top.sort(key=lambda item: -item[0])
        del top[LARGEST_ITEMS:]


def _reported_prompt(turn: Turn) -> int:
    usage = turn["usage"]
    if usage is None:
        return 0
    return usage["input_tokens"] + usage["cache_read_tokens"] + usage["cache_write_tokens"]


def _shared_prefix(before: list[Message], after: list[Message]) -> int:
    """How many leading messages both have (repeated messages are the same objects: `is` first)."""
    shared = 0
    for old, new in zip(before, after, strict=False):
        if old is not new and old != new:
            break
        shared += 1
    return shared


def _largest_remainder(values: dict[str, float]) -> dict[str, int]:
    """Integers that sum to round(sum(values)), each within 1 of its value."""
    floors = {key: int(value) for key, value in values.items()}
    missing = round(sum(values.values())) - sum(floors.values())
    by_remainder = sorted(values, key=lambda key: floors[key] - values[key])
    for key in by_remainder[:missing]:
        floors[key] += 1
    return floors


# -- estimates -----------------------------------------------------------------------------------


def _text_tokens(text: str) -> float:
    return len(text) / CHARS_PER_TOKEN_TEXT


def _json_tokens(value: JsonValue) -> float:
    if value is None:
        return 0.0
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return len(text) / CHARS_PER_TOKEN_JSON


def _block_tokens(block: Block) -> float:
    kind = block.get("type")
    if kind in ("text", "thinking"):
        return _text_tokens(block.get("text", ""))
    if kind == "tool_use":
        return _json_tokens(block.get("input")) + _text_tokens(block.get("name", ""))
    if kind == "tool_result":
        return sum(_block_tokens(inner) for inner in block.get("content", []))
    if kind == "image":
        return float(IMAGE_TOKENS)
    return _json_tokens(block.get("raw"))


def _blocks_tokens(blocks: list[Block]) -> float:
    return sum(_block_tokens(block) for block in blocks)


def _tools_tokens_uncached(tools: object) -> float:
    return _json_tokens(tools) if tools else 0.0


_tools_tokens = IdentityMemo(_tools_tokens_uncached)
_system_tokens = IdentityMemo(lambda blocks: _blocks_tokens(blocks))  # type: ignore[arg-type]


def _measure_uncached(raw: object) -> _Measure:
    message: Message = raw  # type: ignore[assignment]
    role = message.get("role") or "unknown"
    parts: dict[str, float] = {}
    biggest: tuple[float, str] = (0.0, "")
    for block in message.get("content", []):
        kind = _KIND_OF_BLOCK.get(block.get("type", ""), "other")
        tokens = _block_tokens(block)
        key = f"{role}.{kind}"
        parts[key] = parts.get(key, 0.0) + tokens
        if tokens > biggest[0]:
            biggest = (tokens, _item_name(role, kind, block))
    if parts:
        first = next(iter(parts))
        parts[first] += MESSAGE_OVERHEAD_TOKENS
    return _Measure(tuple(parts.items()), sum(parts.values()), biggest)


_measure = IdentityMemo(_measure_uncached)


def _item_name(role: str, kind: str, block: Block) -> str:
    if kind == "tool_call":
        return f"{role} tool_call {block.get('name', '?')} ({block.get('id', '')})"
    if kind == "tool_result":
        return f"{role} tool_result ({block.get('tool_use_id', '')})"
    return f"{role} {kind}"


# -- windows -------------------------------------------------------------------------------------


@cache
def _windows() -> tuple[str, dict[str, int]]:
    text = resources.files("claude_tap.normalize").joinpath("windows.json").read_text(encoding="utf-8")
    raw = json.loads(text)
    return raw["as_of"], {name: int(size) for name, size in raw["models"].items()}


def windows_as_of() -> str:
    """The date the shipped window table was checked (ISO date)."""
    return _windows()[0]


def window_of(turn: Turn) -> int | None:
    """The context window of the turn's model, in tokens, or None when the model is not in the table."""
    model = turn["model"]
    if not model:
        return None
    if _ONE_M_MODEL.search(model) or "context-1m" in turn["request_headers"].get("anthropic-beta", ""):
        return ONE_MILLION
    name = canonical_model_name(model)
    best: str | None = None
    for known in _windows()[1]:
        follows = name[len(known) : len(known) + 1]
        if (
            name.startswith(known)
            and follows in ("", "-", ".", "@")
            and (best is None or len(known) > len(best))
        ):
            best = known
    return None if best is None else _windows()[1][best]
