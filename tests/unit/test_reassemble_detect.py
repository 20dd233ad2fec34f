"""capture/formats/__init__.py: which API a stream is, and reassembly that never raises."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from claude_tap.capture.formats import REASSEMBLERS, detect_api, reassemble
from claude_tap.capture.sse import SseEvent
from tests.factories import (
    anthropic_stream,
    chat_completions_stream,
    gemini_stream,
    openai_responses_stream,
    sse_events,
)


def test_reassemblers_cover_the_turn_model_api_names() -> None:
    assert list(REASSEMBLERS) == ["anthropic_messages", "openai_responses", "chat_completions", "gemini"]


@pytest.mark.parametrize(
    "stream, api",
    [
        (anthropic_stream(), "anthropic_messages"),
        (openai_responses_stream(), "openai_responses"),
        (chat_completions_stream(), "chat_completions"),
        (gemini_stream(), "gemini"),
    ],
)
def test_payloads_decide_whatever_the_path(stream: list, api: str) -> None:
    assert detect_api("/some/proxy/path", sse_events(stream)) == api
    assert detect_api("/v1/chat/completions", sse_events(stream)) == api  # a misleading path loses


def test_code_assist_wrapped_chunks_are_gemini() -> None:
    events = [{"event": "message", "data": json.dumps({"response": {"candidates": []}, "traceId": "t"})}]
    assert detect_api("/v1internal:streamGenerateContent?alt=sse", events) == "gemini"


def test_unrecognised_events_are_passed_over_until_one_decides() -> None:
    events = [
        SseEvent(data="not json"),
        SseEvent(event="ping", data='{"type": "ping"}'),
        SseEvent(event="message_start", data='{"type": "message_start", "message": {}}'),
    ]
    assert detect_api("", events) == "anthropic_messages"


@pytest.mark.parametrize(
    "path, api",
    [
        ("/v1/messages?beta=true", "anthropic_messages"),
        ("/v1/responses", "openai_responses"),
        ("/backend-api/codex/responses", "openai_responses"),
        ("/v1/chat/completions", "chat_completions"),
        ("/coding/v1/chat/completions/", "chat_completions"),
        ("/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse", "gemini"),
        ("/v1internal:generateContent", "gemini"),
        ("/v1/embeddings", None),
    ],
)
def test_path_decides_when_the_events_name_no_api(path: str, api: str | None) -> None:
    error_only = [SseEvent(event="error", data='{"type": "error", "error": {"type": "overloaded_error"}}')]
    assert detect_api(path, error_only) == api


def test_no_readable_event_means_unknown_even_with_a_known_path() -> None:
    assert detect_api("/v1/messages", []) is None
    assert detect_api("/v1/messages", [SseEvent(data="<html>")]) is None
    assert reassemble("/v1/messages", []) is None


def test_reassemble_detects_then_rebuilds() -> None:
    result = reassemble("/v1/messages", iter(sse_events(anthropic_stream())))
    assert result is not None
    assert result["content"][0] == {"type": "text", "text": "Okay, let me check."}


def test_reassemble_of_an_error_only_stream_uses_the_path() -> None:
    events = [SseEvent(event="error", data='{"type": "error", "error": {"type": "overloaded_error"}}')]
    assert reassemble("/v1/messages", events) == {"type": "error", "error": {"type": "overloaded_error"}}


def test_unknown_stream_is_none() -> None:
    assert reassemble("/v1/events", [SseEvent(data='{"hello": "world"}')]) is None


# Garbage never raises: random JSON payloads, random event names, known types with random fields.

_json = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 3) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12,
)
_types = st.sampled_from(
    [
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "error",
        "response.created",
        "response.completed",
        "response.output_item.added",
        "response.output_text.delta",
        "response.content_part.added",
        "response.function_call_arguments.delta",
        "response.reasoning_summary_text.delta",
    ]
)
_keys = st.sampled_from(
    [
        "index",
        "delta",
        "message",
        "content_block",
        "usage",
        "response",
        "output_index",
        "item",
        "part",
        "content_index",
        "summary_index",
        "choices",
        "candidates",
        "content",
        "parts",
        "tool_calls",
        "text",
    ]
)
_payloads = _json | st.builds(
    lambda kind, fields: {"type": kind, **fields}, _types, st.dictionaries(_keys, _json, max_size=5)
)
_events = st.lists(
    st.builds(
        lambda name, payload: SseEvent(event=name, data=json.dumps(payload)), st.text(max_size=5), _payloads
    )
    | st.builds(lambda data: SseEvent(data=data), st.text(max_size=10)),
    max_size=8,
)


@settings(max_examples=200)
@given(_events, st.sampled_from(sorted(REASSEMBLERS)))
def test_hypothesis_garbage_never_raises(events: list[SseEvent], api: str) -> None:
    for result in (REASSEMBLERS[api](events), reassemble("/v1/messages", events)):
        assert result is None or isinstance(result, dict)
        json.dumps(result)  # still plain JSON


def test_events_with_a_bad_name_or_non_json_constants_are_noted() -> None:
    events = [
        {"event": 5, "data": "{}"},
        SseEvent(event="message_start", data='{"type": "message_start", "message": {"x": NaN}}'),
        SseEvent(event="message_start", data='{"type": "message_start", "message": {}}'),
    ]
    assert reassemble("/v1/messages", events) == {
        "content": [],
        "_tap_notes": [
            "event 0: skipped, TypeError: event name is int, not str",
            "event 1: skipped, ValueError: NaN is not JSON",
        ],
    }
