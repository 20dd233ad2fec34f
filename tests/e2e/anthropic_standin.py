"""A loopback stand-in for the Anthropic Messages API, scripted for real-CLI tests.

It plays the vendor and nothing else: the first request of a conversation gets a streamed `Read` tool
call for a file the test names; a request carrying a tool_result gets a streamed text answer quoting
what the tool returned. Every request is kept (path, headers, JSON body) so a test can compare what
the upstream received with what the trace recorded.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class ReceivedRequest:
    path_qs: str
    headers: dict[str, str]
    body: Any


@dataclass
class AnthropicStandIn:
    read_path: str
    requests: list[ReceivedRequest] = field(default_factory=list)

    def app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/v1/messages", self.messages)
        app.router.add_post("/v1/messages/count_tokens", self.count_tokens)
        return app

    async def count_tokens(self, request: web.Request) -> web.Response:
        return web.json_response({"input_tokens": 42})

    async def messages(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.requests.append(ReceivedRequest(request.path_qs, dict(request.headers), body))
        tool_result = _last_tool_result(body["messages"])
        if tool_result is None:
            blocks = _tool_use_blocks("toolu_standin_1", "Read", {"file_path": self.read_path})
            stop_reason = "tool_use"
        else:
            blocks = _text_blocks(f"The tool said: {tool_result.strip()}")
            stop_reason = "end_turn"
        response = web.StreamResponse(
            headers={"content-type": "text/event-stream", "request-id": "req_standin"}
        )
        await response.prepare(request)
        n = len(self.requests)
        events = [
            (
                "message_start",
                {
                    "type": "message_start",
                    "message": {
                        "id": f"msg_standin_{n}",
                        "type": "message",
                        "role": "assistant",
                        "model": body.get("model"),
                        "content": [],
                        "stop_reason": None,
                        "stop_sequence": None,
                        "usage": {
                            "input_tokens": 100 * n,
                            "output_tokens": 1,
                            "cache_read_input_tokens": 2000,
                            "cache_creation_input_tokens": 30,
                        },
                    },
                },
            ),
            *blocks,
            (
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": stop_reason, "stop_sequence": None},
                    "usage": {"output_tokens": 7 * n},
                },
            ),
            ("message_stop", {"type": "message_stop"}),
        ]
        for name, data in events:
            await response.write(f"event: {name}\ndata: {json.dumps(data)}\n\n".encode())
        await response.write_eof()
        return response


def _last_tool_result(messages: list[dict[str, Any]]) -> str | None:
    content = messages[-1].get("content") if messages else None
    if not isinstance(content, list):
        return None
    for block in content:
        if isinstance(block, dict) and block.get("type") == "tool_result":
            inner = block.get("content")
            if isinstance(inner, list):
                return "".join(part.get("text", "") for part in inner if isinstance(part, dict))
            return str(inner)
    return None


def _tool_use_blocks(tool_id: str, name: str, tool_input: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    arguments = json.dumps(tool_input)
    half = len(arguments) // 2  # split the JSON mid-token, as the real API does
    return [
        (
            "content_block_start",
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "tool_use", "id": tool_id, "name": name, "input": {}},
            },
        ),
        (
            "content_block_delta",
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "input_json_delta", "partial_json": arguments[:half]},
            },
        ),
        (
            "content_block_delta",
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "input_json_delta", "partial_json": arguments[half:]},
            },
        ),
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
    ]


def _text_blocks(text: str) -> list[tuple[str, dict[str, Any]]]:
    words = text.split(" ")
    deltas = [" ".join(words[: len(words) // 2]) + " ", " ".join(words[len(words) // 2 :])]
    return [
        (
            "content_block_start",
            {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        ),
        *[
            (
                "content_block_delta",
                {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": d}},
            )
            for d in deltas
        ],
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
    ]
