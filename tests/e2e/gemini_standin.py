"""A loopback stand-in for the Gemini API (generativelanguage.googleapis.com), for the real Gemini CLI.

POST /v1beta/models/<model>:streamGenerateContent?alt=sse, answered as the Gen AI SDK expects it: one
`data:` line per GenerateContentResponse. A request whose last content holds no functionResponse gets
a `read_file` function call for the file the test names; one carrying the functionResponse gets a text
answer quoting what the tool returned. `:generateContent` (Gemini CLI's model router asks it for JSON)
gets a plain text answer. Every request is kept so a test can compare it with the trace.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.e2e.anthropic_standin import ReceivedRequest

Payload = dict[str, Any]


@dataclass
class GeminiStandIn:
    read_path: str
    requests: list[ReceivedRequest] = field(default_factory=list)

    def app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/v1beta/models/{model_method}", self.models)
        return app

    async def models(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.requests.append(ReceivedRequest(request.path_qs, dict(request.headers), body))
        model, _, method = request.match_info["model_method"].partition(":")
        if method == "generateContent":
            return web.json_response(_response([{"text": "{}"}], model, 3))
        tool_output = _function_response_output(body["contents"])
        if tool_output is None:
            parts: list[Payload] = [
                {"functionCall": {"name": "read_file", "args": {"file_path": self.read_path}}}
            ]
        else:
            parts = [{"text": "The tool said: "}, {"text": tool_output.strip()}]
        response = web.StreamResponse(headers={"content-type": "text/event-stream"})
        await response.prepare(request)
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            chunk = _response([part], model, 7 if last else None)
            await response.write(f"data: {json.dumps(chunk)}\r\n\r\n".encode())
        await response.write_eof()
        return response


def _response(parts: list[Payload], model: str, output_tokens: int | None) -> Payload:
    candidate: Payload = {"content": {"role": "model", "parts": parts}, "index": 0}
    chunk: Payload = {"candidates": [candidate], "modelVersion": model, "responseId": "resp_standin"}
    if output_tokens is not None:  # the last chunk says why it stopped and what it cost
        candidate["finishReason"] = "STOP"
        chunk["usageMetadata"] = {
            "promptTokenCount": 1000,
            "cachedContentTokenCount": 600,
            "candidatesTokenCount": output_tokens,
            "totalTokenCount": 1000 + output_tokens,
        }
    return chunk


def _function_response_output(contents: list[Payload]) -> str | None:
    for part in contents[-1].get("parts", []):
        if "functionResponse" in part:
            return str(part["functionResponse"]["response"].get("output", ""))
    return None
