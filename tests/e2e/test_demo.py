"""`claude-tap demo`: a real trace with no key, no agent and no network, and the stand-in it talks to.

The first test runs the real command as a user would; the others check the demo upstream's wire format
directly over loopback, since the demo is only as convincing as the stream it records.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest

from claude_tap.demo.agent import PLACEHOLDER_KEY
from claude_tap.demo.upstream import split_evenly, split_words
from claude_tap.store.index import SessionIndex
from claude_tap.store.reader import read_records
from tests.e2e.tap_process import REPO, run_tap, tap_env

pytestmark = pytest.mark.e2e

HEADERS = {"x-api-key": "sk-ant-test-demo-upstream-000", "anthropic-version": "2023-06-01"}


async def test_demo_records_a_coding_session_with_a_tool_round_trip(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = tap_env(tmp_path, HTTPS_PROXY="http://127.0.0.1:9")  # nothing may leave the machine: a dead proxy
    done = await run_tap(tmp_path, ["demo", "--tap-no-open"], env)
    stdout, stderr = done.stdout.decode(), done.stderr
    assert done.returncode == 0, stderr
    # The agent's conversation is on stdout; the tap's banner and summary on stderr.
    assert "tool>      read_file" in stdout and "test_calc.py: 2 passed" in stdout
    assert "recording demo through a reverse proxy" in stderr and "recording" not in stdout
    assert "6 calls, 0 errors" in stderr

    traces = sorted(home.rglob("trace.jsonl.zst"))
    assert len(traces) == 1
    session_dir = traces[0].parent
    assert f"open {(session_dir / 'trace.html').as_uri()}" in stderr
    assert (session_dir / "trace.html").stat().st_size > 0
    records = list(read_records(traces[0]))
    assert records[0]["type"] == "session" and records[0]["client"] == "demo"
    assert records[-1]["type"] == "end" and records[-1]["exit_code"] == 0
    exchanges = [r for r in records if r["type"] == "exchange"]
    paths = [e["request"]["path"] for e in exchanges]
    assert paths == ["/v1/messages", "/v1/messages/count_tokens"] + ["/v1/messages?beta=true"] * 4
    assert [e["transport"] for e in exchanges] == ["http", "http", "sse", "sse", "sse", "sse"]

    streamed = exchanges[2:]
    first = streamed[0]
    assert [t["name"] for t in first["request"]["body"]["tools"]] == ["read_file", "edit_file", "run_tests"]
    reply = first["response"]["body"]
    assert [b["type"] for b in reply["content"]] == ["thinking", "text", "tool_use"]
    assert reply["content"][0]["signature"].startswith("EqQB")
    assert reply["content"][2]["input"] == {"path": "calc.py"}
    assert reply["usage"]["cache_creation_input_tokens"] > 0
    assert streamed[1]["response"]["body"]["usage"]["cache_read_input_tokens"] > 0
    # Each tool call's id comes back in the next request as a tool_result with what the tool did.
    for call, answer in zip(streamed, streamed[1:], strict=False):
        tool_use = call["response"]["body"]["content"][-1]
        result = answer["request"]["body"]["messages"][-1]["content"][0]
        assert (result["type"], result["tool_use_id"]) == ("tool_result", tool_use["id"])
    assert "return a - b" in streamed[1]["request"]["body"]["messages"][-1]["content"][0]["content"]
    assert streamed[-1]["response"]["body"]["stop_reason"] == "end_turn"
    assert "2 passed" in streamed[-1]["response"]["body"]["content"][0]["text"]
    # The placeholder key was redacted like a real one.
    assert PLACEHOLDER_KEY not in (session_dir / "proxy.log").read_text()
    assert PLACEHOLDER_KEY not in json.dumps(records)
    # The run ends with the session in the index: `sessions` and `search` have nothing to catch up on.
    with SessionIndex.open(home / ".claude-tap" / "index.sqlite3") as index:
        rows = index.sessions()
        hits = index.search("calc.py")
    assert [(row.session_dir, row.calls, row.client) for row in rows] == [(str(session_dir), 6, "demo")]
    assert hits and {hit.session.session_dir for hit in hits} == {str(session_dir)}


# --- the stand-in's wire format ---


def parse_sse(text: str) -> list[tuple[str, dict]]:
    events = []
    for block in text.split("\n\n"):
        if block.strip():
            fields = dict(line.split(": ", 1) for line in block.splitlines())
            events.append((fields["event"], json.loads(fields["data"])))
    return events


async def test_stream_has_every_event_kind_and_the_deltas_rebuild_the_message(upstream: str) -> None:
    body = {
        "model": "claude-sonnet-4-5",
        "max_tokens": 100,
        "stream": True,
        "messages": [{"role": "user", "content": "fix it"}],
    }
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{upstream}/v1/messages", json=body, headers=HEADERS) as r,
    ):
        assert r.status == 200
        assert r.headers["content-type"] == "text/event-stream; charset=utf-8"
        assert r.headers["request-id"].startswith("req_")
        events = parse_sse(await r.text())
    names = [name for name, _ in events]
    assert names[:2] == ["message_start", "ping"] and names[-2:] == ["message_delta", "message_stop"]
    deltas = [data["delta"] for name, data in events if name == "content_block_delta"]
    thinking = "".join(d["thinking"] for d in deltas if d["type"] == "thinking_delta")
    text = "".join(d["text"] for d in deltas if d["type"] == "text_delta")
    tool_json = "".join(d["partial_json"] for d in deltas if d["type"] == "input_json_delta")
    assert thinking.startswith("The user says add() is broken")
    assert text == "I'll start by reading calc.py."
    assert json.loads(tool_json) == {"path": "calc.py"}
    assert sum(d["type"] == "input_json_delta" for d in deltas) == 3
    assert [d["type"] for d in deltas].count("signature_delta") == 1
    start = events[0][1]["message"]
    assert start["content"] == [] and start["usage"]["output_tokens"] == 1
    delta = events[-2][1]
    assert delta["delta"]["stop_reason"] == "tool_use" and delta["usage"]["output_tokens"] > 1


async def test_non_streaming_message_and_count_tokens(upstream: str) -> None:
    body = {
        "model": "claude-haiku-4-5",
        "max_tokens": 10,
        "messages": [{"role": "user", "content": "title?"}],
    }
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{upstream}/v1/messages", json=body, headers=HEADERS) as r:
            message = await r.json()
        async with http.post(f"{upstream}/v1/messages/count_tokens", json=body, headers=HEADERS) as r:
            counted = await r.json()
    assert message["model"] == "claude-haiku-4-5" and message["content"][0]["text"] == "Fix add() in calc.py"
    assert message["stop_reason"] == "end_turn" and message["usage"]["input_tokens"] > 0
    assert counted == {"input_tokens": len(json.dumps(body)) // 4}


async def test_missing_key_gets_the_apis_authentication_error(upstream: str) -> None:
    async with aiohttp.ClientSession() as http, http.post(f"{upstream}/v1/messages", json={}) as r:
        assert r.status == 401
        assert (await r.json())["error"]["type"] == "authentication_error"


def test_split_pieces_join_back_exactly() -> None:
    text = "one two  three\nfour five six seven eight nine"
    assert "".join(split_words(text)) == text
    assert "".join(split_evenly('{"path": "calc.py"}', parts=3)) == '{"path": "calc.py"}'
    assert split_evenly("ab", parts=3) == ["ab"]


def test_demo_agent_refuses_to_run_without_a_base_url() -> None:
    env = {k: v for k, v in os.environ.items() if k != "ANTHROPIC_BASE_URL"}
    env["PYTHONPATH"] = str(REPO)
    done = subprocess.run(
        [sys.executable, "-m", "claude_tap.demo.agent"], env=env, capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 2
    assert "ANTHROPIC_BASE_URL is not set" in done.stderr
