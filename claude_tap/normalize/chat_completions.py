"""OpenAI Chat Completions (POST .../chat/completions) into the turn model; also Kimi, DeepSeek, CodeBuddy.

Request: `messages` (system/developer, user, assistant, tool; content a string or parts: text,
image_url, input_audio, file), assistant `tool_calls` and `reasoning_content` (DeepSeek, Kimi) or
`reasoning` (OpenRouter, vLLM); `tools` of type function. Leading system/developer messages become the
system prompt; one that appears later stays in place as a message, since its position matters.
Response: every choice; choice 0 is the output, the others are kept as "other" blocks.

This module knows the Chat Completions shapes only.
"""

from __future__ import annotations

from claude_tap.normalize.blocks import (
    as_dict,
    as_list,
    as_str,
    builtin_tool,
    declared_tool,
    image_from_url,
    other_block,
    parse_arguments,
    text_block,
    thinking_block,
    tool_result_block,
    tool_use_block,
)
from claude_tap.normalize.content import Content, empty_content, params_without
from claude_tap.normalize.memo import IdentityMemo
from claude_tap.normalize.model import Block, JsonValue, Message, Tool
from claude_tap.normalize.usage import chat_completions_usage

_MODELLED_FIELDS = frozenset({"model", "messages", "tools"})
_SYSTEM_ROLES = frozenset({"system", "developer"})


def normalize(request: JsonValue, response: JsonValue, path: str) -> Content:
    body = as_dict(request)
    reply = as_dict(response)
    content = empty_content("chat_completions", as_str(body.get("model")) or as_str(reply.get("model")))
    messages = [as_dict(raw) for raw in as_list(body.get("messages"))]
    leading = 0
    while leading < len(messages) and messages[leading].get("role") in _SYSTEM_ROLES:
        content["system"].extend(parts_of(messages[leading].get("content")))
        leading += 1
    content["messages"] = _message_memo.map(messages[leading:])
    content["tools"] = [*_tools_of(body.get("tools"))]
    content["tools"] += [_function_tool(raw) for raw in as_list(body.get("functions"))]
    content["params"] = params_without(body, _MODELLED_FIELDS)
    choices = [as_dict(choice) for choice in as_list(reply.get("choices"))]
    if choices:
        first = choices[0]
        content["output"] = message_blocks(as_dict(first.get("message") or first.get("delta")))
        content["output"] += [
            other_block(f"choice {choice.get('index', position)}", choice)
            for position, choice in enumerate(choices[1:], start=1)
        ]
        content["stop_reason"] = as_str(first.get("finish_reason"))
    content["usage"] = chat_completions_usage(reply.get("usage"))
    return content


def message_of(message: dict[str, JsonValue]) -> Message:
    role = as_str(message.get("role")) or "unknown"
    if role in ("tool", "function"):
        tool_use_id = as_str(message.get("tool_call_id")) or as_str(message.get("name")) or ""
        return {"role": role, "content": [tool_result_block(tool_use_id, parts_of(message.get("content")))]}
    return {"role": role, "content": message_blocks(message)}


def message_blocks(message: dict[str, JsonValue]) -> list[Block]:
    """An assistant (or user) message: reasoning first, then content, refusal, tool calls."""
    blocks: list[Block] = []
    reasoning = as_str(message.get("reasoning_content")) or as_str(message.get("reasoning"))
    if reasoning:
        blocks.append(thinking_block(reasoning))
    blocks.extend(parts_of(message.get("content")))
    if message.get("refusal"):
        blocks.append(other_block("refusal", message["refusal"]))
    for call in as_list(message.get("tool_calls")):
        blocks.append(_tool_call(as_dict(call)))
    legacy_call = as_dict(message.get("function_call"))
    if legacy_call:
        name = as_str(legacy_call.get("name")) or ""
        blocks.append(tool_use_block(name, name, parse_arguments(legacy_call.get("arguments"))))
    return blocks


def _tool_call(call: dict[str, JsonValue]) -> Block:
    call_id = as_str(call.get("id")) or ""
    if call.get("type") == "custom":
        custom = as_dict(call.get("custom"))
        return tool_use_block(call_id, as_str(custom.get("name")) or "", custom.get("input"))
    function = as_dict(call.get("function"))
    return tool_use_block(
        call_id, as_str(function.get("name")) or "", parse_arguments(function.get("arguments"))
    )


def parts_of(raw: JsonValue) -> list[Block]:
    if isinstance(raw, str):
        return [text_block(raw)] if raw else []
    return [part_of(as_dict(part)) for part in as_list(raw)]


def part_of(part: dict[str, JsonValue]) -> Block:
    kind = as_str(part.get("type")) or ""
    if kind == "text" and isinstance(part.get("text"), str):
        return text_block(part["text"])
    if kind == "image_url":
        image = part.get("image_url")
        url = as_str(image) or as_str(as_dict(image).get("url"))
        if url:
            return image_from_url(url)
    return other_block(kind or "part", part)


def tool_of(raw: JsonValue) -> Tool:
    tool = as_dict(raw)
    kind = as_str(tool.get("type")) or "function"
    if kind == "function":
        return _function_tool(tool.get("function"))
    if kind == "custom":
        custom = as_dict(tool.get("custom"))
        return declared_tool(custom, custom.get("format"))
    return builtin_tool(as_str(tool.get("name")) or kind, f"built-in tool {kind}", {})


def _function_tool(raw: JsonValue) -> Tool:
    function = as_dict(raw)
    return declared_tool(function, function.get("parameters"))


# Requests repeat their history: each distinct message and tool list is normalized once.
_message_memo = IdentityMemo(lambda raw: message_of(as_dict(raw)))
_tools_of = IdentityMemo(lambda raw: [tool_of(item) for item in as_list(raw)])
