"""Cursor transcript entries: Anthropic-style lines, and the variants an importer may hand over."""

from __future__ import annotations

from claude_tap.normalize import cursor


def test_role_with_message_content() -> None:
    content = cursor.normalize_entry(
        {
            "role": "assistant",
            "message": {
                "content": [
                    {"type": "text", "text": "Running it."},
                    {"type": "tool_use", "id": "t1", "name": "Shell", "input": {"command": "ls"}},
                ]
            },
        }
    )
    assert content["api"] == "cursor_transcript"
    assert content["messages"] == [
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "Running it."},
                {"type": "tool_use", "id": "t1", "name": "Shell", "input": {"command": "ls"}},
            ],
        }
    ]


def test_tool_result_and_plain_string_variants() -> None:
    result = cursor.normalize_entry(
        {
            "type": "user",
            "message": {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "a.py"}],
            },
        }
    )
    plain = cursor.normalize_entry({"role": "user", "content": "hello"})
    assert result["messages"] == [
        {
            "role": "user",
            "content": [
                {
                    "type": "tool_result",
                    "tool_use_id": "t1",
                    "content": [{"type": "text", "text": "a.py"}],
                    "is_error": False,
                }
            ],
        }
    ]
    assert plain["messages"] == [{"role": "user", "content": [{"type": "text", "text": "hello"}]}]


def test_conversation_key_from_record_entry_or_source() -> None:
    assert cursor.conversation_key({"source": "cursor", "conversation": "c-1", "entry": {}}) == "c-1"
    assert cursor.conversation_key({"source": "cursor", "entry": {"session_id": "s-2"}}) == "s-2"
    assert cursor.conversation_key({"source": "cursor", "entry": {}}) == "cursor"
