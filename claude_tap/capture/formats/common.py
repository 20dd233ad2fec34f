"""What every reassembler shares: reading events, and the boundary that keeps garbage from raising.

A reassembler is a small builder class with `apply(name, payload)` (one parsed event) and `result()`
(the response object so far). `run` feeds it and contains failures: an event that is not JSON, or
whose shape the builder cannot use, is skipped and noted in the result under `NOTES_KEY`.

This module knows nothing about any particular API, about HTTP or about the trace file.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from claude_tap.capture.bodies import parse_json
from claude_tap.capture.records import JsonValue
from claude_tap.capture.sse import SseEvent

EventLike = SseEvent | Mapping[str, Any]  # an SseEvent, an SseEventRecord or a legacy {"event", "data"}

NOTES_KEY = "_tap_notes"  # added to a reassembled object only when something was skipped

DONE = "[DONE]"  # OpenAI-style end-of-stream sentinel, passed to builders as this string

# The errors a builder raises when an event's JSON has an unexpected shape (RecursionError: JSON
# nested deeper than Python's stack). Anything else is a bug in the builder and is allowed to surface.
SHAPE_ERRORS = (KeyError, TypeError, ValueError, AttributeError, IndexError, RecursionError)


class Builder(Protocol):
    def apply(self, name: str, payload: JsonValue) -> None: ...

    def result(self) -> dict[str, JsonValue]: ...


def read_event(event: EventLike) -> tuple[str, JsonValue]:
    """(event name, payload): the data parsed as JSON, `DONE` for the sentinel.

    Raises ValueError when the data is not JSON and TypeError when `event` is not event-like."""
    name: JsonValue
    data: JsonValue
    if isinstance(event, SseEvent):
        name, data = event.event, event.data
    elif isinstance(event, Mapping):
        name, data = event.get("event") or "message", event.get("data")
    else:
        raise TypeError(f"not an event: {type(event).__name__}")
    if not isinstance(name, str):
        raise TypeError(f"event name is {type(name).__name__}, not str")
    if not isinstance(data, str):  # an event whose data a reader already parsed: builders mutate
        return name, copy.deepcopy(data)
    if data.strip() == DONE:
        return name, DONE
    return name, parse_json(data)


def run(builder: Builder, events: Iterable[EventLike]) -> dict[str, JsonValue]:
    notes: list[str] = []
    for index, event in enumerate(events):
        try:
            name, payload = read_event(event)
            builder.apply(name, payload)
        except SHAPE_ERRORS as exc:
            notes.append(f"event {index}: skipped, {type(exc).__name__}: {exc}")
    result = builder.result()
    if notes:
        result[NOTES_KEY] = notes
    return result


def as_dict(value: JsonValue) -> dict[str, JsonValue]:
    """`value` when it is a JSON object; raises TypeError (a shape error) otherwise."""
    if not isinstance(value, dict):
        raise TypeError(f"expected a JSON object, got {type(value).__name__}")
    return value


def as_index(value: JsonValue) -> int:
    """A list index from the stream: a non-negative int (bool is not an index)."""
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"bad index {value!r}")
    return value


def as_str(value: JsonValue) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {type(value).__name__}")
    return value


def ordered(items: Mapping[int, JsonValue]) -> list[JsonValue]:
    """Values of an index -> item map in index order."""
    return [items[index] for index in sorted(items)]
