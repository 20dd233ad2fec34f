"""Recording in a process of its own, so it never holds the proxy's GIL.

Building a record (content decoding, SSE parsing, reassembly, redaction, JSON, zstd) and the viewer
model is Python work; in a thread it competes with the event loop that relays the agent's bytes. The
proxy process therefore only encodes each finished exchange (`RecorderProcess.submit`: plain tuples
with its bytes kept raw, store/wire.py) and queues it; a sender thread writes it onto a pipe, and a
child process (store/recorder_main.py, at low priority) runs the `TraceWriter`, builds the viewer model
record by record, and at the end writes trace.html from the model it already has.

    parent                                          child (python -m claude_tap.store.recorder_main)
    submit(exchange) -> queue -> sender thread  ==pipe==>  TraceWriter -> trace.jsonl.zst
                                                           SessionCollector -> trace.html, index
    on_record(record) <- reader thread          <==pipe==  each stored record (live viewer only),
                                                           secrets learned, log lines, the final stats

A frame is two 8-byte lengths, a pickle of plain values, then the raw bytes (see `encode_frame`); the
child is our own program, run from the same interpreter and package. Never blocks the caller: when
the queue holds `max_queued_bytes` (or `max_queued` exchanges), an exchange is dropped and counted. If
the child dies, forwarding goes on: later exchanges are counted as dropped, and `close` says so.

The child runs in a process group of its own: a Ctrl+C at the terminal is for the agent and the tap,
and a recorder that outlives a killed tap still closes the trace and writes the viewer (EOF on its
input). It stays in the tap's session, so where Linux shares the CPU out by session (autogroup), its
idle priority ranks it below the agent and the tap (in a session of its own it had a full share).

This module knows nothing about sockets, API formats or the viewer's markup.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import pickle
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Generic, Protocol, TypeVar

import claude_tap
from claude_tap.capture.exchange import Exchange
from claude_tap.capture.redact import Redactor
from claude_tap.store.wire import from_wire, to_wire
from claude_tap.store.writer import PRIVATE_FILE_MODE, Record, WriterStats, wire_bytes

if TYPE_CHECKING:
    from claude_tap.normalize.summary import Summary

logger = logging.getLogger("claude_tap")

T = TypeVar("T")

# A long session's requests pass 1 MB each: bound the queue by bytes, not only by count.
MAX_QUEUED_BYTES = 256 << 20
# Many small exchanges in a burst (thousands a second) may wait while the recorder catches up.
MAX_QUEUED = 16384
# How long `close` waits for a word from the child (it says how far it got every PROGRESS_EVERY_S while
# it records: a long backlog on a busy machine may take longer, and is waited for) before stopping it.
CLOSE_TIMEOUT_S = 300.0
PROGRESS_EVERY_S = 5.0
_LENGTH_BYTES = 8
# Linux's default cap for an unprivileged process (/proc/sys/fs/pipe-max-size).
PIPE_BYTES = 1 << 20


def encode_frame(message: tuple[Any, ...]) -> list[bytes]:
    """A frame as the pieces to write: the lengths of its pickled part and of its raw part with the
    pickled part, then the raw pieces. An exchange goes as plain tuples with its bytes raw, straight
    from the chunks they arrived in (store/wire.py): never copied once more in the proxy."""
    raw: list[bytes] = []
    if message[0] == "exchange":
        wire, raw = to_wire(message[1])
        message = ("exchange", wire)
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    raw_size = sum(len(piece) for piece in raw)
    head = len(data).to_bytes(_LENGTH_BYTES, "big") + raw_size.to_bytes(_LENGTH_BYTES, "big")
    return [head + data, *raw]


def write_frame(stream: IO[bytes], message: tuple[Any, ...], flush: bool = True) -> None:
    """One frame (see `encode_frame`); `flush=False` leaves small frames in the stream's buffer for
    one write later."""
    write_pieces(stream, encode_frame(message), flush)


def write_pieces(stream: IO[bytes], pieces: list[bytes], flush: bool = True) -> None:
    for piece in pieces:
        stream.write(piece)
    if flush:
        stream.flush()


class Readable(Protocol):
    def read(self, n: int, /) -> bytes: ...


def read_frame(stream: Readable) -> Any:
    """The next message, or None at the end of the stream (a cut frame counts as the end)."""
    head = stream.read(2 * _LENGTH_BYTES)
    if len(head) < 2 * _LENGTH_BYTES:
        return None
    size, raw_size = int.from_bytes(head[:_LENGTH_BYTES], "big"), int.from_bytes(head[_LENGTH_BYTES:], "big")
    data = stream.read(size)
    if len(data) < size:
        return None
    message = pickle.loads(data)
    if message[0] != "exchange":
        return message
    raw = _ExactReader(stream)
    try:
        # Each raw piece read on its own, into the bytes the record will use: no slicing, no join.
        exchange = from_wire(message[1], raw.read)
    except EOFError:
        return None
    if raw.taken != raw_size:  # the next frame would be read from the wrong place: stop here
        raise ValueError(f"an exchange frame's pieces hold {raw.taken} bytes, its head says {raw_size}")
    return ("exchange", exchange)


class _ExactReader:
    def __init__(self, stream: Readable) -> None:
        self._stream = stream
        self.taken = 0

    def read(self, length: int) -> bytes:
        piece = self._stream.read(length) if length else b""
        if len(piece) < length:
            raise EOFError("the frame was cut")
        self.taken += length
        return piece


class _Mailbox(Generic[T]):
    """A FIFO for one reading thread whose `put` wakes that thread only when it waits: a burst of
    puts between two waits costs an append each. (queue.Queue notifies a waiting thread on every
    put; from a busy event loop that was a GIL hand-off per exchange, 8 % of the proxy's time at
    2,000 requests a second.)"""

    def __init__(self) -> None:
        self._items: deque[T] = deque()
        self._ready = threading.Event()

    def put(self, item: T) -> None:
        self._items.append(item)
        if not self._ready.is_set():
            self._ready.set()

    def get(self) -> T:
        while True:
            try:
                return self._items.popleft()  # after every clear: no put is missed
            except IndexError:
                self._ready.wait()
                self._ready.clear()

    def empty(self) -> bool:
        return not self._items


def _child_env() -> dict[str, str]:
    """Our environment, with this very claude_tap first on the path: the recorder must be the same
    code as the proxy feeding it, whatever else is installed."""
    root = str(Path(claude_tap.__file__).resolve().parent.parent)
    inherited = os.environ.get("PYTHONPATH")
    return {**os.environ, "PYTHONPATH": root + (os.pathsep + inherited if inherited else "")}


def _widen_pipe(stream: IO[bytes]) -> None:
    """Give the pipe to the recorder a buffer of PIPE_BYTES where the OS allows (Linux): a 1.5 MB
    request then crosses in two writes instead of two dozen 64 KB ones, each a wake-up of both sides."""
    set_size = getattr(fcntl, "F_SETPIPE_SZ", None)
    if set_size is None:
        return
    with contextlib.suppress(OSError):
        fcntl.fcntl(stream.fileno(), set_size, PIPE_BYTES)


@dataclass(frozen=True, slots=True)
class RecorderResult:
    """What `close` learned: the writer's counts and whether trace.html was written."""

    stats: WriterStats
    html_path: Path | None
    html_error: str | None  # why the viewer was not written (None when it was, or was not asked for)
    otlp: dict[str, Any] | None = None  # live OpenTelemetry: endpoint, sent, not_sent (otlp_live.py)
    summary: Summary | None = None  # the exit summary's figures, counted as the records were written


class RecorderProcess:
    """The parent's side: an `ExchangeSink` (`submit`) plus `submit_record` and `close`."""

    def __init__(
        self,
        trace_path: Path,
        session: Record,
        redactor: Redactor,
        *,
        html_path: Path | None = None,
        index_file: Path | None = None,
        on_record: Callable[[Record], None] | None = None,
        on_stopped: Callable[[str], None] | None = None,
        otlp: dict[str, Any] | None = None,
        max_queued_bytes: int = MAX_QUEUED_BYTES,
        max_queued: int = MAX_QUEUED,
    ) -> None:
        self.path = trace_path
        self._redactor = redactor
        self._on_record = on_record
        self._on_stopped = on_stopped  # called once, in the reader thread, when the trace file breaks
        self._max_queued_bytes = max_queued_bytes
        self._queue: _Mailbox[tuple[str, Any, int] | None] = _Mailbox()
        self._lock = threading.Lock()
        self._queued = 0
        self._queued_bytes = 0
        self._dropped = 0
        self._max_queued = max_queued
        self._is_closed = False
        self._is_dead = False
        self._result: RecorderResult | None = None
        self._final: dict[str, Any] | None = None
        self._finished = threading.Event()
        self._last_heard = time.monotonic()  # any frame from the child: it is alive and getting on
        # The file exists from the start (the banner names it), private; the child writes into it.
        with contextlib.suppress(OSError):
            os.close(os.open(trace_path, os.O_WRONLY | os.O_CREAT, PRIVATE_FILE_MODE))
        self._process = subprocess.Popen(
            [sys.executable, "-m", "claude_tap.store.recorder_main"],
            env=_child_env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            process_group=0,
        )
        assert self._process.stdin is not None and self._process.stdout is not None
        self._to_child: IO[bytes] = self._process.stdin
        _widen_pipe(self._to_child)
        self._from_child: IO[bytes] = self._process.stdout
        init = {
            "trace": str(trace_path),
            "html": str(html_path) if html_path is not None else None,
            "index": str(index_file) if index_file is not None else None,
            "session": session,
            "secrets": redactor.remembered_pairs(),
            "live": on_record is not None,
            "otlp": otlp,  # {"endpoint", "content"}: spans sent as records are written
            "debug": logger.isEnabledFor(logging.DEBUG),
            "progress_every_s": PROGRESS_EVERY_S,
        }
        self._sender = threading.Thread(
            target=self._send_all, args=(init,), name="recorder-sender", daemon=True
        )
        self._reader = threading.Thread(target=self._read_all, name="recorder-reader", daemon=True)
        self._sender.start()
        self._reader.start()

    # -- called from the event loop (never blocks) ---------------------------------------------

    def submit(self, exchange: Exchange) -> bool:
        # Encoded here, on the loop, in C-speed pickling of plain tuples: the queue then holds
        # bytes, which the GC never walks, instead of thousands of live event objects in a burst.
        size = wire_bytes(exchange)
        if self._is_full(size):
            return self._refuse()
        return self._put("frame", encode_frame(("exchange", exchange)), size)

    def submit_record(self, record: Record, block: bool = True) -> bool:
        """A ready record (an imported transcript entry). Queued like an exchange; `block` is kept
        for the TraceWriter's signature: the queue here never waits."""
        return self._put("record", record, 0)

    def _is_full(self, size: int) -> bool:
        if self._is_closed or self._is_dead:
            return True
        is_full = self._queued >= self._max_queued or self._queued_bytes + size > self._max_queued_bytes
        return is_full and self._queued > 0  # one exchange bigger than the bound still goes

    def _refuse(self) -> bool:
        with self._lock:
            self._dropped += 1
        return False

    def _put(self, kind: str, payload: Any, size: int) -> bool:
        with self._lock:
            if self._is_full(size):
                self._dropped += 1
                return False
            self._queued += 1
            self._queued_bytes += size
        self._queue.put((kind, payload, size))
        return True

    @property
    def stats(self) -> WriterStats:
        if self._result is not None:
            return self._result.stats
        return WriterStats(written=0, dropped=self._dropped, failed=0)

    # -- the end -------------------------------------------------------------------------------

    def close(self, exit_code: int | None = None) -> RecorderResult:
        """Send what is queued, let the child finish the trace and the viewer, and report. Idempotent."""
        with self._lock:
            already_closed, self._is_closed = self._is_closed, True
        if not already_closed:
            self._queue.put(("close", exit_code, 0))
            self._queue.put(None)
        if self._result is not None:
            return self._result
        # The child's last frame comes once it has read all the sender writes, so this waits for the
        # sender too, under the same watch: a child that hung with the pipe full would otherwise hold
        # the sender, blocked writing, and the tap's exit with it, forever.
        self._last_heard = max(self._last_heard, time.monotonic())
        is_hung = False
        while not self._finished.wait(1.0):
            if time.monotonic() - self._last_heard > CLOSE_TIMEOUT_S:
                logger.error("the recorder said nothing for %.0f s; stopping it", CLOSE_TIMEOUT_S)
                is_hung = True
                break
        self._stop_process(is_hung)
        self._sender.join()  # a write to the stopped child fails; the rest of the queue is counted
        self._result = self._result_from(self._final)
        return self._result

    def _result_from(self, final: dict[str, Any] | None) -> RecorderResult:
        if final is None:
            code = self._process.returncode
            message = (
                f"the recorder process ended unexpectedly (exit code {code}); the trace keeps what it wrote"
            )
            stats = WriterStats(written=0, dropped=self._dropped, failed=1, errors=[message])
            return RecorderResult(stats, None, message)
        child: WriterStats = final["stats"]
        stats = WriterStats(
            written=child.written,
            dropped=child.dropped,
            failed=child.failed,
            errors=child.errors,
            on_record_errors=child.on_record_errors,
        )
        html = final.get("html")
        return RecorderResult(
            stats,
            Path(html) if html else None,
            final.get("html_error"),
            final.get("otlp"),
            final.get("summary"),
        )

    def _stop_process(self, is_hung: bool) -> None:
        if not is_hung:
            self._sender.join(timeout=5)  # it has written everything, unless the child stopped reading
        if is_hung or self._sender.is_alive():  # first: the sender is blocked writing to the child
            self._process.kill()
        with contextlib.suppress(OSError):
            self._to_child.close()
        try:
            self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._reader.join(timeout=5)
        with contextlib.suppress(OSError):
            self._from_child.close()

    # -- the threads ---------------------------------------------------------------------------

    def _send_all(self, init: dict[str, Any]) -> None:
        try:
            write_frame(self._to_child, ("init", init))
        except OSError as error:
            self._die(f"cannot start the recorder: {error}")
        while (item := self._queue.get()) is not None:
            size = item[2]
            self._send(item)
            # Nothing of the frame outlives the call above: waiting for the next one here must not
            # keep the last one's bytes (a 20 MB upload) alive.
            del item
            with self._lock:
                self._queued -= 1
                self._queued_bytes -= size

    def _send(self, item: tuple[str, Any, int]) -> None:
        kind, payload, _ = item
        if kind == "close":
            with self._lock:
                payload = (payload, self._dropped)  # the end record counts the parent's drops too
        if self._is_dead:
            if kind != "close":
                self._count_dropped(1)
            return
        try:
            # Under a burst of small exchanges, one write (one wake-up of the child) for all.
            is_last = kind == "close" or self._queue.empty()
            pieces = payload if kind == "frame" else encode_frame((kind, payload))
            write_pieces(self._to_child, pieces, flush=is_last)
        except OSError as error:  # the child is gone: keep draining, count the rest
            self._die(f"the recorder stopped reading: {error}")
            if kind != "close":
                self._count_dropped(1)

    def _read_all(self) -> None:
        try:
            while (message := read_frame(self._from_child)) is not None:
                self._handle(message)
        except Exception:  # a broken frame ends the conversation, never the tap
            logger.exception("reading from the recorder failed")
        finally:
            self._is_dead = True
            self._finished.set()

    def _handle(self, message: tuple[Any, ...]) -> None:
        self._last_heard = time.monotonic()
        kind = message[0]
        if kind == "record" and self._on_record is not None:
            try:
                self._on_record(message[1])
            except Exception:  # the live viewer is a guest
                logger.exception("live viewer callback failed")
        elif kind == "secret":
            self._redactor.remember(message[1])  # so proxy.log is scrubbed of it too
        elif kind == "log":
            logger.log(message[1], "recorder: %s", message[2])
        elif kind == "stopped" and self._on_stopped is not None:
            on_stopped, self._on_stopped = self._on_stopped, None
            try:
                on_stopped(message[1])
            except Exception:
                logger.exception("saying that recording stopped failed")
        elif kind == "closed":
            self._final = message[1]

    def _die(self, reason: str) -> None:
        if not self._is_dead:
            logger.error("%s", reason)
        self._is_dead = True

    def _count_dropped(self, n: int) -> None:
        with self._lock:
            self._dropped += n
