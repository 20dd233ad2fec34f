"""report.summarize: the exit summary's counts read back from the trace, deltas included."""

from __future__ import annotations

from pathlib import Path

from claude_tap.capture.redact import Redactor
from claude_tap.normalize.summary import summarize
from claude_tap.store.writer import TraceWriter
from tests.factories import json_post_exchange, session_record


def test_tokens_of_requests_stored_as_deltas_are_all_counted(tmp_path: Path) -> None:
    """Identical 20 KB requests: every one after the first is stored as a reference to the one
    before (body_ref with every large key `same`); each still counts its usage."""
    body = {"model": "claude-x", "messages": [{"role": "user", "content": "word " * 4000}]}
    reply = {
        "type": "message",
        "model": "claude-x",
        "content": [],
        "usage": {"input_tokens": 1200, "output_tokens": 3},
    }
    writer = TraceWriter(tmp_path / "trace.jsonl.zst", session_record(), Redactor())
    for seq in range(1, 20):
        exchange = json_post_exchange(body, reply)
        exchange.seq = seq
        writer.submit(exchange, block=True)
    writer.close(0)
    summary = summarize(tmp_path / "trace.jsonl.zst")
    assert summary.calls == 19
    assert summary.tokens is not None
    assert summary.tokens["input_tokens"] == 19 * 1200
    assert summary.tokens["output_tokens"] == 19 * 3
