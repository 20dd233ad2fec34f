"""Gemini streamGenerateContent (`alt=sse`): rebuild one GenerateContentResponse from its chunks.

Every event is a whole GenerateContentResponse holding the newest piece of each candidate. Merged
here: candidates by `index` (absent means 0); their parts in order, where a text part continues the
previous one when both are plain text of the same kind (`thought: true` parts never merge with
answer text, and a part carrying a `thoughtSignature` closes it); every other candidate field and
every top-level field (usageMetadata, modelVersion, responseId, promptFeedback) last value wins.

Code Assist (cloudcode-pa.googleapis.com `v1internal:streamGenerateContent`, used by Gemini CLI and
Antigravity) wraps each chunk as `{"response": {...}, "traceId": ...}`: unwrapped to merge, and the
result is wrapped the same way.

Knows nothing about HTTP, SSE framing or the trace file.
"""

from __future__ import annotations

from collections.abc import Iterable

from claude_tap.capture.formats.common import (
    EventLike,
    as_dict,
    as_index,
    ordered,
    run,
)
from claude_tap.capture.records import JsonValue

API = "gemini"

_TEXT_PART_KEYS = {"text", "thought", "thoughtSignature"}


class _Candidate:
    def __init__(self, index: int) -> None:
        self.fields: dict[str, JsonValue] = {"index": index}
        self.role: JsonValue = None
        self.parts: list[dict[str, JsonValue]] = []

    def apply(self, candidate: dict[str, JsonValue]) -> None:
        for key, value in candidate.items():
            if key == "content":
                self._content(as_dict(value))
            elif key != "index":
                self.fields[key] = value

    def _content(self, content: dict[str, JsonValue]) -> None:
        if content.get("role") is not None:
            self.role = content["role"]
        for part in content.get("parts") or []:
            self._part(dict(as_dict(part)))

    def _part(self, part: dict[str, JsonValue]) -> None:
        previous = self.parts[-1] if self.parts else None
        if previous is not None and _continues(previous, part):
            previous["text"] = previous["text"] + part["text"]
            if "thoughtSignature" in part:
                previous["thoughtSignature"] = part["thoughtSignature"]
        else:
            self.parts.append(part)

    def result(self) -> dict[str, JsonValue]:
        content: dict[str, JsonValue] = {"parts": self.parts}
        if self.role is not None:
            content["role"] = self.role
        return {"content": content, **self.fields}


def _continues(previous: dict[str, JsonValue], part: dict[str, JsonValue]) -> bool:
    """Whether `part` is more of the text in `previous` (see the module docstring)."""
    return (
        set(previous) <= _TEXT_PART_KEYS
        and set(part) <= _TEXT_PART_KEYS
        and isinstance(previous.get("text"), str)
        and isinstance(part.get("text"), str)
        and bool(previous.get("thought")) == bool(part.get("thought"))
        and "thoughtSignature" not in previous
    )


class _ResponseBuilder:
    def __init__(self) -> None:
        self.fields: dict[str, JsonValue] = {}
        self.candidates: dict[int, _Candidate] = {}
        self.wrapper: dict[str, JsonValue] | None = None  # Code Assist's outer fields, when wrapped

    def apply(self, name: str, payload: JsonValue) -> None:
        chunk = as_dict(payload)
        if _is_wrapped(chunk):
            outer = {key: value for key, value in chunk.items() if key != "response"}
            self.wrapper = (self.wrapper or {}) | outer
            chunk = as_dict(chunk["response"])
        for raw in chunk.get("candidates") or []:
            candidate = as_dict(raw)
            index = as_index(candidate.get("index", 0))
            self.candidates.setdefault(index, _Candidate(index)).apply(candidate)
        self.fields.update({key: value for key, value in chunk.items() if key != "candidates"})

    def result(self) -> dict[str, JsonValue]:
        response: dict[str, JsonValue] = {}
        if self.candidates:
            response["candidates"] = [candidate.result() for candidate in ordered(self.candidates)]
        response.update(self.fields)
        if self.wrapper is not None:
            return {"response": response, **self.wrapper}
        return response


def _is_wrapped(chunk: dict[str, JsonValue]) -> bool:
    return isinstance(chunk.get("response"), dict) and "candidates" not in chunk


def reassemble(events: Iterable[EventLike]) -> dict[str, JsonValue]:
    return run(_ResponseBuilder(), events)


def looks_like(name: str, payload: JsonValue) -> bool:
    """Whether one parsed event is unmistakably from this API."""
    if not isinstance(payload, dict):
        return False
    if _is_wrapped(payload):
        payload = payload["response"]
    return "candidates" in payload or "usageMetadata" in payload
