"""Anthropic Messages specifics not covered by the golden case."""

from __future__ import annotations

from claude_tap.normalize import anthropic


def test_string_system_and_string_content() -> None:
    content = anthropic.normalize(
        {"model": "claude-haiku-4-5", "system": "Be brief.", "messages": [{"role": "user", "content": "hi"}]},
        None,
        "/v1/messages",
    )
    assert content["system"] == [{"type": "text", "text": "Be brief."}]
    assert content["messages"] == [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]
    assert (content["output"], content["usage"], content["stop_reason"]) == ([], None, None)


def test_server_tool_use_and_its_result() -> None:
    results = [
        {
            "type": "web_search_result",
            "url": "https://example.com",
            "title": "Example",
            "encrypted_content": "E",
        }
    ]
    content = anthropic.normalize(
        {"model": "m", "messages": []},
        {
            "type": "message",
            "content": [
                {
                    "type": "server_tool_use",
                    "id": "srvtoolu_1",
                    "name": "web_search",
                    "input": {"query": "q"},
                },
                {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_1", "content": results},
                {
                    "type": "web_fetch_tool_result",
                    "tool_use_id": "srvtoolu_2",
                    "content": {"type": "web_fetch_tool_result_error", "error_code": "url_not_accessible"},
                },
            ],
        },
        "/v1/messages",
    )
    assert content["output"] == [
        {"type": "tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {"query": "q"}},
        {
            "type": "tool_result",
            "tool_use_id": "srvtoolu_1",
            "is_error": False,
            "content": [{"type": "other", "label": "web_search_result", "raw": results[0]}],
        },
        {
            "type": "tool_result",
            "tool_use_id": "srvtoolu_2",
            "is_error": True,
            "content": [
                {
                    "type": "other",
                    "label": "web_fetch_tool_result_error",
                    "raw": {"type": "web_fetch_tool_result_error", "error_code": "url_not_accessible"},
                }
            ],
        },
    ]


def test_image_by_url_and_unknown_blocks_are_kept() -> None:
    content = anthropic.normalize(
        {
            "model": "m",
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}},
                        {"type": "image", "source": {"type": "file", "file_id": "file_1"}},
                        {"type": "container_upload", "file_id": "file_2"},
                    ],
                }
            ],
        },
        None,
        "/v1/messages",
    )
    assert content["messages"][0]["content"] == [
        {"type": "image", "media_type": "image/jpeg", "url": "https://example.com/cat.jpg"},
        {
            "type": "other",
            "label": "image",
            "raw": {"type": "image", "source": {"type": "file", "file_id": "file_1"}},
        },
        {
            "type": "other",
            "label": "container_upload",
            "raw": {"type": "container_upload", "file_id": "file_2"},
        },
    ]


def test_error_body_has_no_output() -> None:
    content = anthropic.normalize(
        {"model": "m", "messages": []},
        {"type": "error", "error": {"type": "overloaded_error", "message": "x"}},
        "",
    )
    assert content["output"] == []


def test_every_other_request_field_is_a_param() -> None:
    content = anthropic.normalize(
        {
            "model": "m",
            "messages": [],
            "temperature": 0.5,
            "stop_sequences": ["END"],
            "context_management": {"edits": []},
        },
        None,
        "/v1/messages",
    )
    assert content["params"] == {
        "temperature": 0.5,
        "stop_sequences": ["END"],
        "context_management": {"edits": []},
    }
