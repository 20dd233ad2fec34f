"""The real Codex CLI through the real claude-tap process in FORWARD mode, over SSE and over WebSocket.

Codex gets no base URL: it talks to https://api.openai.com as it would without the tap, through
HTTPS_PROXY, trusting the tap's CA through the bundle in SSL_CERT_FILE / CODEX_CA_CERTIFICATE. The tap
decrypts api.openai.com and reaches the loopback TLS Responses stand-in under that name through
--tap-resolve and --tap-upstream-ca. The same checks as reverse mode (test_codex_cli.py) apply.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from claude_tap.normalize.session import normalize_records
from tests.e2e.agents import agent_env, find_agent
from tests.e2e.real_cli import serving_as
from tests.e2e.responses_standin import ResponsesStandIn
from tests.e2e.test_codex_cli import (
    ANSWER,
    API_KEY,
    COMMAND,
    NOTES,
    CodexRun,
    assert_no_key_anywhere,
    assert_tool_round_trip,
    codex_dirs,
    codex_exec,
    redacted,
)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

UPSTREAM = "https://api.openai.com"


async def run_codex_forward(tmp_path: Path, *, websocket: bool) -> CodexRun:
    codex = find_agent("codex")
    home, workdir = codex_dirs(tmp_path)
    standin = ResponsesStandIn(command=COMMAND, websocket=websocket)
    async with serving_as(standin.app(), "api.openai.com", tmp_path) as vendor:
        env = agent_env(home, codex.parent, OPENAI_API_KEY=API_KEY)
        tap_args = ["--tap-proxy-mode", "forward", *vendor.tap_args]
        return await codex_exec(codex, home, workdir, env, tap_args, UPSTREAM, standin)


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
