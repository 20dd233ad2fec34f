"""Spans read back from a real Arize Phoenix (PyPI `arize-phoenix`, pinned in .ci/run), started by the
test on loopback: live from the real claude-tap process (`--tap-otlp-endpoint`) and afterwards
(`claude-tap export TRACE --otlp`), through Phoenix's REST API.

Phoenix binds 127.0.0.1 on free ports, keeps its database in a temporary working directory, has its
telemetry off, and any request it makes elsewhere goes to a dead loopback proxy. The test skips only
when CLAUDE_TAP_TEST_PHOENIX (the `phoenix` executable) is unset; .ci/run sets it.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import aiohttp
import pytest

from tests.e2e.tap_process import free_port, proxy_only
from tests.e2e.test_otlp_live import MODEL, SECRET, call, messages
from tests.loopback import Loopback
from tests.unit.session_traces import make_session

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

PHOENIX = os.environ.get("CLAUDE_TAP_TEST_PHOENIX")
START_TIMEOUT_S = 120.0


@pytest.fixture(scope="module")
def phoenix(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not PHOENIX:
        pytest.skip("CLAUDE_TAP_TEST_PHOENIX is not set (the phoenix executable; .ci/run installs it)")
    workdir = tmp_path_factory.mktemp("phoenix")
    port, dead = free_port(), f"http://127.0.0.1:{free_port()}"
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(workdir),
        "PHOENIX_HOST": "127.0.0.1",
        "PHOENIX_PORT": str(port),
        "PHOENIX_GRPC_PORT": str(free_port()),
        "PHOENIX_WORKING_DIR": str(workdir),
        "PHOENIX_TELEMETRY_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "HTTPS_PROXY": dead,
        "HTTP_PROXY": dead,
        "NO_PROXY": "127.0.0.1,localhost",
    }
    log = (workdir / "phoenix.log").open("wb")
    server = subprocess.Popen([PHOENIX, "serve"], env=env, stdout=log, stderr=subprocess.STDOUT, cwd=workdir)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(server, url, workdir / "phoenix.log")
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


def _wait_healthy(server: subprocess.Popen[bytes], url: str, log: Path) -> None:
    import urllib.request

    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"phoenix exited ({server.returncode}):\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=1) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.25)
    raise AssertionError(f"phoenix did not start in {START_TIMEOUT_S:.0f} s:\n{log.read_text()[-3000:]}")


async def phoenix_spans(url: str, until: Callable[[list[dict]], bool]) -> list[dict]:
    """The spans Phoenix holds, once `until` holds for them (Phoenix ingests in the background)."""
    deadline = time.monotonic() + 20
    async with aiohttp.ClientSession() as session:
        while True:
            async with session.get(f"{url}/v1/projects/default/spans", params={"limit": "1000"}) as r:
                assert r.status == 200, await r.text()
                spans: list[dict] = (await r.json())["data"]
            if until(spans) or time.monotonic() > deadline:
                return spans
            await asyncio.sleep(0.25)


def of_session(spans: list[dict], session_name: str) -> list[dict]:
    """The spans of the trace whose root span names this session directory."""
    roots = [s for s in spans if s["attributes"].get("claude_tap.session") == session_name]
    trace_ids = {root["context"]["trace_id"] for root in roots}
    return [span for span in spans if span["context"]["trace_id"] in trace_ids]


async def test_phoenix_receives_each_call_live_without_prompt_text(
    tmp_path: Path, loopback: Loopback, phoenix: str
) -> None:
    loopback.route("messages", messages)
    async with proxy_only(tmp_path, loopback.url, ["--tap-otlp-endpoint", phoenix]) as tap:
        async with aiohttp.ClientSession() as session:
            await call(session, tap.url, 1)
            await call(session, tap.url, 2)
        done = await tap.stop()
    assert done.returncode == 0, done.stderr
    assert f"OpenTelemetry: 3 spans sent to {phoenix}/v1/traces" in done.stderr

    name = tap.session_dir().name
    spans = of_session(await phoenix_spans(phoenix, lambda got: len(of_session(got, name)) >= 3), name)
    (root,) = [span for span in spans if span["name"] == "claude-tap session"]
    chats = [span for span in spans if span["name"] == f"chat {MODEL}"]
    assert len(chats) == 2
    assert {span["parent_id"] for span in chats} == {root["context"]["span_id"]}
    attributes = chats[0]["attributes"]
    assert attributes["gen_ai.request.model"] == MODEL and attributes["gen_ai.system"] == "anthropic"
    assert attributes["gen_ai.usage.input_tokens"] == 150 and attributes["gen_ai.usage.output_tokens"] == 8
    assert root["attributes"]["claude_tap.calls"] == 2
    stored = json.dumps(spans)
    assert "private prompt words" not in stored and "private answer words" not in stored
    assert SECRET not in stored


async def test_phoenix_receives_an_exported_session_with_its_content_redacted(
    tmp_path: Path, phoenix: str
) -> None:
    session_dir = make_session(
        tmp_path / "traces",
        prompt="why does test_parse fail? the exported prompt words",
        tool_results=(f"def parse(): return 41  # ANTHROPIC_API_KEY={SECRET}",),
    )
    exported = subprocess.run(
        [
            sys.executable,
            "-m",
            "claude_tap",
            "export",
            str(session_dir),
            "--otlp",
            phoenix,
            "--tap-otlp-content",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "HOME": str(tmp_path)},
    )
    assert exported.returncode == 0, exported.stderr
    assert f"to {phoenix}/v1/traces, with prompts and completions" in exported.stderr

    name = session_dir.name
    spans = of_session(await phoenix_spans(phoenix, lambda got: len(of_session(got, name)) >= 2), name)
    assert [span["name"] for span in spans].count("claude-tap session") == 1
    stored = json.dumps(spans)
    assert "the exported prompt words" in stored  # asked for: the content is there
    assert SECRET not in stored and "[REDACTED:" in stored  # and the key in the tool output is not
