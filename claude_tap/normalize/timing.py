"""Timings of a turn: time to first token and output speed, from the recorded event offsets.

ttfb_ms comes from the record (response headers). ttft_ms is the offset of the first event that carries
content (a text, thinking or tool-argument delta), which each API marks differently:

    anthropic_messages   event content_block_delta
    openai_responses     response.*.delta (output_text, reasoning_summary_text, function_call_arguments, ...)
    chat_completions     a chunk whose choices[].delta has content, reasoning or tool_calls
    gemini               a chunk whose candidate has a non-empty part

tokens_per_s = output_tokens / ((duration - ttft) / 1000): the generation speed once tokens flow.
It is None when there is no ttft (a non-streamed response) or no time passed after it.

This module knows event names and offsets; it has no clock.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from claude_tap.normalize.blocks import as_dict, as_list, as_str, json_or_none
from claude_tap.normalize.model import Api, JsonValue, Timing

_CHAT_DELTA_FIELDS = ("content", "reasoning_content", "reasoning", "tool_calls", "refusal")
_GEMINI_CONTENT_PARTS = ("functionCall", "function_call", "inlineData", "inline_data", "executableCode")


def first_token_offset(api: Api, events: Iterable[JsonValue]) -> float | None:
    """The offset (ms, as recorded) of the first content-bearing event, or None."""
    for raw in events:
        event = as_dict(raw)
        if event.get("direction") == "client":
            continue
        if _is_content(api, as_str(event.get("event")) or "", event.get("data")):
            offset = event.get("offset_ms")
            return float(offset) if isinstance(offset, int | float) else None
    return None


def _is_content(api: Api, name: str, data: JsonValue) -> bool:
    if api == "anthropic_messages":
        return name == "content_block_delta"
    if api == "openai_responses":
        if name in ("", "message"):  # a WebSocket frame, or SSE without event names: read the type
            name = as_str(as_dict(json_or_none(data)).get("type")) or ""
        return name.startswith("response.") and name.endswith(".delta")
    if api == "chat_completions":
        return any(
            _chat_delta_has_content(choice) for choice in as_list(as_dict(json_or_none(data)).get("choices"))
        )
    if api == "gemini":
        chunk = as_dict(json_or_none(data))
        chunk = as_dict(chunk.get("response")) or chunk  # Code Assist wraps each chunk
        return any(_gemini_candidate_has_content(candidate) for candidate in as_list(chunk.get("candidates")))
    return False


def _chat_delta_has_content(choice: JsonValue) -> bool:
    delta = as_dict(as_dict(choice).get("delta"))
    return any(delta.get(field) for field in _CHAT_DELTA_FIELDS)


def _gemini_candidate_has_content(candidate: JsonValue) -> bool:
    parts = as_list(as_dict(as_dict(candidate).get("content")).get("parts"))
    return any(_gemini_part_has_content(as_dict(part)) for part in parts)


def _gemini_part_has_content(part: dict[str, JsonValue]) -> bool:
    # The last chunk of a stream often holds only {"text": "", "thoughtSignature": ...}: not a token.
    return bool(part.get("text")) or any(key in part for key in _GEMINI_CONTENT_PARTS)


def make_timing(
    started_at: str,
    *,
    ttfb_ms: float | None,
    ttft_ms: float | None,
    duration_ms: float | None,
    output_tokens: int | None,
) -> Timing:
    tokens_per_s = None
    if ttft_ms is not None and duration_ms is not None and output_tokens and duration_ms > ttft_ms:
        tokens_per_s = round(output_tokens / ((duration_ms - ttft_ms) / 1000), 2)
    return {
        "started_at": started_at,
        "ttfb_ms": ttfb_ms,
        "ttft_ms": ttft_ms,
        "duration_ms": duration_ms,
        "tokens_per_s": tokens_per_s,
    }


def shift_iso(started_at: str, offset_ms: float) -> str:
    """An ISO-8601 time moved by offset_ms, in the same format; unchanged if it does not parse."""
    try:
        moment = datetime.fromisoformat(started_at.replace("Z", "+00:00"))
    except ValueError:
        return started_at
    shifted = (moment + timedelta(milliseconds=offset_ms)).isoformat(timespec="milliseconds")
    return shifted.replace("+00:00", "Z") if started_at.endswith("Z") else shifted


def number_or_none(value: JsonValue) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)
