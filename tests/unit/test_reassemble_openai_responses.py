"""capture/formats/openai_responses.py: Responses API stream events -> the final response object."""

from __future__ import annotations

from typing import Any

from claude_tap.capture.formats.openai_responses import looks_like, reassemble
from claude_tap.capture.sse import parse_sse
from tests.factories import openai_responses_stream, sse_body, sse_events

SNAPSHOT = {
    "id": "resp_1",
    "object": "response",
    "status": "in_progress",
    "model": "gpt-5-codex",
    "output": [],
}


def e(kind: str, **fields: Any) -> tuple[str, dict[str, Any]]:
    return (kind, {"type": kind, **fields})


def run(*items: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    return reassemble(sse_events(items))


def test_full_stream_uses_the_completed_response() -> None:
    completed = openai_responses_stream()[-1][1]["response"]
    assert reassemble(parse_sse(sse_body(openai_responses_stream()))) == completed


def test_empty_output_in_completed_is_filled_from_items_seen() -> None:
    """Codex's backend sends response.completed with `output: []`."""
    stream = openai_responses_stream()
    stream[-1][1]["response"]["output"] = []
    result = reassemble(sse_events(stream))
    assert result["status"] == "completed"
    assert result["output"] == [
        {
            "id": "msg_67c9",
            "type": "message",
            "status": "completed",
            "role": "assistant",
            "content": [{"type": "output_text", "text": "Hi there", "annotations": []}],
        },
        {
            "id": "fc_12345",
            "type": "function_call",
            "status": "completed",
            "call_id": "call_abc",
            "name": "shell",
            "arguments": '{"cmd":"ls"}',
        },
    ]


def test_stream_cut_before_item_done_rebuilds_items_from_deltas() -> None:
    result = run(
        e("response.created", response=SNAPSHOT),
        e(
            "response.output_item.added",
            output_index=0,
            item={"id": "rs_1", "type": "reasoning", "summary": []},
        ),
        e(
            "response.reasoning_summary_part.added",
            item_id="rs_1",
            output_index=0,
            summary_index=0,
            part={"type": "summary_text", "text": ""},
        ),
        e(
            "response.reasoning_summary_text.delta",
            item_id="rs_1",
            output_index=0,
            summary_index=0,
            delta="**Plan**",
        ),
        e(
            "response.reasoning_summary_text.delta",
            item_id="rs_1",
            output_index=0,
            summary_index=0,
            delta=" it",
        ),
        e(
            "response.output_item.added",
            output_index=1,
            item={"id": "m", "type": "message", "role": "assistant", "content": []},
        ),
        e(
            "response.content_part.added",
            item_id="m",
            output_index=1,
            content_index=0,
            part={"type": "output_text", "text": "", "annotations": []},
        ),
        e("response.output_text.delta", item_id="m", output_index=1, content_index=0, delta="Hel"),
        e("response.output_text.delta", item_id="m", output_index=1, content_index=0, delta="lo"),
        e(
            "response.output_text.annotation.added",
            item_id="m",
            output_index=1,
            content_index=0,
            annotation_index=0,
            annotation={"type": "url_citation", "url": "https://example.com"},
        ),
        e(
            "response.output_item.added",
            output_index=2,
            item={"id": "fc", "type": "function_call", "name": "f", "arguments": ""},
        ),
        e("response.function_call_arguments.delta", item_id="fc", output_index=2, delta='{"a":'),
        e("response.function_call_arguments.delta", item_id="fc", output_index=2, delta="1}"),
    )
    assert result == {
        "id": "resp_1",
        "object": "response",
        "status": "in_progress",
        "model": "gpt-5-codex",
        "output": [
            {"id": "rs_1", "type": "reasoning", "summary": [{"type": "summary_text", "text": "**Plan** it"}]},
            {
                "id": "m",
                "type": "message",
                "role": "assistant",
                "content": [
                    {
                        "type": "output_text",
                        "text": "Hello",
                        "annotations": [{"type": "url_citation", "url": "https://example.com"}],
                    }
                ],
            },
            {"id": "fc", "type": "function_call", "name": "f", "arguments": '{"a":1}'},
        ],
    }


def test_deltas_without_added_events_imply_items_and_parts() -> None:
    result = run(
        e("response.output_text.delta", item_id="m", output_index=0, content_index=1, delta="x"),
        e("response.refusal.delta", item_id="m", output_index=0, content_index=0, delta="no"),
        e("response.reasoning_text.delta", item_id="r", output_index=1, content_index=0, delta="think"),
        e("response.reasoning_summary_text.delta", item_id="s", output_index=2, summary_index=0, delta="sum"),
        e("response.function_call_arguments.delta", output_index=3, delta="{}"),
        e("response.function_call_arguments.done", output_index=4, arguments='{"b":2}'),
    )
    assert result == {
        "object": "response",
        "output": [
            {
                "type": "message",
                "role": "assistant",
                "content": [
                    {"type": "refusal", "refusal": "no"},
                    {"type": "output_text", "text": "x", "annotations": []},
                ],
                "id": "m",
            },
            {
                "type": "reasoning",
                "summary": [],
                "id": "r",
                "content": [{"type": "reasoning_text", "text": "think"}],
            },
            {"type": "reasoning", "summary": [{"type": "summary_text", "text": "sum"}], "id": "s"},
            {"type": "function_call", "arguments": "{}"},
            {"type": "function_call", "arguments": '{"b":2}'},
        ],
    }


def test_done_events_replace_what_deltas_built() -> None:
    result = run(
        e("response.output_text.delta", item_id="m", output_index=0, content_index=0, delta="partial"),
        e(
            "response.content_part.done",
            item_id="m",
            output_index=0,
            content_index=0,
            part={"type": "output_text", "text": "final", "annotations": []},
        ),
        e("response.function_call_arguments.delta", item_id="f", output_index=1, delta='{"x'),
        e("response.function_call_arguments.done", item_id="f", output_index=1, arguments='{"x": 1}'),
        e(
            "response.reasoning_summary_part.done",
            item_id="r",
            output_index=2,
            summary_index=0,
            part={"type": "summary_text", "text": "S"},
        ),
    )
    assert [item.get("content", item.get("summary", item.get("arguments"))) for item in result["output"]] == [
        [{"type": "output_text", "text": "final", "annotations": []}],
        '{"x": 1}',
        [{"type": "summary_text", "text": "S"}],
    ]


def test_failed_response_is_final() -> None:
    failed = dict(SNAPSHOT, status="failed", error={"code": "server_error", "message": "boom"})
    result = run(
        e("response.created", response=SNAPSHOT),
        e("response.failed", response=failed),
        e("response.in_progress", response=SNAPSHOT),  # late snapshots never undo the final one
    )
    assert result == failed


def test_incomplete_response_is_kept() -> None:
    incomplete = dict(SNAPSHOT, status="incomplete", incomplete_details={"reason": "max_output_tokens"})
    assert run(e("response.incomplete", response=incomplete)) == incomplete


def test_error_event_marks_an_unfinished_response_failed() -> None:
    result = run(
        e("response.created", response=SNAPSHOT),
        e("error", code="rate_limit_exceeded", message="Slow down", param=None, sequence_number=2),
    )
    assert result == dict(
        SNAPSHOT,
        status="failed",
        error={"code": "rate_limit_exceeded", "message": "Slow down", "param": None, "sequence_number": 2},
    )


def test_error_event_after_the_final_response_keeps_its_status() -> None:
    completed = dict(SNAPSHOT, status="completed")
    result = run(e("response.completed", response=completed), e("error", message="late"))
    assert (result["status"], result["error"]) == ("completed", {"message": "late"})


def test_error_only_stream() -> None:
    assert run(e("error", message="Invalid API key")) == {
        "object": "response",
        "output": [],
        "error": {"message": "Invalid API key"},
        "status": "failed",
    }


def test_unknown_events_are_ignored_silently() -> None:
    result = run(
        e("response.created", response=SNAPSHOT),
        e("response.web_search_call.searching", output_index=0, item_id="ws"),
        e("response.output_text.done", output_index=0, content_index=0, text="x"),
    )
    assert result == SNAPSHOT


def test_malformed_events_are_skipped_and_noted() -> None:
    result = run(
        e("response.created", response=[1]),
        e("response.output_item.added", output_index="0", item={}),
        e("response.output_text.delta", output_index=0, content_index=0, delta=None),
        e("response.content_part.added", output_index=0, content_index=True, part={}),
    )
    assert result["_tap_notes"] == [
        "event 0: skipped, TypeError: expected a JSON object, got list",
        "event 1: skipped, ValueError: bad index '0'",
        "event 2: skipped, TypeError: expected a string, got NoneType",
        "event 3: skipped, ValueError: bad index True",
    ]


def test_looks_like_recognises_response_events_only() -> None:
    assert looks_like("response.created", {"type": "response.created"})
    assert not looks_like("message", {"type": "message_start"})
    assert not looks_like("message", {"type": 3})
    assert not looks_like("message", "[DONE]")
