"""The real Claude Code CLI, run through the real claude-tap process, against a loopback stand-in.

This is the product's promise in one test: the agent works as if the tap were not there (it reads a
file with its Read tool and answers), and the trace holds what really went over the wire: system
prompt, tools, messages, the reassembled streamed response, usage, and no secret.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import pytest

from tests.e2e.agents import agent_env, find_agent
from tests.e2e.anthropic_standin import AnthropicStandIn
from tests.e2e.real_cli import listening
from tests.e2e.tap_process import whole_records

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

API_KEY = "sk-ant-api03-e2e-dummy-key-0123456789abcdef"


def read_trace(home: Path) -> list[dict]:
    traces = sorted((home / ".claude-tap").rglob("trace.jsonl.zst"))
    assert len(traces) == 1, traces
    return whole_records(traces[0])


async def test_claude_code_tool_round_trip_is_recorded(tmp_path: Path) -> None:
    claude = find_agent("claude")
    workdir = tmp_path / "project"
    workdir.mkdir()
    notes = workdir / "notes.txt"
    notes.write_text("the secret word is BANANA\n")
    standin = AnthropicStandIn(read_path=str(notes))
    async with listening(standin.app()) as port:
        env = agent_env(
            tmp_path / "home",
            claude.parent,
            ANTHROPIC_API_KEY=API_KEY,
            ANTHROPIC_BASE_URL=f"http://127.0.0.1:{port}",
        )
        (tmp_path / "home").mkdir()
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "claude_tap",
            "--tap-no-open",
            "--",
            "-p",
            "What does notes.txt say?",
            cwd=workdir,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        stdout, stderr = await asyncio.wait_for(proc.communicate(), timeout=120)
    err = stderr.decode(errors="replace")
    assert proc.returncode == 0, err
    # The agent worked through the tap: it ran its Read tool and answered from the stand-in.
    assert "The tool said:" in stdout.decode() and "BANANA" in stdout.decode(), (stdout, err)
    assert len(standin.requests) == 2
    assert standin.requests[0].path_qs.startswith("/v1/messages")
    # The tap said where requests go, and never printed the key.
    assert f"http://127.0.0.1:{port}" in err
    assert API_KEY not in err and API_KEY not in stdout.decode()

    records = read_trace(tmp_path / "home")
    assert records[0]["type"] == "session" and records[0]["client"] == "claude"
    assert records[-1]["type"] == "end" and records[-1]["exit_code"] == 0
    exchanges = [r for r in records if r["type"] == "exchange"]
    assert len(exchanges) == 2
    first, second = exchanges
    # What was recorded is what the upstream received.
    assert first["request"]["body"]["messages"] == standin.requests[0].body["messages"]
    assert first["request"]["body"]["system"] == standin.requests[0].body["system"]
    tool_names = {t["name"] for t in first["request"]["body"]["tools"]}
    assert {"Read", "Bash"} <= tool_names
    assert first["transport"] == "sse" and first["response"]["complete"] is True
    # The streamed tool call was reassembled, its JSON input parsed from the split deltas.
    reassembled = first["response"]["body"]
    assert reassembled["stop_reason"] == "tool_use"
    assert reassembled["content"][0] == {
        "type": "tool_use",
        "id": "toolu_standin_1",
        "name": "Read",
        "input": {"file_path": str(notes)},
    }
    assert reassembled["usage"]["output_tokens"] == 7
    assert reassembled["usage"]["cache_read_input_tokens"] == 2000
    # The second request carries the tool result; its answer is reassembled text.
    results = [
        b for b in second["request"]["body"]["messages"][-1]["content"] if b.get("type") == "tool_result"
    ]
    assert "BANANA" in json.dumps(results)
    assert second["response"]["body"]["content"][0]["type"] == "text"
    assert "BANANA" in second["response"]["body"]["content"][0]["text"]
    assert [e["event"] for e in second["response"]["events"]][0] == "message_start"
    # No secret in the trace: the key was redacted to a short hash.
    raw = json.dumps(records)
    assert API_KEY not in raw
    assert first["request"]["headers"]["x-api-key"].startswith("[REDACTED:")
    # The viewer file was written at exit.
    html = sorted((tmp_path / "home" / ".claude-tap").rglob("trace.html"))
    assert html and html[0].stat().st_size > 0 and API_KEY not in html[0].read_text()
