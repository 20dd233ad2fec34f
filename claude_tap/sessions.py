"""The session index kept in step with the trace files: lazy updates, full rebuilds, pruning.

    with open_index(env, warn) as index:            # a damaged index is deleted and rebuilt, with a warning
        update_index(index, traces_root(env), warn)  # sessions new or changed since they were indexed
        rebuild_index(index, roots, warn)            # everything again, from the traces

A session is (re)indexed when its trace's size or mtime differs from what the index recorded, so a
run whose end-of-run update was skipped (busy index, crash) is picked up the next time anyone lists
sessions. A session still recording is read when first seen, and again once its trace has been
still for RECORDING_GRACE_S (or by `claude-tap index`), not on every listing. Sessions whose directory is
gone are forgotten. Reading traces is the slow part (decompress, parse, normalize): with many to read
it runs in worker processes, one per core, and only the finished entries come back to be written.

`warn` receives one line for the person at the keyboard. This module reads traces and writes the
index; it knows nothing of the command line.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import shutil
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from claude_tap.normalize.session import normalize_records
from claude_tap.store.index import (
    IndexBusyError,
    IndexCorruptError,
    SessionIndex,
    SessionRow,
    delete_index_files,
    index_path,
)
from claude_tap.store.index_entry import SessionEntry, session_entry
from claude_tap.store.reader import TRACE_NAMES, TraceNotFoundError, find_trace, read_records

Warn = Callable[[str], None]

# Fewer traces than this are read in this process: starting workers costs more than it saves.
POOL_THRESHOLD = 12
# `sessions` and `search` leave an indexed trace written to this recently for later (see stale_dirs).
RECORDING_GRACE_S = 60.0
WRITE_BATCH = 16  # entries per transaction: short enough that a run ending meanwhile gets its turn


@dataclass(frozen=True, slots=True)
class UpdateReport:
    indexed: int = 0
    forgotten: int = 0
    failed: int = 0  # traces that could not be read
    skipped: int = 0  # entries not written because the index stayed busy
    trace_bytes: int = 0  # of the trace files read (compressed)


@contextmanager
def open_index(env: Mapping[str, str], warn: Warn) -> Iterator[SessionIndex]:
    """The index at `<claude-tap home>/index.sqlite3`; a damaged one is deleted (and refilled by the
    next update), with a warning. IndexBusyError and OSError pass through."""
    path = index_path(env)
    try:
        index = SessionIndex.open(path)
    except IndexCorruptError as error:
        warn(f"{error}; deleting it and rebuilding it from the traces")
        delete_index_files(path)
        index = SessionIndex.open(path)
    try:
        yield index
    finally:
        index.close()


def entry_for(session_dir: Path) -> SessionEntry:
    """Read and normalize one session. Raises TraceNotFoundError or OSError."""
    trace = find_trace(session_dir)
    stat = trace.stat()  # before reading: a trace that grows meanwhile is read again next time
    info, turns = normalize_records(read_records(trace))
    return session_entry(session_dir, info, turns, stat.st_size, stat.st_mtime_ns)


def _entry_or_error(session_dir: Path) -> SessionEntry | str:
    try:
        return entry_for(session_dir)
    except (OSError, ValueError) as error:
        return f"{session_dir}: {error}"


def stale_dirs(
    index: SessionIndex, roots: Iterable[Path], recording_grace_s: float = 0.0
) -> tuple[list[Path], list[str]]:
    """Session directories under `roots` to (re)index, and indexed directories that are gone.

    An indexed trace written to less than `recording_grace_s` ago is left for later: it is being
    recorded, and reading a long session again on every `sessions` would cost seconds each time."""
    known = index.stamps()
    changed: list[Path] = []
    now_ns = time.time_ns()
    for root in roots:
        for session_dir in iter_session_dirs(root):
            try:
                stat = find_trace(session_dir).stat()
            except (TraceNotFoundError, OSError):
                continue
            stamp = known.get(str(session_dir))
            if stamp == (stat.st_size, stat.st_mtime_ns):
                continue
            if stamp is not None and now_ns - stat.st_mtime_ns < recording_grace_s * 1e9:
                continue
            changed.append(session_dir)
    gone = [session_dir for session_dir in known if not os.path.isdir(session_dir)]
    return changed, gone


def update_index(
    index: SessionIndex, roots: Iterable[Path], warn: Warn, recording_grace_s: float = 0.0
) -> UpdateReport:
    """Index what is new or changed under `roots` (see stale_dirs), forget what was deleted."""
    changed, gone = stale_dirs(index, [root.resolve() for root in roots], recording_grace_s)
    forgotten = 0
    if gone:
        try:
            index.remove(gone)
            forgotten = len(gone)
        except IndexBusyError as error:
            warn(f"{error}; deleted sessions stay listed until the next run")
    report = write_entries(index, changed, warn)
    return UpdateReport(report.indexed, forgotten, report.failed, report.skipped, report.trace_bytes)


def rebuild_index(index: SessionIndex, roots: Iterable[Path], warn: Warn) -> UpdateReport:
    """Forget everything, then index every session under `roots` again."""
    session_dirs = [path for root in roots for path in iter_session_dirs(root.resolve())]
    index.clear()
    report = write_entries(index, session_dirs, warn)
    index.optimize()
    return report


def write_entries(index: SessionIndex, session_dirs: Sequence[Path], warn: Warn) -> UpdateReport:
    indexed = failed = skipped = trace_bytes = 0
    batch: list[SessionEntry] = []

    def flush() -> None:
        nonlocal indexed, skipped
        try:
            index.put_many(batch)
            indexed += len(batch)
        except IndexBusyError as error:
            skipped += len(batch)
            warn(f"{error}; {len(batch)} sessions not indexed this time")
        batch.clear()

    for result in _read_all(session_dirs):
        if isinstance(result, str):
            failed += 1
            warn(f"cannot index {result}")
            continue
        batch.append(result)
        trace_bytes += result.trace_size
        if len(batch) >= WRITE_BATCH:
            flush()
    if batch:
        flush()
    return UpdateReport(indexed, 0, failed, skipped, trace_bytes)


def _read_all(session_dirs: Sequence[Path]) -> Iterator[SessionEntry | str]:
    if len(session_dirs) < POOL_THRESHOLD or (os.cpu_count() or 1) < 2:
        yield from map(_entry_or_error, session_dirs)
        return
    # spawn, not fork: forking a process that may hold threads (the event loop's, SQLite's) is unsafe.
    context = multiprocessing.get_context("spawn")
    done = 0
    try:
        with ProcessPoolExecutor(max_workers=os.cpu_count(), mp_context=context) as pool:
            for result in pool.map(_entry_or_error, session_dirs, chunksize=4):
                done += 1
                yield result
    except BrokenProcessPool:
        pass  # the workers could not start (e.g. a __main__ they cannot import): read the rest here
    yield from map(_entry_or_error, session_dirs[done:])


def iter_session_dirs(root: Path) -> Iterator[Path]:
    """The session directories under `root` (`DATE/TIME-client-id/`) that hold a trace."""
    try:
        days = sorted(os.scandir(root), key=lambda item: item.name)
    except OSError:
        return
    for day in days:
        if not day.is_dir():
            continue
        try:
            sessions = sorted(os.scandir(day.path), key=lambda item: item.name)
        except OSError:
            continue
        for session in sessions:
            if session.is_dir() and any(os.path.isfile(os.path.join(session.path, n)) for n in TRACE_NAMES):
                yield Path(session.path)


# -- pruning --------------------------------------------------------------------------------------


def sessions_to_prune(
    rows: Sequence[SessionRow], now_ts: float, older_than_s: float | None, keep: int | None
) -> list[SessionRow]:
    """Which of `rows` (newest first) a prune deletes. With both rules, only sessions both select:
    older than the age AND not among the newest `keep`. A session of unknown age is never old."""
    chosen = []
    for position, row in enumerate(rows):
        is_old = older_than_s is None or (
            row.started_ts is not None and row.started_ts < now_ts - older_than_s
        )
        is_extra = keep is None or position >= keep
        if is_old and is_extra:
            chosen.append(row)
    return chosen


def delete_session(session_dir: Path) -> None:
    """Delete a session directory, and its day directory when that is left empty. Refuses a
    directory that holds no trace (never a path the index got wrong)."""
    find_trace(session_dir)  # raises TraceNotFoundError when it is not a session
    shutil.rmtree(session_dir)
    with contextlib.suppress(OSError):  # not empty: other sessions of that day
        session_dir.parent.rmdir()
