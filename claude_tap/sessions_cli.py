"""`claude-tap sessions`, `claude-tap search` and `claude-tap index`: the commands over the session index.

    claude-tap sessions [TEXT] [--client NAME] [--since WHEN] [--until WHEN] [--limit N] [--json]
    claude-tap sessions prune (--older-than AGE | --keep N) [--dry-run]
    claude-tap search TEXT [--client NAME] [--since WHEN] [--until WHEN] [--limit N] [--json] [--open]
    claude-tap index [--rebuild]

Each one first brings the index up to date with the traces (sessions.py), so it always lists what is on
disk. Answers go to stdout, warnings and progress to stderr. `prune` deletes only what it is asked to,
and asks nothing: `--dry-run` shows what it would delete.

`add_arguments` defines these commands' own arguments for options.py; `run` does the work.
This module knows the commands' words and output; the index and the traces are sessions.py's.
"""

from __future__ import annotations

import argparse
import json
import re
import time
import webbrowser
from collections.abc import Callable, Mapping
from dataclasses import asdict
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from claude_tap.sessions import (
    RECORDING_GRACE_S,
    delete_session,
    open_index,
    rebuild_index,
    sessions_to_prune,
    update_index,
)
from claude_tap.store.index import Hit, IndexBusyError, SessionFilter, SessionIndex, SessionRow
from claude_tap.store.paths import HTML_FILE, traces_root

if TYPE_CHECKING:
    from claude_tap.cli import Environment
    from claude_tap.options import Command

COMMANDS = ("sessions", "search", "index")
_UNITS_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_AGE = re.compile(r"\d+(\.\d+)?[smhdwSMHDW]")
PROMPT_WIDTH = 60


# -- arguments ------------------------------------------------------------------------------------


def parse_age(value: str) -> float:
    """`30d`, `12h`, `90m`, `2w`, `45s` -> seconds."""
    text = value.strip().lower()
    unit = _UNITS_S.get(text[-1:]) if text else None
    try:
        amount = float(text[:-1]) if unit else -1.0
    except ValueError:
        amount = -1.0
    if unit is None or not amount >= 0:
        raise argparse.ArgumentTypeError(f"{value!r} is not an age; e.g. 30d, 12h, 2w (s, m, h, d, w)")
    return amount * unit


def parse_when(value: str, *, is_end: bool = False) -> float:
    """A point in time: an age ago (`7d`), a date (`2025-06-01`, local midnight; as an end, the day
    is included) or an ISO-8601 time. Returns POSIX seconds."""
    text = value.strip()
    if _AGE.fullmatch(text):
        return time.time() - parse_age(text)
    try:
        day = date.fromisoformat(text)
    except ValueError:
        day = None
    if day is not None and len(text) == 10:
        start = datetime(day.year, day.month, day.day).astimezone()
        return (start + timedelta(days=1) if is_end else start).timestamp()
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a date; e.g. 2025-06-01, 2025-06-01T14:30, or 7d (seven days ago)"
        ) from None
    return (moment if moment.tzinfo else moment.astimezone()).timestamp()


def _count(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = -1
    if number < 0:
        raise argparse.ArgumentTypeError(f"{value!r} is not a count; give 0 or more")
    return number


def add_arguments(parser: argparse.ArgumentParser, name: str) -> None:
    """The own arguments of `name` (one of COMMANDS)."""
    if name == "index":
        parser.add_argument(
            "--rebuild", action="store_true", help="forget the index and read every trace again"
        )
        return
    if name == "search":
        parser.add_argument("text", metavar="TEXT", help="words to find (all of them; word* for a prefix)")
    else:
        parser.add_argument(
            "text",
            nargs="*",
            metavar="TEXT",
            help="only sessions whose messages, prompts or tools contain these words; "
            "`prune` instead deletes sessions (see below)",
        )
    parser.add_argument("--client", metavar="NAME", help="only sessions of this client (claude, codex, ...)")
    parser.add_argument(
        "--since",
        metavar="WHEN",
        type=parse_when,
        help="only sessions started at or after WHEN: a date (2025-06-01), a time, or an age (7d)",
    )
    parser.add_argument(
        "--until",
        metavar="WHEN",
        type=lambda value: parse_when(value, is_end=True),
        help="only sessions started before WHEN (a date includes that day)",
    )
    parser.add_argument(
        "--limit", metavar="N", type=_count, default=None, help="at most N lines (search: default 20)"
    )
    parser.add_argument("--json", action="store_true", help="JSON on stdout, for scripts")
    if name == "search":
        parser.add_argument(
            "--open", action="store_true", help="open the best hit's session in the viewer, at its turn"
        )
        return
    prune = parser.add_argument_group("claude-tap sessions prune")
    prune.add_argument(
        "--older-than", metavar="AGE", type=parse_age, help="delete sessions older than AGE (30d, 12h, 2w)"
    )
    prune.add_argument("--keep", metavar="N", type=_count, help="keep the newest N sessions, delete the rest")
    prune.add_argument("--dry-run", action="store_true", help="print what would be deleted; delete nothing")


# -- the commands ---------------------------------------------------------------------------------


class SessionsUsageError(ValueError):
    """The arguments make no sense together (the CLI turns it into a usage error, exit 2)."""


def run_sessions_command(command: Command, environment: Environment) -> int:
    args = command.args
    root = command.options.output_dir or traces_root(environment.environ)
    warn = _warner(environment)
    with open_index(environment.environ, warn) as index:
        if command.name == "index":
            started = time.perf_counter()
            if args.get("rebuild"):
                report = rebuild_index(index, [root], warn)
            else:
                report = update_index(index, [root], warn)
            seconds = time.perf_counter() - started
            megabytes = report.trace_bytes / 1e6
            environment.say(
                f"claude-tap: indexed {report.indexed} sessions ({megabytes:.1f} MB of traces) in "
                f"{seconds:.2f} s; {report.failed} unreadable, {report.skipped} skipped; index {index.path}"
            )
            return 0
        report = update_index(index, [root], warn, RECORDING_GRACE_S)
        if index.is_new and report.indexed:
            warn(f"there was no session index at {index.path}: built it from {report.indexed} sessions")
        where = SessionFilter(
            client=_optional_str(args.get("client")),
            since_ts=_optional_float(args.get("since")),
            until_ts=_optional_float(args.get("until")),
            limit=_optional_int(args.get("limit")),
        )
        if command.name == "search":
            return _search(index, str(args["text"]), where, command, environment)
        given = args.get("text")
        words = [str(word) for word in given] if isinstance(given, list) else []
        if words[:1] == ["prune"]:
            return _prune(index, words[1:], where, args, environment)
        if args.get("older_than") is not None or args.get("keep") is not None or args.get("dry_run"):
            raise SessionsUsageError("--older-than, --keep and --dry-run go with `claude-tap sessions prune`")
        rows = index.sessions(
            SessionFilter(where.client, where.since_ts, where.until_ts, " ".join(words) or None, where.limit)
        )
        _write(environment, _rows_json(rows) if args.get("json") else _rows_text(rows))
        if not rows and not args.get("json"):
            environment.say(
                f"claude-tap: no sessions{' match' if words or where != SessionFilter() else ''} "
                f"(sessions are looked for in {root})"
            )
        return 0


def _search(
    index: SessionIndex, text: str, where: SessionFilter, command: Command, environment: Environment
) -> int:
    args = command.args
    try:
        hits = index.search(text, limit=where.limit or 20, where=where)
    except ValueError as error:
        raise SessionsUsageError(str(error)) from error
    if args.get("json"):
        _write(environment, json.dumps([hit_json(hit) for hit in hits], ensure_ascii=False, indent=1) + "\n")
    else:
        _write(environment, "".join(_hit_text(hit) for hit in hits))
    if not hits:
        environment.say(f"claude-tap: no turn matches {text!r}")
        return 1
    if args.get("open"):
        _open_hit(hits[0], environment, allowed=not command.options.no_open)
    return 0


def _prune(
    index: SessionIndex,
    extra: list[str],
    where: SessionFilter,
    args: Mapping[str, object],
    environment: Environment,
) -> int:
    older_than = _optional_float(args.get("older_than"))
    keep = _optional_int(args.get("keep"))
    if extra:
        raise SessionsUsageError(f"`sessions prune` takes no words; got {' '.join(extra)!r}")
    if older_than is None and keep is None:
        raise SessionsUsageError("say what to delete: `sessions prune --older-than 30d` or `--keep 100`")
    rows = index.sessions(SessionFilter(where.client, where.since_ts, where.until_ts))
    doomed = sessions_to_prune(rows, time.time(), older_than, keep)
    dry = bool(args.get("dry_run"))
    deleted: list[str] = []
    for row in doomed:
        _write(environment, f"{'would delete' if dry else 'deleting'} {row.session_dir}\n")
        if dry:
            continue
        try:
            delete_session(Path(row.session_dir))
            deleted.append(row.session_dir)
        except OSError as error:
            environment.say(f"claude-tap: warning: cannot delete {row.session_dir}: {error}")
    if deleted:
        try:
            index.remove(deleted)
        except IndexBusyError as error:
            environment.say(f"claude-tap: warning: {error}; the next `sessions` forgets them")
    verb = "would delete" if dry else "deleted"
    count = len(doomed) if dry else len(deleted)
    environment.say(f"claude-tap: {verb} {count} of {len(rows)} sessions")
    return 0 if dry or len(deleted) == len(doomed) else 1


def _open_hit(hit: Hit, environment: Environment, *, allowed: bool) -> None:
    session_dir = Path(hit.session.session_dir)
    html = session_dir / HTML_FILE
    if not html.is_file():  # the run was cut short before it wrote the page: write it now
        from claude_tap.viewer.export import export_trace

        export_trace(session_dir, html)
    url = f"{html.as_uri()}#turn={hit.turn_number}"
    environment.say(f"claude-tap: viewer at {url}")
    if allowed and environment.can_open_browser:
        webbrowser.open(url)


# -- output ---------------------------------------------------------------------------------------


def _rows_text(rows: list[SessionRow]) -> str:
    if not rows:
        return ""
    lines = [
        f"{'started':16}  {'client':9} {'mode':7} {'calls':>5} {'err':>3} {'tokens':>7} {'cost':>7} "
        f"{'time':>7}  first prompt"
    ]
    for row in rows:
        lines.append(
            f"{_when(row.started_ts):16}  {(row.client or '?'):9} {(row.mode or '?'):7} {row.calls:5d} "
            f"{row.errors:3d} {_tokens(row.total_tokens):>7} {_cost(row):>7} "
            f"{_duration(row.duration_ms):>7}  {_prompt(row.first_prompt)}"
        )
        lines.append(f"  {row.session_dir}")
    return "\n".join(lines) + "\n"


def _hit_text(hit: Hit) -> str:
    row = hit.session
    return (
        f"{_when(row.started_ts)}  {row.client or '?'}  turn {hit.turn_number}  ({hit.kind})\n"
        f"  {hit.snippet}\n"
        f"  {row.session_dir}  #turn={hit.turn_number}\n"
    )


def _rows_json(rows: list[SessionRow]) -> str:
    return json.dumps([row_json(row) for row in rows], ensure_ascii=False, indent=1) + "\n"


def row_json(row: SessionRow) -> dict[str, Any]:
    data = asdict(row)
    data["models"] = list(row.models)
    data["total_tokens"] = row.total_tokens
    return data


def hit_json(hit: Hit) -> dict[str, Any]:
    return {
        "session_dir": hit.session.session_dir,
        "started_at": hit.session.started_at,
        "client": hit.session.client,
        "turn": hit.turn_number,
        "kind": hit.kind,
        "snippet": hit.snippet,
        "rank": hit.rank,
        "viewer": f"{Path(hit.session.session_dir, HTML_FILE).as_uri()}#turn={hit.turn_number}",
    }


def _when(ts: float | None) -> str:
    return datetime.fromtimestamp(ts).astimezone().strftime("%Y-%m-%d %H:%M") if ts is not None else "?"


def _tokens(count: int) -> str:
    if count >= 1_000_000:
        return f"{count / 1e6:.1f}M"
    if count >= 1000:
        return f"{count / 1e3:.1f}k"
    return str(count)


def _cost(row: SessionRow) -> str:
    if row.unpriced_calls and not row.cost_usd:
        return "?"
    return f"${row.cost_usd:.2f}" + ("+" if row.unpriced_calls else "")


def _duration(ms: float | None) -> str:
    if ms is None:
        return "?"
    seconds = int(ms / 1000)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def _prompt(text: str) -> str:
    return text if len(text) <= PROMPT_WIDTH else text[: PROMPT_WIDTH - 3] + "..."


def _write(environment: Environment, text: str) -> None:
    environment.stdout.write(text)
    environment.stdout.flush()


def _warner(environment: Environment) -> Callable[[str], None]:
    def warn(message: str) -> None:
        environment.say(f"claude-tap: warning: {message}")

    return warn


def _optional_str(value: object) -> str | None:
    return str(value) if value else None


def _optional_float(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def _optional_int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
