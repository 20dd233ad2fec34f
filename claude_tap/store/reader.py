"""Reads trace records back: a session directory, trace.jsonl.zst, a plain .jsonl, or legacy JSONL.

The format is detected by content, not by name: zstd by its magic number, legacy lines by their
shape (store/legacy.py). A trace cut short by a crash still reads: everything up to the last
complete line is yielded and a partial last line is dropped. A corrupt line is skipped and
counted, never raised, so one bad line cannot hide a session.

    report = ReadReport()
    for record in read_records(path, report):
        ...
    report.skipped, report.truncated

This module knows nothing about how records are rendered.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import zstandard

from claude_tap.store.legacy import LegacyFormatError, LegacyImporter, looks_like_legacy
from claude_tap.store.paths import TRACE_FILE

Record = dict[str, Any]

ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
READ_CHUNK_BYTES = 1 << 20
# Compressed input is fed in small pieces: a damaged byte raises out of decompress() and takes
# that call's whole output with it, so the piece size bounds what damage can hide before it.
ZSTD_INPUT_BYTES = 8 << 10
# What a directory may hold, best first: ours, then an uncompressed copy (e.g. `export -o x.jsonl`).
TRACE_NAMES = (TRACE_FILE, "trace.jsonl")
MAX_KEPT_WARNINGS = 10


class TraceNotFoundError(FileNotFoundError):
    """The path holds no trace. The message says what was looked for."""


@dataclass(slots=True)
class ReadReport:
    """What happened while reading, filled in as records are yielded."""

    path: Path | None = None
    source_format: str = ""  # "trace" (ours) or "legacy"; "" until the first record
    compressed: bool = False
    records: int = 0
    skipped: int = 0  # lines that were not JSON objects, or legacy lines that did not convert
    truncated: bool = False  # the file ended inside a record or a zstd frame (a crash)
    warnings: list[str] = field(default_factory=list)

    def warn(self, message: str) -> None:
        if len(self.warnings) < MAX_KEPT_WARNINGS:
            self.warnings.append(message)


def find_trace(path: Path) -> Path:
    """The trace file for `path`: the file itself, or the trace inside a session directory."""
    if path.is_dir():
        for name in TRACE_NAMES:
            candidate = path / name
            if candidate.is_file():
                return candidate
        raise TraceNotFoundError(
            f"no trace in {path}: expected {TRACE_FILE} (a claude-tap session directory) "
            "or pass the trace file itself"
        )
    if path.is_file():
        return path
    raise TraceNotFoundError(f"no such trace file or session directory: {path}")


def read_records(path: Path, report: ReadReport | None = None) -> Iterator[Record]:
    """Yield every record of the trace at `path` (see the module docstring for what it accepts).

    Raises TraceNotFoundError when there is nothing to read; OSError from the file itself.
    """
    report = report if report is not None else ReadReport()
    trace = find_trace(path)
    report.path = trace
    importer: LegacyImporter | None = None
    with open(trace, "rb") as file:
        for number, line in enumerate(_lines(file, report), start=1):
            parsed = _parse(line, number, report)
            if parsed is None:
                continue
            if not report.source_format:
                report.source_format = "legacy" if looks_like_legacy(parsed) else "trace"
                if report.source_format == "legacy":
                    importer = LegacyImporter()
            if importer is None:
                report.records += 1
                yield parsed
                continue
            try:
                converted = importer.convert(parsed)
            except LegacyFormatError as error:
                report.skipped += 1
                report.warn(f"line {number}: {error}")
                continue
            report.records += len(converted)
            yield from converted


def read_trace(path: Path) -> tuple[list[Record], ReadReport]:
    """All records at once, with the report."""
    report = ReadReport()
    records = list(read_records(path, report))
    return records, report


def _parse(line: bytes, number: int, report: ReadReport) -> Record | None:
    if not line.strip():
        return None
    try:
        parsed = json.loads(line)
    except ValueError as error:  # UnicodeDecodeError is a ValueError too
        report.skipped += 1
        report.warn(f"line {number}: not JSON ({error})")
        return None
    if not isinstance(parsed, dict):
        report.skipped += 1
        report.warn(f"line {number}: a JSON {type(parsed).__name__}, not an object")
        return None
    return parsed


def _lines(file: IO[bytes], report: ReadReport) -> Iterator[bytes]:
    """Complete lines of the (decompressed) file. A last line without its newline is yielded
    only when the file is plain text and the line parses; otherwise it is the partial record of
    a crash and marks the report truncated."""
    head = file.read(len(ZSTD_MAGIC))
    report.compressed = head == ZSTD_MAGIC
    chunks = _zstd_chunks(file, head, report) if report.compressed else _plain_chunks(file, head)
    parts: list[bytes] = []  # the line being read; joined once it is complete (linear for huge lines)
    for chunk in chunks:
        start = 0
        while (end := chunk.find(b"\n", start)) != -1:
            parts.append(chunk[start:end])
            yield b"".join(parts)
            parts.clear()
            start = end + 1
        if start < len(chunk):
            parts.append(chunk[start:])
    pending = b"".join(parts)
    if not pending.strip():
        return
    if report.compressed or report.truncated:
        # Our writer ends every record with a newline in the same flush: no newline, no record.
        report.truncated = True
        report.warn("the last record was cut off (the trace was not closed cleanly)")
        return
    try:
        json.loads(pending)
    except ValueError:
        report.truncated = True
        report.warn("the last line was cut off")
        return
    yield pending


def _plain_chunks(file: IO[bytes], head: bytes) -> Iterator[bytes]:
    yield head
    while chunk := file.read(READ_CHUNK_BYTES):
        yield chunk


def _zstd_chunks(file: IO[bytes], head: bytes, report: ReadReport) -> Iterator[bytes]:
    """Decompressed bytes of every zstd frame in the file, as far as they go.

    A decompressobj (not stream_reader) because it hands out whatever a truncated frame decodes
    to and says whether the frame was finished (`eof`).
    """
    decompressor = zstandard.ZstdDecompressor()
    frame = decompressor.decompressobj()
    is_inside_frame = False
    data = head
    while data:
        try:
            while data:
                is_inside_frame = True
                yield frame.decompress(data)
                if not frame.eof:
                    break  # the frame goes on in the next chunk of the file
                # The frame ended; what follows may be another frame (e.g. concatenated traces).
                data = frame.unused_data
                frame = decompressor.decompressobj()
                is_inside_frame = False
        except zstandard.ZstdError as error:
            report.truncated = True
            report.warn(f"the compressed trace is damaged; read up to the damage ({error})")
            return
        data = file.read(ZSTD_INPUT_BYTES)
    if is_inside_frame:
        report.truncated = True
