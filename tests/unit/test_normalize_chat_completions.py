"""Chat Completions specifics not covered by the golden case."""

from __future__ import annotations

from claude_tap.normalize import chat_completions


def test_developer_messages_lead_into_system_and_data_url_images_inline() -> None:
    content = chat_completions.normalize(
        {
            "model": "o3",
            "messages": [
                {"role": "developer", "content": [{"type": "text", "text": "Rules."}]},
                {
                    "role": "user",
                    "content": [
                        {"type": "image_url", "image_url": {"url": "data:image/webp;base64,UklG"}},
                        {"type": "input_audio", "input_audio": {"data": "AA", "format": "wav"}},
                    ],
                },
            ],
        },
        None,
        "/v1/chat/completions",
    )
    assert content["system"] == [{"type": "text", "text": "Rules."}]
    assert content["messages"] == [
        {
            "role": "user",
            "content": [
                {"type": "image", "media_type": "image/webp", "data": "UklG"},
                {
                    "type": "other",
                    "label": "input_audio",
                    "raw": {"type": "input_audio", "input_audio": {"data": "AA", "format": "wav"}},
                },
            ],
        }
    ]


def test_openrouter_reasoning_refusal_and_custom_tool_call() -> None:
    content = chat_completions.normalize(
        {"model": "m", "messages": []},
        {
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "tool_calls",
                    "message": {
                        "role": "assistant",
                        "reasoning": "think",
                        "content": None,
                        "refusal": "no",
                        "tool_calls": [
                            {"id": "c1", "type": "custom", "custom": {"name": "patch", "input": "*** Begin"}}
                        ],
                    },
                }
            ]
        },
        "/v1/chat/completions",
    )
    assert content["output"] == [
        {"type": "thinking", "text": "think"},
        {"type": "other", "label": "refusal", "raw": "no"},
        {"type": "tool_use", "id": "c1", "name": "patch", "input": "*** Begin"},
    ]
    assert content["stop_reason"] == "tool_calls"


def test_legacy_functions_are_tools() -> None:
    content = chat_completions.normalize(
        {"model": "m", "messages": [], "functions": [{"name": "f", "description": "d", "parameters": {}}]},
        None,
        "/v1/chat/completions",
    )
    assert content["tools"] == [{"name": "f", "description": "d", "input_schema": {}}]
    assert content["params"] == {"functions": [{"name": "f", "description": "d", "parameters": {}}]}
