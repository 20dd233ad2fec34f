"""Anthropic Messages API (POST /v1/messages) into the turn model.

Request: `system` (a string or text blocks), `messages` (content a string or blocks: text, image,
document, tool_use, tool_result, thinking, redacted_thinking, server tool blocks), `tools` (custom tools
with `input_schema`, or server tools such as `web_search_20250305`); every other field goes to params.
Response: the message object (for a stream, the capture layer reassembled it): `content`, `stop_reason`,
`usage`. Cache-control markers are hints to the API, not content, so they are not kept on blocks.

This module knows the Messages API only; Cursor transcripts reuse `block_of` for their blocks.
"""

from __future__ import annotations

from claude_tap.normalize.blocks import (
    as_dict,
    as_list,
    as_str,
    builtin_tool,
    image_block,
    image_from_url,
    other_block,
    text_block,
    thinking_block,
    tool_result_block,
    tool_use_block,
)
from claude_tap.normalize.content import Content, empty_content, params_without
from claude_tap.normalize.memo import IdentityMemo
from claude_tap.normalize.model import Block, JsonValue, Message, Tool
from claude_tap.normalize.usage import anthropic_usage

_MODELLED_FIELDS = frozenset({"model", "system", "messages", "tools"})
_TOOL_USE_TYPES = frozenset({"tool_use", "server_tool_use", "mcp_tool_use"})
_TOOL_CONFIG_FIELDS = frozenset({"type", "name", "cache_control"})


def normalize(request: JsonValue, response: JsonValue, path: str) -> Content:
    body = as_dict(request)
    reply = as_dict(response)
    content = empty_content("anthropic_messages", as_str(body.get("model")) or as_str(reply.get("model")))
    content["system"] = _system_of(body.get("system"))
    content["messages"] = _message_memo.map(as_list(body.get("messages")))
    content["tools"] = _tools_of(body.get("tools"))
    content["params"] = params_without(body, _MODELLED_FIELDS)
    content["output"] = blocks_of(reply.get("content")) if reply.get("type") != "error" else []
    content["stop_reason"] = as_str(reply.get("stop_reason"))
    content["usage"] = anthropic_usage(reply.get("usage"))
    return content


def message_of(raw: JsonValue) -> Message:
    """One message (role and content blocks)."""
    message = as_dict(raw)
    return {"role": as_str(message.get("role")) or "unknown", "content": blocks_of(message.get("content"))}


def blocks_of(raw: JsonValue) -> list[Block]:
    """A content field: a plain string is one text block, a list is blocks, anything else nothing."""
    if isinstance(raw, str):
        return [text_block(raw)] if raw else []
    return [block_of(item) for item in as_list(raw)]


def block_of(raw: JsonValue) -> Block:
    if isinstance(raw, str):
        return text_block(raw)
    block = as_dict(raw)
    kind = as_str(block.get("type")) or ""
    if kind == "text":
        return text_block(as_str(block.get("text")) or "")
    if kind == "thinking":
        return thinking_block(as_str(block.get("thinking")) or "", signature=as_str(block.get("signature")))
    if kind == "redacted_thinking":
        return thinking_block("", data=as_str(block.get("data")), redacted=True)
    if kind in _TOOL_USE_TYPES:
        return tool_use_block(
            as_str(block.get("id")) or "", as_str(block.get("name")) or "", block.get("input")
        )
    if kind == "tool_result" or kind == "mcp_tool_result":
        return tool_result_block(
            as_str(block.get("tool_use_id")) or "",
            blocks_of(block.get("content")),
            is_error=block.get("is_error") is True,
        )
    if kind.endswith("_tool_result"):  # web_search, web_fetch, code_execution, ... results of server tools
        return _server_tool_result(block)
    if kind == "image":
        return _image_of(block)
    return other_block(kind or "block", raw)


def _server_tool_result(block: dict[str, JsonValue]) -> Block:
    result = block.get("content")
    is_error = isinstance(result, dict) and str(result.get("type", "")).endswith("_error")
    if isinstance(result, list):
        content = [
            block_of(item) if as_dict(item).get("type") == "text" else _result_item(item) for item in result
        ]
    else:
        content = [] if result is None else [_result_item(result)]
    return tool_result_block(as_str(block.get("tool_use_id")) or "", content, is_error=is_error)


def _result_item(item: JsonValue) -> Block:
    return other_block(as_str(as_dict(item).get("type")) or "result", item)


def _image_of(block: dict[str, JsonValue]) -> Block:
    source = as_dict(block.get("source"))
    if source.get("type") == "base64":
        return image_block(as_str(source.get("media_type")) or "", data=as_str(source.get("data")) or "")
    if source.get("type") == "url" and as_str(source.get("url")):
        return image_from_url(source["url"])
    return other_block("image", block)  # a Files API reference: nothing to render


def tool_of(raw: JsonValue) -> Tool:
    tool = as_dict(raw)
    kind = as_str(tool.get("type"))
    name = as_str(tool.get("name")) or kind or ""
    if "input_schema" in tool or kind in (None, "custom"):
        return {
            "name": name,
            "description": as_str(tool.get("description")) or "",
            "input_schema": tool.get("input_schema"),
        }
    # A server tool (web_search_20250305, bash_20250124, ...): the API defines its input.
    config = {key: value for key, value in tool.items() if key not in _TOOL_CONFIG_FIELDS}
    return builtin_tool(name, f"server tool {kind}", config)


# Requests repeat their history: each distinct message, system prompt and tool list is normalized once.
_message_memo = IdentityMemo(message_of)
_system_of = IdentityMemo(blocks_of)
_tools_of = IdentityMemo(lambda raw: [tool_of(item) for item in as_list(raw)])
