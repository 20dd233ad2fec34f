"""Cursor CLI transcript entries (records of type `transcript`, source "cursor") into the turn model.

Cursor's model traffic is protobuf, so the readable conversation comes from its local transcript
(`~/.cursor/projects/<project>/agent-transcripts/<id>.jsonl`): Anthropic-style lines with a `role` and
`message.content` blocks (text, tool_use, tool_result, thinking). Each entry is one turn holding one
message, with the entry's role; it has no separate output. Tolerated variants: `content` beside `role`
instead of inside `message`, `type` instead of `role`, and a plain string as content.

This module knows the transcript entry shape, not how the importer found it.
"""

from __future__ import annotations

from claude_tap.normalize.anthropic import blocks_of
from claude_tap.normalize.blocks import as_dict, as_str
from claude_tap.normalize.content import Content, empty_content
from claude_tap.normalize.model import JsonValue

_CONVERSATION_KEYS = ("conversation", "conversation_id", "conversationId", "session_id", "sessionId", "file")


def normalize_entry(entry: JsonValue) -> Content:
    body = as_dict(entry)
    message = as_dict(body.get("message"))
    role = as_str(body.get("role")) or as_str(message.get("role")) or as_str(body.get("type")) or "unknown"
    raw_content = message.get("content") if "content" in message else body.get("content")
    content = empty_content("cursor_transcript", as_str(body.get("model")) or as_str(message.get("model")))
    content["messages"] = [{"role": role, "content": blocks_of(raw_content)}]
    return content


def conversation_key(record: JsonValue) -> str:
    """Which transcript an entry belongs to: an id the importer or the entry gives, else the source."""
    body = as_dict(record)
    entry = as_dict(body.get("entry"))
    for key in _CONVERSATION_KEYS:
        value = as_str(body.get(key)) or as_str(entry.get(key))
        if value:
            return value
    return as_str(body.get("source")) or "transcript"
