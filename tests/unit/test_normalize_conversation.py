"""Each turn links to the previous turn of its conversation: by explicit id, else by message prefix."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from claude_tap.normalize.model import Turn
from claude_tap.normalize.session import normalize_records
from tests.factories import json_exchange_record, websocket_exchange_record, ws_frame

START = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
MAIN_SYSTEM = "You are Claude Code."
SUBAGENT_SYSTEM = "You are a file search specialist."


def exchange(
    seq: int, path: str, request: object, response: object = None, **extra: object
) -> dict[str, object]:
    started_at = (START + timedelta(seconds=seq)).isoformat()
    return json_exchange_record(
        seq, request, response, path=path, id=f"ex-{seq}", started_at=started_at, **extra
    )


def messages_call(seq: int, system: str, *texts: str) -> dict[str, object]:
    """A Messages API call whose conversation alternates user/assistant texts."""
    messages = [
        {"role": "user" if n % 2 == 0 else "assistant", "content": text} for n, text in enumerate(texts)
    ]
    return exchange(
        seq, "/v1/messages", {"model": "claude-sonnet-4-5", "system": system, "messages": messages}
    )


def links(turns: list[Turn]) -> list[tuple[str, int | None, bool, str]]:
    return [(turn["id"], turn["prev"], turn["prev_is_guess"], turn["conversation"]) for turn in turns]


def test_growing_conversation_links_each_turn_to_the_one_before() -> None:
    _, turns = normalize_records(
        [
            messages_call(1, MAIN_SYSTEM, "fix it"),
            messages_call(2, MAIN_SYSTEM, "fix it", "ran ls", "a.py"),
            messages_call(3, MAIN_SYSTEM, "fix it", "ran ls", "a.py", "ran cat", "print(1)"),
        ]
    )
    assert links(turns) == [
        ("ex-1", None, False, "ex-1"),
        ("ex-2", 0, True, "ex-1"),
        ("ex-3", 1, True, "ex-1"),
    ]


def test_subagent_with_its_own_system_prompt_is_its_own_conversation() -> None:
    _, turns = normalize_records(
        [
            messages_call(1, MAIN_SYSTEM, "find the config"),
            # The subagent opens with the same words but its own system prompt.
            messages_call(2, SUBAGENT_SYSTEM, "find the config"),
            messages_call(3, SUBAGENT_SYSTEM, "find the config", "grep", "config.toml"),
            messages_call(4, MAIN_SYSTEM, "find the config", "Task", "found config.toml"),
        ]
    )
    assert links(turns) == [
        ("ex-1", None, False, "ex-1"),
        ("ex-2", None, False, "ex-2"),
        ("ex-3", 1, True, "ex-2"),
        ("ex-4", 0, True, "ex-1"),
    ]


def test_longest_prefix_wins_over_an_older_shorter_one() -> None:
    _, turns = normalize_records(
        [
            messages_call(1, MAIN_SYSTEM, "a"),
            messages_call(2, MAIN_SYSTEM, "a", "b", "c"),
            messages_call(3, MAIN_SYSTEM, "a", "b", "c", "d", "e"),
        ]
    )
    assert turns[2]["prev"] == 1


def test_a_retry_with_identical_messages_links_to_the_first_try() -> None:
    _, turns = normalize_records([messages_call(1, MAIN_SYSTEM, "hi"), messages_call(2, MAIN_SYSTEM, "hi")])
    assert links(turns)[1] == ("ex-2", 0, True, "ex-1")


def test_system_prompt_change_mid_conversation_still_links_on_two_shared_messages() -> None:
    _, turns = normalize_records(
        [
            messages_call(1, MAIN_SYSTEM, "a", "b", "c"),
            messages_call(2, MAIN_SYSTEM + " Plan mode.", "a", "b", "c", "d", "e"),
            messages_call(3, "another system", "a"),  # one shared message is not enough across prompts
        ]
    )
    assert links(turns)[1:] == [("ex-2", 0, True, "ex-1"), ("ex-3", None, False, "ex-3")]


def test_different_apis_never_link() -> None:
    chat = exchange(
        2, "/v1/chat/completions", {"model": "gpt-4o", "messages": [{"role": "user", "content": "a"}]}
    )
    _, turns = normalize_records([messages_call(1, "", "a"), chat])
    assert turns[1]["prev"] is None


def test_previous_response_id_links_explicitly() -> None:
    first = exchange(
        1,
        "/v1/responses",
        {"model": "gpt-5", "input": "list files"},
        {"id": "resp_1", "object": "response", "output": []},
    )
    unrelated = exchange(
        2,
        "/v1/responses",
        {"model": "gpt-5", "input": "other"},
        {"id": "resp_2", "object": "response", "output": []},
    )
    follow_up = exchange(
        3,
        "/v1/responses",
        {
            "model": "gpt-5",
            "previous_response_id": "resp_1",
            "input": [{"type": "function_call_output", "call_id": "c1", "output": "a.py"}],
        },
        {"id": "resp_3", "object": "response", "output": []},
    )
    _, turns = normalize_records([first, unrelated, follow_up])
    assert links(turns) == [
        ("ex-1", None, False, "ex-1"),
        ("ex-2", None, False, "ex-2"),
        ("ex-3", 0, False, "ex-1"),
    ]


def test_websocket_responses_chain_through_previous_response_id() -> None:
    def done(response_id: str) -> dict[str, object]:
        return {"type": "response.completed", "response": {"id": response_id, "output": []}}

    frames = [
        ws_frame(0, "client", {"type": "response.create", "model": "gpt-5", "input": "hi"}),
        ws_frame(1, "server", done("resp_a")),
        ws_frame(
            2,
            "client",
            {"type": "response.create", "model": "gpt-5", "input": [], "previous_response_id": "resp_a"},
        ),
        ws_frame(3, "server", done("resp_b")),
        ws_frame(
            4,
            "client",
            {"type": "response.create", "model": "gpt-5", "input": [], "previous_response_id": "resp_b"},
        ),
        ws_frame(5, "server", done("resp_c")),
    ]
    record = websocket_exchange_record(
        1, frames, id="ex-1", started_at=(START + timedelta(seconds=1)).isoformat()
    )
    _, turns = normalize_records([record])
    assert links(turns) == [
        ("ex-1.1", None, False, "ex-1.1"),
        ("ex-1.2", 0, False, "ex-1.1"),
        ("ex-1.3", 1, False, "ex-1.1"),
    ]


def test_raw_turns_are_never_linked() -> None:
    count = exchange(
        1, "/v1/messages/count_tokens", {"model": "m", "messages": [{"role": "user", "content": "a"}]}
    )
    again = exchange(
        2, "/v1/messages/count_tokens", {"model": "m", "messages": [{"role": "user", "content": "a"}]}
    )
    _, turns = normalize_records([count, again])
    assert links(turns) == [("ex-1", None, False, "ex-1"), ("ex-2", None, False, "ex-2")]


def test_cursor_transcript_entries_chain_per_transcript() -> None:
    def entry(at: str, conversation: str, text: str) -> dict[str, object]:
        return {
            "type": "transcript",
            "source": "cursor",
            "at": at,
            "conversation": conversation,
            "entry": {"role": "user", "message": {"content": [{"type": "text", "text": text}]}},
        }

    _, turns = normalize_records(
        [
            entry("2026-03-02T10:00:01Z", "chat-a", "one"),
            entry("2026-03-02T10:00:02Z", "chat-b", "two"),
            entry("2026-03-02T10:00:03Z", "chat-a", "three"),
        ]
    )
    assert links(turns) == [
        ("transcript-0", None, False, "transcript-0"),
        ("transcript-1", None, False, "transcript-1"),
        ("transcript-2", 0, False, "transcript-0"),
    ]


@pytest.mark.slow
def test_a_thousand_turn_session_links_in_one_chain() -> None:
    texts: list[str] = []
    records = []
    for seq in range(1, 1001):
        texts += [f"user {seq}", f"assistant {seq}"]
        records.append(messages_call(seq, MAIN_SYSTEM, *texts[:-1]))
    _, turns = normalize_records(records)
    assert [turn["prev"] for turn in turns] == [None, *range(999)]
    assert {turn["conversation"] for turn in turns} == {"ex-1"}
