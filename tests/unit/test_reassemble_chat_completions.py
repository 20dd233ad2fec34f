"""capture/formats/chat_completions.py: chat.completion.chunk events -> the final chat.completion."""

from __future__ import annotations

from typing import Any

from claude_tap.capture.formats.chat_completions import looks_like, reassemble
from claude_tap.capture.sse import parse_sse
from tests.factories import chat_completions_stream, sse_body, sse_events


def chunk(*choices: dict[str, Any], **top: Any) -> tuple[None, dict[str, Any]]:
    return (
        None,
        {"id": "c1", "object": "chat.completion.chunk", "model": "m", "choices": list(choices), **top},
    )


def choice(index: int = 0, finish_reason: str | None = None, **delta: Any) -> dict[str, Any]:
    return {"index": index, "delta": delta, "finish_reason": finish_reason}


def run(*items: tuple[str | None, Any]) -> dict[str, Any]:
    return reassemble(sse_events(items))


def test_text_tool_call_usage_and_done_from_sse_bytes() -> None:
    assert reassemble(parse_sse(sse_body(chat_completions_stream()))) == {
        "object": "chat.completion",
        "id": "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT",
        "created": 1741570283,
        "model": "gpt-4o-2024-08-06",
        "system_fingerprint": "fp_eb9dce56a8",
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": "Let me look.",
                    "tool_calls": [
                        {
                            "id": "call_DdmO9pD3xa9XTPNJ32zg2hcA",
                            "type": "function",
                            "function": {"name": "get_weather", "arguments": '{"location": "Paris"}'},
                        }
                    ],
                },
                "finish_reason": "tool_calls",
            }
        ],
        "usage": {"prompt_tokens": 82, "completion_tokens": 17, "total_tokens": 99},
    }


def test_reasoning_content_is_concatenated_beside_content() -> None:
    """DeepSeek and Kimi stream their thinking as delta.reasoning_content."""
    result = run(
        chunk(choice(role="assistant", content=None, reasoning_content="")),
        chunk(choice(content=None, reasoning_content="Hmm, ")),
        chunk(choice(content=None, reasoning_content="the user wants 2.")),
        chunk(choice(content="2", reasoning_content=None)),
        chunk(choice(finish_reason="stop")),
    )
    assert result["choices"] == [
        {
            "index": 0,
            "message": {"role": "assistant", "reasoning_content": "Hmm, the user wants 2.", "content": "2"},
            "finish_reason": "stop",
        }
    ]


def test_several_choices_and_parallel_tool_calls_by_index() -> None:
    result = run(
        chunk(choice(1, content="B"), choice(0, content="A")),
        chunk(
            choice(
                0,
                tool_calls=[
                    {
                        "index": 1,
                        "id": "call_2",
                        "type": "function",
                        "function": {"name": "b", "arguments": ""},
                    },
                    {
                        "index": 0,
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "a", "arguments": "{"},
                    },
                ],
            )
        ),
        chunk(choice(0, tool_calls=[{"index": 0, "function": {"arguments": "}"}}])),
        chunk(choice(0, tool_calls=[{"index": 1, "function": {"arguments": "[]"}}]), choice(1, "length")),
        chunk(choice(0, "tool_calls")),
    )
    assert result["choices"] == [
        {
            "index": 0,
            "message": {
                "role": "assistant",
                "content": "A",
                "tool_calls": [
                    {"id": "call_1", "type": "function", "function": {"name": "a", "arguments": "{}"}},
                    {"id": "call_2", "type": "function", "function": {"name": "b", "arguments": "[]"}},
                ],
            },
            "finish_reason": "tool_calls",
        },
        {"index": 1, "message": {"role": "assistant", "content": "B"}, "finish_reason": "length"},
    ]


def test_tool_call_name_in_pieces_and_repeated_id_are_handled() -> None:
    result = run(
        chunk(choice(tool_calls=[{"index": 0, "id": "call_9", "function": {"name": "get_"}}])),
        chunk(
            choice(tool_calls=[{"index": 0, "id": "call_9", "function": {"name": "time", "arguments": "{}"}}])
        ),
    )
    assert result["choices"][0]["message"] == {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {"id": "call_9", "type": "function", "function": {"name": "get_time", "arguments": "{}"}}
        ],
    }


def test_tool_call_without_id_type_or_index() -> None:
    result = run(chunk(choice(tool_calls=[{"function": {"name": "f"}}])))
    assert result["choices"][0]["message"]["tool_calls"] == [
        {"type": "function", "function": {"name": "f", "arguments": ""}}
    ]


def test_legacy_function_call_delta() -> None:
    result = run(
        chunk(choice(function_call={"name": "lookup", "arguments": ""})),
        chunk(choice(function_call={"arguments": '{"q": 1}'})),
        chunk(choice(finish_reason="function_call")),
    )
    assert result["choices"][0]["message"] == {
        "role": "assistant",
        "content": None,
        "function_call": {"name": "lookup", "arguments": '{"q": 1}'},
    }


def test_usage_inside_the_last_choice_moonshot_style() -> None:
    usage = {"prompt_tokens": 19, "completion_tokens": 13, "total_tokens": 32, "cached_tokens": 10}
    result = run(
        chunk(choice(content="hi")), chunk({"index": 0, "delta": {}, "finish_reason": "stop", "usage": usage})
    )
    assert result["usage"] == usage


def test_usage_chunk_with_null_usage_does_not_erase_usage() -> None:
    usage = {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}
    result = run(chunk(choice(content="x"), usage=usage), chunk(choice(finish_reason="stop"), usage=None))
    assert result["usage"] == usage


def test_logprobs_content_is_concatenated() -> None:
    token = {"token": "a", "logprob": -0.1, "top_logprobs": []}
    result = run(
        chunk(choice(content="a") | {"logprobs": {"content": [token]}}),
        chunk(choice(content="a") | {"logprobs": {"content": [token]}}),
        chunk(choice(finish_reason="stop") | {"logprobs": None}),
    )
    assert result["choices"][0]["logprobs"] == {"content": [token, token]}


def test_other_delta_fields_last_value_wins() -> None:
    result = run(chunk(choice(annotations=[{"type": "url_citation"}], audio=None)))
    assert result["choices"][0]["message"] == {
        "role": "assistant",
        "annotations": [{"type": "url_citation"}],
        "content": None,
    }


def test_error_chunk_is_kept() -> None:
    error = {"message": "Rate limit reached", "type": "rate_limit_error", "code": 429}
    assert run(chunk(choice(content="x")), (None, {"error": error}), (None, "[DONE]"))["error"] == error


def test_done_alone_gives_an_empty_completion() -> None:
    assert run((None, "[DONE]")) == {"object": "chat.completion", "choices": []}


def test_malformed_chunks_are_skipped_and_noted() -> None:
    result = run(
        (None, "data that is not json"),
        chunk({"index": -2, "delta": {}}),
        chunk(choice(tool_calls=[{"index": 0, "function": {"arguments": 7}}])),
        chunk(choice(content="ok")),
    )
    assert result["choices"][0]["message"]["content"] == "ok"
    assert result["_tap_notes"] == [
        "event 0: skipped, JSONDecodeError: Expecting value: line 1 column 1 (char 0)",
        "event 1: skipped, ValueError: bad index -2",
        "event 2: skipped, TypeError: expected a string, got int",
    ]


def test_looks_like_recognises_chunks() -> None:
    assert looks_like("message", {"object": "chat.completion.chunk"})
    assert looks_like("message", {"choices": []})
    assert not looks_like("message", {"candidates": [], "choices": []})
    assert not looks_like("message", "[DONE]")
