"""Token usage: the one place that knows how each API counts cached tokens.

The turn model has a single meaning for usage (model.py): `input_tokens` excludes every cached token, so
`input_tokens + cache_read_tokens + cache_write_tokens` is the whole prompt, and `output_tokens`
includes reasoning. The APIs disagree:

    Anthropic Messages   input_tokens excludes cache_read_input_tokens and cache_creation_input_tokens
    OpenAI Responses     input_tokens includes input_tokens_details.cached_tokens
    Chat Completions     prompt_tokens includes prompt_tokens_details.cached_tokens (OpenAI),
                         prompt_cache_hit_tokens (DeepSeek) or cached_tokens (Moonshot)
    Gemini               promptTokenCount includes cachedContentTokenCount; thoughtsTokenCount is
                         not part of candidatesTokenCount but is billed as output

so each reader below subtracts what its API counts twice. None of them reports cache writes except
Anthropic. A reader returns None when the API gave no usage at all (an error, a cut-off stream).

This module knows the usage objects of each API, not where they sit in a record; `usage_of` asks
turns.py for that.
"""

from __future__ import annotations

from claude_tap.normalize.blocks import as_dict, as_int
from claude_tap.normalize.model import JsonValue, Usage


def make_usage(
    *,
    input_tokens: int,
    output_tokens: int,
    cache_read_tokens: int = 0,
    cache_write_tokens: int = 0,
    reasoning_tokens: int = 0,
) -> Usage:
    # A provider that reports more cached than prompt tokens would make input negative; clamp, since a
    # negative count would also make a negative cost.
    input_tokens = max(input_tokens, 0)
    return {
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "cache_read_tokens": cache_read_tokens,
        "cache_write_tokens": cache_write_tokens,
        "reasoning_tokens": reasoning_tokens,
        "total_tokens": input_tokens + cache_read_tokens + cache_write_tokens + output_tokens,
    }


def _has_any(usage: dict[str, JsonValue], keys: tuple[str, ...]) -> bool:
    return any(key in usage for key in keys)


def anthropic_usage(raw: JsonValue) -> Usage | None:
    usage = as_dict(raw)
    if not _has_any(usage, ("input_tokens", "output_tokens")):
        return None
    cache_write = as_int(usage.get("cache_creation_input_tokens"))
    if not cache_write:  # some gateways send only the per-TTL breakdown
        breakdown = as_dict(usage.get("cache_creation"))
        cache_write = sum(as_int(value) for value in breakdown.values())
    return make_usage(
        input_tokens=as_int(usage.get("input_tokens")),
        output_tokens=as_int(usage.get("output_tokens")),
        cache_read_tokens=as_int(usage.get("cache_read_input_tokens")),
        cache_write_tokens=cache_write,
    )


def openai_responses_usage(raw: JsonValue) -> Usage | None:
    usage = as_dict(raw)
    if not _has_any(usage, ("input_tokens", "output_tokens")):
        return None
    cached = as_int(as_dict(usage.get("input_tokens_details")).get("cached_tokens"))
    return make_usage(
        input_tokens=as_int(usage.get("input_tokens")) - cached,
        output_tokens=as_int(usage.get("output_tokens")),
        cache_read_tokens=cached,
        reasoning_tokens=as_int(as_dict(usage.get("output_tokens_details")).get("reasoning_tokens")),
    )


def chat_completions_usage(raw: JsonValue) -> Usage | None:
    usage = as_dict(raw)
    if not _has_any(usage, ("prompt_tokens", "completion_tokens")):
        return None
    cached = (
        as_int(as_dict(usage.get("prompt_tokens_details")).get("cached_tokens"))
        or as_int(usage.get("prompt_cache_hit_tokens"))  # DeepSeek
        or as_int(usage.get("cached_tokens"))  # Moonshot / Kimi
    )
    return make_usage(
        input_tokens=as_int(usage.get("prompt_tokens")) - cached,
        output_tokens=as_int(usage.get("completion_tokens")),
        cache_read_tokens=cached,
        reasoning_tokens=as_int(as_dict(usage.get("completion_tokens_details")).get("reasoning_tokens")),
    )


def gemini_usage(raw: JsonValue) -> Usage | None:
    usage = as_dict(raw)
    if not _has_any(usage, ("promptTokenCount", "candidatesTokenCount", "totalTokenCount")):
        return None
    cached = as_int(usage.get("cachedContentTokenCount"))
    thoughts = as_int(usage.get("thoughtsTokenCount"))
    # Tool-use prompt tokens (e.g. search results fed back) are billed as input but reported apart.
    prompt = as_int(usage.get("promptTokenCount")) + as_int(usage.get("toolUsePromptTokenCount"))
    return make_usage(
        input_tokens=prompt - cached,
        output_tokens=as_int(usage.get("candidatesTokenCount")) + thoughts,
        cache_read_tokens=cached,
        reasoning_tokens=thoughts,
    )


def add_usage(a: Usage | None, b: Usage | None) -> Usage | None:
    """The sum of two usages; None only when both are None (no usage known)."""
    if a is None:
        return b
    if b is None:
        return a
    return make_usage(
        input_tokens=a["input_tokens"] + b["input_tokens"],
        output_tokens=a["output_tokens"] + b["output_tokens"],
        cache_read_tokens=a["cache_read_tokens"] + b["cache_read_tokens"],
        cache_write_tokens=a["cache_write_tokens"] + b["cache_write_tokens"],
        reasoning_tokens=a["reasoning_tokens"] + b["reasoning_tokens"],
    )


def usage_of(record: JsonValue) -> Usage | None:
    """The usage of one trace record (an exchange: every response on a WebSocket added up), or None."""
    # Imported here because turns.py builds on the readers above; the cycle is only at call time.
    from claude_tap.normalize.turns import turns_of_record

    total: Usage | None = None
    for turn in turns_of_record(record):
        total = add_usage(total, turn["usage"])
    return total
