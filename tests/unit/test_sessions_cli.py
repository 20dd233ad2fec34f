"""`claude-tap sessions`, `search`, `index` and `sessions prune`, as a person meets them.

In-process through `main(argv, env)` with an injected Environment (exit code, stdout, stderr), over
real session directories under a throwaway CLAUDE_TAP_HOME; one test runs the real entry point.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.factories import write_trace
from tests.unit.session_traces import make_session, session_records
from tests.unit.test_cli_args import Result, run_cli


@pytest.fixture
def traces(tmp_path: Path) -> Path:
    return tmp_path / "tap" / "traces"  # run_cli's CLAUDE_TAP_HOME is tmp_path / "tap"


def cli(tmp_path: Path, *args: str) -> Result:
    return run_cli(list(args), tmp_path, CI="1")  # CI: never a browser


def test_no_sessions_lists_nothing_and_says_where_it_looked(tmp_path: Path, traces: Path) -> None:
    result = cli(tmp_path, "sessions")
    assert (result.exit_code, result.stdout) == (0, "")
    assert result.stderr == f"claude-tap: no sessions (sessions are looked for in {traces})\n"
    assert cli(tmp_path, "sessions", "--json").stdout == "[]\n"


def test_sessions_are_listed_newest_first_with_their_totals(tmp_path: Path, traces: Path) -> None:
    older = make_session(traces, prompt="tidy the imports", started_at="2025-01-02T03:04:05+00:00")
    newer = make_session(
        traces,
        client="codex",
        prompt="why does test_parse fail?",
        started_at="2025-02-02T03:04:05+00:00",
        tool_results=("x", "y"),
        status=500,
    )

    result = cli(tmp_path, "sessions")

    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    header = ["started", "client", "mode", "calls", "err", "tokens", "cost", "time", "first", "prompt"]
    assert lines[0].split() == header
    assert lines[2] == f"  {newer}" and lines[4] == f"  {older}"
    # date, time, then: client, mode, calls, errors, tokens (with cache), cost, duration, the prompt
    assert lines[1].split()[2:9] == ["codex", "reverse", "3", "1", "345", "$0.00", "58s"]
    assert lines[1].endswith("  why does test_parse fail?")
    # The first listing found no index and built one: it says so, on stderr.
    assert "built it from 2 sessions" in result.stderr
    assert cli(tmp_path, "sessions").stderr == ""


def test_sessions_json_has_every_field_for_scripts(tmp_path: Path, traces: Path) -> None:
    session_dir = make_session(traces, prompt="rename the flag")

    rows = json.loads(cli(tmp_path, "sessions", "--json").stdout)

    [row] = rows
    assert row["session_dir"] == str(session_dir)
    assert row["first_prompt"] == "rename the flag"
    assert (row["calls"], row["errors"], row["total_tokens"]) == (2, 0, 230)
    assert row["client"] == "claude" and row["mode"] == "reverse"
    assert row["models"] == ["claude-sonnet-4-5"]
    assert row["started_at"] == "2025-01-02T03:04:05+00:00"


def test_sessions_filter_by_client_dates_and_text(tmp_path: Path, traces: Path) -> None:
    jan = make_session(traces, client="codex", prompt="alpha", started_at="2025-01-02T12:00:00+00:00")
    feb = make_session(traces, client="claude", prompt="beta", started_at="2025-02-02T12:00:00+00:00")

    def listed(*args: str) -> list[str]:
        result = cli(tmp_path, "sessions", "--json", *args)
        assert result.exit_code == 0, result.stderr
        return [row["session_dir"] for row in json.loads(result.stdout)]

    assert listed() == [str(feb), str(jan)]
    assert listed("--client", "codex") == [str(jan)]
    assert listed("--since", "2025-01-15") == [str(feb)]
    assert listed("--until", "2025-01-02") == [str(jan)]  # a date as the end includes that day
    assert listed("beta") == [str(feb)]
    assert listed("--limit", "1") == [str(feb)]


def test_a_bad_date_is_a_usage_error_that_quotes_it(tmp_path: Path) -> None:
    result = cli(tmp_path, "sessions", "--since", "last tuesday")
    assert result.exit_code == 2
    assert "'last tuesday' is not a date" in result.stderr
    assert "claude-tap sessions --help" in result.stderr


def test_search_prints_session_turn_and_snippet(tmp_path: Path, traces: Path) -> None:
    session_dir = make_session(traces, tool_results=("plain", "raise KeyError('wombat_id')"))

    result = cli(tmp_path, "search", "wombat_id")

    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].endswith("claude  turn 3  (tool_result)")
    assert "[wombat_id]" in lines[1]
    assert lines[2] == f"  {session_dir}  #turn=3"


def test_search_json_and_no_hits(tmp_path: Path, traces: Path) -> None:
    session_dir = make_session(traces, prompt="find the quetzal")
    [hit] = json.loads(cli(tmp_path, "search", "quetzal", "--json").stdout)
    assert hit["turn"] == 1 and hit["kind"] == "message"
    assert hit["viewer"] == (session_dir / "trace.html").as_uri() + "#turn=1"

    missing = cli(tmp_path, "search", "nowhere-to-be-found")
    assert missing.exit_code == 1
    assert "no turn matches 'nowhere-to-be-found'" in missing.stderr


def test_search_open_writes_the_page_when_missing_and_points_at_the_turn(
    tmp_path: Path, traces: Path
) -> None:
    session_dir = make_session(traces, tool_results=("one", "the tapir is here"))

    result = cli(tmp_path, "search", "tapir", "--open")

    assert result.exit_code == 0
    html = session_dir / "trace.html"
    assert html.is_file() and "<html" in html.read_text()[:500].lower()
    assert f"viewer at {html.as_uri()}#turn=3" in result.stderr


def test_a_changed_trace_is_read_again_and_a_deleted_session_forgotten(tmp_path: Path, traces: Path) -> None:
    session_dir = make_session(traces, prompt="grow")
    gone = make_session(traces, prompt="vanish", started_at="2025-01-01T00:00:00+00:00")
    assert [row["calls"] for row in json.loads(cli(tmp_path, "sessions", "--json").stdout)] == [2, 2]

    write_trace(session_dir / "trace.jsonl.zst", session_records(prompt="grow", tool_results=("a", "b", "c")))
    for path in gone.iterdir():
        path.unlink()
    gone.rmdir()

    def calls() -> list[int]:
        return [row["calls"] for row in json.loads(cli(tmp_path, "sessions", "--json").stdout)]

    # Written to a moment ago: still recording. Listed as it was, not read again on every listing.
    assert calls() == [2]
    assert "indexed 1 sessions" in cli(tmp_path, "index").stderr  # unless asked
    assert calls() == [4]


def test_a_trace_still_for_a_minute_is_read_again(tmp_path: Path, traces: Path) -> None:
    session_dir = make_session(traces, prompt="grow")
    assert [row["calls"] for row in json.loads(cli(tmp_path, "sessions", "--json").stdout)] == [2]
    trace = write_trace(
        session_dir / "trace.jsonl.zst", session_records(prompt="grow", tool_results=("a", "b", "c"))
    )
    assert [row["calls"] for row in json.loads(cli(tmp_path, "sessions", "--json").stdout)] == [2]

    minute_ago = time.time() - 61
    os.utime(trace, (minute_ago, minute_ago))

    assert [row["calls"] for row in json.loads(cli(tmp_path, "sessions", "--json").stdout)] == [4]


def test_index_rebuild_reports_what_it_read(tmp_path: Path, traces: Path) -> None:
    for n in range(3):
        make_session(traces, prompt=f"session {n}")
    result = cli(tmp_path, "index", "--rebuild")
    assert result.exit_code == 0
    assert "indexed 3 sessions" in result.stderr and "0 unreadable" in result.stderr
    assert cli(tmp_path, "index").stderr.startswith("claude-tap: indexed 0 sessions")


def test_a_deleted_index_is_rebuilt_from_the_traces_with_a_warning(tmp_path: Path, traces: Path) -> None:
    make_session(traces, prompt="ocelot")
    cli(tmp_path, "sessions")
    (tmp_path / "tap" / "index.sqlite3").unlink()

    result = cli(tmp_path, "search", "ocelot")

    assert result.exit_code == 0 and "turn 1" in result.stdout
    assert "warning: there was no session index at " in result.stderr
    assert "built it from 1 sessions" in result.stderr


def test_a_corrupt_index_is_rebuilt_from_the_traces_with_a_warning(tmp_path: Path, traces: Path) -> None:
    make_session(traces, prompt="ocelot")
    cli(tmp_path, "sessions")
    index = tmp_path / "tap" / "index.sqlite3"
    index.write_bytes(b"\x00" * 100 + index.read_bytes()[100:])  # the header gone

    result = cli(tmp_path, "search", "ocelot")

    assert result.exit_code == 0 and "turn 1" in result.stdout
    assert "is not a usable session index" in result.stderr and "rebuilding it" in result.stderr


def test_prune_dry_run_deletes_nothing_and_says_what_it_would(tmp_path: Path, traces: Path) -> None:
    old = make_session(traces, started_at="2020-01-02T03:04:05+00:00")
    new = make_session(traces, started_at="2099-01-02T03:04:05+00:00")

    result = cli(tmp_path, "sessions", "prune", "--older-than", "30d", "--dry-run")

    assert result.exit_code == 0
    assert result.stdout == f"would delete {old}\n"
    assert "would delete 1 of 2 sessions" in result.stderr
    assert old.is_dir() and new.is_dir()


def test_prune_older_than_deletes_old_sessions_and_forgets_them(tmp_path: Path, traces: Path) -> None:
    old = make_session(traces, prompt="ancient", started_at="2020-01-02T03:04:05+00:00")
    new = make_session(traces, prompt="recent", started_at="2099-01-02T03:04:05+00:00")

    result = cli(tmp_path, "sessions", "prune", "--older-than", "30d")

    assert result.exit_code == 0
    assert not old.exists() and not old.parent.exists()  # its day had no other session
    assert new.is_dir()
    assert [row["session_dir"] for row in json.loads(cli(tmp_path, "sessions", "--json").stdout)] == [
        str(new)
    ]
    assert cli(tmp_path, "search", "ancient").exit_code == 1


def test_prune_keep_keeps_the_newest(tmp_path: Path, traces: Path) -> None:
    made = [make_session(traces, started_at=f"2025-01-0{day}T03:04:05+00:00") for day in (1, 2, 3)]
    assert cli(tmp_path, "sessions", "prune", "--keep", "2").exit_code == 0
    assert [path.exists() for path in made] == [False, True, True]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["sessions", "prune"], "say what to delete"),
        (["sessions", "--keep", "3"], "go with `claude-tap sessions prune`"),
        (["sessions", "prune", "--older-than", "soon"], "'soon' is not an age"),
        (["sessions", "prune", "extra", "--keep", "1"], "takes no words"),
    ],
)
def test_prune_asks_for_a_rule_and_deletes_nothing_otherwise(
    tmp_path: Path, traces: Path, args: list[str], message: str
) -> None:
    session_dir = make_session(traces, started_at="2020-01-02T03:04:05+00:00")
    result = cli(tmp_path, *args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert session_dir.is_dir()


def test_sessions_through_the_real_entry_point(tmp_path: Path) -> None:
    home = tmp_path / "home"
    session_dir = make_session(home / "traces", prompt="through the process")
    env = {**os.environ, "CLAUDE_TAP_HOME": str(home), "HOME": str(tmp_path)}

    result = subprocess.run(
        [sys.executable, "-m", "claude_tap", "sessions", "--json"], env=env, capture_output=True, timeout=60
    )

    assert result.returncode == 0, result.stderr.decode()
    [row] = json.loads(result.stdout)
    assert (row["session_dir"], row["first_prompt"]) == (str(session_dir), "through the process")
