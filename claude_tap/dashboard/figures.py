"""The dashboard's figures, from the sessions index and one session's turns. Pure: no I/O.

- `session_json`: a listed session as the page shows it.
- `daily_totals`: tokens and cost per day (local time) and client, for the charts.
- `context_growth`: per turn of one session, the prompt's size (input, cache reads and writes: what
  filled the context window) and the answer's, in order, so the page can chart how the context grew.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from claude_tap.normalize.model import Turn
from claude_tap.sessions_cli import row_json
from claude_tap.store.index import SessionRow


def session_json(row: SessionRow) -> dict[str, Any]:
    """A listed session as `claude-tap sessions --json` gives it, and its day for the charts."""
    return {**row_json(row), "day": _day(row.started_ts)}


def daily_totals(rows: Iterable[SessionRow]) -> list[dict[str, Any]]:
    """[{day, client, tokens, cost_usd, sessions, calls}], by day then client."""
    totals: dict[tuple[str, str], dict[str, Any]] = {}
    for row in rows:
        key = (_day(row.started_ts), row.client or "unknown")
        entry = totals.setdefault(
            key, {"day": key[0], "client": key[1], "tokens": 0, "cost_usd": 0.0, "sessions": 0, "calls": 0}
        )
        entry["tokens"] += row.total_tokens
        entry["cost_usd"] += row.cost_usd
        entry["sessions"] += 1
        entry["calls"] += row.calls
    return [totals[key] for key in sorted(totals)]


def context_growth(turns: Sequence[Turn]) -> list[dict[str, Any]]:
    """[{turn, thread, model, input, cache_read, cache_write, output}] for each turn that reported usage;
    `turn` is the number the viewer shows (from 1)."""
    points = []
    for turn in turns:
        usage = turn["usage"]
        if usage is None:
            continue
        points.append(
            {
                "turn": turn["index"] + 1,
                "thread": turn["thread"] or "main",
                "model": turn["model"],
                "input": usage["input_tokens"],
                "cache_read": usage["cache_read_tokens"],
                "cache_write": usage["cache_write_tokens"],
                "output": usage["output_tokens"],
            }
        )
    return points


def _day(ts: float | None) -> str:
    return datetime.fromtimestamp(ts).strftime("%Y-%m-%d") if ts is not None else "unknown"
