"""Writes one session's trace: a thread fed by a bounded queue, one zstd stream, one record per line.
In a run it lives in the recorder process (store/recorder.py), off the proxy's GIL.

The proxy hands over finished exchanges with `submit`, which never blocks: when the queue is full
the exchange is dropped and counted, because forwarding must never wait for the disk. The thread
builds each record, redacts it, serializes it, scrubs the line of any remembered secret and writes
it through a single zstd stream, flushed (FLUSH_BLOCK, then the file) after every record:

- the file decodes up to the last complete record after a crash or SIGKILL;
- one frame with a 16 MB window lets zstd refer back to the previous requests, which repeat the
  growing conversation, so disk grows with new content, not with turns x context.

Memory: an exchange that moved more than PIECEWISE_OVER_BYTES, less what its request body repeats
from an earlier one (capture/body_delta.py), is never held as one line. Its record
is serialized piece by piece (`json_pieces`: long strings in slices, a binary body's base64 made
slice by slice from the bytes), and each batch is scrubbed (redact.StreamScrubber), encoded and
compressed before the next is made. A 20 MB binary upload is then held only as the bytes that
arrived, not in five more copies (joined bytes, base64 bytes, base64 text, JSON line, encoded
line). Smaller records are serialized in one call of the C encoder, four times faster than walking.

Nothing here raises into the caller once the writer exists: a record that fails to build or
write is counted (`failed`), its error kept; if the file itself fails (disk full, permission),
every later record is counted as failed and the queue keeps draining. A record that fails halfway
through its piecewise serialization leaves a cut line, ended with a newline, which readers skip.

This module knows nothing about sockets, API formats or the viewer (it calls `on_record`).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import queue
import stat
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any, Literal

import zstandard

from claude_tap.capture.bodies import Base64Body
from claude_tap.capture.body_delta import BodyHistory
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
# Exchanges that moved more than this (both ways, on the wire) are written piecewise (see above).
PIECEWISE_OVER_BYTES = 1 << 20
# The longest str the piecewise path makes at once: a slice of a long string, a run of base64.
PIECE_CHARS = 1 << 20
# Pieces are gathered up to this size before each scrub/encode/compress step, as a C call per
# tiny piece would cost more than it saves.
BATCH_CHARS = 256 << 10
_FULL_QUEUE_POLL_S = 0.005
PRIVATE_FILE_MODE = 0o600


@dataclass(frozen=True, slots=True)
class WriterStats:
    written: int  # exchange and transcript records written
    dropped: int  # exchanges refused because the queue was full (or the writer closed)
    failed: int  # records that failed to build, serialize or write
    errors: list[str] = field(default_factory=list)  # the first MAX_KEPT_ERRORS failure messages
    on_record_errors: int = 0  # raised by on_record or on_idle (the record itself was written)


def exchange_id(seq: int) -> str:
    return f"ex-{seq:06d}"


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
        on_idle: Callable[[], None] | None = None,
        idle_after_s: float = 0.05,
    ) -> None:
        """`on_record(record)` runs in the writer's thread once a record is written; `on_idle()` runs
        there too, once, when nothing has come to write for `idle_after_s` after a record: the moment
        for work that can wait (the recorder models records then)."""
        self.path = path
        self._session = session
        self._redactor = redactor
        # The default build stores each request body as what it adds to an earlier one (see
        # capture/body_delta.py); a body becomes a base only once its record is written.
        self._history = BodyHistory()
        self._build = build or self._build_with_history
        self._on_record = on_record
        if on_idle is not None and not idle_after_s > 0:
            raise ValueError(f"idle_after_s must be a positive number of seconds, not {idle_after_s}")
        self._on_idle = on_idle
        self._idle_after_s = idle_after_s
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

    def submit(self, exchange: Exchange, block: bool = False) -> bool:
        """Queue a finished exchange. By default never blocks: False (and counted as dropped) when
        full. `block` is for a feeder that is itself off the proxy's path (the recorder process)."""
        return self._put(("exchange", exchange), block=block)

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

    def count_dropped(self, n: int) -> None:
        """Add exchanges lost before they reached this writer (the recorder process's feeder)."""
        with self._submit_lock:
            self._dropped += n

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
        is_idle_work_due = self._on_idle is not None  # a record was written since on_idle last ran
        while True:
            try:
                item = self._queue.get(timeout=self._idle_after_s if is_idle_work_due else None)
            except queue.Empty:
                is_idle_work_due = False
                self._call_on_idle()
                continue
            is_idle_work_due = self._on_idle is not None
            if isinstance(item, _Close):
                self._write(self._end_record(item.exit_code), kind="end")
                self._finish()
                return
            kind, payload = item
            del item  # from here `payload` is the only reference the thread holds
            record: Record | None = None
            try:
                if kind == "exchange":
                    moved = wire_bytes(payload)
                    record_id = exchange_id(payload.seq)
                    record = self._build_exchange(payload)
                    payload = None  # the record holds what it needs; the exchange's bytes may go
                    # What the record holds: a body stored as a delta leaves out what it repeats.
                    piecewise = moved - self._history.saved_bytes(record_id) > PIECEWISE_OVER_BYTES
                    if record is not None and self._write(record, kind="exchange", piecewise=piecewise):
                        self._history.commit(record_id)
                    else:
                        self._history.discard(record_id)
                else:
                    self._write(payload, kind="record")
            except Exception as error:  # a bug here must not leave close() waiting forever
                self._fail(f"{kind}: unexpected error: {type(error).__name__}: {error}")
            # Nothing of this record may wait in memory with the thread for the next one.
            payload = record = None

    def _build_with_history(self, exchange: Exchange, record_id: str) -> Record:
        # Imported here: capture.record is a sibling module that may load heavy format code.
        from claude_tap.capture.record import build_record

        return dict(build_record(exchange, record_id, defer_base64=True, history=self._history))

    def _build_exchange(self, exchange: Exchange) -> Record | None:
        record_id = exchange_id(exchange.seq)
        try:
            return self._build(exchange, record_id)
        except Exception as error:  # a bad exchange must not stop the recording of the others
            self._fail(f"{record_id}: building the record failed: {type(error).__name__}: {error}")
            return None

    def _write(self, record: Record, kind: RecordKind, piecewise: bool = False) -> bool:
        """Redact, serialize and write one record; False (counted as failed) when it was not written."""
        label = str(record.get("id") or record.get("type") or kind) if isinstance(record, dict) else kind
        try:
            redacted = self._redactor.redact_record(record)
            # The one-call path serializes here, so its failures come before anything is written.
            line = json_pieces(redacted) if piecewise else _dumps(redacted)
        except Exception as error:  # same boundary as above: count, keep the thread alive
            self._fail(f"{label}: serializing the record failed: {type(error).__name__}: {error}")
            return False
        if self._stream is None:
            self._fail(f"{label}: not written: {self._file_error}")
            return False
        kept: list[str] | None = [] if self._on_record is not None else None
        try:
            was_scrubbed = self._write_line(self._stream, line, kept)
        except (OSError, zstandard.ZstdError) as error:
            self._break_file(f"writing {self.path} failed: {error}")
            self._fail(f"{label}: not written: {self._file_error}")
            return False
        except Exception as error:  # piecewise serialization failed after part of the line went out
            self._end_cut_line()
            self._fail(f"{label}: serializing the record failed: {type(error).__name__}: {error}")
            return False
        if kind in ("exchange", "record"):
            self._written += 1
        if kind == "exchange":
            self._exchanges += 1
        if kept is not None:
            self._notify(json.loads("".join(kept)) if was_scrubbed else _with_base64_text(redacted))
        return True

    def _write_line(
        self, stream: zstandard.ZstdCompressionWriter, line: str | Iterator[str], kept: list[str] | None
    ) -> bool:
        """Scrub, encode and compress the line (whole, or batch by batch from its pieces), end it,
        flush it; True when scrubbing changed it. `kept` collects the stored text for the live
        viewer (which needs the whole record anyway)."""
        if isinstance(line, str):
            scrubbed = self._redactor.scrub(line)
            if scrubbed is not line:
                scrubbed = _still_json(scrubbed, line, self._redactor.scrub)
            _emit(stream, scrubbed, kept)
            was_scrubbed = scrubbed is not line
        else:
            scrubber = self._redactor.stream_scrubber()
            for batch in _batches(line, BATCH_CHARS):
                _emit(stream, scrubber.feed(batch), kept)
            _emit(stream, scrubber.close(), kept)
            was_scrubbed = scrubber.changed
        stream.write(b"\n")
        stream.flush(zstandard.FLUSH_BLOCK)
        if self._file is not None:
            self._file.flush()
        return was_scrubbed

    def _end_cut_line(self) -> None:
        if self._stream is None:
            return
        try:
            self._stream.write(b"\n")
            self._stream.flush(zstandard.FLUSH_BLOCK)
        except (OSError, zstandard.ZstdError) as error:
            self._break_file(f"writing {self.path} failed: {error}")

    def _notify(self, shown: Record) -> None:
        # `shown` is what was stored: when scrubbing changed the line, it was parsed back from it.
        if self._on_record is None:
            return
        try:
            self._on_record(shown)
        except Exception as error:  # the live viewer is a guest: its failure is not the trace's
            self._on_record_errors += 1
            logger.warning("live viewer callback failed: %s", error)

    def _call_on_idle(self) -> None:
        if self._on_idle is None:
            return
        try:
            self._on_idle()
        except Exception as error:  # work that can wait failed; the trace goes on
            self._on_record_errors += 1
            logger.warning("idle-time callback failed: %s", error)

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
            # 0600 whatever the umask: the trace holds prompts, code and (redacted) headers.
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE_MODE)
            if stat.S_ISREG(os.fstat(fd).st_mode):  # never a device given as the path (/dev/full)
                os.fchmod(fd, PRIVATE_FILE_MODE)
            self._file = os.fdopen(fd, "wb")
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


# -- serialization -----------------------------------------------------------------------------


def _still_json(scrubbed: str, original: str, scrub: Callable[[str], str]) -> str:
    """The scrubbed line, if it is still JSON. A remembered secret can match across JSON punctuation
    (a number and the comma after it, say), and replacing it breaks the line, which readers would then
    skip: the record would be lost. Then scrub value by value instead, which always stays JSON."""
    try:
        json.loads(scrubbed)
    except ValueError:
        return _dumps(_scrub_values(json.loads(original), scrub))
    return scrubbed


def _scrub_values(value: Any, scrub: Callable[[str], str]) -> Any:
    """`value` with every string, key and number that holds a secret scrubbed (a number becomes text)."""
    if isinstance(value, dict):
        return {scrub(key): _scrub_values(item, scrub) for key, item in value.items()}
    if isinstance(value, list):
        return [_scrub_values(item, scrub) for item in value]
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        text = json.dumps(value)
        scrubbed = scrub(text)
        return value if scrubbed == text else scrubbed
    return value


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=_base64_text)


def _base64_text(value: Any) -> str:
    if isinstance(value, Base64Body):
        return value.text()
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def json_pieces(value: Any, piece_chars: int = PIECE_CHARS) -> Iterator[str]:
    """The compact JSON text of `value`, exactly as `_dumps` makes it, in pieces that join to it.

    Dicts and lists are walked; a string longer than `piece_chars` is escaped slice by slice (JSON
    escapes one character at a time, so the slices join to the escaped whole); a `Base64Body` is
    encoded run by run; every other value is dumped whole."""
    if isinstance(value, str):
        if len(value) <= piece_chars:
            yield _dumps(value)
            return
        yield '"'
        for start in range(0, len(value), piece_chars):
            yield _dumps(value[start : start + piece_chars])[1:-1]
        yield '"'
    elif isinstance(value, Base64Body):
        yield '"'
        yield from value.pieces(piece_chars)
        yield '"'
    elif isinstance(value, dict):
        opening = "{"
        for key, item in value.items():
            yield f"{opening}{_dumps(_json_key(key))}:"
            opening = ","
            yield from json_pieces(item, piece_chars)
        yield "{}" if opening == "{" else "}"
    elif isinstance(value, list | tuple):
        opening = "["
        for item in value:
            yield opening
            opening = ","
            yield from json_pieces(item, piece_chars)
        yield "[]" if opening == "[" else "]"
    else:
        yield _dumps(value)


def _json_key(key: Any) -> str:
    # The keys json.dumps accepts, written the way it writes them.
    if isinstance(key, str):
        return key
    if key is None or isinstance(key, int | float):
        return _dumps(key)
    raise TypeError(f"keys must be str, int, float, bool or None, not {type(key).__name__}")


def _batches(pieces: Iterator[str], batch_chars: int) -> Iterator[str]:
    batch: list[str] = []
    size = 0
    for piece in pieces:
        batch.append(piece)
        size += len(piece)
        if size >= batch_chars:
            yield "".join(batch)
            batch, size = [], 0
    if batch:
        yield "".join(batch)


def _emit(stream: zstandard.ZstdCompressionWriter, text: str, kept: list[str] | None) -> None:
    if not text:
        return
    if kept is not None:
        kept.append(text)
    # A lone surrogate (from "\ud800" in a body) is not UTF-8. It can only sit inside a JSON
    # string, where backslashreplace writes it as the JSON escape \udXXX: the same value.
    stream.write(text.encode("utf-8", "backslashreplace"))


def _with_base64_text(record: Record) -> Record:
    """`record` as plain JSON values: deferred base64 bodies (in the request and response parts,
    where capture.record puts them) become their text."""
    plain = record
    for name, part in record.items():
        if isinstance(part, dict) and any(isinstance(value, Base64Body) for value in part.values()):
            if plain is record:
                plain = dict(record)
            plain[name] = {key: v.text() if isinstance(v, Base64Body) else v for key, v in part.items()}
    return plain


def wire_bytes(exchange: Exchange) -> int:
    """Bytes the exchange moved on the wire, both ways (WebSocket messages included)."""
    request = sum(len(chunk.data) for chunk in exchange.request_chunks)
    response = sum(len(chunk.data) for chunk in exchange.response_chunks)
    return request + response + sum(len(message.data) for message in exchange.ws_messages)
