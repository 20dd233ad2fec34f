"""OpenAI Responses API (POST .../responses, and the same over a WebSocket) into the turn model.

Request: `instructions` (the system prompt), `input` (a string, or items: message with input_text /
output_text / input_image parts, function_call, function_call_output, custom_tool_call(_output),
reasoning with summary and encrypted_content, built-in tool calls such as web_search_call), `tools`
(function, custom, built-in), `previous_response_id`; every other field goes to params. Leading
system/developer messages join the system prompt. Consecutive assistant-side items (reasoning, message,
calls) form one assistant message, and consecutive tool outputs one tool message, as one response
produced them. Response: the response object; `output` items flatten into output blocks.

Over a WebSocket (Codex) one record carries many responses: the client sends
`{"type": "response.create", ...request fields...}`, the server answers with `response.*` events.
`split_websocket` cuts the events at each response.create and reassembles each response from
output_item.done / response.completed (`reassemble`, also used for an SSE stream recorded without a
reassembled body).

This module knows the Responses API only.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from claude_tap.normalize.blocks import (
    as_dict,
    as_list,
    as_str,
    builtin_tool,
    declared_tool,
    image_from_url,
    json_or_none,
    other_block,
    parse_arguments,
    text_block,
    text_or_other,
    thinking_block,
    tool_result_block,
    tool_use_block,
)
from claude_tap.normalize.content import Content, empty_content, params_without
from claude_tap.normalize.memo import IdentityMemo
from claude_tap.normalize.model import Block, JsonValue, Message, RawEvent, Tool
from claude_tap.normalize.usage import openai_responses_usage

_MODELLED_FIELDS = frozenset({"type", "model", "instructions", "input", "tools"})
_SYSTEM_ROLES = frozenset({"system", "developer"})
_MERGED_ROLES = frozenset({"assistant", "tool"})
_TEXT_PARTS = frozenset({"input_text", "output_text", "text", "summary_text", "reasoning_text"})
TERMINAL_EVENTS = frozenset(
    {"response.completed", "response.failed", "response.incomplete", "response.cancelled"}
)


def normalize(request: JsonValue, response: JsonValue, path: str) -> Content:
    body = as_dict(request)
    reply = as_dict(response)
    content = empty_content("openai_responses", as_str(body.get("model")) or as_str(reply.get("model")))
    instructions = body.get("instructions")
    if isinstance(instructions, str):
        content["system"] = [text_block(instructions)] if instructions else []
    else:
        content["system"] = [block for item in as_list(instructions) for block in item_of(item)[1]]
    messages = input_messages(body.get("input"))
    while messages and messages[0]["role"] in _SYSTEM_ROLES:
        content["system"].extend(messages.pop(0)["content"])
    content["messages"] = messages
    content["tools"] = _tools_of(body.get("tools"))
    content["params"] = params_without(body, _MODELLED_FIELDS)
    content["output"] = [block for item in as_list(reply.get("output")) for block in item_of(item)[1]]
    incomplete = as_str(as_dict(reply.get("incomplete_details")).get("reason"))
    content["stop_reason"] = incomplete or as_str(reply.get("status"))
    content["usage"] = openai_responses_usage(reply.get("usage"))
    return content


def input_messages(raw: JsonValue) -> list[Message]:
    if isinstance(raw, str):
        return [{"role": "user", "content": [text_block(raw)]}]
    messages: list[Message] = []
    for item in as_list(raw):
        role, blocks = _item_memo(item)
        previous = messages[-1] if messages else None
        if previous and previous["role"] == role and role in _MERGED_ROLES:
            previous["content"].extend(blocks)
        else:
            messages.append({"role": role, "content": list(blocks)})  # a copy: the memo's stays as it is
    return messages


def item_of(raw: JsonValue) -> tuple[str, list[Block]]:
    """One input or output item: the role it speaks for and its blocks."""
    item = as_dict(raw)
    kind = as_str(item.get("type")) or ("message" if "role" in item else "")
    call_id = as_str(item.get("call_id")) or as_str(item.get("id")) or ""
    if kind == "message":
        return as_str(item.get("role")) or "user", parts_of(item.get("content"))
    if kind == "reasoning":
        return "assistant", [_reasoning(item)]
    if kind == "function_call":
        name = as_str(item.get("name")) or ""
        return "assistant", [tool_use_block(call_id, name, parse_arguments(item.get("arguments")))]
    if kind == "custom_tool_call":
        return "assistant", [tool_use_block(call_id, as_str(item.get("name")) or "", item.get("input"))]
    if kind.endswith("_call_output"):  # function_call_output, custom_tool_call_output, local_shell_...
        return "tool", [tool_result_block(call_id, _output_blocks(item.get("output")))]
    if kind.endswith("_call"):  # web_search_call, local_shell_call, mcp_call, ...: built-in or hosted tools
        return "assistant", _builtin_call(kind, call_id, item)
    return as_str(item.get("role")) or "unknown", [other_block(kind or "item", raw)]


def _reasoning(item: dict[str, JsonValue]) -> Block:
    summary = [as_dict(part).get("text") for part in as_list(item.get("summary"))]
    detail = [as_dict(part).get("text") for part in as_list(item.get("content"))]
    texts = [text for text in (summary or detail) if isinstance(text, str)]
    text = "\n\n".join(texts)
    encrypted = as_str(item.get("encrypted_content"))
    return thinking_block(text, data=encrypted, redacted=not text and bool(encrypted))


def _builtin_call(kind: str, call_id: str, item: dict[str, JsonValue]) -> list[Block]:
    name = as_str(item.get("name")) or kind.removesuffix("_call")
    if "arguments" in item:
        tool_input = parse_arguments(item.get("arguments"))
    else:
        tool_input = item.get("action", item.get("input", item.get("queries")))
    blocks = [tool_use_block(call_id, name, tool_input)]
    if item.get("output") is not None:  # hosted tools (mcp_call) carry their result in the same item
        blocks.append(
            tool_result_block(call_id, _output_blocks(item["output"]), is_error=bool(item.get("error")))
        )
    return blocks


def _output_blocks(output: JsonValue) -> list[Block]:
    if isinstance(output, list):
        return parts_of(output)
    return text_or_other("output", output)


def parts_of(raw: JsonValue) -> list[Block]:
    if isinstance(raw, str):
        return [text_block(raw)] if raw else []
    return [part_of(as_dict(part)) for part in as_list(raw)]


def part_of(part: dict[str, JsonValue]) -> Block:
    kind = as_str(part.get("type")) or ""
    if kind in _TEXT_PARTS and isinstance(part.get("text"), str):
        return text_block(part["text"])
    if kind == "input_image":
        url = as_str(part.get("image_url")) or as_str(as_dict(part.get("image_url")).get("url"))
        if url:
            return image_from_url(url)
    return other_block(kind or "part", part)


def tool_of(raw: JsonValue) -> Tool:
    tool = as_dict(raw)
    kind = as_str(tool.get("type")) or "function"
    if kind == "function":
        spec = as_dict(tool.get("function")) or tool  # tolerate the Chat Completions nesting
        return declared_tool(spec, spec.get("parameters"))
    if kind == "custom":  # free-form input, optionally constrained by a grammar
        return declared_tool(tool, tool.get("format"))
    config = {key: value for key, value in tool.items() if key not in ("type", "name")}
    name = as_str(tool.get("name")) or as_str(tool.get("server_label")) or kind
    return builtin_tool(name, f"built-in tool {kind}", config)


def reassemble(payloads: list[dict[str, JsonValue]]) -> dict[str, JsonValue]:
    """The response object from its stream events: the final response, with the output items that
    were finished one by one when the final event is missing or carries none."""
    started: dict[str, JsonValue] = {}
    final: dict[str, JsonValue] = {}
    items: dict[int, JsonValue] = {}
    error: JsonValue = None
    for payload in payloads:
        kind = payload.get("type")
        if kind in ("response.created", "response.in_progress"):
            started = as_dict(payload.get("response")) or started
        elif kind == "response.output_item.done":
            index = payload.get("output_index")
            items[index if isinstance(index, int) else len(items)] = payload.get("item")
        elif kind in TERMINAL_EVENTS:
            final = as_dict(payload.get("response"))
        elif kind == "error":
            error = payload.get("error") or payload
    response = dict(final or started)
    if not response.get("output") and items:
        response["output"] = [items[index] for index in sorted(items)]
    if error is not None and not response.get("error"):
        response["error"] = error
    return response


@dataclass(slots=True)
class WsResponse:
    """One response on a WebSocket: the client's response.create and what the server sent for it.
    Offsets are from the start of the socket, as recorded."""

    request: dict[str, JsonValue]
    start_ms: float
    events: list[RawEvent] = field(default_factory=list)
    payloads: list[dict[str, JsonValue]] = field(default_factory=list)
    first_server_ms: float | None = None
    end_ms: float | None = None
    is_finished: bool = False

    @property
    def response(self) -> dict[str, JsonValue]:
        return reassemble(self.payloads)


def split_websocket(events: list[JsonValue]) -> list[WsResponse]:
    """The responses on one socket, in order; [] when the client never sent response.create."""
    responses: list[WsResponse] = []
    early: list[RawEvent] = []  # frames before the first response.create (session setup)
    for raw in events:
        record = as_dict(raw)
        offset = float(record.get("offset_ms") or 0.0)
        payload = _payload_of(record)
        raw_event = _raw_ws_event(record, offset, payload)
        if record.get("direction") == "client" and payload.get("type") == "response.create":
            responses.append(WsResponse(request=_create_fields(payload), start_ms=offset, events=early))
            early = []
        current = responses[-1] if responses else None
        if current is None:
            early.append(raw_event)
            continue
        current.events.append(raw_event)
        if record.get("direction") != "server":
            continue
        current.payloads.append(payload)
        if current.first_server_ms is None:
            current.first_server_ms = offset
        if not current.is_finished:
            current.end_ms = offset
            current.is_finished = payload.get("type") in TERMINAL_EVENTS or payload.get("type") == "error"
    return responses


def _payload_of(record: dict[str, JsonValue]) -> dict[str, JsonValue]:
    if record.get("kind", "text") != "text":
        return {}
    return as_dict(json_or_none(record.get("data")))


def _raw_ws_event(record: dict[str, JsonValue], offset: float, payload: dict[str, JsonValue]) -> RawEvent:
    event: RawEvent = {"offset_ms": offset, "data": as_str(record.get("data")) or ""}
    name = as_str(payload.get("type")) if payload else as_str(record.get("kind"))
    if name:
        event["event"] = name
    if record.get("direction") in ("client", "server"):
        event["direction"] = record["direction"]
    return event


def _create_fields(payload: dict[str, JsonValue]) -> dict[str, JsonValue]:
    """The request fields of a response.create: inline (Codex), or nested under "response"."""
    nested = as_dict(payload.get("response"))
    if nested and "input" not in payload and "model" not in payload:
        return nested
    return payload


# Requests repeat their history: each distinct input item and tool list is normalized once.
_item_memo = IdentityMemo(item_of)
_tools_of = IdentityMemo(lambda raw: [tool_of(item) for item in as_list(raw)])
