"""The session index: one SQLite file (WAL, FTS5) listing every session and its searchable text.

    with SessionIndex.open(index_path(env)) as index:
        index.put(entry)                      # store/index_entry.py builds entries from turns
        index.sessions(SessionFilter(client="codex"))
        index.search("test_parse", limit=20)

The trace files are the source of truth; the index is a cache of them that any process may rebuild
(`claude-tap index --rebuild`), so losing it loses nothing. A file that is not a database, or a schema
of another version, raises IndexCorruptError; the caller deletes it (`delete_index_files`) and
rebuilds from the traces.

Several claude-tap processes use the file at once: WAL lets readers go on while one writes, and every
write is one short transaction begun with BEGIN IMMEDIATE. A write that finds the file locked is
retried for up to WRITE_PATIENCE_S, then IndexBusyError is raised: the caller warns and moves on
(the session is indexed the next time `claude-tap sessions` runs), so nothing ever waits long on it.

`index_session(session_dir, info, turns)` is the one call for the end of a run.

This module knows SQLite and index entries; it does not read what traces hold, or print anything.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from types import TracebackType
from typing import Any

from claude_tap.normalize.model import SessionInfo, Turn
from claude_tap.store.index_entry import SessionEntry, session_entry
from claude_tap.store.paths import claude_tap_home, create_private_file, make_private_dirs
from claude_tap.store.reader import find_trace

logger = logging.getLogger(__name__)

INDEX_FILE = "index.sqlite3"
SCHEMA_VERSION = 1
BUSY_TIMEOUT_S = 0.2  # one wait inside SQLite for a lock ...
WRITE_PATIENCE_S = 1.5  # ... and how long, in all, a write keeps trying before it is skipped
_SNIPPET_TOKENS = 16

_SESSIONS_TABLE = """
CREATE TABLE IF NOT EXISTS sessions (
    id INTEGER PRIMARY KEY,
    dir TEXT NOT NULL UNIQUE,
    trace_size INTEGER NOT NULL,
    trace_mtime_ns INTEGER NOT NULL,
    started_at TEXT,
    started_ts REAL,
    client TEXT,
    mode TEXT,
    target TEXT,
    calls INTEGER NOT NULL,
    errors INTEGER NOT NULL,
    input_tokens INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    cache_read_tokens INTEGER NOT NULL,
    cache_write_tokens INTEGER NOT NULL,
    cost_usd REAL NOT NULL,
    unpriced_calls INTEGER NOT NULL,
    duration_ms REAL,
    first_prompt TEXT NOT NULL,
    models TEXT NOT NULL,
    first_row INTEGER NOT NULL,
    last_row INTEGER NOT NULL
)"""
_TEXTS_TABLE = """
CREATE VIRTUAL TABLE IF NOT EXISTS texts USING fts5 (
    body, kind UNINDEXED, session UNINDEXED, turn UNINDEXED, tokenize = 'unicode61 remove_diacritics 2'
)"""
# One statement each: executescript() would commit the transaction they run in.
_SCHEMA = (
    _SESSIONS_TABLE,
    "CREATE INDEX IF NOT EXISTS sessions_by_start ON sessions (started_ts)",
    _TEXTS_TABLE,
)
_SESSION_COLUMNS = (
    "dir, trace_size, trace_mtime_ns, started_at, started_ts, client, mode, target, calls, errors, "
    "input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, cost_usd, unpriced_calls, "
    "duration_ms, first_prompt, models"
)


class IndexError_(Exception):
    """Base of the index's own errors."""


class IndexBusyError(IndexError_):
    """Other processes held the index for longer than WRITE_PATIENCE_S; the write was not done."""


class IndexCorruptError(IndexError_):
    """The file is not a session index this version can use. Delete it and rebuild from the traces."""


@dataclass(frozen=True, slots=True)
class SessionRow:
    """A session as listed: the entry's totals, without its texts."""

    session_dir: str
    trace_size: int
    trace_mtime_ns: int
    started_at: str | None
    started_ts: float | None
    client: str | None
    mode: str | None
    target: str | None
    calls: int
    errors: int
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    cost_usd: float
    unpriced_calls: int
    duration_ms: float | None
    first_prompt: str
    models: tuple[str, ...]

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens + self.cache_read_tokens + self.cache_write_tokens


@dataclass(frozen=True, slots=True)
class SessionFilter:
    client: str | None = None
    since_ts: float | None = None  # started at or after
    until_ts: float | None = None  # started before
    text: str | None = None  # sessions with a searchable part matching (search syntax)
    limit: int | None = None


@dataclass(frozen=True, slots=True)
class Hit:
    """One search result: a turn of a session. `turn_number` counts from 1, as the viewer shows it."""

    session: SessionRow
    turn_number: int
    kind: str
    snippet: str  # the match marked with [ and ]
    rank: float  # bm25: lower is better


_ROW_FIELDS = tuple(field.name for field in fields(SessionRow))


def index_path(env: Mapping[str, str]) -> Path:
    return claude_tap_home(env) / INDEX_FILE


def delete_index_files(path: Path) -> None:
    """Remove the index and its WAL side files (they belong to it and make no sense without it)."""
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(str(path) + suffix).unlink(missing_ok=True)


def fts_query(text: str) -> str:
    """The user's words as an FTS5 query: every word must match, as a word (`word*`: as a prefix).
    Quoting each word keeps FTS5 operators and punctuation from being read as syntax."""
    terms = []
    for word in text.split():
        is_prefix = word.endswith("*") and len(word) > 1
        core = word.rstrip("*") if is_prefix else word
        terms.append('"' + core.replace('"', '""') + '"' + ("*" if is_prefix else ""))
    return " ".join(terms)


class SessionIndex:
    """An open index. Use as a context manager, or call close()."""

    def __init__(self, connection: sqlite3.Connection, path: Path, *, is_new: bool = False) -> None:
        self._db = connection
        self.path = path
        self.is_new = is_new  # the file was created by this open

    @classmethod
    def open(cls, path: Path) -> SessionIndex:
        """Open (creating it when missing) the index at `path`.

        Raises IndexCorruptError (not an index of this version), IndexBusyError (could not set it up
        for the lock held by others), OSError (the directory cannot be made)."""
        make_private_dirs(path.parent)
        is_new = not path.exists()
        if is_new:
            create_private_file(path)  # traces' prompts end up here: only the user may read it
        db = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False)
        try:
            _retry(lambda: _prepare(db))
        except sqlite3.DatabaseError as error:
            db.close()
            raise IndexCorruptError(f"{path} is not a usable session index ({error})") from error
        except BaseException:
            db.close()
            raise
        return cls(db, path, is_new=is_new)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> SessionIndex:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- writes: each one transaction, retried while busy -------------------------------------------

    def put(self, entry: SessionEntry) -> None:
        """Store `entry`, replacing what the index held for its directory."""
        self.put_many([entry])

    def put_many(self, entries: Sequence[SessionEntry]) -> None:
        def write() -> None:
            with self._transaction():
                for entry in entries:
                    self._delete(entry.session_dir)
                    self._insert(entry)

        _retry(write)

    def remove(self, session_dirs: Sequence[str]) -> None:
        def write() -> None:
            with self._transaction():
                for session_dir in session_dirs:
                    self._delete(session_dir)

        _retry(write)

    def clear(self) -> None:
        """Forget every session (the first step of a rebuild)."""

        def write() -> None:
            with self._transaction():
                self._db.execute("DROP TABLE IF EXISTS texts")
                self._db.execute("DELETE FROM sessions")
                self._db.execute(_TEXTS_TABLE)

        _retry(write)

    def optimize(self) -> None:
        """Merge the full-text index into one b-tree: queries after a rebuild read fewer pages."""
        _retry(lambda: self._db.execute("INSERT INTO texts(texts) VALUES ('optimize')"))

    def _insert(self, entry: SessionEntry) -> None:
        last = self._db.execute("SELECT rowid FROM texts ORDER BY rowid DESC LIMIT 1").fetchone()
        first_row = (last[0] if last else 0) + 1
        cursor = self._db.execute(
            f"INSERT INTO sessions ({_SESSION_COLUMNS}, first_row, last_row) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                entry.session_dir,
                entry.trace_size,
                entry.trace_mtime_ns,
                entry.started_at,
                entry.started_ts,
                entry.client,
                entry.mode,
                entry.target,
                entry.calls,
                entry.errors,
                entry.input_tokens,
                entry.output_tokens,
                entry.cache_read_tokens,
                entry.cache_write_tokens,
                entry.cost_usd,
                entry.unpriced_calls,
                entry.duration_ms,
                entry.first_prompt,
                json.dumps(list(entry.models)),
                first_row,
                first_row + len(entry.parts) - 1,
            ),
        )
        session_id = cursor.lastrowid
        # Rowids chosen here (inside the write lock) keep a session's texts in one range, which is how
        # they are deleted: a range delete is cheap in FTS5, a scan of the session column is not.
        self._db.executemany(
            "INSERT INTO texts (rowid, body, kind, session, turn) VALUES (?, ?, ?, ?, ?)",
            (
                (first_row + n, part.text, part.kind, session_id, part.turn)
                for n, part in enumerate(entry.parts)
            ),
        )

    def _delete(self, session_dir: str) -> None:
        found = self._db.execute(
            "SELECT id, first_row, last_row FROM sessions WHERE dir = ?", (session_dir,)
        ).fetchone()
        if found is None:
            return
        session_id, first_row, last_row = found
        if last_row >= first_row:
            self._db.execute("DELETE FROM texts WHERE rowid BETWEEN ? AND ?", (first_row, last_row))
        self._db.execute("DELETE FROM sessions WHERE id = ?", (session_id,))

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db)

    # -- reads --------------------------------------------------------------------------------------

    def stamps(self) -> dict[str, tuple[int, int]]:
        """Every indexed directory with the (size, mtime_ns) of the trace it was read from."""
        rows = self._db.execute("SELECT dir, trace_size, trace_mtime_ns FROM sessions")
        return {row[0]: (row[1], row[2]) for row in rows}

    def sessions(self, where: SessionFilter | None = None) -> list[SessionRow]:
        """Sessions newest first (a session with no readable start time last)."""
        where = where or SessionFilter()
        clauses, params = _filter_clauses(where)
        if where.text:
            clauses.append("id IN (SELECT session FROM texts WHERE texts MATCH ?)")
            params.append(fts_query(where.text))
        sql = f"SELECT {_SESSION_COLUMNS} FROM sessions"
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        sql += " ORDER BY started_ts IS NULL, started_ts DESC, dir DESC"
        if where.limit is not None:
            sql += f" LIMIT {int(where.limit)}"
        return [_row(values) for values in self._query(sql, params)]

    def search(self, text: str, limit: int = 20, where: SessionFilter | None = None) -> list[Hit]:
        """The best `limit` turns whose text matches, best first; one hit per turn."""
        query = fts_query(text)
        if not query:
            return []
        clauses, params = _filter_clauses(where or SessionFilter())
        scope = (
            (" AND session IN (SELECT id FROM sessions WHERE " + " AND ".join(clauses) + ")")
            if clauses
            else ""
        )
        # More rows than hits: a turn may match in its message, its tool result and its output.
        rows = self._query(
            "SELECT session, turn, kind, snippet(texts, 0, '[', ']', '...', ?), rank FROM texts "
            f"WHERE texts MATCH ?{scope} ORDER BY rank LIMIT ?",
            [_SNIPPET_TOKENS, query, *params, limit * 4],
        )
        hits: list[tuple[int, int, str, str, float]] = []
        seen: set[tuple[int, int]] = set()
        for session_id, turn, kind, snippet, rank in rows:
            if (session_id, turn) in seen:
                continue
            seen.add((session_id, turn))
            hits.append((session_id, turn, kind, snippet, rank))
            if len(hits) == limit:
                break
        sessions = self._sessions_by_id({hit[0] for hit in hits})
        return [
            Hit(sessions[session_id], int(turn) + 1, kind, " ".join(snippet.split()), rank)
            for session_id, turn, kind, snippet, rank in hits
            if session_id in sessions
        ]

    def _sessions_by_id(self, ids: set[int]) -> dict[int, SessionRow]:
        if not ids:
            return {}
        marks = ", ".join("?" * len(ids))
        rows = self._query(f"SELECT id, {_SESSION_COLUMNS} FROM sessions WHERE id IN ({marks})", list(ids))
        return {values[0]: _row(values[1:]) for values in rows}

    def _query(self, sql: str, params: Sequence[object]) -> list[tuple[Any, ...]]:
        try:
            return self._db.execute(sql, params).fetchall()
        except sqlite3.OperationalError as error:
            if "fts5" in str(error) or "syntax" in str(error):
                raise ValueError(f"cannot search for that: {error}") from error
            raise


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT: the write lock is taken up front, so a busy index fails at once
    (and is retried) instead of midway through a transaction."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        if kind is None:
            self._db.execute("COMMIT")
        else:
            self._db.execute("ROLLBACK")


def _prepare(db: sqlite3.Connection) -> None:
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version not in (0, SCHEMA_VERSION):
        raise sqlite3.DatabaseError(f"schema version {version}, this claude-tap uses {SCHEMA_VERSION}")
    if db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
        db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = NORMAL")  # WAL: durable enough for a cache of the trace files
    if version == 0:
        with _Transaction(db):
            for statement in _SCHEMA:
                db.execute(statement)
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    db.execute("SELECT count(*) FROM sessions").fetchone()  # a damaged file fails here, not later


def _retry(action: Callable[[], object]) -> None:
    """Run `action` until it gets the lock; IndexBusyError after WRITE_PATIENCE_S."""
    deadline = time.monotonic() + WRITE_PATIENCE_S
    delay = 0.01
    while True:
        try:
            action()
            return
        except sqlite3.OperationalError as error:
            if not _is_busy(error):
                raise
            if time.monotonic() >= deadline:
                raise IndexBusyError(f"the session index is busy ({error})") from error
            time.sleep(delay)
            delay = min(delay * 2, 0.1)


def _is_busy(error: sqlite3.OperationalError) -> bool:
    text = str(error)
    return "locked" in text or "busy" in text


def _filter_clauses(where: SessionFilter) -> tuple[list[str], list[object]]:
    clauses: list[str] = []
    params: list[object] = []
    if where.client:
        clauses.append("client = ?")
        params.append(where.client)
    if where.since_ts is not None:
        clauses.append("started_ts >= ?")
        params.append(where.since_ts)
    if where.until_ts is not None:
        clauses.append("started_ts < ?")
        params.append(where.until_ts)
    return clauses, params


def _row(values: Sequence[Any]) -> SessionRow:
    """A SessionRow from the values of _SESSION_COLUMNS, in order (models is the last)."""
    named = dict(zip(_ROW_FIELDS, values, strict=True))
    named["models"] = tuple(json.loads(named["models"]))
    return SessionRow(**named)


def index_session(
    session_dir: Path,
    info: SessionInfo,
    turns: Sequence[Turn],
    env: Mapping[str, str] | None = None,
    *,
    index_file: Path | None = None,
) -> bool:
    """Add a just-recorded session to the index (the end of a run, once the trace is closed). Never
    raises and never waits more than about WRITE_PATIENCE_S: a busy or broken index is logged as a
    warning and skipped, and `claude-tap sessions` indexes the session later from its trace. Returns
    whether it was stored. The index is `index_file`, else the one of `env` (default: os.environ)."""
    environ = os.environ if env is None else env
    try:
        trace = find_trace(session_dir).stat()
        entry = session_entry(session_dir.resolve(), info, turns, trace.st_size, trace.st_mtime_ns)
        with SessionIndex.open(index_file or index_path(environ)) as index:
            index.put(entry)
    except (IndexError_, OSError, sqlite3.Error) as error:
        logger.warning("session not added to the index (claude-tap sessions will add it): %s", error)
        return False
    return True
