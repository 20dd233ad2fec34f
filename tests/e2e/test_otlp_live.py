"""`--tap-otlp-endpoint`: the real claude-tap process sends each call as a GenAI span while it runs.

The collector is the loopback OTLP/HTTP receiver of tests/unit/test_otlp_export.py (the official
protobuf definitions decode what arrives); the vendor is the loopback stand-in, answering in the
Messages API's shape. Spans must arrive before the stop, under one trace per session whose root span
comes at the stop; prompt text leaves only with --tap-otlp-content, a secret never; and a collector
that is not there costs the agent nothing and is reported.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from tests.e2e.tap_process import free_port, proxy_only, tap_env
from tests.loopback import Loopback
from tests.unit.test_otlp_export import Collector

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

MODEL = "claude-sonnet-4-5"
PROMPT = "what does the parse function return? the private prompt words"
SECRET = "sk-ant-api03-" + "L" * 40  # a key pasted into the prompt: redacted by its shape
TIMEOUT = aiohttp.ClientTimeout(total=20)


async def messages(request: web.BaseRequest) -> web.Response:
    await request.read()
    return web.json_response(
        {
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "model": MODEL,
            "content": [{"type": "text", "text": "it returns 41, the private answer words"}],
            "stop_reason": "end_turn",
            "usage": {"input_tokens": 120, "output_tokens": 8, "cache_read_input_tokens": 30},
        }
    )


async def call(session: aiohttp.ClientSession, tap_url: str, turn: int) -> None:
    body = {
        "model": MODEL,
        "max_tokens": 64,
        "messages": [{"role": "user", "content": f"{PROMPT} ({turn}) key={SECRET}"}],
    }
    async with session.post(f"{tap_url}/v1/messages", json=body, headers={"x-api-key": SECRET}) as r:
        assert r.status == 200
        await r.read()


async def spans_named(collector: Collector, prefix: str, count: int, timeout_s: float = 10.0) -> list[dict]:
    deadline = time.monotonic() + timeout_s
    while True:
        found = [span for span in collector.spans() if span["name"].startswith(prefix)]
        if len(found) >= count or time.monotonic() > deadline:
            return found
        await asyncio.sleep(0.05)


@pytest.mark.parametrize("content", [False, True], ids=["no-content", "content"])
async def test_each_call_is_a_span_while_the_agent_runs(
    tmp_path: Path, loopback: Loopback, collector: Collector, content: bool
) -> None:
    loopback.route("messages", messages)
    flags = ["--tap-otlp-endpoint", collector.url] + (["--tap-otlp-content"] if content else [])
    # A collector behind authentication (Langfuse) gets its header from the SDK's own variable.
    env = tap_env(tmp_path, OTEL_EXPORTER_OTLP_HEADERS="Authorization=Basic%20cGs6c2s=")
    async with proxy_only(tmp_path, loopback.url, flags, env=env) as tap:
        async with aiohttp.ClientSession(timeout=TIMEOUT) as session:
            await call(session, tap.url, 1)
            await call(session, tap.url, 2)
        live = await spans_named(collector, "chat ", 2)
        assert len(live) == 2, "the calls' spans did not arrive while the tap ran"
        assert not await spans_named(
            collector, "claude-tap session", 1, timeout_s=0.3
        )  # that one: at the stop
        done = await tap.stop()

    assert done.returncode == 0, done.stderr
    (root,) = await spans_named(collector, "claude-tap session", 1)
    chats = await spans_named(collector, "chat ", 2)
    assert {span["trace_id"] for span in chats} == {root["trace_id"]}  # one trace for the session
    assert {span["parent"] for span in chats} == {root["span_id"]}
    assert root["attributes"].get("claude_tap.calls") == 2, root
    assert root["attributes"].get("claude_tap.client") == "claude", root
    first = chats[0]["attributes"]
    assert first["gen_ai.request.model"] == MODEL and first["gen_ai.provider.name"] == "anthropic"
    assert first["gen_ai.usage.input_tokens"] == 150  # cached tokens included, as the conventions say
    assert first["gen_ai.usage.output_tokens"] == 8
    assert first["gen_ai.response.finish_reasons"] == ["end_turn"]
    assert {headers["Authorization"] for headers in collector.headers} == {"Basic cGs6c2s="}
    sent = b"".join(collector.bodies)
    assert SECRET.encode() not in sent
    assert (b"private prompt words" in sent) is content and (b"private answer words" in sent) is content
    if content:
        prompts = [json.loads(span["events"]["gen_ai.content.prompt"]["gen_ai.prompt"]) for span in chats]
        assert "[REDACTED:" in json.dumps(prompts)  # the key in the prompt, as the trace stored it
    assert f"claude-tap: OpenTelemetry: 3 spans sent to {collector.url}/v1/traces" in done.stderr
    assert "not delivered" not in done.stderr


async def test_a_collector_that_is_not_there_costs_the_agent_nothing(
    tmp_path: Path, loopback: Loopback
) -> None:
    loopback.route("messages", messages)
    dead = f"http://127.0.0.1:{free_port()}"
    async with proxy_only(tmp_path, loopback.url, ["--tap-otlp-endpoint", dead]) as tap:
        async with aiohttp.ClientSession(timeout=TIMEOUT) as session:
            for turn in range(5):
                await call(session, tap.url, turn)  # each answered, as without the flag
        began = time.monotonic()
        done = await tap.stop()
        stop_s = time.monotonic() - began

    assert done.returncode == 0, done.stderr
    assert "claude-tap: 5 calls, 0 errors" in done.stderr
    assert f"OpenTelemetry: 0 spans sent to {dead}/v1/traces; warning: 6 not delivered" in done.stderr
    assert stop_s < 15, f"the stop waited {stop_s:.1f} s for a collector that is not there"


async def test_a_collector_that_never_answers_does_not_slow_a_call(
    tmp_path: Path, loopback: Loopback
) -> None:
    # Accepts the connection, reads, never answers: an export done on a call's path would hold it
    # for the exporter's whole timeout (1 s), far above a loopback call's time.
    held: list[asyncio.StreamWriter] = []

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)
        while await reader.read(65536):
            pass

    silent = await asyncio.start_server(hold, "127.0.0.1", 0)
    port = silent.sockets[0].getsockname()[1]
    loopback.route("messages", messages)
    try:
        async with proxy_only(
            tmp_path, loopback.url, ["--tap-otlp-endpoint", f"http://127.0.0.1:{port}"]
        ) as tap:
            async with aiohttp.ClientSession(timeout=TIMEOUT) as session:
                seconds = []
                for turn in range(8):
                    began = time.monotonic()
                    await call(session, tap.url, turn)
                    seconds.append(time.monotonic() - began)
                    await asyncio.sleep(0.3)  # let a batch be on its way to the silent collector
            began = time.monotonic()
            done = await tap.stop()
            stop_s = time.monotonic() - began
    finally:
        for writer in held:
            writer.close()
        silent.close()

    assert done.returncode == 0, done.stderr
    assert held, "the spans were never sent to the silent collector"
    assert max(seconds) < 0.5, f"a call waited on the collector: {[round(s, 3) for s in seconds]}"
    assert "not delivered" in done.stderr
    assert stop_s < 10, f"the stop waited {stop_s:.1f} s for a collector that never answers"
