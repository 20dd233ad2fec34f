"""Writes one session's trace: a thread fed by a bounded queue, one zstd stream, one record per line.

The proxy hands over finished exchanges with `submit`, which never blocks: when the queue is full
the exchange is dropped and counted, because forwarding must never wait for the disk. The thread
builds each record, redacts it, serializes it, scrubs the line of any remembered secret and writes
it through a single zstd stream, flushed (FLUSH_BLOCK, then the file) after every record:

- the file decodes up to the last complete record after a crash or SIGKILL;
- one frame with a 16 MB window lets zstd refer back to the previous requests, which repeat the
  growing conversation, so disk grows with new content, not with turns x context.

Nothing here raises into the caller once the writer exists: a record that fails to build or
write is counted (`failed`), its error kept; if the file itself fails (disk full, permission),
every later record is counted as failed and the queue keeps draining.

This module knows nothing about sockets, API formats or the viewer (it calls `on_record`).
"""

from __future__ import annotations

import contextlib
import json
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any, Literal

import zstandard

from claude_tap.capture.exchange import Exchange
from claude_tap.capture.redact import Redactor

logger = logging.getLogger(__name__)

Record = dict[str, Any]
RecordKind = Literal["session", "exchange", "record", "end"]
BuildRecord = Callable[[Exchange, str], Record]

ZSTD_LEVEL = 3
# 16 MB: several of the largest requests seen (about 1 MB of JSON at 200k tokens of context), so
# each request finds the previous one in the window. Measured on a 60-turn synthetic session
# (34 MB of JSON): window 2 MB -> 768 KB on disk, 16 MB -> 557 KB, 128 MB -> 556 KB; long
# distance matching added nothing but tripled the time. zstdcat decodes up to 128 MB windows.
ZSTD_WINDOW_LOG = 24
MAX_KEPT_ERRORS = 5
_FULL_QUEUE_POLL_S = 0.005


@dataclass(frozen=True, slots=True)
class WriterStats:
    written: int  # exchange and transcript records written
    dropped: int  # exchanges refused because the queue was full (or the writer closed)
    failed: int  # records that failed to build, serialize or write
    errors: list[str] = field(default_factory=list)  # the first MAX_KEPT_ERRORS failure messages
    on_record_errors: int = 0  # exceptions raised by the on_record callback (the record was written)


def exchange_id(seq: int) -> str:
    return f"ex-{seq:06d}"


def _default_build(exchange: Exchange, record_id: str) -> Record:
    # Imported here: capture.record is a sibling module that may load heavy format code.
    from claude_tap.capture.record import build_record

    return dict(build_record(exchange, record_id))


class _Close:
    def __init__(self, exit_code: int | None) -> None:
        self.exit_code = exit_code


class TraceWriter:
    """Owns the trace file of one session. Start it, `submit` exchanges, `close` once at the end."""

    def __init__(
        self,
        path: Path,
        session: Record,
        redactor: Redactor,
        build: BuildRecord | None = None,
        queue_size: int = 1024,
        on_record: Callable[[Record], None] | None = None,
    ) -> None:
        self.path = path
        self._session = session
        self._redactor = redactor
        self._build = build or _default_build
        self._on_record = on_record
        self._queue: queue.Queue[tuple[str, Any] | _Close] = queue.Queue(maxsize=queue_size)
        self._submit_lock = threading.Lock()
        self._is_closed = False
        self._final_stats: WriterStats | None = None
        self._written = 0
        self._exchanges = 0
        self._dropped = 0
        self._failed = 0
        self._on_record_errors = 0
        self._errors: list[str] = []
        self._file: IO[bytes] | None = None
        self._stream: zstandard.ZstdCompressionWriter | None = None
        self._file_error: str | None = None
        self._thread = threading.Thread(target=self._run, name=f"trace-writer:{path.name}", daemon=True)
        self._thread.start()

    # -- called by the proxy and the CLI -------------------------------------------------------

    def submit(self, exchange: Exchange) -> bool:
        """Queue a finished exchange. Never blocks; False (and counted as dropped) when full."""
        return self._put(("exchange", exchange), block=False)

    def submit_record(self, record: Record, block: bool = True) -> bool:
        """Queue a ready record (e.g. an imported transcript entry). Blocks while full by default,
        since these come after the run and none should be lost; never call it blocking from the
        event loop."""
        return self._put(("record", record), block=block)

    def _put(self, item: tuple[str, Any], block: bool) -> bool:
        # The lock makes "not closed, then queued" one step, so nothing lands behind the close
        # marker. It is never held while waiting: a blocked submit_record must not stall submit.
        while True:
            with self._submit_lock:
                if self._is_closed:
                    self._dropped += 1
                    return False
                try:
                    self._queue.put_nowait(item)
                    return True
                except queue.Full:
                    if not block:
                        self._dropped += 1
                        return False
            time.sleep(_FULL_QUEUE_POLL_S)

    @property
    def stats(self) -> WriterStats:
        """A snapshot of the counters, safe to read at any time."""
        if self._final_stats is not None:
            return self._final_stats
        return WriterStats(
            written=self._written,
            dropped=self._dropped,
            failed=self._failed,
            errors=list(self._errors),
            on_record_errors=self._on_record_errors,
        )

    def close(self, exit_code: int | None = None) -> WriterStats:
        """Drain the queue, write the `end` record, finish the zstd frame, close the file.

        Idempotent: later calls return the same stats.
        """
        with self._submit_lock:
            already_closed = self._is_closed
            self._is_closed = True
        if not already_closed:
            self._queue.put(_Close(exit_code))
        self._thread.join()
        if self._final_stats is None:
            self._final_stats = self.stats
        return self._final_stats

    # -- the writer thread ---------------------------------------------------------------------

    def _run(self) -> None:
        self._open()
        self._write(self._session, kind="session")
        while True:
            item = self._queue.get()
            if isinstance(item, _Close):
                self._write(self._end_record(item.exit_code), kind="end")
                self._finish()
                return
            kind, payload = item
            try:
                if kind == "exchange":
                    self._write_exchange(payload)
                else:
                    self._write(payload, kind="record")
            except Exception as error:  # a bug here must not leave close() waiting forever
                self._fail(f"{kind}: unexpected error: {type(error).__name__}: {error}")

    def _write_exchange(self, exchange: Exchange) -> None:
        record_id = exchange_id(exchange.seq)
        try:
            record = self._build(exchange, record_id)
        except Exception as error:  # a bad exchange must not stop the recording of the others
            self._fail(f"{record_id}: building the record failed: {type(error).__name__}: {error}")
            return
        self._write(record, kind="exchange")

    def _write(self, record: Record, kind: RecordKind) -> None:
        label = str(record.get("id") or record.get("type") or kind) if isinstance(record, dict) else kind
        try:
            redacted = self._redactor.redact_record(record)
            line, was_scrubbed = self._serialize(redacted)
        except Exception as error:  # same boundary as above: count, keep the thread alive
            self._fail(f"{label}: serializing the record failed: {type(error).__name__}: {error}")
            return
        if self._stream is None:
            self._fail(f"{label}: not written: {self._file_error}")
            return
        try:
            self._stream.write(line)
            self._stream.flush(zstandard.FLUSH_BLOCK)
            if self._file is not None:
                self._file.flush()
        except (OSError, zstandard.ZstdError) as error:
            self._break_file(f"writing {self.path} failed: {error}")
            self._fail(f"{label}: not written: {self._file_error}")
            return
        if kind in ("exchange", "record"):
            self._written += 1
        if kind == "exchange":
            self._exchanges += 1
        self._notify(json.loads(line) if was_scrubbed else redacted)

    def _serialize(self, record: Record) -> tuple[bytes, bool]:
        """The line to store, and whether scrubbing changed it."""
        text = json.dumps(record, ensure_ascii=False, separators=(",", ":"))
        scrubbed = self._redactor.scrub(text)
        try:
            encoded = scrubbed.encode("utf-8")
        except UnicodeEncodeError:
            # Lone surrogates (from "\ud800" in a body) are not UTF-8; \u escapes keep the line valid.
            text = json.dumps(record, ensure_ascii=True, separators=(",", ":"))
            scrubbed = self._redactor.scrub(text)
            encoded = scrubbed.encode("ascii")
        return encoded + b"\n", scrubbed is not text

    def _notify(self, shown: Record) -> None:
        # `shown` is what was stored: when scrubbing changed the line, it was parsed back from it.
        if self._on_record is None:
            return
        try:
            self._on_record(shown)
        except Exception as error:  # the live viewer is a guest: its failure is not the trace's
            self._on_record_errors += 1
            logger.warning("live viewer callback failed: %s", error)

    def _end_record(self, exit_code: int | None) -> Record:
        return {
            "type": "end",
            "ended_at": datetime.now().astimezone().isoformat(timespec="milliseconds"),
            "exit_code": exit_code,
            "exchanges": self._exchanges,
            "dropped": self._dropped,
            "failed": self._failed,
        }

    def _fail(self, message: str) -> None:
        self._failed += 1
        message = self._redactor.scrub(message)
        if len(self._errors) < MAX_KEPT_ERRORS:
            self._errors.append(message)
        logger.warning("trace record lost: %s", message)

    # -- the file ------------------------------------------------------------------------------

    def _open(self) -> None:
        params = zstandard.ZstdCompressionParameters.from_level(
            ZSTD_LEVEL, window_log=ZSTD_WINDOW_LOG, write_checksum=True
        )
        try:
            self._file = open(self.path, "wb")  # noqa: SIM115 (closed in _finish or _break_file)
        except OSError as error:
            self._file_error = f"cannot open {self.path}: {error.strerror or error}"
            logger.error("trace file unavailable: %s", self._file_error)
            return
        compressor = zstandard.ZstdCompressor(compression_params=params)
        self._stream = compressor.stream_writer(self._file, closefd=False)

    def _break_file(self, reason: str) -> None:
        # After a failed write the compressor's state no longer matches the file: stop writing,
        # keep what is on disk (it decodes up to the last record that made it).
        self._file_error = reason
        logger.error("trace file unusable: %s", reason)
        self._stream = None
        if self._file is not None:
            # close() still releases the descriptor when its final flush fails again
            with contextlib.suppress(OSError):
                self._file.close()
            self._file = None

    def _finish(self) -> None:
        if self._stream is not None:
            try:
                self._stream.flush(zstandard.FLUSH_FRAME)
            except (OSError, zstandard.ZstdError) as error:
                self._break_file(f"finishing {self.path} failed: {error}")
                self._fail(f"end of trace: {self._file_error}")
        self._stream = None
        if self._file is not None:
            try:
                self._file.close()
            except OSError as error:
                self._fail(f"closing {self.path} failed: {error}")
            self._file = None
