"""A loopback stand-in for the OpenAI Responses API (POST /v1/responses, streamed), for real-CLI tests.

It plays the vendor and nothing else, over SSE or over a WebSocket (Codex's `response.create` messages
answered with the same `response.*` events as text frames):

- a request whose input holds no function_call_output gets a streamed `exec_command` function call
  running the shell command the test names;
- a request carrying a function_call_output gets a streamed text answer quoting what the tool printed;
- a WebSocket warm-up (`generate: false`, which Codex sends when a socket opens) gets an empty response.

With `websocket=False` an upgrade is refused with 426, which Codex takes as "this server speaks HTTP only"
and falls back at once. Every request is kept (transport, path, headers, JSON body) so a test can compare
what the upstream received with what the trace recorded.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

from aiohttp import WSMsgType, web

Payload = dict[str, Any]
# What the tool printed, in Codex's exec_command output: metadata lines, then "Output:" and the text.
OUTPUT_MARKER = "Output:\n"


@dataclass
class ReceivedRequest:
    transport: Literal["sse", "websocket"]
    path_qs: str
    headers: dict[str, str]
    body: Any  # the JSON body, or the response.create message as sent on the socket


@dataclass
class ResponsesStandIn:
    command: str
    websocket: bool = False
    requests: list[ReceivedRequest] = field(default_factory=list)
    refused_upgrades: int = 0
    sockets: int = 0
    answered: int = 0  # responses that asked for output (warm-ups excluded), numbering the ids

    def app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/v1/responses", self.responses)
        app.router.add_get("/v1/responses", self.upgrade)
        return app

    async def responses(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.requests.append(ReceivedRequest("sse", request.path_qs, dict(request.headers), body))
        response = web.StreamResponse(
            headers={"content-type": "text/event-stream", "x-request-id": "req_standin"}
        )
        await response.prepare(request)
        for payload in self._events_for(body):
            await response.write(f"event: {payload['type']}\ndata: {json.dumps(payload)}\n\n".encode())
        await response.write_eof()
        return response

    async def upgrade(self, request: web.Request) -> web.StreamResponse:
        if not self.websocket:
            self.refused_upgrades += 1
            return web.Response(status=426, text="this stand-in speaks HTTP only")
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        self.sockets += 1
        async for message in socket:
            if message.type != WSMsgType.TEXT:
                continue
            body = json.loads(message.data)
            if body.get("type") != "response.create":
                continue
            self.requests.append(ReceivedRequest("websocket", request.path_qs, dict(request.headers), body))
            for payload in self._events_for(body):
                await socket.send_str(json.dumps(payload))
        return socket

    def _events_for(self, body: Payload) -> list[Payload]:
        if body.get("generate") is False:
            return _stream(f"resp_warmup_{len(self.requests)}", body.get("model"), [], _usage(0, 0, 0))
        self.answered += 1
        n = self.answered
        tool_output = _last_tool_output(body.get("input"))
        if tool_output is None:
            arguments = json.dumps({"cmd": self.command})
            items = [_function_call(f"fc_standin_{n}", "call_standin_1", "exec_command", arguments)]
        else:
            items = [_message(f"msg_standin_{n}", f"The tool said: {_printed(tool_output)}")]
        return _stream(f"resp_standin_{n}", body.get("model"), items, _usage(1000 * n, 600, 7 * n))


def _last_tool_output(raw_input: Any) -> str | None:
    if not isinstance(raw_input, list):
        return None
    outputs = [
        item for item in raw_input if isinstance(item, dict) and item.get("type") == "function_call_output"
    ]
    if not outputs:
        return None
    output = outputs[-1].get("output")
    if isinstance(output, list):  # content parts
        return "".join(part.get("text", "") for part in output if isinstance(part, dict))
    return str(output)


def _printed(tool_output: str) -> str:
    """What the command printed, without Codex's metadata lines."""
    _, marker, printed = tool_output.partition(OUTPUT_MARKER)
    return (printed if marker else tool_output).strip()


def _usage(input_tokens: int, cached: int, output_tokens: int) -> Payload:
    return {
        "input_tokens": input_tokens,
        "input_tokens_details": {"cached_tokens": cached},
        "output_tokens": output_tokens,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": input_tokens + output_tokens,
    }


@dataclass
class _Item:
    """One output item: its final form and the events that stream it between added and done."""

    done: Payload
    added: Payload
    deltas: list[Payload]


def _function_call(item_id: str, call_id: str, name: str, arguments: str) -> _Item:
    half = len(arguments) // 2  # split the JSON mid-token, as the real API does
    done = {
        "type": "function_call",
        "id": item_id,
        "call_id": call_id,
        "name": name,
        "arguments": arguments,
        "status": "completed",
    }
    deltas = [
        {"type": "response.function_call_arguments.delta", "item_id": item_id, "delta": part}
        for part in (arguments[:half], arguments[half:])
    ]
    deltas.append(
        {"type": "response.function_call_arguments.done", "item_id": item_id, "arguments": arguments}
    )
    return _Item(done, {**done, "arguments": "", "status": "in_progress"}, deltas)


def _message(item_id: str, text: str) -> _Item:
    part = {"type": "output_text", "text": text, "annotations": []}
    done = {"type": "message", "id": item_id, "role": "assistant", "status": "completed", "content": [part]}
    words = text.split(" ")
    pieces = [" ".join(words[: len(words) // 2]) + " ", " ".join(words[len(words) // 2 :])]
    located = {"item_id": item_id, "content_index": 0}
    deltas = [
        {"type": "response.content_part.added", **located, "part": {**part, "text": ""}},
        *({"type": "response.output_text.delta", **located, "delta": piece} for piece in pieces),
        {"type": "response.output_text.done", **located, "text": text},
        {"type": "response.content_part.done", **located, "part": part},
    ]
    return _Item(done, {**done, "status": "in_progress", "content": []}, deltas)


def _stream(response_id: str, model: Any, items: list[_Item], usage: Payload) -> list[Payload]:
    """The whole event sequence of one response, numbered as the real API numbers it."""
    base = {"id": response_id, "object": "response", "created_at": 1767225600, "model": model}
    events: list[Payload] = [
        {
            "type": "response.created",
            "response": {**base, "status": "in_progress", "output": [], "usage": None},
        },
        {
            "type": "response.in_progress",
            "response": {**base, "status": "in_progress", "output": [], "usage": None},
        },
    ]
    for index, item in enumerate(items):
        events.append({"type": "response.output_item.added", "output_index": index, "item": item.added})
        events.extend({**delta, "output_index": index} for delta in item.deltas)
        events.append({"type": "response.output_item.done", "output_index": index, "item": item.done})
    output = [item.done for item in items]
    events.append(
        {
            "type": "response.completed",
            "response": {**base, "status": "completed", "output": output, "usage": usage},
        }
    )
    return [{**event, "sequence_number": number} for number, event in enumerate(events)]
