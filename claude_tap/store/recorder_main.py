"""The recorder process: `python -m claude_tap.store.recorder_main`, started by store/recorder.py.

Reads frames from stdin (see recorder.py): `init` (paths, the session record, the secrets known so
far, whether a live viewer listens), then `exchange` and `record` items, then `close`. Feeds them to a
`TraceWriter` and, as each record is written, to a `SessionCollector`, so the viewer model grows with
the trace; at `close` (or at the end of its input, when the tap died) it closes the trace and writes
trace.html from that model. Frames back on stdout: each stored record when a live viewer listens,
secrets the redactor learned (the proxy scrubs its log with them), log lines, `stopped` when the
trace file breaks (the tap says so at once), `progress` every few seconds while it records (the tap's
close waits as long as it hears them), and the final stats.

Its threads: one takes the bytes off the pipe as they come (store/inbox.py), so a backlog never waits
in the tap; the main thread, which records, and the writer's thread it starts run at idle priority and
catch up whenever the machine has nothing else to do.

It ignores SIGINT: the terminal's Ctrl+C is for the agent and the tap, and this process must finish
the trace whatever happens to them.

This module knows nothing about sockets or API formats.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import gc
import logging
import os
import signal
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from claude_tap.capture.redact import Redactor
from claude_tap.store.inbox import Inbox
from claude_tap.store.recorder import PROGRESS_EVERY_S, read_frame, write_frame
from claude_tap.store.writer import Record, TraceWriter

if TYPE_CHECKING:
    from claude_tap.normalize.summary import Summary
    from claude_tap.otlp_live import LiveSpans

logger = logging.getLogger("claude_tap")

RECORDER_NICENESS = 19
# The viewer model is built from written records once nothing has come to write for this long (so
# after a burst too, not at the stop), or when this many wait (about 0.04 ms each to model).
MODEL_AFTER_GAP_S = 0.05
MAX_UNMODELLED = 8192
MAX_UNMODELLED_BYTES = 32 << 20  # of bodies as sent (a delta's whole body counts)
# Frames taken off the pipe and not yet recorded, held in this process (store/inbox.py): as much as
# the tap's own queue would hold (store/recorder.py).
MAX_HELD_BYTES = 256 << 20
PIPE_READ_BYTES = 1 << 20
# After a record whose bodies reached this size, the next pause gives the freed memory back to the
# system (`_give_back_free_memory`). Smaller ones, the 1.5 MB turns of a long session among them,
# leave their memory to be reused: given back, it would be faulted in again on every turn.
GIVE_BACK_AFTER_BODY_BYTES = 8 << 20


def _body_bytes(record: Record) -> int:
    """The bytes of a record's request and response bodies as they crossed the wire."""
    total = 0
    for part_name in ("request", "response"):
        part = record.get(part_name)
        if isinstance(part, dict) and isinstance(part.get("body_bytes"), int):
            total += part["body_bytes"]
    return total


def _give_back_free_memory() -> None:
    """Return the freed pages of every malloc arena to the system (glibc's malloc_trim; elsewhere
    nothing). glibc keeps what large blocks leave behind: freed blocks under its mmap threshold, which
    it raises up to 32 MB after each large free, stay with the process. Three 20 MB uploads left the
    recorder at 125 MB; trimmed after them, at 54 MB."""
    malloc_trim = _malloc_trim()
    if malloc_trim is not None:
        malloc_trim(0)


@functools.cache
def _malloc_trim() -> Any:
    try:
        malloc_trim = ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):  # not glibc
        return None
    malloc_trim.argtypes = [ctypes.c_size_t]
    malloc_trim.restype = ctypes.c_int
    return malloc_trim


class _Channel:
    """Frames to the parent, from the writer thread and the main thread alike."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream
        self._lock = threading.Lock()
        self.is_open = True

    def send(self, message: tuple[Any, ...]) -> None:
        if not self.is_open:
            return
        with self._lock:
            try:
                write_frame(self._stream, message)
            except OSError:  # the parent is gone; the trace goes on regardless
                self.is_open = False


class _ForwardLogs(logging.Handler):
    def __init__(self, channel: _Channel, redactor: Redactor) -> None:
        super().__init__(logging.DEBUG)
        self._channel = channel
        self._redactor = redactor

    def emit(self, record: logging.LogRecord) -> None:
        message = self._redactor.scrub(record.getMessage())
        self._channel.send(("log", record.levelno, message))
        if record.name == TraceWriter.__module__ and record.levelno >= logging.ERROR:
            # The trace file broke (a full disk, a quota) or never opened: the parent says so now.
            self._channel.send(("stopped", message))


class _Recorder:
    def __init__(self, init: dict[str, Any], channel: _Channel) -> None:
        from claude_tap.normalize.session import SessionCollector
        from claude_tap.normalize.summary import SummaryCounter

        self._channel = channel
        self._is_live = bool(init["live"])
        self._html_path = Path(init["html"]) if init["html"] else None
        self._index_file = Path(init["index"]) if init.get("index") else None
        self.redactor = Redactor()
        for form, replacement in init["secrets"]:
            self.redactor.remember(form, replacement)
        self._shared = {form for form, _ in self.redactor.remembered_pairs()}
        self._collector = SessionCollector() if self._html_path is not None else None
        # The exit summary, counted as records are modelled: the tap prints it without reading the trace.
        self._summary = SummaryCounter() if self._collector is not None else None
        self._unmodelled: list[Record] = []  # written, not yet in the model
        self._unmodelled_bytes = 0
        self._is_give_back_due = False  # a large record was written since the last pause
        self._last_progress_at = time.monotonic()
        self._progress_every_s = float(init.get("progress_every_s", PROGRESS_EVERY_S))
        self._otlp = _live_spans(init.get("otlp"), Path(init["trace"]).parent.name)
        self.writer = TraceWriter(
            Path(init["trace"]),
            init["session"],
            self.redactor,
            on_record=self._on_record,
            on_idle=self._on_idle,
            idle_after_s=MODEL_AFTER_GAP_S,
        )

    def _on_record(self, record: Record) -> None:
        # In the writer thread, once the record is on disk.
        now = time.monotonic()
        if now - self._last_progress_at >= self._progress_every_s:  # a long backlog: still getting on
            self._last_progress_at = now
            self._channel.send(("progress",))
        body_bytes = _body_bytes(record)
        if body_bytes >= GIVE_BACK_AFTER_BODY_BYTES:
            self._is_give_back_due = True
        if self._collector is not None:
            # The trace comes first; the model, needed only at the stop, waits for a pause in the
            # traffic (the writer's on_idle). An agent leaves seconds between its calls, so the model
            # keeps up; under a burst it waits, up to MAX_UNMODELLED records. A record's large bodies
            # are cut for the page as it is modelled: waiting ones are bounded by their bytes too.
            self._unmodelled.append(record)
            self._unmodelled_bytes += body_bytes
            if len(self._unmodelled) >= MAX_UNMODELLED or self._unmodelled_bytes >= MAX_UNMODELLED_BYTES:
                self._catch_up_model()
        if self._otlp is not None:
            self._otlp.add(record)
        if self._is_live:
            self._channel.send(("record", record))
        if self.redactor.remembered > len(self._shared):
            new = [pair for pair in self.redactor.remembered_pairs() if pair[0] not in self._shared]
            for form, _ in new:
                self._shared.add(form)
                self._channel.send(("secret", form))

    @property
    def unmodelled(self) -> int:
        """Records written and not yet in the viewer model."""
        return len(self._unmodelled)

    def _on_idle(self) -> None:
        # In the writer thread, in the first pause after records were written.
        self._catch_up_model()
        if self._is_give_back_due:
            self._is_give_back_due = False
            _give_back_free_memory()

    def _catch_up_model(self) -> None:
        if self._collector is None or self._summary is None:
            return
        for record in self._unmodelled:
            self._collector.add(record)
            self._summary.add(record)
        self._unmodelled.clear()
        self._unmodelled_bytes = 0
        # What the model keeps lives to the end and holds no cycles: out of the collector's sight,
        # so collections do not walk a heap that grows with the session.
        gc.freeze()

    def finish(self, exit_code: int | None, parent_dropped: int) -> dict[str, Any]:
        self.writer.count_dropped(parent_dropped)
        stats = self.writer.close(exit_code)
        logger.debug("trace closed: %d records; writing the viewer", stats.written)
        otlp = self._otlp.close() if self._otlp is not None else None  # bounded: otlp_live.py
        summary, html, html_error = self._write_viewer()
        logger.debug("viewer written")
        return {"stats": stats, "html": html, "html_error": html_error, "otlp": otlp, "summary": summary}

    def _write_viewer(self) -> tuple[Summary | None, str | None, str | None]:
        """(the exit summary, trace.html's path, why it was not written)."""
        if self._collector is None or self._summary is None or self._html_path is None:
            return None, None, None
        try:
            from claude_tap.viewer.html import write_html

            self._catch_up_model()
            info, turns = self._collector.finish()
            summary = self._summary.finish(turns)
            write_html(self._html_path, info, turns)
        except Exception as error:  # reported by the tap, which may try again from the trace file
            return None, None, self.redactor.scrub(f"{type(error).__name__}: {error}")
        if self._index_file is not None:  # `claude-tap sessions` and `search` find it at once
            from claude_tap.store.index import index_session

            index_session(self._html_path.parent, info, turns, index_file=self._index_file)  # never raises
        return summary, str(self._html_path), None


def _live_spans(otlp: dict[str, Any] | None, session_name: str) -> LiveSpans | None:
    """The live OpenTelemetry export the tap asked for, if any (the tap checked the SDK is there)."""
    if not otlp:
        return None
    from claude_tap.otlp_live import LiveSpans

    try:
        return LiveSpans(otlp["endpoint"], bool(otlp.get("content")), session_name)
    except Exception as error:  # the trace matters more: record without the spans, say why
        logger.error("OpenTelemetry export is off: %s", error)
        return None


def main(stdin: IO[bytes], stdout: IO[bytes]) -> int:
    """Take the pipe's bytes in one thread, record them in this one at idle priority; 0, or 2 when
    the first frame is not `init`."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # In the tap's session but a process group of its own: if the tap dies while this process is
    # stopped, the kernel sends the orphaned group SIGHUP (then SIGCONT), which must not cost the trace.
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    inbox = Inbox(MAX_HELD_BYTES)
    pipe = threading.Thread(target=_take_off_the_pipe, args=(stdin.fileno(), inbox), name="pipe", daemon=True)
    # Started first, so on Linux (where priorities are per thread) it alone keeps an ordinary one: it
    # only moves bytes, and it must keep the pipe empty however busy the machine is.
    pipe.start()
    # Second in line for a CPU: on a small machine the agent, the proxy and the model's answers come
    # first; the recording catches up in the gaps. (Elsewhere this is the whole process's priority.)
    with contextlib.suppress(OSError):
        os.nice(RECORDER_NICENESS)
    # Idle priority, for this thread and the writer's it starts: whenever the agent, the tap or the
    # load they put on the machine wants a CPU, it has it at once (at nice 19 alone, the proxy waited
    # for the recorder's turn: small-request p99 +1.9 ms, throughput at 8 concurrent 46 % of direct;
    # with this, +0.7 ms and 57-62 %). Linux only; elsewhere the nice value above is all there is.
    with contextlib.suppress(OSError, AttributeError):
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    try:
        return _record_frames(inbox, _Channel(stdout))
    finally:
        inbox.abandon()  # the process ends: the tap sees the pipe closed and counts the rest


def _take_off_the_pipe(fd: int, inbox: Inbox) -> None:
    """Move what the tap sends into `inbox` as it arrives, until the tap closes the pipe: a backlog
    then waits in this process, not in the tap's."""
    try:
        while True:
            try:
                data = os.read(fd, PIPE_READ_BYTES)
            except OSError:
                data = b""
            if not data or not inbox.put(data):
                break
    finally:
        inbox.end()  # whatever stopped the reading, the recording finishes with what came


def _record_frames(inbox: Inbox, channel: _Channel) -> int:
    first = read_frame(inbox)
    if not isinstance(first, tuple) or first[0] != "init":
        return 2
    recorder = _Recorder(first[1], channel)
    logger.addHandler(_ForwardLogs(channel, recorder.redactor))
    logger.setLevel(logging.DEBUG if first[1].get("debug") else logging.INFO)
    exit_code: int | None = None
    parent_dropped = 0
    try:
        while (message := read_frame(inbox)) is not None:
            kind = message[0]
            if kind == "exchange":
                recorder.writer.submit(message[1], block=True)
            elif kind == "record":
                recorder.writer.submit_record(message[1])
            elif kind == "close":
                exit_code, parent_dropped = message[1]
                break
            del message  # the exchange's bytes are the writer's now
    except Exception:  # a broken frame: close what was written, say why
        channel.send(("log", logging.ERROR, recorder.redactor.scrub(traceback.format_exc())))
    channel.send(("closed", recorder.finish(exit_code, parent_dropped)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.stdin.buffer, sys.stdout.buffer))
