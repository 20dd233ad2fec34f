"""capture/record.py: exchanges (fed as the proxy would) -> exchange records."""

from __future__ import annotations

import base64
import gzip
import json
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from claude_tap.capture.bodies import Base64Body
from claude_tap.capture.exchange import (
    Failed,
    Finished,
    RequestChunk,
    RequestStarted,
    ResponseChunk,
    ResponseStarted,
)
from claude_tap.capture.record import build_record, headers_dict, upstream_base
from tests.factories import (
    anthropic_stream,
    exchange,
    json_post_exchange,
    sse_body,
    sse_exchange,
)
from tests.playbook import START_AT, Playbook

SSE = [("content-type", "text/event-stream")]


def test_json_post_record_in_full() -> None:
    record = build_record(json_post_exchange({"model": "m", "max_tokens": 5}, {"id": "msg_1"}), "ex-000001")
    assert record == {
        "type": "exchange",
        "id": "ex-000001",
        "seq": 1,
        "transport": "http",
        "started_at": "2023-11-14T22:13:20.000+00:00",
        "ttfb_ms": 120.0,
        "duration_ms": 135.0,
        "request": {
            "method": "POST",
            "url": "https://api.anthropic.com/v1/messages",
            "path": "/v1/messages",
            "headers": {"content-type": "application/json"},
            "body": {"model": "m", "max_tokens": 5},
            "body_bytes": 31,
        },
        "response": {
            "status": 200,
            "headers": {"content-type": "application/json"},
            "body": {"id": "msg_1"},
            "body_bytes": 15,
            "complete": True,
        },
        "upstream": "https://api.anthropic.com",
        "error": None,
    }
    json.dumps(record)


def test_started_at_is_utc_iso_with_milliseconds() -> None:
    Playbook(started_wall=1_700_000_000.1234).request("GET", "/").finish().expect_record(
        {"started_at": "2023-11-14T22:13:20.123+00:00"}
    )


def test_headers_lower_cased_with_repeats_joined_in_order() -> None:
    assert headers_dict((("Accept", "a"), ("X-Id", "1"), ("accept", "b"), ("ACCEPT", "c"))) == {
        "accept": "a, b, c",
        "x-id": "1",
    }


def test_request_body_is_joined_from_its_chunks_and_content_decoded() -> None:
    wire = gzip.compress(b'{"messages": []}')
    Playbook().request(
        "POST", "/v1/messages", headers=[("Content-Encoding", "gzip")], body=[wire[:5], wire[5:]]
    ).finish().expect_record({"request": {"body": {"messages": []}, "body_bytes": len(wire)}})


def test_sse_events_carry_the_offset_of_the_chunk_that_completed_them() -> None:
    body = sse_body(anthropic_stream())
    cut = body.index(b"event: ping")
    record = build_record(sse_exchange([body[:10], body[10:cut], body[cut:]]), "ex-1")
    offsets = [event["offset_ms"] for event in record["response"]["events"]]
    assert offsets == [120.0, 120.0] + [130.0] * 11  # message_start and the first block are done by chunk 2
    assert record["response"]["events"][0]["event"] == "message_start"
    assert record["response"]["events"][2] == {"offset_ms": 130.0, "event": "ping", "data": '{"type":"ping"}'}
    assert record["response"]["body"]["content"][1]["input"] == {"location": "San Francisco, CA"}
    assert record["response"]["body_bytes"] == len(body)
    assert record["transport"] == "sse"
    assert record["response"]["complete"] is True


def test_sse_id_and_retry_are_recorded_when_present() -> None:
    Playbook().request("GET", "/events").response(200, SSE).chunk(
        b"id: 7\nretry: 1500\ndata: x\n\ndata: y\n\n"
    ).finish().expect_record(
        {
            "response": {
                "events": [
                    {"offset_ms": 20.0, "event": "message", "data": "x", "id": "7", "retry": 1500},
                    {"offset_ms": 20.0, "event": "message", "data": "y", "id": "7"},
                ]
            }
        }
    )


def test_sse_of_an_unknown_api_has_events_but_no_body() -> None:
    record = (
        Playbook()
        .request("GET", "/stream")
        .response(200, SSE)
        .chunk(b'data: {"tick": 1}\n\n')
        .finish()
        .expect_record(
            {
                "response": {
                    "status": 200,
                    "headers": {"content-type": "text/event-stream"},
                    "body_bytes": 19,
                    "events": [{"offset_ms": 20.0, "event": "message", "data": '{"tick": 1}'}],
                    "complete": True,
                }
            }
        )
    )
    assert set(record["response"]) == {"status", "headers", "body_bytes", "events", "complete"}


def test_gzip_sse_is_decoded_chunk_by_chunk_keeping_event_timing() -> None:
    compressor = zlib.compressobj(wbits=16 + zlib.MAX_WBITS)
    first = compressor.compress(b"data: one\n\n") + compressor.flush(zlib.Z_SYNC_FLUSH)
    second = compressor.compress(b"data: two\n\n") + compressor.flush()
    record = (
        Playbook()
        .request("GET", "/stream")
        .response(200, [*SSE, ("content-encoding", "gzip")])
        .chunk(first)
        .chunk(second, at=1.0)
        .finish()
        .expect_record(
            {
                "response": {
                    "events": [
                        {"offset_ms": 20.0, "event": "message", "data": "one"},
                        {"offset_ms": 1000.0, "event": "message", "data": "two"},
                    ],
                    "body_bytes": len(first) + len(second),
                }
            }
        )
    )
    assert "decode_error" not in record["response"]


def test_stream_cut_off_keeps_the_partial_event_incomplete_and_fails_the_record() -> None:
    Playbook().request("POST", "/v1/chat/completions").response(200, SSE).chunk(
        b'data: {"choices": [{"index": 0, "delta": {"content": "Hel"}}]}\n\ndata: {"choi'
    ).fail("upstream connection reset", at=0.5).expect_record(
        {
            "duration_ms": 500.0,
            "error": "upstream connection reset",
            "response": {
                "complete": False,
                "events": [
                    {"offset_ms": 20.0, "data": '{"choices": [{"index": 0, "delta": {"content": "Hel"}}]}'},
                    {"offset_ms": 500.0, "data": '{"choi', "incomplete": True},
                ],
                "body": {
                    "object": "chat.completion",
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": "Hel"},
                            "finish_reason": None,
                        }
                    ],
                    "_tap_notes": [
                        "event 1: skipped, JSONDecodeError: Unterminated string starting at: "
                        "line 1 column 2 (char 1)"
                    ],
                },
            },
        }
    )


def test_unfinished_stream_stamps_leftovers_with_the_last_chunk() -> None:
    Playbook().request("GET", "/s").response(200, SSE).chunk(b"data: x").expect_record(
        {
            "duration_ms": None,
            "response": {"complete": False, "events": [{"offset_ms": 20.0, "data": "x", "incomplete": True}]},
        }
    )


def test_broken_gzip_sse_keeps_events_decoded_before_the_break_and_the_raw_bytes() -> None:
    compressor = zlib.compressobj(wbits=16 + zlib.MAX_WBITS)
    good = compressor.compress(b"data: one\n\n") + compressor.flush(zlib.Z_SYNC_FLUSH)
    record = (
        Playbook()
        .request("GET", "/stream")
        .response(200, [*SSE, ("content-encoding", "gzip")])
        .chunks(good, b"\xff\xff garbage")
        .finish()
        .expect_record(
            {
                "response": {
                    "events": [{"offset_ms": 20.0, "event": "message", "data": "one"}],
                    "body_b64": base64.b64encode(good + b"\xff\xff garbage").decode(),
                }
            }
        )
    )
    assert record["response"]["decode_error"].startswith("gzip: ")
    assert "body" not in record["response"]


def test_sse_with_unknown_encoding_keeps_raw_bytes() -> None:
    Playbook().request("GET", "/s").response(200, [*SSE, ("content-encoding", "compress")]).chunk(
        b"\x1f\x9d"
    ).finish().expect_record(
        {
            "response": {
                "events": [],
                "body_b64": "H50=",
                "decode_error": "unsupported content-encoding 'compress'",
            }
        }
    )


def test_deferred_base64_holds_the_binary_chunks_and_leaves_the_rest_as_it_was() -> None:
    octets = (("content-type", "application/octet-stream"),)
    upload = exchange(
        [
            RequestStarted(START_AT, "PUT", "/files", octets, "https://up.example/files"),
            RequestChunk(START_AT, b"\xff\x00\x01\x02"),
            RequestChunk(START_AT, b"\x03\x80"),
            ResponseStarted(START_AT + 0.1, 200, (*SSE, ("content-encoding", "gzip"))),
            ResponseChunk(START_AT + 0.2, b"data: not gzip\n\n"),
            Finished(START_AT + 0.3),
        ]
    )
    plain = build_record(upload, "ex-000001")
    deferred = build_record(upload, "ex-000001", defer_base64=True)
    assert deferred["request"]["body_b64"] == Base64Body((b"\xff\x00\x01\x02", b"\x03\x80"))
    assert deferred["response"]["body_b64"] == Base64Body((b"data: not gzip\n\n",))
    assert plain["request"]["body_b64"] == "/wABAgOA"
    for part in ("request", "response"):
        assert deferred[part]["body_b64"].text() == plain[part]["body_b64"]
        assert {**deferred[part], "body_b64": plain[part]["body_b64"]} == plain[part]


def test_sse_line_over_64_mib_stops_parsing_without_raising() -> None:
    huge = b"data: " + b"x" * (64 * 1024 * 1024)
    record = (
        Playbook().request("GET", "/s").response(200, SSE).chunks(b"data: ok\n\n", huge).finish().record()
    )
    assert record["response"]["events"] == [{"offset_ms": 20.0, "event": "message", "data": "ok"}]
    assert record["response"]["decode_error"] == "SSE line longer than 67108864 bytes"


def test_websocket_messages_text_as_is_binary_and_close_as_base64() -> None:
    record = (
        Playbook()
        .request("GET", "/v1/responses", upstream="wss://api.openai.com", websocket=True)
        .response(101, [("Upgrade", "websocket")])
        .ws("client", "text", b'{"type": "response.create"}')
        .ws("server", "binary", b"\x00\x01")
        .ws("server", "text", b"bad \xff utf-8")
        .ws("server", "close", b"\x03\xe8")
        .finish()
        .expect_record(
            {
                "transport": "websocket",
                "upstream": "wss://api.openai.com",
                "response": {
                    "status": 101,
                    "body_bytes": 0,
                    "complete": True,
                    "events": [
                        {
                            "offset_ms": 20.0,
                            "direction": "client",
                            "kind": "text",
                            "data": '{"type": "response.create"}',
                        },
                        {"offset_ms": 30.0, "direction": "server", "kind": "binary", "data": "AAE="},
                        {
                            "offset_ms": 40.0,
                            "direction": "server",
                            "kind": "text",
                            "data": "bad \ufffd utf-8",
                        },
                        {"offset_ms": 50.0, "direction": "server", "kind": "close", "data": "A+g="},
                    ],
                },
            }
        )
    )
    assert "body" not in record["response"] and "body_text" not in record["response"]


def test_failure_before_any_response() -> None:
    Playbook().request("POST", "/v1/messages", body=b"{}").fail(
        "connect to upstream refused", at=0.05
    ).expect_record(
        {
            "ttfb_ms": None,
            "duration_ms": 50.0,
            "error": "connect to upstream refused",
            "response": {"status": None, "headers": {}, "body_bytes": 0, "body_text": "", "complete": False},
        }
    )


def test_exchange_with_no_request_at_all() -> None:
    record = build_record(exchange([Failed(START_AT, "client went away", by_client=True)]), "ex-9")
    assert record["request"] == {"method": "", "url": "", "path": "", "headers": {}, "body_bytes": 0}
    assert (record["upstream"], record["error"], record["ttfb_ms"], record["duration_ms"]) == (
        "",
        "client went away",
        None,
        0.0,
    )


def test_sse_with_no_request_and_no_chunks() -> None:
    built = exchange([ResponseStarted(START_AT, 200, tuple(SSE))])
    assert build_record(built, "ex-1")["response"]["events"] == []


@pytest.mark.parametrize(
    "url, base",
    [
        ("https://api.anthropic.com/v1/messages?beta=true", "https://api.anthropic.com"),
        ("http://127.0.0.1:8443/v1/responses", "http://127.0.0.1:8443"),
        ("https://user:secret@Example.COM:443/x", "https://example.com:443"),
        ("http://[::1]:9000/v1", "http://[::1]:9000"),
        ("http://[::1]/v1", "http://[::1]"),
        ("/relative/path", ""),
        ("http://[::1/broken", ""),
        ("http://host:99999/", ""),
        ("", ""),
    ],
)
def test_upstream_base(url: str, base: str) -> None:
    assert upstream_base(url) == base


_encodings = st.sampled_from([None, "gzip", "br", "zstd", "deflate", "gzip, br", "bogus"])


@settings(max_examples=150)
@given(
    st.lists(st.binary(max_size=40), max_size=6),
    _encodings,
    st.booleans(),
    st.sampled_from(
        ["/v1/messages", "/v1/responses", "/v1/chat/completions", "/x:streamGenerateContent", "/"]
    ),
)
def test_hypothesis_garbage_bytes_never_raise(
    chunks: list[bytes], encoding: str | None, is_sse: bool, path: str
) -> None:
    headers = [("content-type", "text/event-stream" if is_sse else "application/json")]
    if encoding:
        headers.append(("content-encoding", encoding))
    built = exchange(
        [
            RequestStarted(START_AT, "POST", path, tuple(headers), "https://h" + path),
            ResponseStarted(START_AT + 0.1, 200, tuple(headers)),
            *[ResponseChunk(START_AT + 0.2, data) for data in chunks],
        ]
    )
    json.dumps(build_record(built, "ex-1"))
