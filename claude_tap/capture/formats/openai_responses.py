"""OpenAI Responses API: rebuild the final `response` object from its stream events.

Stream grammar (platform.openai.com "Responses streaming"): response.created and
response.in_progress carry snapshots of the response; output items open with
response.output_item.added, fill through deltas (output_text, refusal, function_call_arguments,
reasoning_summary_text, reasoning_text) and close with response.output_item.done carrying the whole
item; the stream ends with response.completed, response.failed or response.incomplete, whose
`response` is the final object. An `error` event may end it early.

Codex's backend (chatgpt.com/backend-api/codex) sends response.completed with an EMPTY `output`;
the items seen on the way then fill it, so the record shows what the model actually produced.

Knows nothing about HTTP, SSE framing or the trace file.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable

from claude_tap.capture.formats.common import (
    EventLike,
    as_dict,
    as_index,
    as_str,
    ordered,
    run,
)
from claude_tap.capture.records import JsonValue

API = "openai_responses"

_SNAPSHOTS = ("response.created", "response.in_progress", "response.queued")
FINAL_TYPES = ("response.completed", "response.failed", "response.incomplete")
_TERMINAL = FINAL_TYPES

_MESSAGE_ITEM: dict[str, JsonValue] = {"type": "message", "role": "assistant", "content": []}
_REASONING_ITEM: dict[str, JsonValue] = {"type": "reasoning", "summary": []}
_FUNCTION_CALL_ITEM: dict[str, JsonValue] = {"type": "function_call", "arguments": ""}
_OUTPUT_TEXT_PART: dict[str, JsonValue] = {"type": "output_text", "text": "", "annotations": []}

# Delta event -> (list field of the item, index field of the event, text key of the part,
# the item and the part a delta implies when the stream never announced them)
_PART_DELTAS: dict[str, tuple[str, str, str, dict[str, JsonValue], dict[str, JsonValue]]] = {
    "response.output_text.delta": ("content", "content_index", "text", _MESSAGE_ITEM, _OUTPUT_TEXT_PART),
    "response.refusal.delta": (
        "content",
        "content_index",
        "refusal",
        _MESSAGE_ITEM,
        {"type": "refusal", "refusal": ""},
    ),
    "response.reasoning_summary_text.delta": (
        "summary",
        "summary_index",
        "text",
        _REASONING_ITEM,
        {"type": "summary_text", "text": ""},
    ),
    "response.reasoning_text.delta": (
        "content",
        "content_index",
        "text",
        _REASONING_ITEM,
        {"type": "reasoning_text", "text": ""},
    ),
}

# Part lifecycle event -> (list field of the item, index field of the event, the implied item)
_PART_EVENTS = {
    "response.content_part.added": ("content", "content_index", _MESSAGE_ITEM),
    "response.content_part.done": ("content", "content_index", _MESSAGE_ITEM),
    "response.reasoning_summary_part.added": ("summary", "summary_index", _REASONING_ITEM),
    "response.reasoning_summary_part.done": ("summary", "summary_index", _REASONING_ITEM),
}


class _ResponseBuilder:
    def __init__(self) -> None:
        self.response: dict[str, JsonValue] | None = None
        self.is_final = False
        self.items: dict[int, dict[str, JsonValue]] = {}
        self.error: JsonValue = None

    def apply(self, name: str, payload: JsonValue) -> None:
        payload = as_dict(payload)
        kind = payload.get("type", name)
        if kind in _SNAPSHOTS or kind in _TERMINAL:
            if not self.is_final:
                self.response = as_dict(payload["response"])
                self.is_final = kind in _TERMINAL
        elif kind in ("response.output_item.added", "response.output_item.done"):
            self.items[as_index(payload["output_index"])] = as_dict(payload["item"])
        elif kind in _PART_EVENTS:
            field, index_key, item = _PART_EVENTS[kind]
            parts = self._item(payload, item).setdefault(field, [])
            _put(parts, as_index(payload[index_key]), as_dict(payload["part"]))
        elif kind in _PART_DELTAS:
            field, index_key, text_key, item, part = _PART_DELTAS[kind]
            target = self._part(payload, field, index_key, item, part)
            target[text_key] = target.get(text_key, "") + as_str(payload["delta"])
        elif kind == "response.output_text.annotation.added":
            target = self._part(payload, "content", "content_index", _MESSAGE_ITEM, _OUTPUT_TEXT_PART)
            target.setdefault("annotations", []).append(payload["annotation"])
        elif kind == "response.function_call_arguments.delta":
            call = self._item(payload, _FUNCTION_CALL_ITEM)
            call["arguments"] = call.get("arguments", "") + as_str(payload["delta"])
        elif kind == "response.function_call_arguments.done":
            self._item(payload, _FUNCTION_CALL_ITEM)["arguments"] = as_str(payload["arguments"])
        elif kind == "error":
            self.error = {key: value for key, value in payload.items() if key != "type"}
        # Other events (...text.done, tool-call progress) repeat what the deltas or
        # output_item.done already carry.

    def _item(self, payload: dict[str, JsonValue], implied: dict[str, JsonValue]) -> dict[str, JsonValue]:
        """The output item an event refers to, made from `implied` if the stream never added it."""
        index = as_index(payload["output_index"])
        if index not in self.items:
            self.items[index] = copy.deepcopy(implied)
            if isinstance(payload.get("item_id"), str):
                self.items[index]["id"] = payload["item_id"]
        return self.items[index]

    def _part(
        self,
        payload: dict[str, JsonValue],
        field: str,
        index_key: str,
        implied_item: dict[str, JsonValue],
        implied_part: dict[str, JsonValue],
    ) -> dict[str, JsonValue]:
        parts = self._item(payload, implied_item).setdefault(field, [])
        index = as_index(payload[index_key])
        if index >= len(parts) or not isinstance(parts[index], dict):
            _put(parts, index, copy.deepcopy(implied_part))
        return as_dict(parts[index])

    def result(self) -> dict[str, JsonValue]:
        response = self.response if self.response is not None else {"object": "response", "output": []}
        if not response.get("output") and self.items:
            response["output"] = ordered(self.items)
        if self.error is not None:
            response["error"] = self.error
            if not self.is_final:
                response["status"] = "failed"
        return response


def _put(parts: list[JsonValue], index: int, part: JsonValue) -> None:
    """Set parts[index], padding with None when the stream skipped an index."""
    while len(parts) <= index:
        parts.append(None)
    parts[index] = part


def reassemble(events: Iterable[EventLike]) -> dict[str, JsonValue]:
    return run(_ResponseBuilder(), events)


def looks_like(name: str, payload: JsonValue) -> bool:
    """Whether one parsed event is unmistakably from this API."""
    if not isinstance(payload, dict):
        return False
    kind = payload.get("type")
    return isinstance(kind, str) and kind.startswith("response.")


def unanswered_requests(messages: Iterable[tuple[str, JsonValue]]) -> int:
    """On a Responses WebSocket, how many response.create messages no final event answered.

    `messages` are (sender, parsed text message) in the order they went over the socket, sender
    "client" or "server". A response ends with response.completed, .failed or .incomplete, or an
    `error` message. 0: the socket was between responses, so a client that leaves then has ended its
    session, not cut a response short.
    """
    pending = 0
    for sender, payload in messages:
        kind = payload.get("type") if isinstance(payload, dict) else None
        if sender == "client" and kind == "response.create":
            pending += 1
        elif sender == "server" and pending and (kind in _TERMINAL or kind == "error"):
            pending -= 1
    return pending
