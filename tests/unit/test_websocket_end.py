"""When a Responses WebSocket ends without a close frame, whether that was a normal end (issue 10).

Codex keeps one socket per session and exits once its last response completed, without a close
frame; the tap may also stop (the client has exited) before it reads that end. Between responses,
either is how a session ends: the record is complete, with no error. With a response still
unanswered, or on a socket whose API we do not know, the record says it was cut short.
"""

from __future__ import annotations

import json

import pytest

from claude_tap.capture.formats import websocket_unanswered
from claude_tap.capture.formats.openai_responses import unanswered_requests
from tests.playbook import Playbook

CREATE = json.dumps({"type": "response.create", "model": "gpt-5.2-codex", "input": []}).encode()
CREATED = b'{"type": "response.created", "response": {"id": "resp_1", "status": "in_progress"}}'
DELTA = b'{"type": "response.output_text.delta", "item_id": "msg_1", "delta": "hi"}'
COMPLETED = b'{"type": "response.completed", "response": {"id": "resp_1", "status": "completed"}}'
LEFT = "the client went away without closing the WebSocket"
STOPPED = "claude-tap stopped with the WebSocket open"


def socket(*messages: tuple[str, bytes]) -> Playbook:
    """A Responses WebSocket upgraded (101) that carried `messages` as text frames."""
    playbook = Playbook(exchange_id="ex-000001").request(
        "GET", "/v1/responses", upstream="wss://api.openai.com", websocket=True
    )
    playbook.response(101, [("Upgrade", "websocket")])
    for direction, data in messages:
        playbook.ws(direction, "text", data)  # type: ignore[arg-type]
    return playbook


@pytest.mark.parametrize(("reason", "how"), [(LEFT, {"by_client": True}), (STOPPED, {"by_stop": True})])
def test_leaving_after_the_last_response_completed_is_a_normal_end(reason: str, how: dict) -> None:
    socket(
        ("client", CREATE), ("server", CREATED), ("server", COMPLETED),
        ("client", CREATE), ("server", CREATED), ("server", DELTA), ("server", COMPLETED),
    ).fail(reason, at=0.5, **how).expect_record(
        {"error": None, "duration_ms": 500.0, "response": {"status": 101, "complete": True}}
    )  # fmt: skip


@pytest.mark.parametrize(("reason", "how"), [(LEFT, {"by_client": True}), (STOPPED, {"by_stop": True})])
def test_leaving_in_the_middle_of_a_response_cuts_it_short(reason: str, how: dict) -> None:
    socket(
        ("client", CREATE), ("server", CREATED), ("server", COMPLETED),
        ("client", CREATE), ("server", CREATED), ("server", DELTA),
    ).fail(reason, **how).expect_record({"error": reason, "response": {"complete": False}})  # fmt: skip


def test_leaving_before_a_sent_request_was_answered_cuts_it_short() -> None:
    socket(("client", CREATE)).fail(LEFT, by_client=True).expect_record(
        {"error": LEFT, "response": {"complete": False}}
    )


def test_an_error_message_answers_a_request() -> None:
    error = b'{"type": "error", "error": {"type": "invalid_request_error", "message": "bad model"}}'
    socket(("client", CREATE), ("server", error)).fail(LEFT, by_client=True).expect_record(
        {"error": None, "response": {"complete": True}}
    )


def test_an_upstream_that_drops_the_socket_between_responses_still_failed() -> None:
    reason = "the upstream dropped the WebSocket: connection lost without a close frame"
    socket(("client", CREATE), ("server", COMPLETED)).fail(reason).expect_record(
        {"error": reason, "response": {"complete": False}}
    )


def test_a_socket_of_an_unknown_api_keeps_the_clients_leaving_as_a_failure() -> None:
    Playbook().request("GET", "/ws", upstream="ws://127.0.0.1:9", websocket=True).response(101).ws(
        "server", "text", b"hello"
    ).fail(LEFT, by_client=True).expect_record({"error": LEFT, "response": {"complete": False}})


def test_unanswered_requests_counts_creates_without_a_final_event() -> None:
    create = {"type": "response.create"}
    assert unanswered_requests([]) == 0
    assert unanswered_requests([("client", create)]) == 1
    assert unanswered_requests([("client", create), ("server", {"type": "response.created"})]) == 1
    for final in ("response.completed", "response.failed", "response.incomplete", "error"):
        assert unanswered_requests([("client", create), ("server", {"type": final})]) == 0
    # A final event answers only a request that was made; a second create waits for its own.
    assert unanswered_requests([("server", {"type": "response.completed"}), ("client", create)]) == 1
    # The client's own messages never answer anything, whatever they say.
    assert unanswered_requests([("client", create), ("client", {"type": "response.completed"})]) == 1


def test_websocket_unanswered_reads_the_messages_and_knows_its_apis() -> None:
    assert websocket_unanswered("/v1/responses", [("client", CREATE), ("server", b"not json {")]) == 1
    assert websocket_unanswered("/anything", [("client", CREATE), ("server", COMPLETED)]) == 0
    assert websocket_unanswered("/v1/responses", []) == 0  # nothing asked, nothing owed
    assert websocket_unanswered("/ws", [("server", b"hello")]) is None
    assert websocket_unanswered("/ws", [("server", b"\xff\xfe")]) is None
