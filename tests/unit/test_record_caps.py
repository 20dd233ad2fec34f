"""capture/record.py: what one record may hold of an event stream (issue 15, item 1).

A small compressed stream may inflate to a flood of tiny events; the record keeps the first
MAX_SSE_EVENTS of them, its raw bytes and the reason, and a gzip stream past the decoded-body cap
is kept as received the same way.
"""

from __future__ import annotations

import base64
import gzip
import zlib

from claude_tap.capture.record import MAX_SSE_EVENTS
from tests.playbook import Playbook

SSE_GZIP = [("content-type", "text/event-stream"), ("content-encoding", "gzip")]


def test_a_stream_of_more_events_than_the_cap_keeps_the_first_ones_and_its_raw_bytes() -> None:
    body = gzip.compress(b"data: {}\n\n" * (MAX_SSE_EVENTS + 5))
    record = Playbook().request("GET", "/s").response(200, SSE_GZIP).chunks(body).finish().record()
    response = record["response"]
    assert len(response["events"]) == MAX_SSE_EVENTS
    assert response["events"][0] == {"offset_ms": 20.0, "event": "message", "data": "{}"}
    assert (
        response["decode_error"]
        == f"more than {MAX_SSE_EVENTS} events (the cap on one stream); kept as received"
    )
    assert base64.b64decode(response["body_b64"]) == body


def test_a_stream_at_the_event_cap_is_parsed_whole() -> None:
    body = gzip.compress(b"data: {}\n\n" * MAX_SSE_EVENTS)
    record = Playbook().request("GET", "/s").response(200, SSE_GZIP).chunks(body).finish().record()
    assert len(record["response"]["events"]) == MAX_SSE_EVENTS
    assert "decode_error" not in record["response"]


def test_a_gzip_stream_past_the_decoded_cap_keeps_the_events_before_it() -> None:
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    head = compressor.compress(b"data: first\n\n") + compressor.flush(zlib.Z_SYNC_FLUSH)
    bomb = compressor.compress(b": padding\n" * (7 << 20)) + compressor.flush()  # 70 MiB of comments
    record = Playbook().request("GET", "/s").response(200, SSE_GZIP).chunks(head, bomb).finish().record()
    response = record["response"]
    assert response["events"] == [{"offset_ms": 20.0, "event": "message", "data": "first"}]
    assert response["decode_error"] == "gzip: decodes to more than 64 MiB (the cap); kept as received"
    assert base64.b64decode(response["body_b64"]) == head + bomb
