"""The real Codex CLI through the real claude-tap process in FORWARD mode, over SSE and over WebSocket.

Codex gets no base URL: it talks to https://api.openai.com as it would without the tap, through
HTTPS_PROXY, trusting the tap's CA through the bundle in SSL_CERT_FILE / CODEX_CA_CERTIFICATE. The tap
decrypts api.openai.com and reaches the loopback TLS Responses stand-in under that name through
--tap-resolve and --tap-upstream-ca. The same checks as reverse mode (test_codex_cli.py) apply.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from aiohttp import web

from claude_tap.normalize.session import normalize_records
from claude_tap.proxy.ca import LocalCa
from tests.e2e.agents import agent_env, find_agent
from tests.e2e.responses_standin import ResponsesStandIn
from tests.e2e.tap_process import whole_records
from tests.e2e.test_codex_cli import (
    ANSWER,
    API_KEY,
    CODEX_CONFIG,
    COMMAND,
    NOTES,
    CodexRun,
    assert_no_key_anywhere,
    assert_tool_round_trip,
    redacted,
    run,
)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

UPSTREAM = "https://api.openai.com"


@asynccontextmanager
async def serving_tls(standin: ResponsesStandIn, vendor: LocalCa) -> AsyncIterator[int]:
    runner = web.AppRunner(standin.app())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=vendor.server_context("api.openai.com"))
    await site.start()
    try:
        yield site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    finally:
        await runner.cleanup()


async def run_codex_forward(tmp_path: Path, *, websocket: bool) -> CodexRun:
    codex = find_agent("codex")
    home = tmp_path / "home"
    (home / ".codex").mkdir(parents=True)
    (home / ".codex" / "config.toml").write_text(CODEX_CONFIG)
    workdir = tmp_path / "project"
    workdir.mkdir()
    (workdir / "notes.txt").write_text(NOTES + "\n")
    vendor = LocalCa.load_or_create(tmp_path / "vendor-ca", logging.getLogger("test").warning)
    standin = ResponsesStandIn(command=COMMAND, websocket=websocket)
    async with serving_tls(standin, vendor) as port:
        env = agent_env(home, codex.parent, OPENAI_API_KEY=API_KEY)
        code, _, err = await run([str(codex), "login", "--with-api-key"], workdir, env, API_KEY.encode())
        assert code == 0, err
        tap = [
            sys.executable, "-m", "claude_tap", "--tap-client", "codex", "--tap-no-open",
            "--tap-proxy-mode", "forward", "--tap-upstream-ca", str(vendor.cert_path),
            "--tap-resolve", f"api.openai.com:443:127.0.0.1:{port}", "--",
        ]  # fmt: skip
        prompt = ["exec", "--skip-git-repo-check", "--dangerously-bypass-approvals-and-sandbox"]
        code, out, err = await run([*tap, *prompt, "What does notes.txt say?"], workdir, env)
    traces = sorted((home / ".claude-tap").rglob("trace.jsonl.zst"))
    assert len(traces) == 1, (traces, err)
    records = whole_records(traces[0])
    html = (traces[0].parent / "trace.html").read_text()
    return CodexRun(code, out, err, standin, UPSTREAM, records, html)


def assert_codex_answered(result: CodexRun) -> None:
    """As in reverse mode (the agent ran the command and answered; the key reached the upstream);
    the banner names what is decrypted instead of a URL rule."""
    assert result.returncode == 0, result.stderr
    assert ANSWER in result.stdout, (result.stdout, result.stderr)
    assert COMMAND in result.stderr and NOTES in result.stderr
    assert all(r.headers["Authorization"] == f"Bearer {API_KEY}" for r in result.standin.requests)
    assert "decrypts   api.openai.com, chatgpt.com; others are tunnelled" in result.stderr


def assert_forward_session(records: list[dict]) -> None:
    assert (records[0]["client"], records[0]["mode"], records[0]["target"]) == ("codex", "forward", UPSTREAM)
    assert records[-1]["type"] == "end" and records[-1]["exit_code"] == 0


async def test_codex_over_sse_through_the_forward_proxy(tmp_path: Path) -> None:
    result = await run_codex_forward(tmp_path, websocket=False)
    assert_codex_answered(result)
    assert "rejected claude-tap's certificate" not in result.stderr
    assert result.standin.refused_upgrades >= 1  # a WebSocket was tried first, through the tap
    assert_no_key_anywhere(result)
    assert_forward_session(result.records)
    exchanges = [r for r in result.records if r["type"] == "exchange" and r["transport"] == "sse"]
    assert len(exchanges) == 2
    for exchange in exchanges:
        assert exchange["request"]["url"] == f"{UPSTREAM}/v1/responses"
        assert exchange["request"]["headers"]["authorization"] == f"Bearer {redacted(API_KEY)}"
        assert exchange["response"]["complete"] is True
    _, turns = normalize_records(result.records)
    assert_tool_round_trip([turn for turn in turns if turn["transport"] == "sse"])


async def test_codex_over_websocket_through_the_forward_proxy(tmp_path: Path) -> None:
    result = await run_codex_forward(tmp_path, websocket=True)
    assert_codex_answered(result)
    assert result.standin.sockets == 1 and result.standin.refused_upgrades == 0
    assert_no_key_anywhere(result)
    assert_forward_session(result.records)
    exchanges = [r for r in result.records if r["type"] == "exchange"]
    sockets = [r for r in exchanges if r["transport"] == "websocket"]
    assert len(sockets) == 1, [(r["transport"], r["request"]["url"], r.get("error")) for r in exchanges]
    socket = sockets[0]
    assert socket["transport"] == "websocket" and socket["response"]["status"] == 101
    assert socket["request"]["url"] == f"{UPSTREAM}/v1/responses"
    frames = [json.loads(e["data"]) for e in socket["response"]["events"] if e["direction"] == "server"]
    assert [f["type"] for f in frames].count("response.completed") == 3
    _, turns = normalize_records(result.records)
    # Codex also asks chatgpt.com (a decrypted host) for its model list: recorded, and stopped at the
    # tap's own dead upstream proxy, so nothing leaves the machine.
    others = [r for r in exchanges if r is not socket]
    assert all(
        r["request"]["url"].startswith("https://chatgpt.com/") and "127.0.0.1', 9" in r["error"]
        for r in others
    )
    assert_tool_round_trip([turn for turn in turns if turn["transport"] == "websocket"][1:])
