"""store/legacy.py: JSONL of the earlier claude-tap (<= 0.1.146) reads as our records."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import zstandard

from claude_tap.store.legacy import LegacyFormatError, LegacyImporter, looks_like_legacy
from claude_tap.store.reader import read_trace

HTTP_LINE = {
    "timestamp": "2025-06-01T10:00:05.500000+00:00",
    "request_id": "req_1a2b3c4d",
    "turn": 1,
    "duration_ms": 1500,
    "request": {
        "method": "POST",
        "path": "/v1/messages?beta=true",
        "headers": {
            "Content-Type": "application/json",
            "x-api-key": "sk-ant-api03-...WXYZ",
            "anthropic-version": "2023-06-01",
        },
        "body": {
            "model": "claude-sonnet-4",
            "max_tokens": 1024,
            "messages": [{"role": "user", "content": "hi"}],
        },
    },
    "response": {
        "status": 200,
        "headers": {"Content-Type": "application/json", "request-id": "req_011"},
        "body": {"id": "msg_01", "type": "message", "content": [{"type": "text", "text": "Hello"}]},
    },
    "upstream_base_url": "https://api.anthropic.com",
    "capture": {"client": "claude", "proxy_mode": "reverse"},
}

SSE_LINE = {
    "timestamp": "2025-06-01T10:00:09Z",
    "request_id": "req_5e6f",
    "turn": 2,
    "duration_ms": 2000,
    "request": {"method": "POST", "path": "/v1/messages", "headers": {}, "body": {"stream": True}},
    "response": {
        "status": 200,
        "headers": {"content-type": "text/event-stream; charset=utf-8"},
        "body": {"id": "msg_02", "content": [{"type": "text", "text": "Hi"}]},
        "sse_events": [
            {"event": "message_start", "data": {"type": "message_start"}},
            {"event": "content_block_delta", "data": '{"type":"content_block_delta"}'},
            {"data": "[DONE]"},
        ],
    },
    "upstream_base_url": "https://api.anthropic.com",
}

WEBSOCKET_LINE = {
    "timestamp": "2025-06-01T10:01:00+00:00",
    "request_id": "req_9a9a_1",
    "turn": "3.1",
    "duration_ms": 800.5,
    "transport": "websocket",
    "request": {
        "method": "WEBSOCKET",
        "path": "/v1/responses",
        "headers": {"Authorization": "Bearer eyJh...k9"},
        "body": {"type": "response.create", "model": "gpt-5-codex"},
        "ws_events": [{"direction": "send", "data": {"type": "response.create"}}],
    },
    "response": {
        "status": 101,
        "headers": {},
        "body": {"id": "resp_1", "output": []},
        "ws_events": [
            {"direction": "recv", "data": '{"type":"response.created"}'},
            {"direction": "recv", "type": "close", "data": ""},
        ],
    },
    "upstream_base_url": "https://api.openai.com",
}

CURSOR_LINE = {
    "timestamp": "2025-06-01T10:02:00Z",
    "request_id": "req_c1",
    "turn": 4,
    "transport": "cursor-transcript",
    "request": {
        "method": "CURSOR_TRANSCRIPT",
        "path": "",
        "headers": {},
        "body": {"role": "user", "text": "refactor"},
    },
    "response": {"status": 200, "headers": {}, "body": None},
}

PROTOBUF_LINE = {
    "timestamp": "2025-06-01T10:03:00Z",
    "request_id": "req_p1",
    "turn": 5,
    "duration_ms": 10,
    "request": {
        "method": "POST",
        "path": "/aiserver.v1.ChatService/StreamUnifiedChatWithTools",
        "headers": {"content-type": "application/connect+proto"},
        "body": {"_encoding": "protobuf", "byte_length": 5120},
    },
    "response": {
        "status": 502,
        "headers": {},
        "body": "Bad Gateway",
        "error": "upstream closed the connection",
    },
    "upstream_base_url": "https://api2.cursor.sh",
}


def test_a_legacy_http_line_becomes_a_session_and_an_exchange() -> None:
    session, exchange = LegacyImporter().convert(json.loads(json.dumps(HTTP_LINE)))
    assert session == {
        "type": "session",
        "format_version": 1,
        "claude_tap_version": "<=0.1.146",
        "client": "claude",
        "mode": "reverse",
        "target": "https://api.anthropic.com",
        "argv": [],
        "started_at": "2025-06-01T10:00:04.000+00:00",
        "id": session["id"],
        "source_format": "legacy-jsonl",
    }
    assert session["id"].startswith("legacy-") and len(session["id"]) == 13
    body = HTTP_LINE["request"]["body"]
    assert exchange == {
        "type": "exchange",
        "id": "ex-000001",
        "seq": 1,
        "transport": "http",
        "started_at": "2025-06-01T10:00:04.000+00:00",
        "ttfb_ms": None,
        "duration_ms": 1500.0,
        "request": {
            "method": "POST",
            "url": "https://api.anthropic.com/v1/messages?beta=true",
            "path": "/v1/messages?beta=true",
            "headers": {
                "content-type": "application/json",
                "x-api-key": "[REDACTED:add6cde5]",  # the old mask, hashed: no key fragment is kept
                "anthropic-version": "2023-06-01",
            },
            "body": body,
            "body_bytes": len(json.dumps(body, separators=(",", ":")).encode()),
        },
        "response": {
            "status": 200,
            "headers": {"content-type": "application/json", "request-id": "req_011"},
            "body": HTTP_LINE["response"]["body"],
            "body_bytes": len(json.dumps(HTTP_LINE["response"]["body"], separators=(",", ":")).encode()),
            "complete": True,
        },
        "upstream": "https://api.anthropic.com",
        "error": None,
        "legacy": {
            "request_id": "req_1a2b3c4d",
            "turn": 1,
            "timestamp": "2025-06-01T10:00:05.500000+00:00",
            "offsets_known": False,
        },
    }


def test_sse_events_become_response_events_with_zero_offsets() -> None:
    importer = LegacyImporter()
    importer.convert(HTTP_LINE)
    [exchange] = importer.convert(SSE_LINE)
    assert exchange["seq"] == 2 and exchange["transport"] == "sse"
    assert exchange["started_at"] == "2025-06-01T10:00:07.000+00:00"
    assert exchange["response"]["events"] == [
        {"offset_ms": 0.0, "event": "message_start", "data": '{"type":"message_start"}'},
        {"offset_ms": 0.0, "event": "content_block_delta", "data": '{"type":"content_block_delta"}'},
        {"offset_ms": 0.0, "event": "message", "data": "[DONE]"},
    ]
    assert exchange["response"]["body"] == {"id": "msg_02", "content": [{"type": "text", "text": "Hi"}]}


def test_websocket_events_of_both_sides_become_websocket_events() -> None:
    session, exchange = LegacyImporter().convert(WEBSOCKET_LINE)
    assert session["client"] == "unknown" and session["mode"] == "reverse"
    assert exchange["transport"] == "websocket"
    assert exchange["request"]["method"] == "WEBSOCKET"
    assert exchange["request"]["headers"]["authorization"] == "Bearer [REDACTED:e06970bb]"
    assert exchange["response"]["events"] == [
        {"offset_ms": 0.0, "direction": "client", "kind": "text", "data": '{"type":"response.create"}'},
        {"offset_ms": 0.0, "direction": "server", "kind": "text", "data": '{"type":"response.created"}'},
        {"offset_ms": 0.0, "direction": "server", "kind": "close", "data": ""},
    ]
    assert exchange["legacy"]["turn"] == "3.1"
    assert exchange["legacy"]["request_id"] == "req_9a9a_1"
    assert exchange["duration_ms"] == 800.5


def test_a_cursor_transcript_line_becomes_a_transcript_record() -> None:
    importer = LegacyImporter()
    importer.convert(HTTP_LINE)
    assert importer.convert(CURSOR_LINE) == [
        {
            "type": "transcript",
            "source": "cursor",
            "at": "2025-06-01T10:02:00Z",
            "entry": {"role": "user", "text": "refactor"},
            "legacy": {"request_id": "req_c1", "turn": 4},
        }
    ]
    # a transcript takes no exchange number: the next exchange is number 2
    assert importer.convert(PROTOBUF_LINE)[0]["id"] == "ex-000002"


def test_a_protobuf_body_keeps_its_size_and_an_error_marks_the_exchange_incomplete() -> None:
    _, exchange = LegacyImporter().convert(PROTOBUF_LINE)
    assert exchange["request"]["body_bytes"] == 5120
    assert "body" not in exchange["request"]
    assert (
        exchange["request"]["decode_error"]
        == "the earlier claude-tap kept only the size of this protobuf body"
    )
    assert exchange["response"]["body_text"] == "Bad Gateway"
    assert exchange["response"]["complete"] is False
    assert exchange["error"] == "upstream closed the connection"
    assert exchange["request"]["url"] == (
        "https://api2.cursor.sh/aiserver.v1.ChatService/StreamUnifiedChatWithTools"
    )


def test_our_own_records_are_not_legacy_lines() -> None:
    assert looks_like_legacy(HTTP_LINE)
    assert not looks_like_legacy({"type": "exchange", "request": {}, "turn": 1})
    assert not looks_like_legacy({"request_id": "req_1", "request": "POST /"})
    with pytest.raises(LegacyFormatError):
        LegacyImporter().convert({"hello": "world"})


def write_jsonl(path: Path, lines: list) -> None:
    path.write_text(
        "".join((json.dumps(line) if not isinstance(line, str) else line) + "\n" for line in lines)
    )


def test_the_reader_detects_a_legacy_file_and_yields_our_records(tmp_path: Path) -> None:
    path = tmp_path / "trace_20250601_100000.jsonl"
    write_jsonl(path, [HTTP_LINE, SSE_LINE, {"not": "legacy"}, "{broken", WEBSOCKET_LINE, CURSOR_LINE])
    records, report = read_trace(path)
    assert [r["type"] for r in records] == ["session", "exchange", "exchange", "exchange", "transcript"]
    assert [r.get("seq") for r in records[1:4]] == [1, 2, 3]
    assert (report.source_format, report.records, report.skipped, report.truncated) == ("legacy", 5, 2, False)
    assert "sk-ant-api03-...WXYZ" not in json.dumps(records)


def test_a_zstd_compressed_legacy_file_reads_too(tmp_path: Path) -> None:
    path = tmp_path / "old.jsonl.zst"
    path.write_bytes(zstandard.ZstdCompressor().compress((json.dumps(HTTP_LINE) + "\n").encode()))
    records, report = read_trace(path)
    assert [r["type"] for r in records] == ["session", "exchange"]
    assert report.source_format == "legacy"


def test_a_long_legacy_session_shares_its_repeated_history_and_keeps_exact_sizes(tmp_path: Path) -> None:
    """Every old line holds its whole body; the import stores what each adds (body_ref), so a long
    session is redacted and normalized once per message, and body_bytes stay the real sizes."""
    from claude_tap.normalize.session import normalize_records

    system = [{"type": "text", "text": "system prompt " * 100}]
    lines, bodies = [], []
    for turn in range(1, 6):
        messages = [{"role": "user", "content": f"message {n} " * 80} for n in range(turn)]
        body = {"model": "claude-x", "messages": messages, "system": system}
        bodies.append(body)
        lines.append(
            {
                "timestamp": f"2025-01-01T00:00:0{turn}Z",
                "request_id": f"req_{turn}",
                "turn": turn,
                "request": {"method": "POST", "path": "/v1/messages", "headers": {}, "body": body},
                "response": {"status": 200, "headers": {}, "body": {"type": "message", "content": []}},
            }
        )
    path = tmp_path / "old.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    records, _ = read_trace(path)
    exchanges = [r for r in records if r["type"] == "exchange"]
    assert exchanges[-1]["request"]["body_ref"] == {
        "base": "ex-000004",
        "same": ["system"],
        "prefix": {"messages": 4},
    }
    assert [len(r["request"]["body"]["messages"]) for r in exchanges] == [1, 1, 1, 1, 1]
    sizes = [len(json.dumps(b, separators=(",", ":")).encode()) for b in bodies]
    assert [r["request"]["body_bytes"] for r in exchanges] == sizes
    _, turns = normalize_records(records)
    assert [turn["request_body"] for turn in turns] == bodies
