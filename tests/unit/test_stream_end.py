"""A stream whose client (or the tap's stop) cut the connection after the API's final event was whole.

Codex hangs up the moment it has read response.completed; the tap stops as its client exits. Either can
beat the upstream's end of stream to the proxy, which then reports a cut. With the final event in the
stream, the record is complete, with no error; without it, or cut by the upstream, it is cut short.
"""

from __future__ import annotations

import pytest

from claude_tap.capture.formats import stream_finished
from tests.factories import anthropic_stream, chat_completions_stream, openai_responses_stream, sse_body
from tests.playbook import Playbook

LEFT = "the client closed the connection before the exchange finished"
STOPPED = "claude-tap stopped before the exchange finished"
SSE = [("content-type", "text/event-stream")]


def stream(path: str, body: bytes) -> Playbook:
    playbook = Playbook(exchange_id="ex-000001").request("POST", path, body=b"{}")
    return playbook.response(200, SSE).chunks(body)


@pytest.mark.parametrize(("reason", "how"), [(LEFT, {"by_client": True}), (STOPPED, {"by_stop": True})])
@pytest.mark.parametrize(
    ("path", "events"),
    [
        ("/v1/messages", anthropic_stream()),
        ("/v1/responses", openai_responses_stream()),
        ("/v1/chat/completions", chat_completions_stream()),
    ],
    ids=["anthropic", "responses", "chat"],
)
def test_a_cut_after_the_final_event_is_a_normal_end(path: str, events: list, reason: str, how: dict) -> None:
    stream(path, sse_body(events)).fail(reason, **how).expect_record(
        {"error": None, "response": {"status": 200, "complete": True}}
    )


@pytest.mark.parametrize(("reason", "how"), [(LEFT, {"by_client": True}), (STOPPED, {"by_stop": True})])
def test_a_cut_before_the_final_event_cuts_it_short(reason: str, how: dict) -> None:
    stream("/v1/messages", sse_body(anthropic_stream()[:-1])).fail(reason, **how).expect_record(
        {"error": reason, "response": {"complete": False}}
    )


def test_an_upstream_that_broke_off_after_the_final_event_is_still_a_failure() -> None:
    reason = "upstream broke off the response"
    stream("/v1/messages", sse_body(anthropic_stream())).fail(reason).expect_record(
        {"error": reason, "response": {"complete": False}}
    )


def test_a_stream_of_an_api_without_a_final_event_is_never_called_finished() -> None:
    assert (
        stream_finished("/v1beta/models/x:streamGenerateContent", [{"event": "message", "data": "{}"}])
        is False
    )
    assert stream_finished("/anything", [{"event": "message", "data": "not json"}]) is False
