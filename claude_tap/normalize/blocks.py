"""Constructors for the typed blocks and tools of the turn model, and safe reads of JSON of unknown shape.

Every format module builds its blocks and tools here, so a block of one type has the same keys
whatever API it came from. Trace bodies are whatever the client sent, so the readers (`as_dict`,
`as_list`, ...) never raise: a value of the wrong type reads as empty.

This module knows no API format.
"""

from __future__ import annotations

import json
import mimetypes

from claude_tap.normalize.model import Block, JsonValue, Tool


def as_dict(value: JsonValue) -> dict[str, JsonValue]:
    return value if isinstance(value, dict) else {}


def as_list(value: JsonValue) -> list[JsonValue]:
    return value if isinstance(value, list) else []


def as_str(value: JsonValue) -> str | None:
    return value if isinstance(value, str) else None


def as_int(value: JsonValue) -> int:
    """A token count: ints (and integral floats) as they are, anything else 0. bool is not a count."""
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return 0


def json_or_none(text: JsonValue) -> JsonValue:
    """The JSON value a string holds (an SSE data line, a WebSocket frame), or None."""
    if not isinstance(text, str):
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def parse_arguments(arguments: JsonValue) -> JsonValue:
    """Tool-call arguments that an API sends as a JSON string, decoded; kept as the string if invalid."""
    if not isinstance(arguments, str):
        return arguments
    try:
        return json.loads(arguments)
    except ValueError:
        return arguments


def text_block(text: str) -> Block:
    return {"type": "text", "text": text}


def thinking_block(
    text: str, *, signature: str | None = None, data: str | None = None, redacted: bool = False
) -> Block:
    """Reasoning. `signature` authenticates readable thinking; `data` is encrypted reasoning kept opaque."""
    block: Block = {"type": "thinking", "text": text}
    if signature:
        block["signature"] = signature
    if data:
        block["data"] = data
    if redacted:
        block["redacted"] = True
    return block


def tool_use_block(tool_id: str, name: str, tool_input: JsonValue) -> Block:
    return {"type": "tool_use", "id": tool_id, "name": name, "input": tool_input}


def tool_result_block(tool_use_id: str, content: list[Block], *, is_error: bool = False) -> Block:
    return {"type": "tool_result", "tool_use_id": tool_use_id, "content": content, "is_error": is_error}


def image_block(media_type: str, *, data: str | None = None, url: str | None = None) -> Block:
    block: Block = {"type": "image", "media_type": media_type}
    if data is not None:
        block["data"] = data
    if url is not None:
        block["url"] = url
    return block


def image_from_url(url: str) -> Block:
    """An image given by URL; a `data:` URL becomes inline base64 data with its media type."""
    if url.startswith("data:") and "," in url:
        header, data = url[len("data:") :].split(",", 1)
        media_type = header.split(";", 1)[0]
        if header.endswith(";base64"):
            return image_block(media_type, data=data)
    guessed, _ = mimetypes.guess_type(url.split("?", 1)[0])
    return image_block(guessed or "", url=url)


def other_block(label: str, raw: JsonValue) -> Block:
    """Anything the turn model does not know, kept whole so the viewer can show it raw."""
    return {"type": "other", "label": label, "raw": raw}


def text_or_other(label: str, value: JsonValue) -> list[Block]:
    """A tool output of unknown shape: a string reads as text, anything else is kept raw."""
    if value is None:
        return []
    if isinstance(value, str):
        return [text_block(value)]
    return [other_block(label, value)]


def declared_tool(spec: dict[str, JsonValue], input_schema: JsonValue) -> Tool:
    """A tool the request declares itself: name and description from `spec` ("" when missing)."""
    return {
        "name": as_str(spec.get("name")) or "",
        "description": as_str(spec.get("description")) or "",
        "input_schema": input_schema,
    }


def builtin_tool(name: str, description: str, config: dict[str, JsonValue]) -> Tool:
    """A tool the API defines (web search, code execution, ...): no schema; its settings, if any, follow
    the description as JSON."""
    if config:
        description += " " + json.dumps(config, ensure_ascii=False, sort_keys=True)
    return {"name": name, "description": description, "input_schema": None}
