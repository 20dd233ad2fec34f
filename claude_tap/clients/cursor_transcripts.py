"""Cursor CLI's local transcripts, read as `transcript` records for the trace.

Cursor's model traffic is Connect/protobuf, so the readable turns come from the transcripts
cursor-agent writes as it works: JSON Lines under ~/.cursor/projects/<project>/agent-transcripts/,
either flat (`<conversation>.jsonl`) or nested (`<conversation>/<anything>.jsonl`). Each line is one
entry (a user or assistant message with text, tool_use, tool_result or thinking blocks), which
claude_tap/normalize/cursor.py turns into a turn.

`transcript_files(home, since)` lists the transcripts written to since a session began (older ones
belong to other sessions). `TranscriptReader.read_new(paths)` returns the records for the complete
lines appended since its last call, so the same reader serves a one-off import after the client exits
and a watch loop (`--tap-no-launch`); a line still being written waits for its newline. A line that is
not a JSON object is skipped and counted, never raised.

The caller (the run) decides when to read and hands the records to the trace writer, which redacts
them like any other record. This module reads files; it knows nothing of processes, sockets or the
trace file.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

Record = dict[str, Any]
SOURCE = "cursor"


def transcript_files(home: Path, since: float) -> list[Path]:
    """Transcripts under `home`/.cursor/projects modified at or after `since` (epoch s), oldest first."""
    root = home / ".cursor" / "projects"
    patterns = ("*/agent-transcripts/*.jsonl", "*/agent-transcripts/*/*.jsonl")
    found: list[tuple[float, Path]] = []
    for pattern in patterns:
        for path in root.glob(pattern):
            try:
                modified = path.stat().st_mtime
            except OSError:  # removed while we looked
                continue
            if modified >= since and path.is_file():
                found.append((modified, path))
    return [path for _, path in sorted(found)]


def conversation_of(path: Path) -> str:
    """The conversation a transcript file holds: its name when flat, its directory's when nested."""
    return path.stem if path.parent.name == "agent-transcripts" else path.parent.name


@dataclass
class TranscriptReader:
    """Reads each transcript from where it last stopped. `skipped` counts lines that were not JSON objects."""

    offsets: dict[Path, int] = field(default_factory=dict)
    skipped: int = 0

    def read_new(self, paths: Iterable[Path]) -> list[Record]:
        records: list[Record] = []
        for path in paths:
            records += self._read_file(path)
        return records

    def _read_file(self, path: Path) -> list[Record]:
        start = self.offsets.get(path, 0)
        try:
            with path.open("rb") as file:
                file.seek(start)
                data = file.read()
            modified = path.stat().st_mtime
        except OSError:
            return []
        complete = data[: data.rfind(b"\n") + 1]  # a line without its newline is still being written
        self.offsets[path] = start + len(complete)
        at = datetime.fromtimestamp(modified, UTC).isoformat()
        records = []
        for line in complete.splitlines():
            entry = self._entry(line)
            if entry is not None:
                records.append(transcript_record(entry, path, at))
        return records

    def _entry(self, line: bytes) -> Record | None:
        if not line.strip():
            return None
        try:
            entry = json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError):
            self.skipped += 1
            return None
        if not isinstance(entry, dict):
            self.skipped += 1
            return None
        return entry


def transcript_record(entry: Record, path: Path, at: str) -> Record:
    """The trace record for one entry; `at` is the entry's own timestamp when it has one."""
    stamp = entry.get("timestamp")
    return {
        "type": "transcript",
        "source": SOURCE,
        "at": stamp if isinstance(stamp, str) and stamp else at,
        "conversation": conversation_of(path),
        "file": path.name,
        "entry": entry,
    }
