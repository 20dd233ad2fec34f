"""Per-API knowledge of streamed responses: which API a stream is, and the object it adds up to.

`REASSEMBLERS` maps an API name (the `Api` names of normalize/model.py) to a pure function from
stream events to the final response object that API returns without streaming. `detect_api`
recognises the API from the event payloads, with the request path as a hint when they say
nothing; `reassemble` does both and never raises: unreadable events are skipped and listed under
`common.NOTES_KEY` in the result. `websocket_unanswered` says, for an API spoken over a WebSocket,
how many requests on the socket never got their final answer; `stream_finished`, whether a stream
holds its API's final event.

Knows nothing about HTTP, sockets, clients or the trace file.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from claude_tap.capture.bodies import parse_json
from claude_tap.capture.formats import anthropic, chat_completions, gemini, openai_responses
from claude_tap.capture.formats.common import DONE, SHAPE_ERRORS, EventLike, read_event
from claude_tap.capture.records import JsonValue

Reassembler = Callable[[Iterable[EventLike]], dict[str, JsonValue]]
# (sender, parsed text message) pairs in socket order -> requests still waiting for their answer.
UnansweredCounter = Callable[[Iterable[tuple[str, JsonValue]]], int]

REASSEMBLERS: dict[str, Reassembler] = {
    anthropic.API: anthropic.reassemble,
    openai_responses.API: openai_responses.reassemble,
    chat_completions.API: chat_completions.reassemble,
    gemini.API: gemini.reassemble,
}

# The APIs whose WebSocket protocol we know: Codex's Responses socket.
WEBSOCKET_COUNTERS: dict[str, UnansweredCounter] = {
    openai_responses.API: openai_responses.unanswered_requests,
}

# Checked in this order on each event; the first event any of them claims decides the API.
# chat_completions comes last: its test (a `choices` list) is the loosest.
_PAYLOAD_TESTS: tuple[tuple[str, Callable[[str, JsonValue], bool]], ...] = (
    (anthropic.API, anthropic.looks_like),
    (openai_responses.API, openai_responses.looks_like),
    (gemini.API, gemini.looks_like),
    (chat_completions.API, chat_completions.looks_like),
)

# For streams whose events name no API (only an error, only `[DONE]`): the path decides.
_PATH_HINTS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (chat_completions.API, re.compile(r"/chat/completions/?$")),
    (openai_responses.API, re.compile(r"/responses/?$")),
    (anthropic.API, re.compile(r"/messages/?$")),
    (gemini.API, re.compile(r":(stream)?generatecontent$", re.IGNORECASE)),
)


def detect_api(path: str, events: Iterable[EventLike]) -> str | None:
    """The API these events come from, or None when no event can be read or none is recognised
    and the path names no API either."""
    any_readable = False
    for event in events:
        try:
            name, payload = read_event(event)
        except SHAPE_ERRORS:
            continue
        any_readable = True
        for api, looks_like in _PAYLOAD_TESTS:
            if looks_like(name, payload):
                return api
    return _api_from_path(path) if any_readable else None


def _api_from_path(path: str) -> str | None:
    bare = path.split("?", 1)[0]
    for api, pattern in _PATH_HINTS:
        if pattern.search(bare):
            return api
    return None


def reassemble(path: str, events: Iterable[EventLike]) -> dict[str, JsonValue] | None:
    """The final response object, or None when the API is unknown."""
    events = list(events)
    api = detect_api(path, events)
    if api is None:
        return None
    return REASSEMBLERS[api](events)


# The event each API ends a whole answer with (Gemini has none: its stream just ends).
_FINAL_EVENTS: dict[str, Callable[[str, JsonValue], bool]] = {
    anthropic.API: lambda name, payload: isinstance(payload, dict) and payload.get("type") == "message_stop",
    openai_responses.API: lambda name, payload: (
        isinstance(payload, dict) and payload.get("type") in openai_responses.FINAL_TYPES
    ),
    chat_completions.API: lambda name, payload: payload == DONE,
}


def stream_finished(path: str, events: Iterable[EventLike]) -> bool:
    """Whether a stream holds its API's final event: its answer was whole, so a client (or the tap's
    stop) that cut the connection after it cut nothing short. False for an API without one."""
    events = list(events)
    api = detect_api(path, events)
    is_final = _FINAL_EVENTS.get(api) if api is not None else None
    if is_final is None:
        return False
    for event in reversed(events):  # the end is at the end
        try:
            name, payload = read_event(event)
        except SHAPE_ERRORS:
            continue
        if is_final(name, payload):
            return True
    return False


def websocket_unanswered(path: str, messages: Iterable[tuple[str, bytes]]) -> int | None:
    """How many requests on a WebSocket got no final answer, or None when its API is unknown.

    `messages` are (sender, text message bytes) in socket order; a message that is not JSON is
    skipped. The API is recognised as for a stream: from the messages, else from the path."""
    parsed: list[tuple[str, JsonValue]] = []
    for sender, data in messages:
        try:
            parsed.append((sender, parse_json(data.decode("utf-8"))))
        except (UnicodeDecodeError, ValueError, RecursionError):
            continue
    claimed = (
        api for _, payload in parsed for api, looks_like in _PAYLOAD_TESTS if looks_like("message", payload)
    )
    api = next(claimed, None) or _api_from_path(path)
    counter = WEBSOCKET_COUNTERS.get(api) if api is not None else None
    return counter(parsed) if counter is not None else None
