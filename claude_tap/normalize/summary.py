"""The exit summary's figures, counted record by record: calls, errors, tokens, tunnels, notices,
probes answered "not found", and the threads and cache line.

The recorder counts them as it models each written record, so the tap prints them the moment the
recorder closes; `summarize` counts the same from a trace file (when the recorder could not, or for a
trace read later). Tokens are added up from the session's turns, the very ones the viewer shows (one
usage definition: normalize/usage.py), so the summary agrees with the page and no record is
normalized twice.

This module knows trace records; nothing of terminals, sockets or the trace file's encoding.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from claude_tap.normalize.failures import is_probe_miss
from claude_tap.normalize.model import Turn

log = logging.getLogger("claude_tap")

TOKEN_KEYS = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens")


@dataclass
class Summary:
    """The exit summary, counted from the records on disk."""

    calls: int = 0
    errors: int | None = 0  # None: unknown (the trace could not be read back)
    tokens: dict[str, int] | None = field(default_factory=lambda: dict.fromkeys(TOKEN_KEYS, 0))
    tunnels: int = 0  # forward mode: connections passed on undecrypted
    tunnel_hosts: set[str] = field(default_factory=set)
    notices: dict[str, int] = field(default_factory=dict)  # watchdog findings by kind
    probe_misses: dict[str, int] = field(default_factory=dict)  # by path: not errors (normalize/failures.py)
    insight: str | None = None  # threads, cache misses, fullest context (normalize/analysis.py)


class SummaryCounter:
    """`add` each record in file order; `finish` with the session's turns (tokens, the insight line)."""

    def __init__(self) -> None:
        self._summary = Summary()

    def add(self, record: Any) -> None:
        seen = self._summary
        kind = record.get("type") if isinstance(record, dict) else None
        if kind == "tunnel":
            seen.tunnels += 1
            seen.tunnel_hosts.add(str(record.get("host")))
        elif kind == "notice":
            notice = str(record.get("kind"))
            seen.notices[notice] = seen.notices.get(notice, 0) + 1
        elif kind == "exchange":
            self._add_exchange(record)

    def _add_exchange(self, record: dict[str, Any]) -> None:
        seen = self._summary
        seen.calls += 1
        request = record.get("request") or {}
        status = (record.get("response") or {}).get("status")
        if not record.get("error") and is_probe_miss(
            str(request.get("method")), str(request.get("path")), status
        ):
            path = str(request.get("path")).partition("?")[0]
            seen.probe_misses[path] = seen.probe_misses.get(path, 0) + 1
        elif record.get("error") or status is None or status >= 400:
            seen.errors = (seen.errors or 0) + 1

    def finish(self, turns: list[Turn]) -> Summary:
        """The summary, with the tokens and the insight line of `turns` (the session's, as the viewer
        has them: the turns of the exchanges added here, and of imported transcripts)."""
        summary = self._summary
        tokens = summary.tokens = dict.fromkeys(TOKEN_KEYS, 0)
        for turn in turns:
            usage = turn["usage"]
            if usage is not None and turn["transport"] != "transcript":  # transcripts: not calls made
                for key in TOKEN_KEYS:
                    tokens[key] += int(usage[key])  # type: ignore[literal-required]
        if summary.calls:
            summary.insight = _insight(turns)
        return summary


def _insight(turns: list[Turn]) -> str | None:
    """The threads and cache line; a bug in it must not cost the rest of the summary."""
    from claude_tap.normalize.analysis import summary_line

    try:
        return summary_line(turns)
    except Exception:
        log.exception("the threads and cache line failed")
        return None


def summarize(trace_path: Path) -> Summary:
    """The summary of a trace file."""
    from claude_tap.normalize.session import SessionCollector
    from claude_tap.store.reader import read_records

    collector = SessionCollector()
    counter = SummaryCounter()
    for record in read_records(trace_path):
        collector.add(record)
        counter.add(record)
    return counter.finish(collector.finish()[1])
