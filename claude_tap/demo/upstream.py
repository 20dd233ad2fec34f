"""A loopback stand-in for the Anthropic Messages API, playing the model in `claude-tap demo`.

It speaks the wire format a real client sees: `POST /v1/messages` streamed as SSE (`message_start`,
`ping`, `content_block_*` for thinking with a signature, text and tool_use with `input_json_delta`,
`message_delta` with usage including cache reads and writes, `message_stop`) or answered as one JSON
message when `stream` is false; `POST /v1/messages/count_tokens`; Anthropic-style errors and headers.

The "model" is a script for one small coding task (fix `add()` in calc.py), chosen by how many tool
results the conversation already holds, so any client that follows the tool calls gets the same
session. Everything is deterministic: ids, token counts and text. It binds to 127.0.0.1 only.

This module knows nothing about the proxy, the trace or the demo agent's code.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

MAIN_MODEL = "claude-sonnet-4-5"
ANTHROPIC_VERSION = "2023-06-01"

Json = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Step:
    """One scripted model turn: optional thinking, optional text, optional tool call."""

    thinking: str | None
    text: str | None
    tool: tuple[str, Json] | None  # (name, input)


SCRIPT: tuple[Step, ...] = (
    Step(
        thinking="The user says add() is broken and a test fails. Before changing anything I should read "
        "calc.py to see what add() actually does.",
        text="I'll start by reading calc.py.",
        tool=("read_file", {"path": "calc.py"}),
    ),
    Step(
        thinking=None,
        text="Found it: `add` returns `a - b`. Fixing the operator.",
        tool=("edit_file", {"path": "calc.py", "old_string": "return a - b", "new_string": "return a + b"}),
    ),
    Step(thinking=None, text="Now let me run the tests to confirm.", tool=("run_tests", {})),
)


def final_step(test_output: str) -> Step:
    return Step(
        thinking=None,
        text="Fixed. `add()` in calc.py subtracted its arguments; it now returns `a + b`.\n\n"
        f"Test run:\n{test_output.strip()}",
        tool=None,
    )


@dataclass
class DemoUpstream:
    """The stand-in server. `start()` returns its base URL (http://127.0.0.1:PORT)."""

    event_delay_s: float = 0.004  # a little pacing so timings in the trace look like a stream
    requests_seen: int = 0
    _runner: web.AppRunner | None = field(default=None, repr=False)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v1/messages", self.messages)
        app.router.add_post("/v1/messages/count_tokens", self.count_tokens)
        return app

    async def start(self) -> str:
        self._runner = web.AppRunner(self.app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        return f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # --- handlers ---

    async def count_tokens(self, request: web.Request) -> web.Response:
        body_or_error = await self._checked_body(request)
        if isinstance(body_or_error, web.Response):
            return body_or_error
        return web.json_response({"input_tokens": estimate_tokens(body_or_error)}, headers=self._headers())

    async def messages(self, request: web.Request) -> web.StreamResponse:
        body_or_error = await self._checked_body(request)
        if isinstance(body_or_error, web.Response):
            return body_or_error
        body = body_or_error
        if not isinstance(body.get("messages"), list) or not body["messages"]:
            return self._error(400, "invalid_request_error", "messages: at least one message is required")
        message = scripted_message(body, message_number=self.requests_seen)
        if not body.get("stream"):
            return web.json_response(message, headers=self._headers())
        response = web.StreamResponse(
            headers={
                **self._headers(),
                "content-type": "text/event-stream; charset=utf-8",
                "cache-control": "no-cache",
            }
        )
        await response.prepare(request)
        for name, data in stream_events(message):
            await response.write(f"event: {name}\ndata: {json.dumps(data)}\n\n".encode())
            await asyncio.sleep(self.event_delay_s)
        await response.write_eof()
        return response

    async def _checked_body(self, request: web.Request) -> Json | web.Response:
        """The JSON body, or the error response the real API gives for a bad request."""
        self.requests_seen += 1
        if not (request.headers.get("x-api-key") or request.headers.get("authorization")):
            return self._error(401, "authentication_error", "x-api-key header is required")
        if not request.headers.get("anthropic-version"):
            return self._error(400, "invalid_request_error", "anthropic-version: header is required")
        try:
            body = await request.json()
        except ValueError:
            return self._error(400, "invalid_request_error", "There was an issue with the JSON body")
        if not isinstance(body, dict):
            return self._error(400, "invalid_request_error", "the request body must be a JSON object")
        return body

    def _headers(self) -> dict[str, str]:
        return {
            "request-id": f"req_011CDemo{self.requests_seen:06d}",
            "anthropic-organization-id": "00000000-0000-4000-8000-00000000demo",
            "anthropic-ratelimit-input-tokens-limit": "2000000",
            "anthropic-ratelimit-input-tokens-remaining": "1999000",
            "anthropic-ratelimit-output-tokens-limit": "400000",
            "via": "1.1 claude-tap-demo",
        }

    def _error(self, status: int, kind: str, message: str) -> web.Response:
        body = {"type": "error", "error": {"type": kind, "message": message}}
        return web.json_response(body, status=status, headers=self._headers())


# --- the script, as pure functions of the request ---


def scripted_message(body: Json, *, message_number: int) -> Json:
    """The complete assistant message for this request (streaming sends the same one as events)."""
    model = str(body.get("model") or MAIN_MODEL)
    if not body.get("stream"):
        step = Step(thinking=None, text="Fix add() in calc.py", tool=None)  # a side call: a session title
    else:
        results = tool_results(body["messages"])
        step = SCRIPT[len(results)] if len(results) < len(SCRIPT) else final_step(results[-1])
    content: list[Json] = []
    if step.thinking is not None:
        content.append(
            {"type": "thinking", "thinking": step.thinking, "signature": signature_for(step.thinking)}
        )
    if step.text is not None:
        content.append({"type": "text", "text": step.text})
    if step.tool is not None:
        name, tool_input = step.tool
        content.append(
            {"type": "tool_use", "id": f"toolu_01Demo{message_number:04d}", "name": name, "input": tool_input}
        )
    return {
        "id": f"msg_01Demo{message_number:06d}",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": "tool_use" if step.tool is not None else "end_turn",
        "stop_sequence": None,
        "usage": usage_for(body, content),
    }


def tool_results(messages: list[Json]) -> list[str]:
    """The text of every tool_result block in the conversation, in order."""
    found: list[str] = []
    for message in messages:
        content = message.get("content") if isinstance(message, dict) else None
        for block in content if isinstance(content, list) else []:
            if isinstance(block, dict) and block.get("type") == "tool_result":
                found.append(_block_text(block.get("content")))
    return found


def _block_text(content: object) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return ""


def estimate_tokens(value: object) -> int:
    """About four characters a token, as a rough stand-in for a tokenizer."""
    return max(1, len(json.dumps(value, ensure_ascii=False)) // 4)


def usage_for(body: Json, content: list[Json]) -> Json:
    """Cache semantics like the real API: system + tools are written to the cache once, then read."""
    prefix = estimate_tokens([body.get("system"), body.get("tools")])
    conversation = estimate_tokens(body.get("messages"))
    first_call = not tool_results(body.get("messages", []))
    is_cached = bool(body.get("stream"))  # the side call sends no cache_control
    return {
        "input_tokens": conversation if is_cached else conversation + prefix,
        "cache_creation_input_tokens": prefix if is_cached and first_call else 0,
        "cache_read_input_tokens": prefix if is_cached and not first_call else 0,
        "output_tokens": estimate_tokens(content),
        "service_tier": "standard",
    }


def signature_for(thinking: str) -> str:
    return "EqQBCkgIARABGAIiQL" + format(abs(hash_text(thinking)), "x") + "demoSignature=="


def hash_text(text: str) -> int:
    """A stable hash (Python's hash() is salted per process)."""
    value = 0
    for char in text:
        value = (value * 131 + ord(char)) % (1 << 61)
    return value


def stream_events(message: Json) -> Iterator[tuple[str, Json]]:
    """The SSE events (name, data) that stream `message`, split the way the real API splits them."""
    usage = message["usage"]
    start_usage = {**usage, "output_tokens": 1}
    yield (
        "message_start",
        {
            "type": "message_start",
            "message": {**message, "content": [], "stop_reason": None, "usage": start_usage},
        },
    )
    yield "ping", {"type": "ping"}
    for index, block in enumerate(message["content"]):
        yield from _block_events(index, block)
    yield (
        "message_delta",
        {
            "type": "message_delta",
            "delta": {"stop_reason": message["stop_reason"], "stop_sequence": None},
            "usage": {"output_tokens": usage["output_tokens"]},
        },
    )
    yield "message_stop", {"type": "message_stop"}


def _block_events(index: int, block: Json) -> Iterator[tuple[str, Json]]:
    def delta(payload: Json) -> tuple[str, Json]:
        return "content_block_delta", {"type": "content_block_delta", "index": index, "delta": payload}

    kind = block["type"]
    if kind == "thinking":
        yield "content_block_start", _start(index, {"type": "thinking", "thinking": "", "signature": ""})
        for piece in split_words(block["thinking"]):
            yield delta({"type": "thinking_delta", "thinking": piece})
        yield delta({"type": "signature_delta", "signature": block["signature"]})
    elif kind == "text":
        yield "content_block_start", _start(index, {"type": "text", "text": ""})
        for piece in split_words(block["text"]):
            yield delta({"type": "text_delta", "text": piece})
    elif kind == "tool_use":
        yield (
            "content_block_start",
            _start(index, {"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}),
        )
        for piece in split_evenly(json.dumps(block["input"]), parts=3):  # cut mid-token, as the API does
            yield delta({"type": "input_json_delta", "partial_json": piece})
    yield "content_block_stop", {"type": "content_block_stop", "index": index}


def _start(index: int, content_block: Json) -> Json:
    return {"type": "content_block_start", "index": index, "content_block": content_block}


def split_words(text: str, words_per_piece: int = 4) -> list[str]:
    """Pieces of a few words each that join back to exactly `text`."""
    words = text.split(" ")
    pieces = [" ".join(words[i : i + words_per_piece]) for i in range(0, len(words), words_per_piece)]
    return [piece + " " for piece in pieces[:-1]] + pieces[-1:]


def split_evenly(text: str, parts: int) -> list[str]:
    if len(text) < parts:
        return [text]
    size = -(-len(text) // parts)
    return [text[i : i + size] for i in range(0, len(text), size)]
