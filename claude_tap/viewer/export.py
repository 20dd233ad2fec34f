"""`claude-tap export TRACE -o OUT`: a trace as a viewer page, a Markdown report, JSON or JSONL.

    .html       the self-contained viewer (viewer/html.py)
    .md         a readable report (viewer/markdown.py)
    .json       {"session": SessionInfo, "analysis": {...}, "turns": [Turn]}: the normalized model, for
                scripts; each turn also says its `number`, the one the page, its links and the report
                show ("Turn 150", #turn=150), while `index` and `prev` stay 0-based positions in
                "turns"; and its `context` (composition) and `cache` (diagnosis, or null). "analysis"
                holds the threads with their totals (normalize/analysis.py)
    .jsonl      our trace records, one per line (.jsonl.zst: compressed like trace.jsonl.zst); a legacy
                trace of the earlier claude-tap comes out in our format, so this is also the converter

Every record passes through the redactor on the way in: our own traces were redacted when written
(redacting again changes nothing), a legacy trace was only partly masked. The output file is written
next to its final name and renamed into place, so a failed export never leaves half a file.

This module knows nothing about API formats, the page's markup or the live server.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

import zstandard

from claude_tap.capture.redact import Redactor
from claude_tap.normalize.analysis import analyze
from claude_tap.normalize.model import JsonValue, SessionInfo, Turn
from claude_tap.normalize.session import normalize_records
from claude_tap.store.reader import ReadReport, read_records
from claude_tap.viewer.html import render_html
from claude_tap.viewer.markdown import to_markdown, turn_number
from claude_tap.viewer.session_name import named_session

FORMATS = ("html", "md", "json", "jsonl")
_SUFFIXES = {
    ".html": "html",
    ".htm": "html",
    ".md": "md",
    ".markdown": "md",
    ".json": "json",
    ".jsonl": "jsonl",
}
_ZSTD_LEVEL = 3


def export_trace(
    trace_path: Path, out: Path, fmt: str | None = None, *, report: ReadReport | None = None
) -> Path:
    """Write `trace_path` to `out` as `fmt` (default: from out's suffix) and return `out`.

    Raises ValueError for a format we cannot tell or do not write; reading errors pass through
    (TraceNotFoundError, OSError). `report`, when given, says what reading skipped or found cut off.
    """
    fmt = _format_for(out, fmt)
    records = redacted_records(trace_path, report)
    if fmt == "jsonl":
        _write_jsonl(out, records)
        return out
    # A lone surrogate (half an emoji cut by a client) cannot be UTF-8: it becomes "?" in the page or
    # report; JSON keeps it as an escape (see json_line).
    info, turns = normalize_records(records)
    data = render(fmt, named_session(info, turns), turns).encode("utf-8", "replace")
    _write_atomically(out, lambda file: _write_all(file, data))
    return out


def render(fmt: str, info: SessionInfo, turns: list[Turn]) -> str:
    """The text of a normalized session as `fmt` ("html", "md" or "json")."""
    if fmt == "html":
        return render_html(info, turns)
    if fmt == "md":
        return to_markdown(info, turns)
    if fmt == "json":
        analysis = analyze(turns)
        numbered: list[JsonValue] = [
            {"number": turn_number(turn), **turn, **analysis.turn_json(turn["index"])} for turn in turns
        ]
        return json_line({"session": info, "analysis": analysis.session_json(), "turns": numbered}) + "\n"
    raise ValueError(f"cannot render {fmt!r}: choose one of html, md, json")


def load_session(trace_path: Path, report: ReadReport | None = None) -> tuple[SessionInfo, list[Turn]]:
    """Read, redact and normalize a trace (ours or legacy, file or session directory). A trace that does
    not name its client (legacy) is named from its turns (session_name.py)."""
    info, turns = normalize_records(redacted_records(trace_path, report))
    return named_session(info, turns), turns


def redacted_records(trace_path: Path, report: ReadReport | None = None) -> Iterator[dict[str, JsonValue]]:
    redactor = Redactor()
    for record in read_records(trace_path, report):
        yield redactor.redact_record(record)


def _format_for(out: Path, fmt: str | None) -> str:
    if fmt is not None:
        chosen = fmt.lower().lstrip(".")
        chosen = {"markdown": "md", "htm": "html"}.get(chosen, chosen)
        if chosen not in FORMATS:
            raise ValueError(f"unknown export format {fmt!r}: choose one of {', '.join(FORMATS)}")
        return chosen
    if out.name.lower().endswith(".jsonl.zst"):
        return "jsonl"
    suffix = out.suffix.lower()
    if suffix not in _SUFFIXES:
        valid = ", ".join([*_SUFFIXES, ".jsonl.zst"])
        raise ValueError(
            f"cannot tell the export format of {str(out)!r} ({suffix or 'no suffix'}): use one of {valid}"
        )
    return _SUFFIXES[suffix]


def _write_jsonl(out: Path, records: Iterable[dict[str, JsonValue]]) -> None:
    def write(file: BinaryIO) -> None:
        sink: BinaryIO = file
        if out.name.lower().endswith(".zst"):
            sink = zstandard.ZstdCompressor(level=_ZSTD_LEVEL).stream_writer(file, closefd=False)
        for record in records:
            sink.write(json_line(record).encode() + b"\n")
        if sink is not file:
            sink.close()  # ends the zstd frame; the file itself stays open

    _write_atomically(out, write)


def _write_all(file: BinaryIO, data: bytes) -> None:
    file.write(data)


def json_line(value: JsonValue) -> str:
    """Compact JSON on one line (newlines in strings are escaped) that always encodes as UTF-8."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    try:
        text.encode()
    except UnicodeEncodeError:  # a lone surrogate from the trace: ASCII escapes are always valid
        text = json.dumps(value, ensure_ascii=True, separators=(",", ":"))
    return text


def _write_atomically(out: Path, write: Callable[[BinaryIO], None]) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".part", dir=out.parent)
    try:
        with os.fdopen(fd, "wb") as file:
            write(file)
        os.replace(temp_name, out)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
