"""A Codex-like client that ends its Responses WebSocket by exiting, through the real claude-tap process.

Codex keeps one socket for a session and, once its last response completed, simply exits: no close
frame, the kernel closes the connection. That is the normal end of a session, so the exit summary
says 0 errors and the record is complete (issue 10: it used to say "1 call, 1 error"). A client that
leaves while a response is still streaming cut that response short, and the trace says so.

The client is a small Python script installed as `codex` on a throwaway PATH, launched by the tap;
the upstream is the Responses stand-in of the real-Codex tests, or one that never finishes a response.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from claude_tap.store.reader import read_records
from tests.e2e.real_cli import serving
from tests.e2e.responses_standin import ResponsesStandIn
from tests.e2e.tap_process import only_session_dir, run_tap, tap_env, write_script

pytestmark = pytest.mark.e2e

API_KEY = "sk-proj-ws-end-dummy-key-0123456789abcdef"

# Sends one response.create, reads until the event named by FAKE_LEAVE_AFTER, then exits the way
# Codex does: os._exit, so no close frame is sent and the kernel closes the socket.
FAKE_CODEX = """
import asyncio, json, os, sys
import aiohttp

async def main():
    url = os.environ["OPENAI_BASE_URL"].replace("http", "ws", 1) + "/responses"
    headers = {"Authorization": "Bearer " + os.environ["OPENAI_API_KEY"]}
    session = aiohttp.ClientSession()
    ws = await session.ws_connect(url, headers=headers)
    prompt = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]}
    create = {"type": "response.create", "model": "gpt-5.2-codex", "input": [prompt]}
    await ws.send_str(json.dumps(create))
    async for message in ws:
        kind = json.loads(message.data)["type"]
        print("fake codex got", kind, file=sys.stderr, flush=True)
        if kind == os.environ["FAKE_LEAVE_AFTER"]:
            break
    os._exit(0)

asyncio.run(asyncio.wait_for(main(), 20))
"""


def never_finishing_app() -> web.Application:
    """A Responses socket that starts every response and never ends one."""

    async def upgrade(request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        async for _ in socket:
            created = {"type": "response.created", "response": {"id": "resp_stuck", "status": "in_progress"}}
            await socket.send_str(json.dumps(created))
        return socket

    app = web.Application()
    app.router.add_get("/v1/responses", upgrade)
    return app


async def run_fake_codex(
    tmp_path: Path, app: web.Application, leave_after: str
) -> tuple[str, dict[str, Any]]:
    """(the tap's stderr, the one exchange record) of a fake Codex session through the real tap."""
    bin_dir = tmp_path / "bin"
    write_script(bin_dir / "codex", FAKE_CODEX)
    async with serving(app) as upstream:
        env = tap_env(
            tmp_path,
            [bin_dir],
            OPENAI_BASE_URL=f"{upstream}/v1",
            OPENAI_API_KEY=API_KEY,
            FAKE_LEAVE_AFTER=leave_after,
        )
        done = await run_tap(tmp_path, ["--tap-client", "codex", "--tap-no-open", "--", "exec", "hi"], env)
    assert done.returncode == 0, done.stderr
    assert f"fake codex got {leave_after}" in done.stderr
    records = list(read_records(only_session_dir(tmp_path / "home" / ".claude-tap") / "trace.jsonl.zst"))
    (exchange,) = [record for record in records if record["type"] == "exchange"]
    assert exchange["transport"] == "websocket" and exchange["response"]["status"] == 101
    return done.stderr, exchange


def frame_types(exchange: dict[str, Any], direction: str) -> list[str]:
    events = exchange["response"]["events"]
    return [
        json.loads(e["data"])["type"] for e in events if e["direction"] == direction and e["kind"] == "text"
    ]


async def test_a_client_that_exits_after_response_completed_ended_its_session_cleanly(tmp_path: Path) -> None:
    standin = ResponsesStandIn(command="true", websocket=True)

    stderr, exchange = await run_fake_codex(tmp_path, standin.app(), "response.completed")

    assert standin.sockets == 1 and len(standin.requests) == 1
    assert "claude-tap: 1 call, 0 errors" in stderr
    assert exchange["error"] is None and exchange["response"]["complete"] is True
    assert frame_types(exchange, "client") == ["response.create"]
    assert frame_types(exchange, "server")[-1] == "response.completed"
    assert [e["kind"] for e in exchange["response"]["events"]].count("close") == 0  # it sent none
    assert API_KEY not in stderr and API_KEY not in json.dumps(exchange)


async def test_a_client_that_exits_in_the_middle_of_a_response_cut_it_short(tmp_path: Path) -> None:
    stderr, exchange = await run_fake_codex(tmp_path, never_finishing_app(), "response.created")

    assert "claude-tap: 1 call, 1 error" in stderr
    # Which the tap sees first, the client's end of the socket or the client's exit, is a race.
    assert exchange["error"] in (
        "the client went away without closing the WebSocket",
        "claude-tap stopped with the WebSocket open",
    )
    assert exchange["response"]["complete"] is False
    assert frame_types(exchange, "server") == ["response.created"]
