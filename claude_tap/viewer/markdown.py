"""A session as a readable Markdown report (`claude-tap export TRACE -o out.md`).

Input is the normalized turn model (normalize/model.py), so every API format reads the same way:
a header with the session facts, totals and threads (main agent, subagents and who dispatched
them, side requests), then one section per turn with its system prompt, messages, tools, response,
usage, context composition (normalize/context.py), cache diagnosis (normalize/cache.py) and errors.

Two rules keep the report intact whatever a trace contains:
- anything we put in a code block or code span gets a fence longer than any backtick run inside it;
- text shown as is (message text) may open a fence it never closes, so we close it after the block.

Each request repeats the whole conversation, so a turn shows only what its previous turn of the same
conversation (`turn["prev"]`) did not already show; everything else is one "as in Turn K" line.

This module knows nothing about trace files, records or the HTML viewer.
"""

from __future__ import annotations

import json
import re

from claude_tap.normalize.analysis import Analysis, analyze
from claude_tap.normalize.cache import Diagnosis
from claude_tap.normalize.context import Composition
from claude_tap.normalize.failures import is_failed
from claude_tap.normalize.model import Block, JsonValue, Message, SessionInfo, Tool, Turn, Usage
from claude_tap.normalize.threads import Thread, thread_totals

_TOOL_DESCRIPTION_CHARS = 300
_INLINE_SPECIALS = re.compile(r"([\\`*_\[\]<>#|~!])")
_BACKTICK_RUN = re.compile(r"`+")
# CommonMark 4.5: a fence is 3+ backticks or tildes after at most 3 spaces of indentation.
_FENCE_LINE = re.compile(r"^ {0,3}(`{3,}|~{3,})(.*)$")


def to_markdown(info: SessionInfo, turns: list[Turn]) -> str:
    """The whole report, ending with a newline."""
    by_index = {turn["index"]: turn for turn in turns}
    anchored: set[str] = set()  # tool-call ids that already have an anchor (first occurrence wins)
    analysis = analyze(turns)
    parts = [_session_header(info, turns), _threads_section(analysis, by_index)]
    for turn in turns:
        prev = by_index.get(turn["prev"]) if turn["prev"] is not None else None
        parts.append(_turn_section(turn, prev, anchored, analysis, by_index))
    return "\n\n".join(part.strip("\n") for part in parts) + "\n"


# -- session header ------------------------------------------------------------------------------


def _session_header(info: SessionInfo, turns: list[Turn]) -> str:
    facts = [
        ("Client", info.get("client")),
        ("Mode", info.get("mode")),
        ("Target", info.get("target")),
        ("Started", info.get("started_at")),
        ("claude-tap", info.get("claude_tap_version")),
        ("Source", info.get("source_format")),
    ]
    lines = ["# claude-tap session", ""]
    lines += [f"- **{name}:** {_inline(str(value))}" for name, value in facts if value]
    lines += ["", "## Totals", ""]
    lines += _totals(turns)
    return "\n".join(lines)


def _totals(turns: list[Turn]) -> list[str]:
    errors = sum(1 for turn in turns if is_failed(turn))
    models = sorted({turn["model"] for turn in turns if turn["model"]})
    usages = [turn["usage"] for turn in turns if turn["usage"] is not None]
    lines = [f"- **Turns:** {len(turns)}" + (f" ({errors} failed)" if errors else "")]
    if models:
        lines.append("- **Models:** " + ", ".join(_code_span(model) for model in models))
    if usages:
        lines.append("- **Tokens:** " + _usage_line(_sum_usage(usages)))
    lines.append("- **Cost:** " + _total_cost(turns))
    durations = [turn["timing"]["duration_ms"] for turn in turns if turn["timing"]["duration_ms"]]
    if durations:
        lines.append("- **Time in model calls:** " + _duration(sum(durations)))
    return lines


def _sum_usage(usages: list[Usage]) -> Usage:
    def total(key: str) -> int:
        return sum(usage.get(key, 0) or 0 for usage in usages)  # type: ignore[misc]

    summed: Usage = {
        "input_tokens": total("input_tokens"),
        "output_tokens": total("output_tokens"),
        "cache_read_tokens": total("cache_read_tokens"),
        "cache_write_tokens": total("cache_write_tokens"),
        "reasoning_tokens": total("reasoning_tokens"),
        "total_tokens": 0,
    }
    summed["total_tokens"] = (
        summed["input_tokens"]
        + summed["output_tokens"]
        + summed["cache_read_tokens"]
        + summed["cache_write_tokens"]
    )
    return summed


def _total_cost(turns: list[Turn]) -> str:
    known = [turn["cost_usd"] for turn in turns if turn["cost_usd"] is not None]
    unknown = sum(1 for turn in turns if turn["cost_usd"] is None and turn["usage"] is not None)
    if not known:
        return "unknown" if unknown else "none"
    text = _dollars(sum(known))
    return text + (f" (plus {unknown} turns of unknown price)" if unknown else "")


# -- threads, context, cache ---------------------------------------------------------------------


def _threads_section(analysis: Analysis, by_index: dict[int, Turn]) -> str:
    lines = ["## Threads", "", f"_{_inline(analysis.summary())}._", ""]
    lines += [_thread_item(thread, analysis.turns, by_index) for thread in analysis.threads]
    return "\n".join(lines)


def _thread_item(thread: Thread, turns: list[Turn], by_index: dict[int, Turn]) -> str:
    totals = thread_totals(thread, turns)
    facts = [f"{totals['turns']} turn{'s' if totals['turns'] != 1 else ''}", f"{totals['tokens']:,} tokens"]
    if totals["cost_usd"]:
        facts.append(_dollars(float(totals["cost_usd"])))
    if totals["duration_s"] is not None:
        facts.append(_duration(float(totals["duration_s"]) * 1000))
    line = f"- **{_inline(thread.label)}** ({_code_span(thread.id)}): " + " · ".join(facts)
    if thread.parent_turn is not None:
        dispatcher = turn_number(by_index[thread.parent_turn])
        line += f"; dispatched by Turn {dispatcher} (call {_code_span(thread.parent_tool_use_id or '')}"
        line += f", matched by {', '.join(thread.match)}: {thread.confidence} confidence)"
        if thread.result_turn is not None:
            line += f", result back in Turn {turn_number(by_index[thread.result_turn])}"
    if thread.reasons:
        kinds = sorted(set(thread.reasons), key=thread.reasons.index)
        line += " (" + ", ".join(_inline(kind) for kind in kinds) + ")"
    return line


def _context_section(composition: Composition, by_index: dict[int, Turn]) -> list[str]:
    head = f"{composition.prompt_tokens:,} prompt tokens ({composition.basis}"
    if composition.basis == "reported":
        head += f"; estimated {composition.estimated_tokens:,}"
    head += ")"
    if composition.window and composition.window_share is not None:
        head += f" · {composition.window_share:.1%} of a {composition.window:,}-token window"
    if composition.shared_with is not None:
        head += (
            f" · new since Turn {turn_number(by_index[composition.shared_with])}: "
            f"{composition.new_messages} message{'s' if composition.new_messages != 1 else ''}, "
            f"{composition.new_tokens:,} tokens"
        )
    parts = " · ".join(f"{_inline(key)} {tokens:,}" for key, tokens in composition.parts.items())
    largest = "; ".join(
        f"{_inline(item.what)}"
        + (f" (message {item.message + 1})" if item.message is not None else "")
        + f" {item.tokens:,}"
        for item in composition.largest
    )
    out = [head, "", f"_Parts:_ {parts}"]
    return out + (["", f"_Largest:_ {largest}"] if largest else [])


def _cache_section(diagnosis: Diagnosis, by_index: dict[int, Turn]) -> list[str]:
    against = turn_number(by_index[diagnosis.against])
    return [f"> **Cache miss:** {_inline(diagnosis.sentence())}. Compare with Turn {against}."]


# -- one turn ------------------------------------------------------------------------------------


def _turn_section(
    turn: Turn, prev: Turn | None, anchored: set[str], analysis: Analysis, by_index: dict[int, Turn]
) -> str:
    out = [_turn_heading(turn), "", _turn_facts(turn)]
    if turn["error"] or not turn["complete"]:
        reason = turn["error"] or "the exchange did not complete"
        out += ["", f"> **Error:** {_inline(reason)}"]
    out += ["", "### System prompt", "", *_system_section(turn, prev)]
    out += ["", "### Messages", "", *_messages_section(turn, prev, anchored)]
    out += ["", "### Tools", "", *_tools_section(turn, prev)]
    out += ["", "### Response", "", *_blocks(turn["output"], anchored)]
    if turn["stop_reason"]:
        out += ["", f"_Stop reason:_ {_code_span(turn['stop_reason'])}"]
    if turn["usage"] is not None:
        cost = f" · {_dollars(turn['cost_usd'])}" if turn["cost_usd"] is not None else ""
        out += ["", "### Usage", "", _usage_line(turn["usage"]) + cost]
    composition = analysis.context.get(turn["index"])
    if composition is not None:
        out += ["", "### Context", "", *_context_section(composition, by_index)]
    diagnosis = analysis.cache.get(turn["index"])
    if diagnosis is not None:
        out += ["", *_cache_section(diagnosis, by_index)]
    return "\n".join(out)


def turn_number(turn: Turn) -> int:
    """The number people see for a turn: "Turn 150" here, in the viewer and in its links (`#turn=150`).

    `turn["index"]` is its 0-based position; every place a person or a link reads it says index + 1
    (issue 10: the viewer's links once used the index and opened the turn after the one meant).
    """
    return turn["index"] + 1


def _turn_heading(turn: Turn) -> str:
    parts = [f"Turn {turn_number(turn)}", _inline(turn["model"] or "unknown model")]
    if turn["usage"] is not None:
        parts.append(f"{turn['usage']['total_tokens']:,} tokens")
    if turn["timing"]["duration_ms"] is not None:
        parts.append(_duration(turn["timing"]["duration_ms"]))
    return "## " + " · ".join(parts)


def _turn_facts(turn: Turn) -> str:
    status = "no response" if turn["status"] is None else str(turn["status"])
    facts = [status, turn["api"], turn["transport"]]
    if turn["provider"] != "unknown":
        facts.append(turn["provider"])
    facts.append(f"started {turn['timing']['started_at']}")
    if turn.get("thread"):
        facts.append(f"thread {turn['thread']}")
    request = _code_span(f"{turn['method']} {turn['path']}")
    return f"{request} → " + " · ".join(_inline(fact) for fact in facts)


def _system_section(turn: Turn, prev: Turn | None) -> list[str]:
    if not turn["system"]:
        return ["_No system prompt._"]
    if prev is not None and prev["system"] == turn["system"]:
        return [f"_System prompt as in Turn {turn_number(prev)}._"]
    text = "\n\n".join(block.get("text", "") for block in turn["system"] if block.get("type") == "text")
    others = [block for block in turn["system"] if block.get("type") != "text"]
    summary = f"System prompt ({len(text):,} characters)"
    body = [_fence(text, "text")] if text else []
    body += [_fence(_json(block), "json") for block in others]
    return [f"<details><summary>{summary}</summary>", "", *body, "", "</details>"]


def _messages_section(turn: Turn, prev: Turn | None, anchored: set[str]) -> list[str]:
    messages = turn["messages"]
    shared = _shared_prefix(prev["messages"], messages) if prev is not None else 0
    out: list[str] = []
    if shared and prev is not None:
        plural = "s" if shared > 1 else ""
        out += [f"_{shared} earlier message{plural} as in Turn {turn_number(prev)}._", ""]
    if not messages:
        out.append("_No messages._")
    for message in messages[shared:]:
        out += [f"**{_inline(message['role'])}**", "", *_blocks(message["content"], anchored), ""]
    while out and not out[-1]:
        out.pop()
    return out


def _shared_prefix(before: list[Message], after: list[Message]) -> int:
    """How many leading messages `after` repeats from `before` (all of them, or 0: no partial match)."""
    if len(before) <= len(after) and after[: len(before)] == before:
        return len(before)
    return 0


def _tools_section(turn: Turn, prev: Turn | None) -> list[str]:
    tools = turn["tools"]
    if not tools:
        return ["_No tools._"]
    if prev is not None and prev["tools"] == tools:
        return [f"_Tools ({len(tools)}) as in Turn {turn_number(prev)}._"]
    items = [_tool_item(tool) for tool in tools]
    return [f"<details><summary>Tools ({len(tools)})</summary>", "", *items, "", "</details>"]


def _tool_item(tool: Tool) -> str:
    description = " ".join((tool.get("description") or "").split())
    if len(description) > _TOOL_DESCRIPTION_CHARS:
        description = description[: _TOOL_DESCRIPTION_CHARS - 1] + "…"
    line = f"- {_code_span(tool['name'])}"
    return line + (f": {_inline(description)}" if description else "")


# -- blocks --------------------------------------------------------------------------------------


def _blocks(blocks: list[Block], anchored: set[str]) -> list[str]:
    if not blocks:
        return ["_(empty)_"]
    out: list[str] = []
    for block in blocks:
        out += [_block(block, anchored), ""]
    return out[:-1]


def _block(block: Block, anchored: set[str]) -> str:
    kind = block.get("type")
    if kind == "text":
        return _close_open_fence(block.get("text", ""))
    if kind == "thinking":
        return _thinking(block)
    if kind == "tool_use":
        return _tool_use(block, anchored)
    if kind == "tool_result":
        return _tool_result(block, anchored)
    if kind == "image":
        return _image(block)
    label = block.get("label") or str(kind)
    return f"_Other block ({_inline(label)}):_\n\n" + _fence(_json(block.get("raw")), "json")


def _thinking(block: Block) -> str:
    if block.get("redacted"):
        return "> _(redacted thinking)_"
    text = block.get("text", "")
    quoted = "\n".join("> " + line if line else ">" for line in text.splitlines() or [""])
    return "> _Thinking:_\n>\n" + quoted


def _tool_use(block: Block, anchored: set[str]) -> str:
    tool_id = block.get("id", "")
    anchor = ""
    if tool_id and tool_id not in anchored:
        anchored.add(tool_id)
        anchor = f'<a id="{_anchor_id(tool_id)}"></a>'
    heading = f"{anchor}**Tool call** {_code_span(block.get('name', '?'))} · id {_code_span(tool_id)}"
    return heading + "\n\n" + _fence(_json(block.get("input")), "json")


def _tool_result(block: Block, anchored: set[str]) -> str:
    tool_id = block.get("tool_use_id", "")
    target = _code_span(tool_id)
    if tool_id in anchored:  # link only to an anchor that exists: the call came earlier in the report
        target = f"[{target}](#{_anchor_id(tool_id)})"
    status = " (error)" if block.get("is_error") else ""
    parts = [f"**Tool result**{status} for {target}"]
    for inner in block.get("content", []):
        if inner.get("type") == "text":
            parts.append(_fence(inner.get("text", ""), "text"))
        else:
            parts.append(_block(inner, anchored))
    return "\n\n".join(parts)


def _image(block: Block) -> str:
    media_type = block.get("media_type") or "unknown type"
    if block.get("data"):
        return f"[image: {_inline(media_type)}, {_base64_size(block['data']):,} bytes]"
    if block.get("url"):
        return f"[image: {_inline(media_type)}, {_code_span(block['url'])}]"
    return f"[image: {_inline(media_type)}]"


def _base64_size(data: str) -> int:
    stripped = "".join(data.split())
    return len(stripped) * 3 // 4 - (len(stripped) - len(stripped.rstrip("=")))


# -- small formatters ----------------------------------------------------------------------------


def _fence(content: str, lang: str = "") -> str:
    """A fenced code block that no backtick run inside `content` can close early."""
    longest = max((len(run) for run in _BACKTICK_RUN.findall(content)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{lang}\n{content.rstrip(chr(10))}\n{fence}"


def _close_open_fence(text: str) -> str:
    """`text` as is, plus a closing fence when it leaves one open (else it would swallow the report)."""
    open_fence: str | None = None
    for line in text.splitlines():
        match = _FENCE_LINE.match(line)
        if match is None:
            continue
        marker, rest = match.group(1), match.group(2)
        if open_fence is None:
            if not (marker[0] == "`" and "`" in rest):  # a backtick fence's info string has no backtick
                open_fence = marker
        elif marker[0] == open_fence[0] and len(marker) >= len(open_fence) and not rest.strip():
            open_fence = None
    return text if open_fence is None else f"{text.rstrip(chr(10))}\n{open_fence}"


def _code_span(text: str) -> str:
    """Inline code that survives backticks inside (CommonMark 6.1: a longer delimiter, padded)."""
    text = " ".join(text.splitlines())
    longest = max((len(run) for run in _BACKTICK_RUN.findall(text)), default=0)
    ticks = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or not text.strip() else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


def _inline(text: str) -> str:
    """Plain text on one line, with Markdown and HTML specials escaped."""
    return _INLINE_SPECIALS.sub(r"\\\1", " ".join(text.splitlines()))


def _usage_line(usage: Usage) -> str:
    parts = [f"input {usage['input_tokens']:,}"]
    if usage.get("cache_read_tokens"):
        parts.append(f"cache read {usage['cache_read_tokens']:,}")
    if usage.get("cache_write_tokens"):
        parts.append(f"cache write {usage['cache_write_tokens']:,}")
    output = f"output {usage['output_tokens']:,}"
    if usage.get("reasoning_tokens"):
        output += f" (reasoning {usage['reasoning_tokens']:,})"
    parts += [output, f"total {usage['total_tokens']:,}"]
    return " · ".join(parts)


def _dollars(amount: float) -> str:
    return f"${amount:,.2f}" if amount >= 1 else f"${amount:.4f}"


def _duration(ms: float) -> str:
    if ms < 1000:
        return f"{ms:.0f} ms"
    seconds = ms / 1000
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s"


def _anchor_id(tool_id: str) -> str:
    return "tool-" + re.sub(r"[^A-Za-z0-9_-]", "-", tool_id)


def _json(value: JsonValue) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False, default=str)
