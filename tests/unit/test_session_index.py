"""The session index: entries built from normalized turns, the SQLite file, search, busy and broken files.

Entries come from real trace files (tests/unit/session_traces.py) read by the real reader and
normalizer; the index is a real SQLite file in tmp_path.
"""

from __future__ import annotations

import calendar
import contextlib
import logging
import shutil
import sqlite3
import time
from pathlib import Path

import pytest

from claude_tap import sessions as sessions_module
from claude_tap.normalize.session import normalize_records
from claude_tap.sessions import entry_for, open_index, rebuild_index, sessions_to_prune, update_index
from claude_tap.store import index as index_module
from claude_tap.store.index import (
    IndexBusyError,
    IndexCorruptError,
    SessionFilter,
    SessionIndex,
    fts_query,
    index_path,
    index_session,
)
from claude_tap.store.index_entry import searchable_parts, session_entry
from claude_tap.store.reader import read_records
from tests.factories import make_turn, session_info, text, usage, user, write_trace
from tests.unit.session_traces import make_session, session_records


@pytest.fixture
def index(tmp_path: Path) -> SessionIndex:
    opened = SessionIndex.open(tmp_path / "index.sqlite3")
    yield opened  # type: ignore[misc]
    opened.close()


# -- entries ----------------------------------------------------------------------------------------


def test_an_entry_sums_calls_errors_tokens_cost_and_spans_first_start_to_last_end(tmp_path: Path) -> None:
    session_dir = make_session(tmp_path, tool_results=("alpha", "beta"), status=500)

    entry = entry_for(session_dir)

    assert (entry.calls, entry.errors) == (3, 1)
    # each call: 10 input, 5 output, 100 cache read
    assert (entry.input_tokens, entry.output_tokens, entry.cache_read_tokens) == (30, 15, 300)
    assert entry.total_tokens == 345
    assert entry.cost_usd > 0 and entry.unpriced_calls == 0
    assert entry.models == ("claude-sonnet-4-5",)
    # started 03:04:05, last call starts 03:05:03 and lasts 120 ms
    assert entry.duration_ms == 58_120.0
    assert entry.client == "claude" and entry.mode == "reverse"
    assert entry.trace_size == (session_dir / "trace.jsonl.zst").stat().st_size


def test_the_first_prompt_skips_reminders_and_calls_without_tools() -> None:
    quota = make_turn(0, messages=[user(text("quota"))], tools=[])
    main = make_turn(
        1,
        messages=[user(text("<system-reminder>\nbe brief\n</system-reminder>"), text("fix   the\nbuild"))],
        tools=[{"name": "Bash", "description": "", "input_schema": None}],
    )
    entry = session_entry(Path("/s"), session_info(), [quota, main], 1, 1)
    assert entry.first_prompt == "fix the build"


def test_an_unknown_model_with_usage_counts_as_unpriced() -> None:
    turn = make_turn(0, usage=usage(10, 5), cost_usd=None, model="some-new-model")
    entry = session_entry(Path("/s"), session_info(), [turn], 1, 1)
    assert (entry.cost_usd, entry.unpriced_calls) == (0.0, 1)


def test_repeated_history_is_searchable_once_at_the_turn_that_added_it(tmp_path: Path) -> None:
    session_dir = make_session(tmp_path, prompt="why zebra", tool_results=("giraffe output", "okapi output"))
    info, turns = normalize_records(read_records(session_dir))

    parts = list(searchable_parts(turns))

    def turns_with(word: str) -> list[tuple[int, str]]:
        return [(part.turn, part.kind) for part in parts if word in part.text]

    assert turns_with("zebra") == [(0, "message")]  # repeated in every later request
    assert turns_with("giraffe") == [(1, "tool_result")]
    assert turns_with("okapi") == [(2, "tool_result")]
    assert turns_with("step 1") == [(0, "output")]  # not again as turn 1's history
    assert turns_with("careful coding agent") == [(0, "system")]
    assert [part.text for part in parts if part.kind == "tools"] == ["Read"]


def test_a_huge_block_is_searchable_by_its_beginning_only() -> None:
    big = "needle " + "x " * 50_000 + "buried"
    turn = make_turn(0, messages=[user(text(big))])
    [part] = [part for part in searchable_parts([turn]) if part.kind == "message"]
    assert "needle" in part.text and "buried" not in part.text


# -- the file ---------------------------------------------------------------------------------------


def test_put_replaces_and_remove_forgets_a_session(tmp_path: Path, index: SessionIndex) -> None:
    first = make_session(tmp_path / "t", prompt="walrus", started_at="2025-01-02T03:04:05+00:00")
    second = make_session(tmp_path / "t", prompt="narwhal", started_at="2025-01-03T03:04:05+00:00")
    index.put(entry_for(first))
    index.put(entry_for(second))
    index.put(entry_for(first))  # again: still one row, its texts not doubled

    assert [row.session_dir for row in index.sessions()] == [str(second), str(first)]
    assert len(index.search("walrus")) == 1

    index.remove([str(first)])
    assert [row.session_dir for row in index.sessions()] == [str(second)]
    assert index.search("walrus") == []
    assert [hit.session.session_dir for hit in index.search("narwhal")] == [str(second)]


def test_search_names_the_turn_as_the_viewer_numbers_it_with_a_marked_snippet(
    tmp_path: Path, index: SessionIndex
) -> None:
    session_dir = make_session(tmp_path, tool_results=("nothing here", "the quokka_value is 7"))
    index.put(entry_for(session_dir))

    [hit] = index.search("quokka_value")

    assert hit.turn_number == 3  # index 2: the third call, "#turn=3" in the viewer
    assert hit.kind == "tool_result"
    assert "[quokka_value]" in hit.snippet
    assert hit.session.session_dir == str(session_dir)


def test_search_ranks_the_turn_that_says_it_most_first(tmp_path: Path, index: SessionIndex) -> None:
    session_dir = make_session(tmp_path, tool_results=("lemur", "lemur lemur lemur lemur", "other"))
    index.put(entry_for(session_dir))
    hits = index.search("lemur")
    assert [hit.turn_number for hit in hits] == [3, 2]


def test_search_words_are_words_not_query_syntax(tmp_path: Path, index: SessionIndex) -> None:
    session_dir = make_session(tmp_path, tool_results=('error: "unterminated (NEAR AND OR *',))
    index.put(entry_for(session_dir))
    assert fts_query('a "b" c*') == '"a" """b""" "c"*'
    assert [hit.turn_number for hit in index.search('"unterminated (NEAR AND')] == [2]
    assert index.search("unterm*")[0].turn_number == 2
    assert index.search("   ") == []


def test_filters_by_client_date_and_text(tmp_path: Path, index: SessionIndex) -> None:
    old = make_session(tmp_path, client="codex", prompt="alpaca", started_at="2025-01-02T03:04:05+00:00")
    new = make_session(tmp_path, client="claude", prompt="alpaca", started_at="2025-03-02T03:04:05+00:00")
    for session_dir in (old, new):
        index.put(entry_for(session_dir))
    march = time.mktime((2025, 3, 1, 0, 0, 0, 0, 0, -1))

    def dirs(where: SessionFilter) -> list[str]:
        return [row.session_dir for row in index.sessions(where)]

    assert dirs(SessionFilter(client="codex")) == [str(old)]
    assert dirs(SessionFilter(since_ts=march)) == [str(new)]
    assert dirs(SessionFilter(until_ts=march)) == [str(old)]
    assert dirs(SessionFilter(text="alpaca")) == [str(new), str(old)]
    assert dirs(SessionFilter(text="alpaca", limit=1)) == [str(new)]
    assert dirs(SessionFilter(text="nothing-like-it")) == []
    assert [hit.session.client for hit in index.search("alpaca", where=SessionFilter(client="codex"))] == [
        "codex"
    ]


def test_the_index_file_is_private(tmp_path: Path, index: SessionIndex) -> None:
    assert (tmp_path / "index.sqlite3").stat().st_mode & 0o777 == 0o600


def test_a_file_that_is_not_an_index_is_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "index.sqlite3"
    path.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(IndexCorruptError):
        SessionIndex.open(path)


def test_an_index_of_another_schema_version_is_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "index.sqlite3"
    with contextlib.closing(sqlite3.connect(path)) as db:  # `with connect()` commits, never closes
        db.execute("PRAGMA user_version = 99")
    with pytest.raises(IndexCorruptError, match="schema version 99"):
        SessionIndex.open(path)


def test_a_corrupt_index_is_deleted_and_rebuilt_from_the_traces_with_a_warning(tmp_path: Path) -> None:
    env = {"CLAUDE_TAP_HOME": str(tmp_path / "home")}
    root = tmp_path / "home" / "traces"
    session_dir = make_session(root, prompt="capybara")
    index_path(env).write_bytes(b"\0garbage" * 1000)
    warnings: list[str] = []

    with open_index(env, warnings.append) as index:
        report = update_index(index, [root], warnings.append)
        hits = index.search("capybara")

    assert "not a usable session index" in warnings[0] and "rebuilding" in warnings[0]
    assert report.indexed == 1
    assert [hit.session.session_dir for hit in hits] == [str(session_dir)]


def test_update_indexes_new_and_changed_traces_and_forgets_deleted_ones(
    tmp_path: Path, index: SessionIndex
) -> None:
    root = tmp_path / "traces"
    kept = make_session(root, prompt="heron", started_at="2025-01-02T03:04:05+00:00")
    gone = make_session(root, prompt="egret", started_at="2025-01-03T03:04:05+00:00")
    assert update_index(index, [root], print).indexed == 2
    assert update_index(index, [root], print).indexed == 0  # nothing changed: nothing read

    write_trace(kept / "trace.jsonl.zst", session_records(prompt="heron", tool_results=("a", "b", "c")))
    shutil.rmtree(gone)
    report = update_index(index, [root], print)

    assert (report.indexed, report.forgotten) == (1, 1)
    assert [(row.session_dir, row.calls) for row in index.sessions()] == [(str(kept), 4)]


def test_rebuild_reads_every_trace_again_and_reports_unreadable_ones(
    tmp_path: Path, index: SessionIndex
) -> None:
    root = tmp_path / "traces"
    for n in range(3):
        make_session(root, prompt=f"ibis{n}")
    broken = root / "2025-01-02" / "030405-claude-broken"
    broken.mkdir(parents=True)
    (broken / "trace.jsonl.zst").write_bytes(b"")  # an empty trace reads as no records: still a session
    (root / "2025-01-02" / "not-a-session").mkdir()  # no trace: not read, not a failure
    index.put(entry_for(make_session(tmp_path / "elsewhere", prompt="stale")))
    warnings: list[str] = []

    report = rebuild_index(index, [root], warnings.append)

    assert report.indexed == 4 and report.failed == 0
    assert index.search("stale") == []
    assert len(index.search("ibis1")) == 1


def test_rebuild_reads_many_traces_in_worker_processes_with_the_same_result(
    tmp_path: Path, index: SessionIndex
) -> None:
    root = tmp_path / "traces"
    made = [make_session(root, prompt=f"gnu{n}", tool_results=(f"result{n}",)) for n in range(13)]
    assert len(made) >= sessions_module.POOL_THRESHOLD

    report = rebuild_index(index, [root], print)

    assert (report.indexed, report.failed) == (13, 0)
    assert {row.session_dir for row in index.sessions()} == {str(path) for path in made}
    assert [hit.session.session_dir for hit in index.search("result7")] == [str(made[7])]


def test_a_busy_index_makes_writes_give_up_quickly_not_wait(
    tmp_path: Path, index: SessionIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(index_module, "WRITE_PATIENCE_S", 0.3)
    entry = entry_for(make_session(tmp_path / "t"))
    holder = sqlite3.connect(tmp_path / "index.sqlite3", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process in the middle of a write
    try:
        started = time.monotonic()
        with pytest.raises(IndexBusyError):
            index.put(entry)
        assert time.monotonic() - started < 1.5
        assert index.sessions() == []  # reading goes on while another process writes (WAL)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    index.put(entry)
    assert len(index.sessions()) == 1


def test_index_session_at_the_end_of_a_run_stores_the_session(tmp_path: Path) -> None:
    env = {"CLAUDE_TAP_HOME": str(tmp_path / "home")}
    session_dir = make_session(tmp_path / "out", prompt="pelican")
    info, turns = normalize_records(read_records(session_dir))

    assert index_session(session_dir, info, turns, env) is True

    with SessionIndex.open(index_path(env)) as index:
        [row] = index.sessions()
        stamps = index.stamps()
    assert row.first_prompt == "pelican" and row.calls == 2
    # the same stamp a later `sessions` sees, so it does not read the trace again
    trace = (session_dir / "trace.jsonl.zst").stat()
    assert stamps[str(session_dir.resolve())] == (trace.st_size, trace.st_mtime_ns)


def test_index_session_never_raises_it_warns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(index_module, "WRITE_PATIENCE_S", 0.2)
    env = {"CLAUDE_TAP_HOME": str(tmp_path / "home")}
    session_dir = make_session(tmp_path / "out")
    info, turns = normalize_records(read_records(session_dir))
    SessionIndex.open(index_path(env)).close()
    holder = sqlite3.connect(index_path(env), isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with caplog.at_level(logging.WARNING, logger="claude_tap"):
            assert index_session(session_dir, info, turns, env) is False
    finally:
        holder.close()
    assert "not added to the index" in caplog.text
    assert index_session(tmp_path / "no-such-session", info, turns, env) is False


def test_index_session_writes_the_index_file_it_is_given(tmp_path: Path) -> None:
    session_dir = make_session(tmp_path / "out", prompt="ibex")
    info, turns = normalize_records(read_records(session_dir))
    given = tmp_path / "elsewhere" / "index.sqlite3"

    assert index_session(session_dir, info, turns, {}, index_file=given) is True

    with SessionIndex.open(given) as index:
        assert [row.first_prompt for row in index.sessions()] == ["ibex"]


# -- pruning rules ----------------------------------------------------------------------------------


def test_prune_rules_with_both_age_and_keep_delete_only_what_both_select(
    tmp_path: Path, index: SessionIndex
) -> None:
    for day in ("2025-01-01", "2025-01-05", "2025-01-09", "2025-01-10"):
        index.put(entry_for(make_session(tmp_path, started_at=f"{day}T12:00:00+00:00")))
    rows = index.sessions()
    now = calendar.timegm((2025, 1, 11, 12, 0, 0))

    def days(older_than_s: float | None, keep: int | None) -> list[str]:
        chosen = sessions_to_prune(rows, now, older_than_s, keep)
        return [row.started_at[:10] for row in chosen if row.started_at]

    assert days(3 * 86400, None) == ["2025-01-05", "2025-01-01"]
    assert days(None, 1) == ["2025-01-09", "2025-01-05", "2025-01-01"]
    assert days(3 * 86400, 3) == ["2025-01-01"]
    assert days(None, 10) == []
