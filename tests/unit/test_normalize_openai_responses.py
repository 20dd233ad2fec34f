"""Responses API specifics: WebSocket records with many responses, reassembly, item grouping."""

from __future__ import annotations

import json

from claude_tap.normalize import openai_responses
from claude_tap.normalize.turns import turns_of_record
from tests.factories import websocket_exchange_record, ws_frame


def websocket_record(events: list[dict[str, object]], error: str | None = None) -> dict[str, object]:
    return websocket_exchange_record(
        7,
        events,
        error=error,
        id="ex-7",
        started_at="2026-03-02T10:00:00.000Z",
        ttfb_ms=50.0,
        duration_ms=5000.0,
    )


CREATE = {"type": "response.create", "model": "gpt-5-codex", "input": "hi"}
MESSAGE = {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Hello."}]}


def test_each_response_on_the_socket_is_a_turn_timed_from_its_create() -> None:
    turns = turns_of_record(
        websocket_record(
            [
                ws_frame(10.0, "client", CREATE),
                ws_frame(210.0, "server", {"type": "response.created", "response": {"id": "r1"}}),
                ws_frame(260.0, "server", {"type": "response.output_text.delta", "delta": "Hello."}),
                ws_frame(
                    310.0, "server", {"type": "response.output_item.done", "output_index": 0, "item": MESSAGE}
                ),
                ws_frame(
                    360.0,
                    "server",
                    {
                        "type": "response.completed",
                        "response": {
                            "id": "r1",
                            "output": [],
                            "usage": {"input_tokens": 10, "output_tokens": 50},
                        },
                    },
                ),
                ws_frame(1010.0, "client", {**CREATE, "input": "again"}),
                ws_frame(
                    1410.0,
                    "server",
                    {"type": "response.completed", "response": {"id": "r2", "output": [MESSAGE]}},
                ),
            ]
        )
    )
    assert [turn["id"] for turn in turns] == ["ex-7.1", "ex-7.2"]
    first, second = turns
    assert first["timing"] == {
        "started_at": "2026-03-02T10:00:00.010Z",
        "ttfb_ms": 200.0,
        "ttft_ms": 250.0,
        "duration_ms": 350.0,
        "tokens_per_s": 500.0,
    }
    assert first["output"] == [{"type": "text", "text": "Hello."}]  # from output_item.done
    assert first["request_body"] == CREATE
    assert [event["offset_ms"] for event in first["events"]] == [0.0, 200.0, 250.0, 300.0, 350.0]
    assert second["timing"]["started_at"] == "2026-03-02T10:00:01.010Z"
    assert second["messages"] == [{"role": "user", "content": [{"type": "text", "text": "again"}]}]
    assert (first["complete"], second["complete"]) == (True, True)


def test_socket_cut_mid_response_marks_only_that_response() -> None:
    turns = turns_of_record(
        websocket_record(
            [
                ws_frame(0.0, "client", CREATE),
                ws_frame(
                    100.0,
                    "server",
                    {"type": "response.completed", "response": {"id": "r1", "output": [MESSAGE]}},
                ),
                ws_frame(200.0, "client", CREATE),
                ws_frame(
                    300.0, "server", {"type": "response.output_item.done", "output_index": 0, "item": MESSAGE}
                ),
            ],
            error="upstream closed the socket (1006)",
        )
    )
    assert [(turn["complete"], turn["error"]) for turn in turns] == [
        (True, None),
        (False, "upstream closed the socket (1006)"),
    ]
    assert turns[1]["output"] == [{"type": "text", "text": "Hello."}]


def test_failed_response_and_error_event_become_the_turn_error() -> None:
    turns = turns_of_record(
        websocket_record(
            [
                ws_frame(0.0, "client", CREATE),
                ws_frame(
                    9.0,
                    "server",
                    {
                        "type": "response.failed",
                        "response": {
                            "id": "r1",
                            "status": "failed",
                            "error": {"code": "server_error", "message": "boom"},
                        },
                    },
                ),
                ws_frame(20.0, "client", CREATE),
                ws_frame(
                    29.0,
                    "server",
                    {"type": "error", "error": {"type": "invalid_request_error", "message": "bad"}},
                ),
            ]
        )
    )
    assert [turn["error"] for turn in turns] == ["server_error: boom", "invalid_request_error: bad"]


def test_create_with_fields_nested_under_response() -> None:
    nested = {
        "type": "response.create",
        "response": {"model": "gpt-5", "instructions": "Be brief.", "input": "x"},
    }
    (turn,) = turns_of_record(websocket_record([ws_frame(0.0, "client", nested)]))
    assert (turn["model"], turn["system"]) == ("gpt-5", [{"type": "text", "text": "Be brief."}])
    assert turn["complete"] is False


def test_socket_without_response_create_is_one_raw_turn() -> None:
    (turn,) = turns_of_record(websocket_record([ws_frame(0.0, "server", {"type": "session.created"})]))
    assert (turn["id"], turn["api"]) == ("ex-7", "raw")
    assert turn["events"] == [
        {"offset_ms": 0.0, "data": '{"type": "session.created"}', "direction": "server"}
    ]


def test_sse_stream_without_reassembled_body_is_rebuilt_from_events() -> None:
    record = websocket_record([])
    record.update(transport="sse")
    record["request"] = {
        "method": "POST",
        "url": "https://api.openai.com/v1/responses",
        "path": "/v1/responses",
        "headers": {},
        "body_bytes": 1,
        "body": {"model": "gpt-5", "input": "hi"},
    }
    done = {"type": "response.output_item.done", "output_index": 0, "item": MESSAGE}
    record["response"] = {
        "status": 200,
        "headers": {},
        "body_bytes": 1,
        "complete": True,
        "events": [{"offset_ms": 5.0, "event": done["type"], "data": json.dumps(done)}],
    }
    (turn,) = turns_of_record(record)
    assert turn["output"] == [{"type": "text", "text": "Hello."}]


def test_assistant_items_group_into_one_message_and_tool_outputs_into_one() -> None:
    messages = openai_responses.input_messages(
        [
            {"type": "message", "role": "user", "content": "go"},
            {"type": "reasoning", "summary": [{"type": "summary_text", "text": "plan"}]},
            {"type": "function_call", "call_id": "a", "name": "shell", "arguments": '{"cmd": "ls"}'},
            {"type": "function_call", "call_id": "b", "name": "shell", "arguments": "not json"},
            {"type": "function_call_output", "call_id": "a", "output": "x"},
            {"type": "function_call_output", "call_id": "b", "output": [{"type": "input_text", "text": "y"}]},
            {"type": "web_search_call", "id": "ws_1", "action": {"type": "search", "query": "q"}},
            {"type": "item_reference", "id": "msg_0"},
        ]
    )
    assert messages == [
        {"role": "user", "content": [{"type": "text", "text": "go"}]},
        {
            "role": "assistant",
            "content": [
                {"type": "thinking", "text": "plan"},
                {"type": "tool_use", "id": "a", "name": "shell", "input": {"cmd": "ls"}},
                {"type": "tool_use", "id": "b", "name": "shell", "input": "not json"},
            ],
        },
        {
            "role": "tool",
            "content": [
                {
                    "type": "tool_result",
                    "tool_use_id": "a",
                    "content": [{"type": "text", "text": "x"}],
                    "is_error": False,
                },
                {
                    "type": "tool_result",
                    "tool_use_id": "b",
                    "content": [{"type": "text", "text": "y"}],
                    "is_error": False,
                },
            ],
        },
        {
            "role": "assistant",
            "content": [
                {
                    "type": "tool_use",
                    "id": "ws_1",
                    "name": "web_search",
                    "input": {"type": "search", "query": "q"},
                },
            ],
        },
        {
            "role": "unknown",
            "content": [
                {"type": "other", "label": "item_reference", "raw": {"type": "item_reference", "id": "msg_0"}}
            ],
        },
    ]


def test_incomplete_response_stop_reason_is_the_reason() -> None:
    content = openai_responses.normalize(
        {"model": "gpt-5", "input": "x"},
        {"status": "incomplete", "incomplete_details": {"reason": "max_output_tokens"}, "output": []},
        "/v1/responses",
    )
    assert content["stop_reason"] == "max_output_tokens"


def test_a_socket_recorded_per_response_with_the_request_as_body_is_one_turn() -> None:
    # The legacy import (claude-tap up to 0.1.146) keeps each response of a socket as its own record.
    record = websocket_record(
        [ws_frame(0.0, "server", {"type": "response.output_item.done", "output_index": 0, "item": MESSAGE})]
    )
    record["request"]["body"] = CREATE  # type: ignore[index]
    (turn,) = turns_of_record(record)
    assert (turn["id"], turn["api"], turn["model"]) == ("ex-7", "openai_responses", "gpt-5-codex")
    assert turn["output"] == [{"type": "text", "text": "Hello."}]
