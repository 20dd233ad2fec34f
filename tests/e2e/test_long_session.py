"""A long session through the real tap: every request resends the growing conversation, as Claude Code's
do. The trace stores what each request adds (body_ref); these prove it loses nothing and hides nothing:
a secret first seen late is redacted in every output, and a crash keeps every record written before it."""

from __future__ import annotations

import base64
import gzip
import json
import os
import re
import signal
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import zstandard

from claude_tap.normalize.session import normalize_records
from claude_tap.store.reader import ReadReport, read_records
from tests.e2e.tap_process import proxy_only, wait_for
from tests.loopback import Loopback

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

TIMEOUT = aiohttp.ClientTimeout(total=30)
SECRET = "sk-ant-api03-" + "Q7x" * 12
SYSTEM = [{"type": "text", "text": "You are a careful coding agent. " * 40}]


def body_of(messages: list[dict[str, Any]]) -> bytes:
    last = messages[-1]
    marked = [
        *messages[:-1],
        {**last, "content": [{**last["content"][0], "cache_control": {"type": "ephemeral"}}]},
    ]
    body = {"model": "claude-sonnet-4-5", "messages": marked, "system": SYSTEM, "max_tokens": 1024}
    return json.dumps(body, separators=(",", ":")).encode()


def message(turn: int) -> dict[str, Any]:
    role = "user" if turn % 2 else "assistant"
    if turn == 390:  # the secret arrives under a secret-named field, in a tool call's input
        block: dict[str, Any] = {
            "type": "tool_use",
            "id": "toolu_390",
            "name": "Deploy",
            "input": {"api_key": SECRET},
        }
        return {"role": "assistant", "content": [block]}
    text = f"turn {turn}: " + "some output of a tool " * 12
    if turn == 395:  # and later as plain text, where only its value can give it away
        text += f" (the key was {SECRET})"
    return {"role": role, "content": [{"type": "text", "text": text}]}


async def replay(tap_url: str, turns: int) -> None:
    messages: list[dict[str, Any]] = []
    async with aiohttp.ClientSession(timeout=TIMEOUT) as http:
        for turn in range(1, turns + 1):
            messages.append(message(turn))
            headers = {"content-type": "application/json"}
            async with http.post(
                f"{tap_url}/v1/messages", data=body_of(messages), headers=headers
            ) as response:
                assert response.status == 200
                await response.read()


def trace_text(session_dir: Path) -> str:
    with open(session_dir / "trace.jsonl.zst", "rb") as file:
        return zstandard.ZstdDecompressor().stream_reader(file).read().decode()


def page_payload(html: str) -> str:
    encoded = re.search(r'<script type="application/octet-stream" id="tap-payload">([^<]+)</script>', html)
    assert encoded, "no payload in the page"
    return gzip.decompress(base64.b64decode(encoded.group(1))).decode()


async def test_a_secret_first_seen_in_turn_390_is_redacted_in_every_output(
    tmp_path: Path, loopback: Loopback
) -> None:
    async with proxy_only(tmp_path, loopback.url) as tap:
        await replay(tap.url, 400)
        done = await tap.stop(signal.SIGINT)
        session_dir = tap.session_dir()
    assert done.returncode == 0, done.stderr

    stored = trace_text(session_dir)
    assert SECRET not in stored
    assert stored.count('"body_ref"') >= 390  # the history was not stored 400 times over
    records = list(read_records(session_dir / "trace.jsonl.zst"))
    _, turns = normalize_records(records)
    assert [len(turn["messages"]) for turn in turns] == list(range(1, 401))
    last = json.dumps(turns[-1]["request_body"])
    assert SECRET not in last
    assert last.count("[REDACTED:") >= 2  # the field, and the plain-text mention after it
    html = (session_dir / "trace.html").read_text()
    assert SECRET not in html and SECRET not in page_payload(html)
    assert SECRET not in (session_dir / "proxy.log").read_text() and SECRET not in done.stderr


async def test_a_crash_at_turn_200_keeps_every_record_written_before_it(
    tmp_path: Path, loopback: Loopback
) -> None:
    async with proxy_only(tmp_path, loopback.url) as tap:
        await replay(tap.url, 200)
        session_dir = tap.session_dir()
        trace = session_dir / "trace.jsonl.zst"
        await wait_for(
            lambda: sum(r["type"] == "exchange" for r in read_records(trace)) >= 199, 30, "199 records"
        )
        # Everything dies at once: the proxy and its recorder process.
        children = Path(f"/proc/{tap.proc.pid}/task/{tap.proc.pid}/children").read_text().split()
        for pid in [tap.proc.pid, *map(int, children)]:
            os.kill(pid, signal.SIGKILL)
        await tap.stop(signal.SIGKILL)

    report = ReadReport()
    records = list(read_records(trace, report))
    exchanges = [r for r in records if r["type"] == "exchange"]
    assert len(exchanges) >= 199 and report.skipped == 0
    _, turns = normalize_records(records)
    # Every record still reads whole: each continues one written before it.
    assert [len(turn["messages"]) for turn in turns] == list(range(1, len(exchanges) + 1))
    assert all(turn["request_body"]["system"] == SYSTEM for turn in turns)
