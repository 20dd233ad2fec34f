"""Loopback stand-ins that answer every model call with one streamed text, for real-CLI tests.

One per API shape the clients of the support matrix speak in reverse mode: Anthropic Messages
(OpenCode), Chat Completions (Kimi CLI, Hermes; with reasoning_content, as Kimi's API streams it) and
OpenAI Responses (Pi). The answer names the call's number (`ANSWER_PREFIX` + n), so a test can tell
which call the client printed. Anything else the client asks (model lists, probes) gets a 404 JSON
error, as a vendor would answer an unknown path. With `refuse_status`, every model call gets that
status and an OpenAI-style error instead. Every request is kept.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

Payload = dict[str, Any]
ANSWER_PREFIX = "Stand-in answer "
REASONING = "The user wants a short answer."
REFUSAL = "The stand-in refuses this request."


@dataclass
class ReceivedRequest:
    method: str
    path_qs: str
    headers: dict[str, str]
    body: Any


@dataclass
class TextStandIn:
    refuse_status: int | None = None
    requests: list[ReceivedRequest] = field(default_factory=list)

    def app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self.handle)
        return app

    @property
    def model_calls(self) -> list[ReceivedRequest]:
        return [r for r in self.requests if r.method == "POST" and r.path_qs.endswith(_MODEL_PATHS)]

    async def handle(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        body = json.loads(raw) if raw.strip() else None
        self.requests.append(ReceivedRequest(request.method, request.path_qs, dict(request.headers), body))
        if request.method != "POST" or not request.path.endswith(_MODEL_PATHS):
            return web.json_response({"error": {"message": f"no route for {request.path}"}}, status=404)
        if self.refuse_status is not None:
            error = {"message": REFUSAL, "type": "invalid_request_error", "code": "standin_refused"}
            return web.json_response({"error": error}, status=self.refuse_status)
        answer = f"{ANSWER_PREFIX}{len(self.model_calls)}"
        response = web.StreamResponse(headers={"content-type": "text/event-stream"})
        await response.prepare(request)
        if request.path.endswith("/messages"):
            lines = _anthropic(answer, body.get("model", ""))
        elif request.path.endswith("/chat/completions"):
            lines = _chat_completions(answer, body.get("model", ""))
        else:
            lines = _responses(answer, body.get("model", ""))
        for line in lines:
            await response.write(line.encode())
        await response.write_eof()
        return response


_MODEL_PATHS = ("/messages", "/chat/completions", "/responses")


def _anthropic(answer: str, model: str) -> list[str]:
    message = {
        "id": "msg_standin",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": 1000, "output_tokens": 1},
    }
    events: list[Payload] = [
        {"type": "message_start", "message": message},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": answer}},
        {"type": "content_block_stop", "index": 0},
        {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn", "stop_sequence": None},
            "usage": {"output_tokens": 7},
        },
        {"type": "message_stop"},
    ]
    return [f"event: {e['type']}\ndata: {json.dumps(e)}\n\n" for e in events]


def _chat_completions(answer: str, model: str) -> list[str]:
    def chunk(delta: Payload, finish: str | None = None, usage: Payload | None = None) -> str:
        payload: Payload = {
            "id": "chatcmpl-standin",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }
        if usage is not None:
            payload["usage"] = usage
        return f"data: {json.dumps(payload)}\n\n"

    usage = {"prompt_tokens": 1000, "completion_tokens": 7, "total_tokens": 1007}
    return [
        chunk({"role": "assistant", "reasoning_content": REASONING}),
        chunk({"content": answer}),
        chunk({}, "stop", usage),
        "data: [DONE]\n\n",
    ]


def _responses(answer: str, model: str) -> list[str]:
    text = {"type": "output_text", "text": answer, "annotations": []}
    item = {
        "type": "message",
        "id": "msg_standin",
        "status": "completed",
        "role": "assistant",
        "content": [text],
    }
    started = {
        "id": "resp_standin",
        "object": "response",
        "created_at": 1,
        "status": "in_progress",
        "model": model,
        "output": [],
    }
    done = {
        **started,
        "status": "completed",
        "output": [item],
        "usage": {"input_tokens": 1000, "output_tokens": 7, "total_tokens": 1007},
    }
    where = {"item_id": "msg_standin", "output_index": 0, "content_index": 0}
    events: list[Payload] = [
        {"type": "response.created", "response": started},
        {
            "type": "response.output_item.added",
            "output_index": 0,
            "item": {**item, "status": "in_progress", "content": []},
        },
        {"type": "response.content_part.added", **where, "part": {**text, "text": ""}},
        {"type": "response.output_text.delta", **where, "delta": answer},
        {"type": "response.output_text.done", **where, "text": answer},
        {"type": "response.content_part.done", **where, "part": text},
        {"type": "response.output_item.done", "output_index": 0, "item": item},
        {"type": "response.completed", "response": done},
    ]
    return [
        f"event: {e['type']}\ndata: {json.dumps({**e, 'sequence_number': n})}\n\n"
        for n, e in enumerate(events)
    ]
