"""Gemini specifics: Code Assist envelopes, chunk arrays, call/response linking, snake_case."""

from __future__ import annotations

from claude_tap.normalize import gemini

CALL = {"functionCall": {"name": "read_file", "args": {"path": "a.py"}}}
REPLY = {"functionResponse": {"name": "read_file", "response": {"output": "print(1)"}}}


def test_code_assist_request_and_response_are_unwrapped() -> None:
    content = gemini.normalize(
        {
            "model": "gemini-2.5-flash",
            "project": "p-1",
            "user_prompt_id": "u-1",
            "request": {
                "contents": [{"role": "user", "parts": [{"text": "hi"}]}],
                "generationConfig": {"temperature": 0.2},
            },
        },
        {
            "response": {
                "candidates": [
                    {"content": {"role": "model", "parts": [{"text": "hello"}]}, "finishReason": "STOP"}
                ],
                "usageMetadata": {"promptTokenCount": 3, "candidatesTokenCount": 1},
            },
            "traceId": "t",
        },
        "/v1internal:generateContent",
    )
    assert content["model"] == "gemini-2.5-flash"
    assert content["messages"] == [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]
    assert content["output"] == [{"type": "text", "text": "hello"}]
    assert content["params"] == {"project": "p-1", "user_prompt_id": "u-1", "temperature": 0.2}
    assert content["stop_reason"] == "STOP"
    assert content["usage"] is not None and content["usage"]["input_tokens"] == 3


def test_public_api_model_comes_from_the_path() -> None:
    content = gemini.normalize(
        {"contents": []}, {"candidates": []}, "/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse"
    )
    assert content["model"] == "gemini-2.5-pro"


def test_a_json_array_stream_is_merged_into_one_response() -> None:
    chunks = [
        {"response": {"candidates": [{"content": {"role": "model", "parts": [{"text": "Hel"}]}}]}},
        {"response": {"candidates": [{"content": {"role": "model", "parts": [{"text": "lo"}]}}]}},
        {
            "response": {
                "candidates": [
                    {
                        "content": {"role": "model", "parts": [{"text": "", "thoughtSignature": "sig"}]},
                        "finishReason": "STOP",
                    }
                ],
                "usageMetadata": {"promptTokenCount": 4, "candidatesTokenCount": 2},
                "modelVersion": "gemini-2.5-pro",
            }
        },
    ]
    content = gemini.normalize({"contents": []}, chunks, "/v1internal:streamGenerateContent")
    assert content["output"] == [{"type": "text", "text": "Hello", "signature": "sig"}]
    assert content["stop_reason"] == "STOP"
    assert content["model"] == "gemini-2.5-pro"
    assert content["usage"] is not None and content["usage"]["output_tokens"] == 2


def test_calls_without_ids_link_to_responses_by_name_and_order() -> None:
    content = gemini.normalize(
        {
            "contents": [
                {"role": "model", "parts": [CALL, CALL]},
                {"role": "user", "parts": [REPLY, REPLY]},
            ]
        },
        {"candidates": [{"content": {"parts": [CALL]}}]},
        "/v1beta/models/gemini-2.5-pro:generateContent",
    )
    calls = [block["id"] for block in content["messages"][0]["content"]]
    results = [block["tool_use_id"] for block in content["messages"][1]["content"]]
    assert calls == results == ["read_file#1", "read_file#2"]
    assert content["output"][0]["id"] == "read_file#3"


def test_explicit_call_id_wins_and_its_response_follows_it() -> None:
    content = gemini.normalize(
        {
            "contents": [
                {"role": "model", "parts": [{"functionCall": {"id": "call-7", "name": "ls", "args": {}}}]},
                {
                    "role": "user",
                    "parts": [{"functionResponse": {"name": "ls", "response": {"error": "denied"}}}],
                },
            ]
        },
        None,
        "/x:generateContent",
    )
    (result,) = content["messages"][1]["content"]
    assert (result["tool_use_id"], result["is_error"]) == ("call-7", True)
    assert result["content"] == [{"type": "text", "text": "denied"}]


def test_snake_case_fields_are_read_too() -> None:
    content = gemini.normalize(
        {
            "system_instruction": {"parts": [{"text": "sys"}]},
            "contents": [
                {"role": "user", "parts": [{"inline_data": {"mime_type": "image/jpeg", "data": "AAA="}}]}
            ],
            "tools": [
                {
                    "function_declarations": [
                        {"name": "f", "description": "d", "parameters": {"type": "object"}}
                    ]
                }
            ],
            "generation_config": {"max_output_tokens": 5},
        },
        None,
        "/x:generateContent",
    )
    assert content["system"] == [{"type": "text", "text": "sys"}]
    assert content["messages"][0]["content"] == [
        {"type": "image", "media_type": "image/jpeg", "data": "AAA="}
    ]
    assert content["tools"] == [{"name": "f", "description": "d", "input_schema": {"type": "object"}}]
    assert content["params"] == {"max_output_tokens": 5}


def test_unknown_parts_and_extra_candidates_are_kept_as_other() -> None:
    code = {"executableCode": {"language": "PYTHON", "code": "print(1)"}}
    content = gemini.normalize(
        {"contents": []},
        {"candidates": [{"content": {"parts": [code]}}, {"content": {"parts": [{"text": "alt"}]}}]},
        "/x:generateContent",
    )
    assert content["output"] == [
        {"type": "other", "label": "executableCode", "raw": code},
        {"type": "other", "label": "candidate 1", "raw": {"content": {"parts": [{"text": "alt"}]}}},
    ]


def test_blocked_prompt_has_the_block_reason_as_stop_reason() -> None:
    content = gemini.normalize(
        {"contents": []}, {"promptFeedback": {"blockReason": "SAFETY"}}, "/x:generateContent"
    )
    assert (content["output"], content["stop_reason"]) == ([], "SAFETY")
