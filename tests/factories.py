"""One-call builders for tests: SSE bodies, realistic vendor event streams, ready-made exchanges.

Each builder returns plain values (bytes, lists, an Exchange) so a test shows only what matters to
it. The vendor streams are shaped like the real APIs' (ids, usage fields, event order), trimmed to a
few events. Nothing here fakes our own code: exchanges are built by feeding real exchange events.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

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
