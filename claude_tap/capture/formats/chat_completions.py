"""OpenAI Chat Completions (and compatibles: DeepSeek, Kimi/Moonshot, CodeBuddy): rebuild the final
`chat.completion` object from its `chat.completion.chunk` events.

Each chunk carries `choices[i].delta` pieces: string fields (content, refusal, and the
`reasoning_content` of DeepSeek and Kimi, or `reasoning`) are concatenated; `tool_calls` pieces are
merged by their `index` (id, name and arguments concatenated); the last non-null finish_reason wins.
With stream_options.include_usage a final chunk with `choices: []` carries `usage`; some
compatibles put `usage` inside the last choice instead. `data: [DONE]` ends the stream.

Knows nothing about HTTP, SSE framing or the trace file.
"""

from __future__ import annotations

from collections.abc import Iterable

from claude_tap.capture.formats.common import (
    DONE,
    EventLike,
    as_dict,
    as_index,
    as_str,
    ordered,
    run,
)
from claude_tap.capture.records import JsonValue

API = "chat_completions"

# Top-level chunk fields that describe the whole completion (the last non-null value wins).
_COMPLETION_FIELDS = ("id", "created", "model", "system_fingerprint", "service_tier", "provider")


class _Choice:
    def __init__(self, index: int) -> None:
        self.index = index
        self.message: dict[str, JsonValue] = {"role": "assistant"}
        self.texts: dict[str, list[str]] = {}  # message field -> pieces, in order of first appearance
        self.tool_calls: dict[int, dict[str, JsonValue]] = {}
        self.function_call: dict[str, JsonValue] | None = None
        self.finish_reason: JsonValue = None
        self.logprobs: list[JsonValue] | None = None

    def apply(self, choice: dict[str, JsonValue]) -> None:
        for key, value in as_dict(choice.get("delta") or {}).items():
            if key == "tool_calls":
                for call in value or []:
                    self._tool_call(as_dict(call))
            elif key == "function_call" and value is not None:  # the legacy single-call form
                self.function_call = _merge_function(self.function_call or {}, as_dict(value))
            elif isinstance(value, str) and key != "role":
                self.texts.setdefault(key, []).append(value)
            elif value is not None:
                self.message[key] = value
        if choice.get("finish_reason") is not None:
            self.finish_reason = choice["finish_reason"]
        logprobs = choice.get("logprobs")
        if isinstance(logprobs, dict) and isinstance(logprobs.get("content"), list):
            self.logprobs = (self.logprobs or []) + logprobs["content"]

    def _tool_call(self, delta: dict[str, JsonValue]) -> None:
        call = self.tool_calls.setdefault(as_index(delta.get("index", 0)), {"type": "function"})
        if isinstance(delta.get("type"), str):
            call["type"] = delta["type"]
        _append(call, "id", delta.get("id"))
        call["function"] = _merge_function(call.get("function", {}), as_dict(delta.get("function") or {}))

    def result(self) -> dict[str, JsonValue]:
        message = dict(self.message)
        for key, pieces in self.texts.items():
            message[key] = "".join(pieces)
        # The non-streaming API gives `content: null` when the model only called tools.
        message["content"] = message.get("content") or None
        if self.tool_calls:
            message["tool_calls"] = [_final_call(call) for call in ordered(self.tool_calls)]
        if self.function_call is not None:
            message["function_call"] = _final_function(self.function_call)
        choice: dict[str, JsonValue] = {
            "index": self.index,
            "message": message,
            "finish_reason": self.finish_reason,
        }
        if self.logprobs is not None:
            choice["logprobs"] = {"content": self.logprobs}
        return choice


def _append(call: dict[str, JsonValue], key: str, piece: JsonValue) -> None:
    """Concatenate a streamed id or name piece; a provider that repeats the whole value on every
    chunk would otherwise produce "call_1call_1", so an identical repeat is not appended."""
    if piece is None:
        return
    piece = as_str(piece)
    current = call.get(key, "")
    if piece != current:
        call[key] = current + piece


def _merge_function(function: dict[str, JsonValue], delta: dict[str, JsonValue]) -> dict[str, JsonValue]:
    _append(function, "name", delta.get("name"))
    if delta.get("arguments") is not None:
        function["arguments"] = function.get("arguments", "") + as_str(delta["arguments"])
    return function


def _final_function(function: dict[str, JsonValue]) -> dict[str, JsonValue]:
    return {"name": function.get("name", ""), "arguments": function.get("arguments", "")}


def _final_call(call: dict[str, JsonValue]) -> dict[str, JsonValue]:
    final = {"id": call["id"]} if "id" in call else {}
    return final | {"type": call["type"], "function": _final_function(call.get("function", {}))}


class _CompletionBuilder:
    def __init__(self) -> None:
        self.completion: dict[str, JsonValue] = {"object": "chat.completion"}
        self.choices: dict[int, _Choice] = {}
        self.usage: JsonValue = None
        self.error: JsonValue = None

    def apply(self, name: str, payload: JsonValue) -> None:
        if payload == DONE:
            return
        chunk = as_dict(payload)
        if "error" in chunk and "choices" not in chunk:
            self.error = chunk["error"]
            return
        for key in _COMPLETION_FIELDS:
            if chunk.get(key) is not None:
                self.completion[key] = chunk[key]
        for raw in chunk.get("choices") or []:
            choice = as_dict(raw)
            index = as_index(choice.get("index", 0))
            self.choices.setdefault(index, _Choice(index)).apply(choice)
            if choice.get("usage") is not None:  # Moonshot/Kimi: usage inside the last choice
                self.usage = choice["usage"]
        if chunk.get("usage") is not None:
            self.usage = chunk["usage"]

    def result(self) -> dict[str, JsonValue]:
        completion = dict(self.completion)
        completion["choices"] = [choice.result() for choice in ordered(self.choices)]
        if self.usage is not None:
            completion["usage"] = self.usage
        if self.error is not None:
            completion["error"] = self.error
        return completion


def reassemble(events: Iterable[EventLike]) -> dict[str, JsonValue]:
    return run(_CompletionBuilder(), events)


def looks_like(name: str, payload: JsonValue) -> bool:
    """Whether one parsed event is unmistakably from this API."""
    return isinstance(payload, dict) and (
        payload.get("object") == "chat.completion.chunk"
        or (isinstance(payload.get("choices"), list) and "candidates" not in payload)
    )
