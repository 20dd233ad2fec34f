"""One-call builders for tests: SSE bodies, realistic vendor event streams, ready-made exchanges,
trace records and trace files, turns of the turn model.

Each builder returns plain values (bytes, lists, dicts, an Exchange) so a test shows only what matters
to it. The vendor streams are shaped like the real APIs' (ids, usage fields, event order), trimmed to a
few events. Nothing here fakes our own code: exchanges are built by feeding real exchange events, and
records and turns are written by hand in the shapes of capture/records.py and normalize/model.py.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import zstandard

from claude_tap.capture.exchange import (
    Exchange,
    ExchangeEvent,
    Finished,
    Headers,
    RequestChunk,
    RequestEnded,
    RequestStarted,
    ResponseChunk,
    ResponseStarted,
)
from claude_tap.normalize.model import Block, Message, SessionInfo, Turn

SseItem = tuple[str | None, Any]  # (event name or None, data: a str as is, anything else as JSON)

START_WALL = 1_700_000_000.0  # 2023-11-14T22:13:20+00:00
START_AT = 1000.0  # monotonic seconds at the request start


def sse_body(events: Iterable[SseItem]) -> bytes:
    """An event stream: `event:` line when named, one `data:` line per line of data, blank line."""
    out = []
    for name, data in events:
        text = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
        lines = [f"event: {name}"] if name is not None else []
        lines += [f"data: {line}" for line in text.split("\n")]
        out.append("\n".join(lines) + "\n\n")
    return "".join(out).encode("utf-8")


def sse_events(events: Iterable[SseItem]) -> list[dict[str, str]]:
    """The same events as `{"event", "data"}` dicts (the shape reassemblers accept from records)."""
    return [
        {
            "event": name or "message",
            "data": data if isinstance(data, str) else json.dumps(data, separators=(",", ":")),
        }
        for name, data in events
    ]


def anthropic_stream() -> list[SseItem]:
    """A Messages API stream: text, then a tool_use whose input arrives in three JSON pieces."""
    return [
        (
            "message_start",
            {
                "type": "message_start",
                "message": {
                    "id": "msg_01XFDUDYJgAACzvnptvVoYEL",
                    "type": "message",
                    "role": "assistant",
                    "model": "claude-sonnet-4-5-20250929",
                    "content": [],
                    "stop_reason": None,
                    "stop_sequence": None,
                    "usage": {
                        "input_tokens": 472,
                        "cache_creation_input_tokens": 0,
                        "cache_read_input_tokens": 2048,
                        "output_tokens": 2,
                    },
                },
            },
        ),
        (
            "content_block_start",
            {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        ),
        ("ping", {"type": "ping"}),
        (
            "content_block_delta",
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Okay,"}},
        ),
        (
            "content_block_delta",
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "text_delta", "text": " let me check."},
            },
        ),
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        (
            "content_block_start",
            {
                "type": "content_block_start",
                "index": 1,
                "content_block": {
                    "type": "tool_use",
                    "id": "toolu_01T1x1fJ34qAmk2tNTrN7Up6",
                    "name": "get_weather",
                    "input": {},
                },
            },
        ),
        (
            "content_block_delta",
            {
                "type": "content_block_delta",
                "index": 1,
                "delta": {"type": "input_json_delta", "partial_json": ""},
            },
        ),
        (
            "content_block_delta",
            {
                "type": "content_block_delta",
                "index": 1,
                "delta": {"type": "input_json_delta", "partial_json": '{"location": "San Fra'},
            },
        ),
        (
            "content_block_delta",
            {
                "type": "content_block_delta",
                "index": 1,
                "delta": {"type": "input_json_delta", "partial_json": 'ncisco, CA"}'},
            },
        ),
        ("content_block_stop", {"type": "content_block_stop", "index": 1}),
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": "tool_use", "stop_sequence": None},
                "usage": {"output_tokens": 89},
            },
        ),
        ("message_stop", {"type": "message_stop"}),
    ]


def openai_responses_stream() -> list[SseItem]:
    """A Responses API stream: a message with text in two deltas, then a function call."""
    response = {
        "id": "resp_67c9fdcecf488190bdd9a0409de3a1ec",
        "object": "response",
        "created_at": 1741290958,
        "status": "in_progress",
        "model": "gpt-4.1-2025-04-14",
        "output": [],
        "usage": None,
    }
    message = {
        "id": "msg_67c9",
        "type": "message",
        "status": "in_progress",
        "role": "assistant",
        "content": [],
    }
    text_part = {"type": "output_text", "text": "", "annotations": []}
    call = {
        "id": "fc_12345",
        "type": "function_call",
        "status": "in_progress",
        "call_id": "call_abc",
        "name": "shell",
        "arguments": "",
    }
    done_message = dict(message, status="completed", content=[dict(text_part, text="Hi there")])
    done_call = dict(call, status="completed", arguments='{"cmd":"ls"}')
    usage = {
        "input_tokens": 36,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": 87,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": 123,
    }
    ids = {"item_id": "msg_67c9", "output_index": 0}
    return [
        ("response.created", {"type": "response.created", "sequence_number": 0, "response": response}),
        (
            "response.in_progress",
            {"type": "response.in_progress", "sequence_number": 1, "response": response},
        ),
        (
            "response.output_item.added",
            {"type": "response.output_item.added", "output_index": 0, "item": message},
        ),
        (
            "response.content_part.added",
            {"type": "response.content_part.added", **ids, "content_index": 0, "part": text_part},
        ),
        (
            "response.output_text.delta",
            {"type": "response.output_text.delta", **ids, "content_index": 0, "delta": "Hi"},
        ),
        (
            "response.output_text.delta",
            {"type": "response.output_text.delta", **ids, "content_index": 0, "delta": " there"},
        ),
        (
            "response.output_text.done",
            {"type": "response.output_text.done", **ids, "content_index": 0, "text": "Hi there"},
        ),
        (
            "response.output_item.done",
            {"type": "response.output_item.done", "output_index": 0, "item": done_message},
        ),
        (
            "response.output_item.added",
            {"type": "response.output_item.added", "output_index": 1, "item": call},
        ),
        (
            "response.function_call_arguments.delta",
            {
                "type": "response.function_call_arguments.delta",
                "item_id": "fc_12345",
                "output_index": 1,
                "delta": '{"cmd"',
            },
        ),
        (
            "response.function_call_arguments.delta",
            {
                "type": "response.function_call_arguments.delta",
                "item_id": "fc_12345",
                "output_index": 1,
                "delta": ':"ls"}',
            },
        ),
        (
            "response.function_call_arguments.done",
            {
                "type": "response.function_call_arguments.done",
                "item_id": "fc_12345",
                "output_index": 1,
                "arguments": '{"cmd":"ls"}',
            },
        ),
        (
            "response.output_item.done",
            {"type": "response.output_item.done", "output_index": 1, "item": done_call},
        ),
        (
            "response.completed",
            {
                "type": "response.completed",
                "sequence_number": 13,
                "response": dict(response, status="completed", output=[done_message, done_call], usage=usage),
            },
        ),
    ]


def chat_completions_stream() -> list[SseItem]:
    """A Chat Completions stream with include_usage: text, a tool call in pieces, usage, [DONE]."""
    base = {
        "id": "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT",
        "object": "chat.completion.chunk",
        "created": 1741570283,
        "model": "gpt-4o-2024-08-06",
        "system_fingerprint": "fp_eb9dce56a8",
    }

    def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> SseItem:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
        return (None, dict(base, choices=[choice]))

    return [
        chunk({"role": "assistant", "content": "", "refusal": None}),
        chunk({"content": "Let me look"}),
        chunk({"content": "."}),
        chunk(
            {
                "tool_calls": [
                    {
                        "index": 0,
                        "id": "call_DdmO9pD3xa9XTPNJ32zg2hcA",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": ""},
                    }
                ]
            }
        ),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"location":'}}]}),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": ' "Paris"}'}}]}),
        chunk({}, "tool_calls"),
        (
            None,
            dict(base, choices=[], usage={"prompt_tokens": 82, "completion_tokens": 17, "total_tokens": 99}),
        ),
        (None, "[DONE]"),
    ]


def gemini_stream() -> list[SseItem]:
    """A streamGenerateContent (alt=sse) stream: a thought, answer text in two chunks, a function call."""

    def chunk(parts: list[dict[str, Any]], **extra: Any) -> SseItem:
        candidate = {"content": {"parts": parts, "role": "model"}, "index": 0, **extra}
        return (
            None,
            {
                "candidates": [candidate],
                "usageMetadata": {"promptTokenCount": 9, "totalTokenCount": 9},
                "modelVersion": "gemini-2.5-pro",
                "responseId": "mZ3uaOXQM_yJ-8YP",
            },
        )

    last = chunk(
        [{"functionCall": {"name": "list_directory", "args": {"path": "."}}, "thoughtSignature": "CiQB0e2K"}],
        finishReason="STOP",
    )
    last[1]["usageMetadata"] = {
        "promptTokenCount": 9,
        "candidatesTokenCount": 12,
        "thoughtsTokenCount": 30,
        "totalTokenCount": 51,
    }
    return [
        chunk([{"text": "**Planning** the listing", "thought": True}]),
        chunk([{"text": "I'll list"}]),
        chunk([{"text": " the files."}]),
        last,
    ]


def exchange(
    events: Sequence[ExchangeEvent],
    *,
    seq: int = 1,
    started_wall: float = START_WALL,
) -> Exchange:
    """An Exchange fed `events` in order."""
    built = Exchange(seq=seq, started_wall=started_wall)
    for event in events:
        built.feed(event)
    return built


def json_post_exchange(
    request_body: Any,
    response_body: Any,
    *,
    path: str = "/v1/messages",
    upstream: str = "https://api.anthropic.com",
    status: int = 200,
) -> Exchange:
    """A finished JSON POST: request at 0 ms, response headers at 120 ms, body at 130 ms, done at 135 ms."""
    json_headers: Headers = (("content-type", "application/json"),)
    request_bytes = json.dumps(request_body).encode()
    response_bytes = json.dumps(response_body).encode()
    return exchange(
        [
            RequestStarted(START_AT, "POST", path, json_headers, upstream + path),
            RequestChunk(START_AT, request_bytes),
            RequestEnded(START_AT),
            ResponseStarted(START_AT + 0.120, status, json_headers),
            ResponseChunk(START_AT + 0.130, response_bytes),
            Finished(START_AT + 0.135),
        ]
    )


def sse_exchange(
    chunks: Sequence[bytes],
    *,
    path: str = "/v1/messages",
    upstream: str = "https://api.anthropic.com",
    request_body: Any = None,
    response_headers: Headers = (("content-type", "text/event-stream"),),
) -> Exchange:
    """A finished streaming POST: headers at 100 ms, chunk k (0-based) at 100 + 10*(k+1) ms, done
    10 ms after the last chunk."""
    request_bytes = json.dumps(request_body if request_body is not None else {"stream": True}).encode()
    events: list[ExchangeEvent] = [
        RequestStarted(START_AT, "POST", path, (("content-type", "application/json"),), upstream + path),
        RequestChunk(START_AT, request_bytes),
        RequestEnded(START_AT),
        ResponseStarted(START_AT + 0.100, 200, response_headers),
    ]
    events += [ResponseChunk(START_AT + 0.100 + 0.010 * (k + 1), data) for k, data in enumerate(chunks)]
    events.append(Finished(START_AT + 0.100 + 0.010 * (len(chunks) + 1)))
    return exchange(events)


# -- trace records and trace files --------------------------------------------------------------------


def session_record(**fields: Any) -> dict[str, Any]:
    """A trace's first record, a Claude Code session in reverse mode; `fields` replace its values."""
    record: dict[str, Any] = {
        "type": "session",
        "format_version": 1,
        "claude_tap_version": "0.2.0",
        "client": "claude",
        "mode": "reverse",
        "target": "https://api.anthropic.com",
        "argv": ["claude", "-p", "hi"],
        "started_at": "2025-01-02T03:04:05+00:00",
        "id": "s1",
    }
    record.update(fields)
    return record


def session_info(**fields: Any) -> SessionInfo:
    """The SessionInfo the normalizer reads from `session_record()`; `fields` replace its values."""
    info: dict[str, Any] = {
        "client": "claude",
        "mode": "reverse",
        "target": "https://api.anthropic.com",
        "started_at": "2025-01-02T03:04:05+00:00",
        "claude_tap_version": "0.2.0",
        "source_format": "claude-tap",
    }
    info.update(fields)
    return info  # type: ignore[return-value]


def json_exchange_record(
    seq: int,
    request_body: Any,
    response_body: Any,
    *,
    path: str = "/v1/messages",
    upstream: str = "https://api.anthropic.com",
    request_headers: dict[str, str] | None = None,
    response_headers: dict[str, str] | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """A finished HTTP exchange record: POST `upstream + path` with a JSON body, a 200 JSON answer.

    Headers default to a JSON content type. `fields` replace top-level values (id, started_at, ttfb_ms,
    duration_ms, transport, ...); the defaults start exchange `seq` at second `seq` of the session."""
    json_headers = {"content-type": "application/json"}
    record: dict[str, Any] = {
        "type": "exchange",
        "id": f"ex-{seq:06d}",
        "seq": seq,
        "transport": "http",
        "started_at": f"2025-01-02T03:04:{seq:02d}+00:00",
        "ttfb_ms": 40.0,
        "duration_ms": 120.0,
        "request": {
            "method": "POST",
            "url": upstream + path,
            "path": path,
            "headers": json_headers if request_headers is None else request_headers,
            "body_bytes": len(json.dumps(request_body)),
            "body": request_body,
        },
        "response": {
            "status": 200,
            "headers": json_headers if response_headers is None else response_headers,
            "body_bytes": len(json.dumps(response_body)),
            "body": response_body,
            "complete": True,
        },
        "upstream": upstream,
        "error": None,
    }
    record.update(fields)
    return record


def ws_frame(offset_ms: float, direction: str, payload: Any) -> dict[str, Any]:
    """One recorded WebSocket text frame: `payload` as JSON, sent by "client" or "server"."""
    return {"offset_ms": offset_ms, "direction": direction, "kind": "text", "data": json.dumps(payload)}


def websocket_exchange_record(
    seq: int,
    frames: list[dict[str, Any]],
    *,
    path: str = "/v1/responses",
    upstream: str = "https://api.openai.com",
    error: str | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """A WebSocket exchange record: GET `path` upgraded (101), then `frames` (see `ws_frame`).

    `error` is why the socket failed, which leaves it incomplete. `fields` replace top-level values
    (id, started_at, ttfb_ms, duration_ms, ...), as in `json_exchange_record`."""
    record: dict[str, Any] = {
        "type": "exchange",
        "id": f"ex-{seq:06d}",
        "seq": seq,
        "transport": "websocket",
        "started_at": f"2025-01-02T03:04:{seq:02d}+00:00",
        "ttfb_ms": 40.0,
        "duration_ms": 120.0,
        "request": {
            "method": "GET",
            "url": upstream.replace("https://", "wss://", 1) + path,
            "path": path,
            "headers": {},
            "body_bytes": 0,
        },
        "response": {
            "status": 101,
            "headers": {},
            "body_bytes": 0,
            "events": frames,
            "complete": error is None,
        },
        "upstream": upstream,
        "error": error,
    }
    record.update(fields)
    return record


def jsonl(records: Iterable[Any]) -> bytes:
    """One JSON line per record."""
    return b"".join(json.dumps(record).encode() + b"\n" for record in records)


def write_trace(path: Path, records: Iterable[Any]) -> Path:
    """Write `records` to `path`: plain JSONL, or for a .zst path one zstd stream flushed after every
    record, as the trace writer does it."""
    if path.suffix != ".zst":
        path.write_bytes(jsonl(records))
        return path
    buffer = io.BytesIO()
    writer = zstandard.ZstdCompressor().stream_writer(buffer, closefd=False)
    for record in records:
        writer.write(jsonl([record]))
        writer.flush(zstandard.FLUSH_BLOCK)
    writer.close()
    path.write_bytes(buffer.getvalue())
    return path


# -- turns (normalize/model.py) ------------------------------------------------------------------------


def make_turn(index: int, **fields: Any) -> Turn:
    """A complete Turn with neutral defaults (an Anthropic SSE call of 2.3 s); `fields` set what a test
    is about."""
    turn: dict[str, Any] = {
        "index": index,
        "id": f"ex-{index + 1:06d}",
        "api": "anthropic_messages",
        "provider": "anthropic",
        "model": "claude-sonnet-4-5",
        "method": "POST",
        "path": "/v1/messages",
        "url": "https://api.anthropic.com/v1/messages",
        "transport": "sse",
        "status": 200,
        "complete": True,
        "error": None,
        "system": [],
        "messages": [],
        "tools": [],
        "output": [],
        "stop_reason": "end_turn",
        "usage": None,
        "cost_usd": None,
        "params": {},
        "timing": {
            "started_at": "2025-01-02T03:04:06+00:00",
            "ttfb_ms": 100.0,
            "ttft_ms": 150.0,
            "duration_ms": 2300.0,
            "tokens_per_s": 10.0,
        },
        "request_headers": {},
        "response_headers": {},
        "events": [],
        "conversation": "c1",
        "prev": None,
        "prev_is_guess": False,
        "thread": "main",
        "parent_tool_use_id": None,
        "request_body": None,
        "response_body": None,
    }
    turn.update(fields)
    return turn  # type: ignore[return-value]


def usage(inp: int, out: int, read: int = 0, write: int = 0, reasoning: int = 0) -> dict[str, int]:
    """A turn's usage: input excludes cached tokens, the total counts every token once."""
    return {
        "input_tokens": inp,
        "output_tokens": out,
        "cache_read_tokens": read,
        "cache_write_tokens": write,
        "reasoning_tokens": reasoning,
        "total_tokens": inp + out + read + write,
    }


def text(value: str) -> Block:
    return {"type": "text", "text": value}


def user(*blocks: Block) -> Message:
    return {"role": "user", "content": list(blocks)}


def assistant(*blocks: Block) -> Message:
    return {"role": "assistant", "content": list(blocks)}
