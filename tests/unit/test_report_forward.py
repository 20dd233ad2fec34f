"""The exit summary in forward mode: tunnels and watchdog findings, counted from the trace on disk."""

from __future__ import annotations

from pathlib import Path

from claude_tap.normalize.summary import summarize
from claude_tap.report import summary_lines
from claude_tap.store.writer import WriterStats
from tests.factories import write_trace


def test_tunnels_and_notices_are_counted_from_the_trace(tmp_path: Path) -> None:
    trace = write_trace(
        tmp_path / "trace.jsonl.zst",
        [
            {"type": "tunnel", "host": "github.com", "port": 443, "bytes_up": 1, "bytes_down": 2},
            {"type": "tunnel", "host": "github.com", "port": 443, "bytes_up": 1, "bytes_down": 2},
            {"type": "tunnel", "host": "sentry.io", "port": 443, "bytes_up": 1, "bytes_down": 2},
            {"type": "notice", "kind": "certificate_rejected", "host": "api.anthropic.com"},
            {"type": "notice", "kind": "certificate_rejected", "host": "api.anthropic.com"},
            {"type": "notice", "kind": "no_requests", "after_s": 30},
        ],
    )
    summary = summarize(trace)
    assert summary.calls == 0  # neither is an exchange
    lines = summary_lines(summary, WriterStats(written=6, dropped=0, failed=0))
    assert "claude-tap: 3 connection(s) tunnelled undecrypted: github.com, sentry.io" in lines
    assert any("rejected claude-tap's certificate 2 time(s)" in line for line in lines)
    assert any("watchdog saw no request" in line for line in lines)


def test_a_reverse_mode_summary_has_no_forward_lines(tmp_path: Path) -> None:
    trace = write_trace(tmp_path / "trace.jsonl.zst", [])
    lines = summary_lines(summarize(trace), WriterStats(written=0, dropped=0, failed=0))
    assert lines == ["claude-tap: 0 calls, 0 errors; tokens: 0 input, 0 output, 0 cache read, 0 cache write"]
