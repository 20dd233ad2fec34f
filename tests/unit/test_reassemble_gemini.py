"""capture/formats/gemini.py: streamGenerateContent chunks -> one GenerateContentResponse."""

from __future__ import annotations

from typing import Any

from claude_tap.capture.formats.gemini import looks_like, reassemble
from claude_tap.capture.sse import parse_sse
from tests.factories import gemini_stream, sse_body, sse_events


def chunk(*parts: dict[str, Any], index: int | None = None, **top: Any) -> tuple[None, dict[str, Any]]:
    candidate: dict[str, Any] = {"content": {"parts": list(parts), "role": "model"}}
    if index is not None:
        candidate["index"] = index
    return (None, {"candidates": [candidate], **top})


def run(*items: tuple[str | None, Any]) -> dict[str, Any]:
    return reassemble(sse_events(items))


def test_thought_text_and_function_call_from_sse_bytes() -> None:
    assert reassemble(parse_sse(sse_body(gemini_stream()))) == {
        "candidates": [
            {
                "content": {
                    "parts": [
                        {"text": "**Planning** the listing", "thought": True},
                        {"text": "I'll list the files."},
                        {
                            "functionCall": {"name": "list_directory", "args": {"path": "."}},
                            "thoughtSignature": "CiQB0e2K",
                        },
                    ],
                    "role": "model",
                },
                "index": 0,
                "finishReason": "STOP",
            }
        ],
        "usageMetadata": {
            "promptTokenCount": 9,
            "candidatesTokenCount": 12,
            "thoughtsTokenCount": 30,
            "totalTokenCount": 51,
        },
        "modelVersion": "gemini-2.5-pro",
        "responseId": "mZ3uaOXQM_yJ-8YP",
    }


def test_adjacent_thoughts_merge_but_never_with_answer_text() -> None:
    result = run(
        chunk({"text": "a", "thought": True}),
        chunk({"text": "b", "thought": True}),
        chunk({"text": "c"}),
        chunk({"text": "d", "thought": False}),
        chunk({"text": "e", "thought": True}),
    )
    assert result["candidates"][0]["content"]["parts"] == [
        {"text": "ab", "thought": True},
        {"text": "cd"},
        {"text": "e", "thought": True},
    ]


def test_signature_joins_the_text_it_arrives_with_and_closes_it() -> None:
    result = run(
        chunk({"text": "Hello"}),
        chunk({"text": "", "thoughtSignature": "sig1"}),
        chunk({"text": "More"}),
    )
    assert result["candidates"][0]["content"]["parts"] == [
        {"text": "Hello", "thoughtSignature": "sig1"},
        {"text": "More"},
    ]


def test_non_text_parts_do_not_merge() -> None:
    call = {"functionCall": {"name": "f", "args": {}}}
    result = run(
        chunk({"text": "x"}, call), chunk(call), chunk({"text": "y"}), chunk({"inlineData": {"data": "AA=="}})
    )
    assert result["candidates"][0]["content"]["parts"] == [
        {"text": "x"},
        call,
        call,
        {"text": "y"},
        {"inlineData": {"data": "AA=="}},
    ]


def test_candidates_merge_by_index_and_other_fields_last_win() -> None:
    result = run(
        chunk({"text": "zero"}, index=0, modelVersion="v1"),
        chunk({"text": "one"}, index=1, usageMetadata={"totalTokenCount": 1}),
        (None, {"candidates": [{"index": 1, "finishReason": "MAX_TOKENS", "safetyRatings": []}]}),
        (None, {"candidates": [{"index": 0, "content": {"parts": [{"text": "!"}]}, "finishReason": "STOP"}]}),
        (None, {"usageMetadata": {"totalTokenCount": 5}, "modelVersion": "v2"}),
    )
    assert result == {
        "candidates": [
            {"content": {"parts": [{"text": "zero!"}], "role": "model"}, "index": 0, "finishReason": "STOP"},
            {
                "content": {"parts": [{"text": "one"}], "role": "model"},
                "index": 1,
                "finishReason": "MAX_TOKENS",
                "safetyRatings": [],
            },
        ],
        "usageMetadata": {"totalTokenCount": 5},
        "modelVersion": "v2",
    }


def test_candidate_without_role_or_parts() -> None:
    result = run((None, {"candidates": [{"content": {}, "finishReason": "SAFETY"}]}))
    assert result == {"candidates": [{"content": {"parts": []}, "index": 0, "finishReason": "SAFETY"}]}


def test_prompt_blocked_has_no_candidates() -> None:
    blocked = {"promptFeedback": {"blockReason": "SAFETY"}, "usageMetadata": {"promptTokenCount": 4}}
    assert run((None, blocked)) == blocked


def test_code_assist_wrapping_is_unwrapped_and_rewrapped() -> None:
    result = run(
        (
            None,
            {
                "response": {"candidates": [{"content": {"parts": [{"text": "O"}], "role": "model"}}]},
                "traceId": "t1",
            },
        ),
        (
            None,
            {
                "response": {
                    "candidates": [
                        {"content": {"parts": [{"text": "K"}], "role": "model"}, "finishReason": "STOP"}
                    ],
                    "usageMetadata": {"totalTokenCount": 3},
                    "modelVersion": "gemini-2.5-flash",
                },
                "traceId": "t1",
            },
        ),
    )
    assert result == {
        "response": {
            "candidates": [
                {"content": {"parts": [{"text": "OK"}], "role": "model"}, "index": 0, "finishReason": "STOP"}
            ],
            "usageMetadata": {"totalTokenCount": 3},
            "modelVersion": "gemini-2.5-flash",
        },
        "traceId": "t1",
    }


def test_error_chunk_is_kept() -> None:
    error = {"code": 429, "message": "Resource exhausted", "status": "RESOURCE_EXHAUSTED"}
    assert run(chunk({"text": "x"}), (None, {"error": error}))["error"] == error


def test_malformed_chunks_are_skipped_and_noted() -> None:
    result = run(
        (None, "[1, 2"),
        (None, {"candidates": [{"index": "0"}]}),
        (None, {"candidates": [{"content": {"parts": ["text"]}}]}),
        chunk({"text": "fine"}),
    )
    assert result["candidates"][0]["content"]["parts"] == [{"text": "fine"}]
    assert result["_tap_notes"] == [
        "event 0: skipped, JSONDecodeError: Expecting ',' delimiter: line 1 column 6 (char 5)",
        "event 1: skipped, ValueError: bad index '0'",
        "event 2: skipped, TypeError: expected a JSON object, got str",
    ]


def test_looks_like_recognises_plain_and_wrapped_chunks() -> None:
    assert looks_like("message", {"candidates": []})
    assert looks_like("message", {"usageMetadata": {}})
    assert looks_like("message", {"response": {"candidates": []}, "traceId": "x"})
    assert not looks_like("message", {"response": {"id": "resp_1"}, "type": "response.created"})
    assert not looks_like("message", "[DONE]")
