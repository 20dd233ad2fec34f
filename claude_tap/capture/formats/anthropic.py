"""Anthropic Messages API: rebuild the final `message` object from its stream events.

Stream grammar (docs.anthropic.com "Streaming Messages"): message_start, then per content block
content_block_start / content_block_delta* / content_block_stop, then message_delta (stop_reason,
cumulative usage) and message_stop; `ping` anywhere; `error` may end the stream.

Delta kinds: text_delta, thinking_delta, signature_delta, input_json_delta (tool_use and
server_tool_use input as JSON text in pieces, parsed at content_block_stop), citations_delta.

Knows nothing about HTTP, SSE framing or the trace file.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable

from claude_tap.capture.bodies import parse_json
from claude_tap.capture.formats.common import (
    EventLike,
    as_dict,
    as_index,
    as_str,
    ordered,
    run,
)
from claude_tap.capture.records import JsonValue

API = "anthropic_messages"

# The block a delta implies when the stream never sent its content_block_start.
_BLOCK_FOR_DELTA: dict[str, dict[str, JsonValue]] = {
    "text_delta": {"type": "text", "text": ""},
    "thinking_delta": {"type": "thinking", "thinking": ""},
    "signature_delta": {"type": "thinking", "thinking": ""},
    "input_json_delta": {"type": "tool_use", "input": {}},
    "citations_delta": {"type": "text", "text": ""},
}


class _MessageBuilder:
    def __init__(self) -> None:
        self.message: dict[str, JsonValue] | None = None
        self.blocks: dict[int, dict[str, JsonValue]] = {}
        self.partial_json: dict[int, list[str]] = {}  # block index -> input_json_delta pieces
        self.error: JsonValue = None

    def apply(self, name: str, payload: JsonValue) -> None:
        payload = as_dict(payload)
        kind = payload.get("type", name)
        if kind == "message_start":
            self._start(as_dict(payload["message"]))
        elif kind == "content_block_start":
            index = as_index(payload["index"])
            self.blocks[index] = copy.deepcopy(as_dict(payload["content_block"]))
        elif kind == "content_block_delta":
            self._delta(as_index(payload["index"]), as_dict(payload["delta"]))
        elif kind == "content_block_stop":
            self._finish_input(as_index(payload["index"]))
        elif kind == "message_delta":
            self._message_delta(payload)
        elif kind == "error":
            self.error = payload.get("error", payload)
        elif kind not in ("ping", "message_stop"):
            raise ValueError(f"unknown event type {kind!r}")

    def _start(self, message: dict[str, JsonValue]) -> None:
        self.message = copy.deepcopy(message)
        for index, block in enumerate(self.message.get("content") or []):
            self.blocks.setdefault(index, as_dict(block))

    def _delta(self, index: int, delta: dict[str, JsonValue]) -> None:
        kind = delta.get("type")
        if kind not in _BLOCK_FOR_DELTA:
            raise ValueError(f"unknown delta type {kind!r}")
        block = self.blocks.setdefault(index, copy.deepcopy(_BLOCK_FOR_DELTA[kind]))
        if kind == "text_delta":
            block["text"] = block.get("text", "") + as_str(delta["text"])
        elif kind == "thinking_delta":
            block["thinking"] = block.get("thinking", "") + as_str(delta["thinking"])
        elif kind == "signature_delta":
            block["signature"] = block.get("signature", "") + as_str(delta["signature"])
        elif kind == "input_json_delta":
            self.partial_json.setdefault(index, []).append(as_str(delta["partial_json"]))
        else:  # citations_delta
            block.setdefault("citations", []).append(delta["citation"])

    def _finish_input(self, index: int) -> None:
        """At content_block_stop, the joined input_json_delta pieces become the block's input.

        No pieces: keep the start's input (`{}`). Pieces that do not parse (a stream cut short, a
        buggy gateway) are kept as the raw string, so nothing the model said is lost."""
        text = "".join(self.partial_json.pop(index, []))
        if not text:
            return
        try:
            self.blocks[index]["input"] = parse_json(text)
        except (ValueError, RecursionError):
            self.blocks[index]["input"] = text

    def _message_delta(self, payload: dict[str, JsonValue]) -> None:
        message = self._message()
        message.update(as_dict(payload.get("delta") or {}))
        # message_delta usage is cumulative (docs: "The token counts shown in the usage field of the
        # message_delta event are cumulative"): it overrides message_start's, except where null.
        usage = as_dict(payload.get("usage") or {})
        merged = dict(as_dict(message.get("usage") or {}))
        merged.update({key: value for key, value in usage.items() if value is not None})
        message["usage"] = merged

    def _message(self) -> dict[str, JsonValue]:
        if self.message is None:  # no message_start seen: build what we can
            self.message = {"type": "message", "role": "assistant", "content": []}
        return self.message

    def result(self) -> dict[str, JsonValue]:
        for index in list(self.partial_json):  # blocks the stream cut off before their stop
            self._finish_input(index)
        if self.message is None and not self.blocks and self.error is not None:
            # An error before anything else: what the non-streaming API returns for an error.
            return {"type": "error", "error": self.error}
        message = self._message()
        message["content"] = ordered(self.blocks)
        if self.error is not None:
            message["error"] = self.error
        return message


def reassemble(events: Iterable[EventLike]) -> dict[str, JsonValue]:
    return run(_MessageBuilder(), events)


def looks_like(name: str, payload: JsonValue) -> bool:
    """Whether one parsed event is unmistakably from this API."""
    return isinstance(payload, dict) and payload.get("type") in (
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    )
