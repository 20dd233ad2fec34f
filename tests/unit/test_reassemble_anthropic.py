"""capture/formats/anthropic.py: Messages API stream events -> the final message object."""

from __future__ import annotations

from typing import Any

from claude_tap.capture.formats.anthropic import looks_like, reassemble
from claude_tap.capture.sse import SseEvent, parse_sse
from tests.factories import anthropic_stream, sse_body, sse_events


def events(*items: tuple[str, dict[str, Any]]) -> list[dict[str, str]]:
    return sse_events(items)


def start(**message: Any) -> tuple[str, dict[str, Any]]:
    base = {"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-opus-4-1", "content": []}
    return ("message_start", {"type": "message_start", "message": base | message})


def block_start(index: int, block: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return ("content_block_start", {"type": "content_block_start", "index": index, "content_block": block})


def delta(index: int, **body: Any) -> tuple[str, dict[str, Any]]:
    return ("content_block_delta", {"type": "content_block_delta", "index": index, "delta": body})


def stop(index: int) -> tuple[str, dict[str, Any]]:
    return ("content_block_stop", {"type": "content_block_stop", "index": index})


def test_text_and_tool_use_stream_from_sse_bytes() -> None:
    assert reassemble(parse_sse(sse_body(anthropic_stream()))) == {
        "id": "msg_01XFDUDYJgAACzvnptvVoYEL",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5-20250929",
        "content": [
            {"type": "text", "text": "Okay, let me check."},
            {
                "type": "tool_use",
                "id": "toolu_01T1x1fJ34qAmk2tNTrN7Up6",
                "name": "get_weather",
                "input": {"location": "San Francisco, CA"},
            },
        ],
        "stop_reason": "tool_use",
        "stop_sequence": None,
        "usage": {
            "input_tokens": 472,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 2048,
            "output_tokens": 89,
        },
    }


def test_thinking_with_signature_and_redacted_thinking() -> None:
    result = reassemble(
        events(
            start(),
            block_start(0, {"type": "thinking", "thinking": ""}),
            delta(0, type="thinking_delta", thinking="Let me think"),
            delta(0, type="thinking_delta", thinking=" about it."),
            delta(0, type="signature_delta", signature="EqQBCgIYAhIM"),
            stop(0),
            block_start(1, {"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix"}),
            stop(1),
            block_start(2, {"type": "text", "text": ""}),
            delta(2, type="text_delta", text="Done."),
            stop(2),
        )
    )
    assert result["content"] == [
        {"type": "thinking", "thinking": "Let me think about it.", "signature": "EqQBCgIYAhIM"},
        {"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix"},
        {"type": "text", "text": "Done."},
    ]


def test_server_tool_use_and_its_result_with_citations() -> None:
    citation = {
        "type": "web_search_result_location",
        "url": "https://example.com/a",
        "title": "A",
        "encrypted_index": "Eo8B",
        "cited_text": "Claude is",
    }
    search_result = {
        "type": "web_search_tool_result",
        "tool_use_id": "srvtoolu_1",
        "content": [{"type": "web_search_result", "url": "https://example.com/a", "title": "A"}],
    }
    result = reassemble(
        events(
            start(),
            block_start(
                0, {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {}}
            ),
            delta(0, type="input_json_delta", partial_json='{"query": "cla'),
            delta(0, type="input_json_delta", partial_json='ude"}'),
            stop(0),
            block_start(1, search_result),
            stop(1),
            block_start(2, {"type": "text", "text": "", "citations": []}),
            delta(2, type="citations_delta", citation=citation),
            delta(2, type="text_delta", text="Claude is an AI."),
            stop(2),
        )
    )
    assert result["content"] == [
        {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {"query": "claude"}},
        search_result,
        {"type": "text", "text": "Claude is an AI.", "citations": [citation]},
    ]


def test_tool_use_without_input_deltas_keeps_empty_input() -> None:
    result = reassemble(
        events(start(), block_start(0, {"type": "tool_use", "id": "t", "name": "now", "input": {}}), stop(0))
    )
    assert result["content"] == [{"type": "tool_use", "id": "t", "name": "now", "input": {}}]


def test_tool_input_that_does_not_parse_is_kept_as_the_raw_string() -> None:
    result = reassemble(
        events(
            start(),
            block_start(0, {"type": "tool_use", "id": "t", "name": "f", "input": {}}),
            delta(0, type="input_json_delta", partial_json='{"path": "/tm'),
            stop(0),
        )
    )
    assert result["content"][0]["input"] == '{"path": "/tm'


def test_stream_cut_before_block_stop_still_shows_the_input() -> None:
    result = reassemble(
        events(
            start(),
            block_start(0, {"type": "tool_use", "id": "t", "name": "f", "input": {}}),
            delta(0, type="input_json_delta", partial_json='{"a": 1}'),
        )
    )
    assert result["content"][0]["input"] == {"a": 1}


def test_deeply_nested_tool_input_is_kept_raw_instead_of_raising() -> None:
    deep = "[" * 100_000
    result = reassemble(
        events(
            start(),
            block_start(0, {"type": "tool_use", "input": {}}),
            delta(0, type="input_json_delta", partial_json=deep),
            stop(0),
        )
    )
    assert result["content"][0]["input"] == deep


def test_usage_merges_start_and_cumulative_delta_ignoring_nulls() -> None:
    result = reassemble(
        events(
            start(usage={"input_tokens": 10, "cache_read_input_tokens": 5, "output_tokens": 1}),
            (
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                    "usage": {"output_tokens": 42, "cache_creation_input_tokens": 7, "input_tokens": None},
                },
            ),
            ("message_stop", {"type": "message_stop"}),
        )
    )
    assert result["usage"] == {
        "input_tokens": 10,
        "cache_read_input_tokens": 5,
        "output_tokens": 42,
        "cache_creation_input_tokens": 7,
    }
    assert (result["stop_reason"], result["stop_sequence"]) == ("end_turn", None)


def test_error_after_start_is_kept_on_the_message() -> None:
    error = {"type": "overloaded_error", "message": "Overloaded"}
    result = reassemble(
        events(
            start(),
            block_start(0, {"type": "text", "text": ""}),
            delta(0, type="text_delta", text="Hel"),
            ("error", {"type": "error", "error": error}),
        )
    )
    assert result["error"] == error
    assert result["content"] == [{"type": "text", "text": "Hel"}]


def test_error_alone_is_the_error_object() -> None:
    error = {"type": "overloaded_error", "message": "Overloaded"}
    assert reassemble(events(("error", {"type": "error", "error": error}))) == {
        "type": "error",
        "error": error,
    }


def test_deltas_without_block_start_imply_the_block() -> None:
    result = reassemble(
        events(
            delta(0, type="text_delta", text="a"),
            delta(1, type="thinking_delta", thinking="t"),
            delta(2, type="signature_delta", signature="s"),
            delta(3, type="input_json_delta", partial_json="{}"),
            delta(4, type="citations_delta", citation={"x": 1}),
            stop(3),
        )
    )
    assert result == {
        "type": "message",
        "role": "assistant",
        "content": [
            {"type": "text", "text": "a"},
            {"type": "thinking", "thinking": "t"},
            {"type": "thinking", "thinking": "", "signature": "s"},
            {"type": "tool_use", "input": {}},
            {"type": "text", "text": "", "citations": [{"x": 1}]},
        ],
    }


def test_message_delta_without_start_builds_a_message() -> None:
    result = reassemble(
        events(("message_delta", {"type": "message_delta", "delta": {"stop_reason": "max_tokens"}}))
    )
    assert result == {
        "type": "message",
        "role": "assistant",
        "content": [],
        "stop_reason": "max_tokens",
        "usage": {},
    }


def test_content_in_message_start_is_kept() -> None:
    result = reassemble(events(start(content=[{"type": "text", "text": "prefill"}])))
    assert result["content"] == [{"type": "text", "text": "prefill"}]


def test_block_stop_for_an_unknown_index_changes_nothing() -> None:
    assert reassemble(events(start(), stop(5)))["content"] == []


def test_malformed_and_unknown_events_are_skipped_and_noted() -> None:
    result = reassemble(
        [
            SseEvent(event="message_start", data="nope"),
            *events(
                start(),
                (
                    "content_block_delta",
                    {"type": "content_block_delta", "index": -1, "delta": {"type": "text_delta"}},
                ),
                delta(0, type="mystery_delta", x=1),
                ("telemetry", {"type": "telemetry"}),
                block_start(0, {"type": "text", "text": ""}),
                delta(0, type="text_delta", text=5),
            ),
            {"event": "content_block_stop", "data": "[1, 2]"},
            "not even an event",  # type: ignore[list-item]
        ]
    )
    assert result["content"] == [{"type": "text", "text": ""}]
    assert result["_tap_notes"] == [
        "event 0: skipped, JSONDecodeError: Expecting value: line 1 column 1 (char 0)",
        "event 2: skipped, ValueError: bad index -1",
        "event 3: skipped, ValueError: unknown delta type 'mystery_delta'",
        "event 4: skipped, ValueError: unknown event type 'telemetry'",
        "event 6: skipped, TypeError: expected a string, got int",
        "event 7: skipped, TypeError: expected a JSON object, got list",
        "event 8: skipped, TypeError: not an event: str",
    ]


def test_pre_parsed_event_data_is_accepted_and_not_mutated() -> None:
    block = {"type": "text", "text": "", "citations": []}
    given = [
        {
            "event": "content_block_start",
            "data": {"type": "content_block_start", "index": 0, "content_block": block},
        },
        {
            "event": "content_block_delta",
            "data": {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "citations_delta", "citation": 1},
            },
        },
    ]
    assert reassemble(given)["content"] == [{"type": "text", "text": "", "citations": [1]}]
    assert block == {"type": "text", "text": "", "citations": []}


def test_event_type_comes_from_the_name_when_data_has_none() -> None:
    assert reassemble([{"event": "error", "data": '{"error": {"type": "api_error"}}'}]) == {
        "type": "error",
        "error": {"type": "api_error"},
    }


def test_looks_like_recognises_messages_events_only() -> None:
    assert looks_like("message_start", {"type": "message_start"})
    assert not looks_like("message", {"type": "response.created"})
    assert not looks_like("error", {"type": "error"})
    assert not looks_like("message", [1])
