"""Gemini generateContent / streamGenerateContent into the turn model, incl. Code Assist.

Request: `systemInstruction`, `contents` (role user/model, parts: text, text with thought: true,
functionCall, functionResponse, inlineData, fileData, ...), `tools[].functionDeclarations` and built-in
tools (googleSearch, codeExecution); `generationConfig` is flattened into params, next to every other
field. The REST API also accepts snake_case names; both are read. Code Assist (Gemini CLI, Antigravity)
wraps the request as `{"model", "project", "request": {...}}` and each response as `{"response": {...}}`:
both are unwrapped. A non-SSE streamGenerateContent answers with a JSON array of chunks: they are
merged. The public API names the model only in the URL path (`models/<id>:generateContent`).

Gemini's functionCall/functionResponse often carry no id; the k-th call of a name is linked to the
k-th response of that name (`_CallIds`), across the request and the output.

This module knows the Gemini shapes only.
"""

from __future__ import annotations

import json
import re

from claude_tap.normalize.blocks import (
    as_dict,
    as_list,
    as_str,
    declared_tool,
    image_block,
    other_block,
    text_block,
    thinking_block,
    tool_result_block,
    tool_use_block,
)
from claude_tap.normalize.content import Content, empty_content
from claude_tap.normalize.model import Block, JsonValue, Message, Tool
from claude_tap.normalize.usage import gemini_usage

_MODELLED_FIELDS = frozenset(
    {"contents", "systemInstruction", "system_instruction", "tools", "generationConfig", "generation_config"}
)
_WRAPPER_MODELLED = frozenset({"model", "request"})
_PATH_MODEL = re.compile(r"/models/([^/:?]+):")


def _get(mapping: dict[str, JsonValue], camel: str, snake: str) -> JsonValue:
    return mapping[camel] if camel in mapping else mapping.get(snake)


def unwrap_request(raw: JsonValue) -> tuple[dict[str, JsonValue], dict[str, JsonValue]]:
    """(the generateContent request, the Code Assist envelope fields or {})."""
    body = as_dict(raw)
    inner = body.get("request")
    if isinstance(inner, dict) and "contents" not in body:
        return inner, body
    return body, {}


def unwrap_response(raw: JsonValue) -> dict[str, JsonValue]:
    """One GenerateContentResponse from a response body: unwrapped, and merged if it is a chunk array."""
    if isinstance(raw, list):
        return merge_chunks(raw)
    body = as_dict(raw)
    inner = body.get("response")
    if isinstance(inner, dict) and "candidates" not in body:
        return inner
    return body


def merge_chunks(chunks: list[JsonValue]) -> dict[str, JsonValue]:
    """Stream chunks into one response: parts of candidate 0 concatenated (adjacent text of the same
    kind joined), the last finish reason, usage and model version."""
    parts: list[dict[str, JsonValue]] = []
    merged: dict[str, JsonValue] = {}
    finish_reason: JsonValue = None
    for raw in chunks:
        chunk = unwrap_response(raw)
        for key in ("usageMetadata", "modelVersion", "responseId", "promptFeedback"):
            if key in chunk:
                merged[key] = chunk[key]
        candidate = as_dict(as_list(chunk.get("candidates"))[0]) if as_list(chunk.get("candidates")) else {}
        finish_reason = candidate.get("finishReason") or finish_reason
        for part in as_list(as_dict(candidate.get("content")).get("parts")):
            _append_part(parts, as_dict(part))
    merged["candidates"] = [{"content": {"role": "model", "parts": parts}, "finishReason": finish_reason}]
    return merged


def _append_part(parts: list[dict[str, JsonValue]], part: dict[str, JsonValue]) -> None:
    previous = parts[-1] if parts else None
    joinable = (
        previous is not None
        and isinstance(previous.get("text"), str)
        and isinstance(part.get("text"), str)
        and bool(previous.get("thought")) == bool(part.get("thought"))
    )
    if not joinable:
        parts.append(dict(part))
        return
    assert previous is not None
    previous["text"] = previous["text"] + part["text"]
    if part.get("thoughtSignature"):
        previous["thoughtSignature"] = part["thoughtSignature"]


def model_from_path(path: str) -> str | None:
    match = _PATH_MODEL.search(path)
    return match.group(1) if match else None


def normalize(request: JsonValue, response: JsonValue, path: str) -> Content:
    body, envelope = unwrap_request(request)
    reply = unwrap_response(response)
    model = as_str(envelope.get("model")) or model_from_path(path) or as_str(reply.get("modelVersion"))
    content = empty_content("gemini", model)
    call_ids = _CallIds()
    content["system"] = _system_of(_get(body, "systemInstruction", "system_instruction"))
    content["messages"] = [_message_of(as_dict(raw), call_ids) for raw in as_list(body.get("contents"))]
    content["tools"] = [tool for raw in as_list(body.get("tools")) for tool in _tools_of(as_dict(raw))]
    content["params"] = _params_of(body, envelope)
    candidates = [as_dict(candidate) for candidate in as_list(reply.get("candidates"))]
    if candidates:
        parts = as_list(as_dict(candidates[0].get("content")).get("parts"))
        content["output"] = [block for part in parts for block in _block_of(as_dict(part), call_ids)]
        content["output"] += [other_block(f"candidate {n}", c) for n, c in enumerate(candidates[1:], start=1)]
        content["stop_reason"] = as_str(candidates[0].get("finishReason"))
    else:
        content["stop_reason"] = as_str(as_dict(reply.get("promptFeedback")).get("blockReason"))
    content["usage"] = gemini_usage(reply.get("usageMetadata"))
    return content


def _params_of(body: dict[str, JsonValue], envelope: dict[str, JsonValue]) -> dict[str, JsonValue]:
    params = {key: value for key, value in envelope.items() if key not in _WRAPPER_MODELLED}
    params.update(as_dict(_get(body, "generationConfig", "generation_config")))
    params.update({key: value for key, value in body.items() if key not in _MODELLED_FIELDS})
    return params


def _system_of(raw: JsonValue) -> list[Block]:
    if isinstance(raw, str):
        return [text_block(raw)] if raw else []
    call_ids = _CallIds()
    return [
        block for part in as_list(as_dict(raw).get("parts")) for block in _block_of(as_dict(part), call_ids)
    ]


def _message_of(content: dict[str, JsonValue], call_ids: _CallIds) -> Message:
    blocks = [block for part in as_list(content.get("parts")) for block in _block_of(as_dict(part), call_ids)]
    return {"role": as_str(content.get("role")) or "user", "content": blocks}


def _block_of(part: dict[str, JsonValue], call_ids: _CallIds) -> list[Block]:
    """One part as blocks ([] for the empty text parts streams end with)."""
    signature = as_str(_get(part, "thoughtSignature", "thought_signature"))
    text = part.get("text")
    if isinstance(text, str):
        if part.get("thought") is True:
            return [thinking_block(text, signature=signature)]
        if not text and not signature:
            return []
        return [_signed(text_block(text), signature)]
    call = as_dict(_get(part, "functionCall", "function_call"))
    if call:
        name = as_str(call.get("name")) or ""
        tool_use = tool_use_block(call_ids.call(name, as_str(call.get("id"))), name, call.get("args"))
        return [_signed(tool_use, signature)]
    reply = as_dict(_get(part, "functionResponse", "function_response"))
    if reply:
        name = as_str(reply.get("name")) or ""
        result = reply.get("response")
        is_error = isinstance(result, dict) and "error" in result
        tool_use_id = call_ids.response(name, as_str(reply.get("id")))
        return [tool_result_block(tool_use_id, _result_blocks(result), is_error=is_error)]
    inline = as_dict(_get(part, "inlineData", "inline_data"))
    mime = as_str(_get(inline, "mimeType", "mime_type")) or ""
    if inline and mime.startswith("image/"):
        return [image_block(mime, data=as_str(inline.get("data")) or "")]
    file_data = as_dict(_get(part, "fileData", "file_data"))
    file_mime = as_str(_get(file_data, "mimeType", "mime_type")) or ""
    if file_data and file_mime.startswith("image/"):
        return [image_block(file_mime, url=as_str(_get(file_data, "fileUri", "file_uri")) or "")]
    label = next(iter(part), "part") if part else "part"
    return [other_block(label, part)]


def _signed(block: Block, signature: str | None) -> Block:
    """`block` with the part's thoughtSignature, when the part has one."""
    if signature:
        block["signature"] = signature
    return block


def _result_blocks(result: JsonValue) -> list[Block]:
    """A functionResponse payload: Gemini CLI sends {"output": text}; anything else is kept raw."""
    response = as_dict(result)
    if len(response) == 1:
        (value,) = response.values()
        if isinstance(value, str):
            return [text_block(value)]
    if isinstance(result, str):
        return [text_block(result)]
    return [] if result is None else [other_block("response", result)]


def _tools_of(tool: dict[str, JsonValue]) -> list[Tool]:
    declarations = _get(tool, "functionDeclarations", "function_declarations")
    if isinstance(declarations, list):
        return [_declaration(as_dict(raw)) for raw in declarations]
    return [
        {
            "name": name,
            "description": "built-in tool" + (" " + json.dumps(config, sort_keys=True) if config else ""),
            "input_schema": None,
        }
        for name, config in tool.items()
    ]


def _declaration(declaration: dict[str, JsonValue]) -> Tool:
    schema = declaration.get("parametersJsonSchema", declaration.get("parameters"))
    return declared_tool(declaration, schema)


class _CallIds:
    """Ids for function calls and their responses within one turn. An explicit call id wins; otherwise
    `name#k` for the k-th call of that name. A response takes the id of the k-th call of its name,
    so calls and results stay linked even when only one side carries an id."""

    def __init__(self) -> None:
        self._calls: dict[str, list[str]] = {}
        self._responses: dict[str, int] = {}

    def call(self, name: str, explicit: str | None) -> str:
        ids = self._calls.setdefault(name, [])
        ids.append(explicit or f"{name}#{len(ids) + 1}")
        return ids[-1]

    def response(self, name: str, explicit: str | None) -> str:
        k = self._responses.get(name, 0)
        self._responses[name] = k + 1
        calls = self._calls.get(name, [])
        if k < len(calls):
            return calls[k]
        return explicit or f"{name}#{k + 1}"
