"""What a format module returns: the API-specific part of a turn.

Each module in normalize/ that knows one API (anthropic.py, openai_responses.py, chat_completions.py,
gemini.py, cursor.py, raw.py) turns a request body and a response body into a `Content`. Everything else a
turn holds (ids, timings, headers, raw events, conversation links) comes from the record and the session,
in turns.py and session.py.

This module knows no API format and no record shape.
"""

from __future__ import annotations

from typing import TypedDict

from claude_tap.normalize.model import Api, Block, JsonValue, Message, Tool, Usage


class Content(TypedDict):
    api: Api
    model: str | None
    system: list[Block]
    messages: list[Message]
    tools: list[Tool]
    output: list[Block]
    stop_reason: str | None
    usage: Usage | None
    params: dict[str, JsonValue]


def empty_content(api: Api, model: str | None = None) -> Content:
    return {
        "api": api,
        "model": model,
        "system": [],
        "messages": [],
        "tools": [],
        "output": [],
        "stop_reason": None,
        "usage": None,
        "params": {},
    }


def params_without(request: dict[str, JsonValue], modelled: frozenset[str]) -> dict[str, JsonValue]:
    """Every request field the turn model has no place for (temperature, max_tokens, stream, ...)."""
    return {key: value for key, value in request.items() if key not in modelled}
