"""The real Claude Code CLI through the real claude-tap process in FORWARD mode.

Claude Code gets no base URL: it talks to https://api.anthropic.com as it would without the tap,
through HTTPS_PROXY, trusting the tap's CA through NODE_EXTRA_CA_CERTS. The tap decrypts
api.anthropic.com and reaches the loopback TLS stand-in under that name through --tap-resolve and
--tap-upstream-ca; everything else Claude Code opens is tunnelled to the tap's own (dead) proxy.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from pathlib import Path

import pytest

from claude_tap.proxy.ca import LocalCa
from tests.e2e.agents import agent_env, find_agent
from tests.e2e.anthropic_standin import AnthropicStandIn
from tests.e2e.real_cli import agent_dirs, listening
from tests.e2e.tap_process import whole_records

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

API_KEY = "sk-ant-api03-forward-dummy-key-0123456789abcdef"


async def test_claude_code_through_the_forward_proxy_is_recorded(tmp_path: Path) -> None:
    claude = find_agent("claude")
    home, workdir = agent_dirs(tmp_path)
    notes = workdir / "notes.txt"
    notes.write_text("the secret word is BANANA\n")
    vendor = LocalCa.load_or_create(tmp_path / "vendor-ca", logging.getLogger("test").warning)
    standin = AnthropicStandIn(read_path=str(notes))
    async with listening(standin.app(), vendor.server_context("api.anthropic.com")) as port:
        env = agent_env(home, claude.parent, ANTHROPIC_API_KEY=API_KEY)
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "claude_tap", "--tap-no-open", "--tap-proxy-mode", "forward",
            "--tap-upstream-ca", str(vendor.cert_path),
            "--tap-resolve", f"api.anthropic.com:443:127.0.0.1:{port}",
            "--", "-p", "What does notes.txt say?",
            cwd=workdir, env=env, stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        stdout, stderr = await asyncio.wait_for(proc.communicate(), timeout=120)
    out, err = stdout.decode(errors="replace"), stderr.decode(errors="replace")
    assert proc.returncode == 0, err
    # The agent worked through the tap: it ran its Read tool and answered from the stand-in.
    assert "The tool said:" in out and "BANANA" in out, (out, err)
    assert len(standin.requests) == 2
    assert "through a forward proxy (--tap-proxy-mode)" in err
    assert "rejected claude-tap's certificate" not in err

    traces = sorted((home / ".claude-tap").rglob("trace.jsonl.zst"))
    assert len(traces) == 1, traces
    records = whole_records(traces[0])
    assert records[0]["mode"] == "forward"
    exchanges = [r for r in records if r["type"] == "exchange"]
    messages = [
        r for r in exchanges if r["request"]["url"].startswith("https://api.anthropic.com/v1/messages")
    ]
    assert len(messages) == 2
    first, second = messages
    assert first["transport"] == "sse" and first["response"]["complete"] is True
    assert first["request"]["body"]["messages"] == standin.requests[0].body["messages"]
    assert first["response"]["body"]["content"][0]["name"] == "Read"
    assert "BANANA" in second["response"]["body"]["content"][0]["text"]
    # No secret anywhere the tap writes.
    log = (traces[0].parent / "proxy.log").read_text()
    for output in (json.dumps(records), log, err, out, (traces[0].parent / "trace.html").read_text()):
        assert API_KEY not in output
    assert first["request"]["headers"]["x-api-key"].startswith("[REDACTED:")
