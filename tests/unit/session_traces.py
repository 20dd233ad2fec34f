"""Session directories with real trace files, for the session index tests.

`make_session` writes `<root>/<day>/<time>-<client>-<id>/trace.jsonl.zst` the way the writer lays a
session out: a session record, Anthropic Messages exchanges whose requests repeat the conversation
(a user prompt, then the assistant's tool call and its result, ...), an end record.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from tests.factories import json_exchange_record, session_record, write_trace

SYSTEM = "You are a careful coding agent working in a repository."
TOOLS = [{"name": "Read", "description": "read a file", "input_schema": {"type": "object"}}]


def _reply(text: str, tool: str | None, usage: dict[str, int]) -> dict[str, Any]:
    content: list[dict[str, Any]] = [{"type": "text", "text": text}]
    if tool is not None:
        content.append({"type": "tool_use", "id": tool, "name": "Read", "input": {"path": "src/app.py"}})
    return {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5",
        "content": content,
        "stop_reason": "tool_use" if tool else "end_turn",
        "usage": usage,
    }


def session_records(
    *,
    started_at: str = "2025-01-02T03:04:05+00:00",
    client: str = "claude",
    prompt: str = "why does test_parse fail?",
    tool_results: tuple[str, ...] = ("def parse(): return 42",),
    final: str = "It returns the wrong value.",
    status: int = 200,
) -> list[dict[str, Any]]:
    """A session of len(tool_results) + 1 calls: each call adds one tool result to the conversation."""
    day = started_at[:10]
    records: list[dict[str, Any]] = [session_record(client=client, started_at=started_at)]
    messages: list[dict[str, Any]] = [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "<system-reminder>tools are available</system-reminder>"},
                {"type": "text", "text": prompt},
            ],
        }
    ]
    usage = {"input_tokens": 10, "output_tokens": 5, "cache_read_input_tokens": 100}
    for seq in range(1, len(tool_results) + 2):
        is_last = seq == len(tool_results) + 1
        tool_id = None if is_last else f"toolu_{seq}"
        reply = _reply(final if is_last else f"Reading the file, step {seq}.", tool_id, usage)
        body = {
            "model": "claude-sonnet-4-5",
            "system": [{"type": "text", "text": SYSTEM}],
            "tools": TOOLS,
            "messages": list(messages),
            "max_tokens": 1000,
        }
        record = json_exchange_record(seq, body, reply, started_at=f"{day}T03:05:{seq:02d}+00:00")
        if is_last and status != 200:
            record["response"]["status"] = status
        records.append(record)
        if not is_last:
            messages.append({"role": "assistant", "content": reply["content"]})
            result = {"type": "tool_result", "tool_use_id": tool_id, "content": tool_results[seq - 1]}
            messages.append({"role": "user", "content": [result]})
    records.append({"type": "end", "exit_code": 0, "exchanges": len(records) - 1, "dropped": 0, "failed": 0})
    return records


def make_session(root: Path, **fields: Any) -> Path:
    """Write a session directory under `root` (see session_records for `fields`) and return it."""
    started_at = fields.get("started_at", "2025-01-02T03:04:05+00:00")
    client = fields.get("client", "claude")
    session_dir = (
        root / started_at[:10] / f"{started_at[11:19].replace(':', '')}-{client}-{secrets.token_hex(3)}"
    )
    session_dir.mkdir(parents=True)
    write_trace(session_dir / "trace.jsonl.zst", session_records(**fields))
    return session_dir
