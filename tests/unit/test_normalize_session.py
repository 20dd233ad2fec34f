"""A whole trace into turns: order, numbering, timings, summary, and records of any shape."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from claude_tap.normalize.session import SessionNormalizer, normalize_records
from claude_tap.normalize.turns import turns_of_record
from tests.factories import json_exchange_record, session_record, websocket_exchange_record, ws_frame

SESSION = session_record(argv=[], started_at="2026-03-02T10:00:00+00:00")


def sse(offset: float, name: str, payload: dict[str, object]) -> dict[str, object]:
    return {"offset_ms": offset, "event": name, "data": json.dumps(payload)}


def anthropic_exchange(
    seq: int, started_at: str, *, text: str = "hi", usage: dict[str, object] | None = None, **extra: object
) -> dict[str, object]:
    request_body = {"model": "claude-haiku-4-5", "messages": [{"role": "user", "content": text}]}
    response_body = {"type": "message", "content": [{"type": "text", "text": "ok"}], "usage": usage}
    return json_exchange_record(
        seq,
        request_body,
        response_body,
        id=f"ex-{seq}",
        started_at=started_at,
        ttfb_ms=100.0,
        duration_ms=1100.0,
        **extra,
    )


def test_session_record_fills_session_info() -> None:
    info, turns = normalize_records([SESSION])
    assert info == {
        "client": "claude",
        "mode": "reverse",
        "target": "https://api.anthropic.com",
        "started_at": "2026-03-02T10:00:00+00:00",
        "claude_tap_version": "0.2.0",
        "source_format": "claude-tap",
    }
    assert turns == []


def test_turns_are_ordered_by_start_not_by_completion() -> None:
    # Written in completion order: the long call that started first finished last.
    records = [
        SESSION,
        anthropic_exchange(2, "2026-03-02T10:00:02+00:00", text="short"),
        anthropic_exchange(1, "2026-03-02T10:00:01+00:00", text="long"),
        {
            "type": "end",
            "ended_at": "2026-03-02T10:01:00+00:00",
            "exit_code": 0,
            "exchanges": 2,
            "dropped": 0,
            "failed": 0,
        },
    ]
    _, turns = normalize_records(records)
    assert [(turn["index"], turn["id"]) for turn in turns] == [(0, "ex-1"), (1, "ex-2")]


def test_start_times_in_other_zones_compare_as_instants() -> None:
    _, turns = normalize_records(
        [
            anthropic_exchange(1, "2026-03-02T10:00:05+00:00"),
            anthropic_exchange(2, "2026-03-02T11:00:01+01:00"),  # 10:00:01 UTC
            anthropic_exchange(3, "2026-03-02T10:00:03Z"),
        ]
    )
    assert [turn["id"] for turn in turns] == ["ex-2", "ex-3", "ex-1"]


def test_incremental_add_returns_the_turns_of_each_record_in_arrival_order() -> None:
    normalizer = SessionNormalizer()
    assert normalizer.add(SESSION) == []
    second = normalizer.add(anthropic_exchange(2, "2026-03-02T10:00:02+00:00"))
    first = normalizer.add(anthropic_exchange(1, "2026-03-02T10:00:01+00:00"))
    assert [(turn["index"], turn["id"]) for turn in second + first] == [(0, "ex-2"), (1, "ex-1")]
    assert normalizer.turns == second + first
    assert normalizer.info["client"] == "claude"


def test_incremental_and_batch_agree_when_records_arrive_in_start_order() -> None:
    records = [SESSION] + [
        anthropic_exchange(n, f"2026-03-02T10:00:0{n}+00:00", text=f"t{n}") for n in range(1, 5)
    ]
    normalizer = SessionNormalizer()
    for record in records:
        normalizer.add(record)
    assert normalize_records(records)[1] == normalizer.turns


def test_ttft_and_tokens_per_second_from_stream_events() -> None:
    events = [
        sse(100.0, "message_start", {"type": "message_start"}),
        sse(150.0, "content_block_start", {"type": "content_block_start"}),
        sse(
            300.0,
            "content_block_delta",
            {"type": "content_block_delta", "delta": {"type": "text_delta", "text": "o"}},
        ),
        sse(1100.0, "message_stop", {"type": "message_stop"}),
    ]
    record = anthropic_exchange(
        1, "2026-03-02T10:00:01+00:00", usage={"input_tokens": 5, "output_tokens": 200}
    )
    record["transport"] = "sse"
    record["response"]["events"] = events  # type: ignore[index]
    (turn,) = turns_of_record(record)
    assert turn["timing"] == {
        "started_at": "2026-03-02T10:00:01+00:00",
        "ttfb_ms": 100.0,
        "ttft_ms": 300.0,
        "duration_ms": 1100.0,
        "tokens_per_s": 250.0,  # 200 tokens in the 800 ms after the first one
    }


def test_a_non_streamed_call_has_no_ttft_and_no_speed() -> None:
    (turn,) = turns_of_record(
        anthropic_exchange(1, "2026-03-02T10:00:01+00:00", usage={"input_tokens": 1, "output_tokens": 9})
    )
    assert (turn["timing"]["ttft_ms"], turn["timing"]["tokens_per_s"]) == (None, None)


def test_chat_and_gemini_ttft_skip_chunks_without_content() -> None:
    chat = anthropic_exchange(1, "2026-03-02T10:00:01+00:00")
    chat["request"] = {
        "method": "POST",
        "url": "https://x/v1/chat/completions",
        "path": "/v1/chat/completions",
        "headers": {},
        "body_bytes": 1,
        "body": {"model": "gpt-4o", "messages": []},
    }
    chat["response"]["events"] = [  # type: ignore[index]
        {
            "offset_ms": 50.0,
            "event": "message",
            "data": json.dumps({"choices": [{"delta": {"role": "assistant", "content": ""}}]}),
        },
        {
            "offset_ms": 80.0,
            "event": "message",
            "data": json.dumps({"choices": [{"delta": {"tool_calls": [{"index": 0}]}}]}),
        },
    ]
    gemini = anthropic_exchange(2, "2026-03-02T10:00:01+00:00")
    gemini["request"] = {
        "method": "POST",
        "url": "https://x/v1internal:streamGenerateContent?alt=sse",
        "path": "/v1internal:streamGenerateContent?alt=sse",
        "headers": {},
        "body_bytes": 1,
        "body": {"model": "gemini-2.5-pro", "request": {"contents": []}},
    }
    gemini["response"]["events"] = [  # type: ignore[index]
        {
            "offset_ms": 60.0,
            "event": "message",
            "data": json.dumps({"response": {"candidates": [{"content": {"parts": [{"text": ""}]}}]}}),
        },
        {
            "offset_ms": 90.0,
            "event": "message",
            "data": json.dumps({"response": {"candidates": [{"content": {"parts": [{"text": "a"}]}}]}}),
        },
    ]
    assert turns_of_record(chat)[0]["timing"]["ttft_ms"] == 80.0
    assert turns_of_record(gemini)[0]["timing"]["ttft_ms"] == 90.0


def test_summary_counts_turns_errors_usage_cost_and_models() -> None:
    normalizer = SessionNormalizer()
    normalizer.add(
        anthropic_exchange(1, "2026-03-02T10:00:01+00:00", usage={"input_tokens": 1000, "output_tokens": 100})
    )
    failed = anthropic_exchange(2, "2026-03-02T10:00:02+00:00")
    failed["response"] = {
        "status": 529,
        "headers": {},
        "body_bytes": 1,
        "complete": True,
        "body": {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
    }
    normalizer.add(failed)
    unknown = anthropic_exchange(
        3, "2026-03-02T10:00:03+00:00", usage={"input_tokens": 5, "output_tokens": 5}
    )
    unknown["request"]["body"]["model"] = "my-local-model"  # type: ignore[index]
    normalizer.add(unknown)
    summary = normalizer.summary()
    assert normalizer.turns[1]["error"] == "HTTP 529: overloaded_error: Overloaded"
    assert summary == {
        "turns": 3,
        "errors": 1,
        "usage": {
            "input_tokens": 1005,
            "output_tokens": 105,
            "cache_read_tokens": 0,
            "cache_write_tokens": 0,
            "reasoning_tokens": 0,
            "total_tokens": 1110,
        },
        "cost_usd": 0.0015,  # haiku 4.5: 1000 x $1 + 100 x $5 per million; the unknown model is left out
        "unpriced_turns": 1,
        "models": {"claude-haiku-4-5": 2, "my-local-model": 1},
    }


def test_cut_short_stream_keeps_its_partial_output_and_says_why() -> None:
    record = anthropic_exchange(1, "2026-03-02T10:00:01+00:00")
    record["error"] = "upstream closed the connection after 3 events"
    record["response"]["complete"] = False  # type: ignore[index]
    (turn,) = turns_of_record(record)
    assert (turn["complete"], turn["error"]) == (False, "upstream closed the connection after 3 events")
    assert turn["output"] == [{"type": "text", "text": "ok"}]


def test_error_event_inside_a_stream_is_the_turn_error() -> None:
    record = anthropic_exchange(1, "2026-03-02T10:00:01+00:00")
    record["response"]["events"] = [  # type: ignore[index]
        sse(5.0, "error", {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})
    ]
    assert turns_of_record(record)[0]["error"] == "overloaded_error: Overloaded"


def test_malformed_records_become_raw_turns_with_a_note() -> None:
    not_an_object = ["a", "list"]
    no_request = {"type": "exchange", "id": "ex-9", "request": 42, "response": {"status": 200}}
    _, turns = normalize_records([not_an_object, no_request])
    assert [(turn["id"], turn["api"], turn["error"], turn["request_body"]) for turn in turns] == [
        ("record-0", "raw", "not normalized: the record is not a JSON object", ["a", "list"]),
        ("ex-9", "raw", "not normalized: ValueError: the exchange record has no request", 42),
    ]


def test_unknown_record_types_are_skipped() -> None:
    assert normalize_records([{"type": "future-thing", "x": 1}, {"no": "type"}])[1] == []


KEYS = st.sampled_from(
    [
        "type",
        "role",
        "content",
        "text",
        "parts",
        "messages",
        "input",
        "contents",
        "output",
        "choices",
        "message",
        "delta",
        "tool_calls",
        "function",
        "arguments",
        "name",
        "id",
        "call_id",
        "functionCall",
        "functionResponse",
        "response",
        "request",
        "candidates",
        "usage",
        "usageMetadata",
        "model",
        "system",
        "instructions",
        "tools",
        "source",
        "data",
        "error",
        "status",
        "offset_ms",
        "event",
        "direction",
        "kind",
    ]
)
# JSON whose objects use the keys the normalizers look for, so the fuzz reaches their branches.
JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.text(max_size=6)
    | st.sampled_from(["message", "text", "tool_use"]),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(KEYS, children, max_size=4),
    max_leaves=12,
)
PATHS = st.sampled_from(
    ["/v1/messages", "/v1/responses", "/v1/chat/completions", "/v1internal:streamGenerateContent", "/x", 7]
)


@st.composite
def garbled_records(draw: st.DrawFn) -> object:
    """A record of a real type whose every part may hold any JSON value."""
    request = {"method": "POST", "path": draw(PATHS), "body": draw(JSON)}
    response = {"status": draw(st.integers(100, 599) | JSON), "body": draw(JSON)}
    if draw(st.booleans()):
        response["events"] = draw(st.lists(JSON, max_size=4))
    record = {
        "type": draw(st.sampled_from(["exchange", "transcript"])),
        "id": "ex-1",
        "request": request,
        "response": response,
        "entry": draw(JSON),
    }
    record["transport"] = draw(st.sampled_from(["http", "sse", "websocket", 3]))
    return record


@settings(max_examples=150, deadline=None)
@given(st.lists(garbled_records(), max_size=4))
def test_records_of_any_shape_never_raise_and_stay_json(records: list[object]) -> None:
    normalizer = SessionNormalizer()
    for record in records:
        normalizer.add(record)
    json.dumps(normalizer.turns)
    json.dumps(normalizer.summary())


def test_each_websocket_response_takes_its_place_by_its_own_start() -> None:
    create = {"type": "response.create", "model": "gpt-5", "input": "x"}
    done = {"type": "response.completed", "response": {"output": []}}
    frames = [
        ws_frame(1000.0, "client", create),
        ws_frame(2000.0, "server", done),
        ws_frame(9000.0, "client", create),
        ws_frame(9500.0, "server", done),
    ]
    socket = websocket_exchange_record(1, frames, id="ex-1", started_at="2026-03-02T10:00:00+00:00")
    between = anthropic_exchange(2, "2026-03-02T10:00:05+00:00")  # after response 1, before response 2
    _, turns = normalize_records([between, socket])
    assert [turn["id"] for turn in turns] == ["ex-1.1", "ex-2", "ex-1.2"]


def test_legacy_import_without_arrival_times_has_no_ttft() -> None:
    record = anthropic_exchange(1, "2026-03-02T10:00:01+00:00", usage={"input_tokens": 1, "output_tokens": 9})
    record["response"]["events"] = [  # type: ignore[index]
        sse(
            0.0,
            "content_block_delta",
            {"type": "content_block_delta", "delta": {"type": "text_delta", "text": "o"}},
        )
    ]
    record["legacy"] = {"request_id": "req_1", "turn": 1, "offsets_known": False}
    assert turns_of_record(record)[0]["timing"]["ttft_ms"] is None
    del record["legacy"]
    assert turns_of_record(record)[0]["timing"]["ttft_ms"] == 0.0


def test_turns_share_the_header_names_and_short_values_their_records_repeat() -> None:
    """Each record is parsed on its own, so each brings its own copy of "content-type" and of
    "application/json": 23,600 small exchanges held 27 MB of them in the model. Turns keep one."""
    headers = {"x-trace-tag": "agent-7", "x-request-id": "req-1"}
    records = []
    for seq in (1, 2):
        record = anthropic_exchange(seq, f"2026-03-02T10:00:0{seq}+00:00")
        record["request"]["headers"] = {**headers, "x-request-id": f"req-{seq}"}
        records.append(json.loads(json.dumps(record)))  # parsed apart, as records are read
    _, turns = normalize_records([SESSION, *records])

    first, second = (turn["request_headers"] for turn in turns)
    assert (first, second) == (headers, {**headers, "x-request-id": "req-2"})  # as recorded
    assert next(iter(first)) is next(iter(second))  # the name
    assert first["x-trace-tag"] is second["x-trace-tag"]  # a short value
