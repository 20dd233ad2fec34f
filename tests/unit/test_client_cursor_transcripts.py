"""Cursor transcripts read as trace records: flat and nested files, incremental reads, and the turns
they become in the viewer's model."""

from __future__ import annotations

import json
import os
from pathlib import Path

from claude_tap.clients.cursor_transcripts import TranscriptReader, conversation_of, transcript_files
from claude_tap.normalize.session import normalize_records

USER = {"role": "user", "message": {"content": [{"type": "text", "text": "List the files"}]}}
TOOL_CALL = {
    "role": "assistant",
    "message": {"content": [{"type": "tool_use", "id": "t1", "name": "ls", "input": {"path": "."}}]},
}
TOOL_RESULT = {
    "role": "user",
    "message": {"content": [{"type": "tool_result", "tool_use_id": "t1", "content": "a.py"}]},
}


def lines(*entries: object) -> str:
    return "".join(json.dumps(entry) + "\n" for entry in entries)


def transcripts_dir(home: Path, project: str = "proj") -> Path:
    directory = home / ".cursor" / "projects" / project / "agent-transcripts"
    directory.mkdir(parents=True)
    return directory


def test_flat_and_nested_files_written_since_the_session_began(tmp_path: Path) -> None:
    directory = transcripts_dir(tmp_path)
    old = directory / "old.jsonl"
    old.write_text(lines(USER))
    os.utime(old, (1000, 1000))
    flat = directory / "conv-a.jsonl"
    flat.write_text(lines(USER))
    (directory / "conv-b").mkdir()
    nested = directory / "conv-b" / "transcript.jsonl"
    nested.write_text(lines(USER))
    (directory / "notes.txt").write_text("not a transcript")
    found = transcript_files(tmp_path, since=2000)
    assert sorted(found) == sorted([flat, nested])
    assert [conversation_of(path) for path in (flat, nested)] == ["conv-a", "conv-b"]
    assert transcript_files(tmp_path / "nobody", since=0) == []


def test_records_carry_the_entry_and_where_it_came_from(tmp_path: Path) -> None:
    path = transcripts_dir(tmp_path) / "conv-a.jsonl"
    path.write_text(lines(USER, {**TOOL_CALL, "timestamp": "2026-12-03T08:00:00Z"}))
    first, second = TranscriptReader().read_new([path])
    assert first["type"] == "transcript" and first["source"] == "cursor"
    assert (first["conversation"], first["file"], first["entry"]) == ("conv-a", "conv-a.jsonl", USER)
    assert first["at"].startswith("20")
    assert second["at"] == "2026-12-03T08:00:00Z"


def test_each_read_returns_only_complete_new_lines(tmp_path: Path) -> None:
    path = transcripts_dir(tmp_path) / "conv-a.jsonl"
    reader = TranscriptReader()
    path.write_text(lines(USER) + json.dumps(TOOL_CALL)[:20])  # the second line is still being written
    assert [r["entry"] for r in reader.read_new([path])] == [USER]
    assert reader.read_new([path]) == []
    with path.open("a") as file:
        file.write(json.dumps(TOOL_CALL)[20:] + "\n")
    assert [r["entry"] for r in reader.read_new([path])] == [TOOL_CALL]
    assert reader.read_new([path, tmp_path / "vanished.jsonl"]) == []


def test_lines_that_are_not_json_objects_are_skipped_and_counted(tmp_path: Path) -> None:
    path = transcripts_dir(tmp_path) / "conv-a.jsonl"
    path.write_bytes(b"{broken\n[1, 2]\n\n\xff\xfe\n" + lines(USER).encode())
    reader = TranscriptReader()
    assert [r["entry"] for r in reader.read_new([path])] == [USER]
    assert reader.skipped == 3


def test_transcript_records_become_turns_with_tool_use_blocks(tmp_path: Path) -> None:
    path = transcripts_dir(tmp_path) / "conv-a.jsonl"
    path.write_text(lines(USER, TOOL_CALL, TOOL_RESULT))
    _, turns = normalize_records(TranscriptReader().read_new([path]))
    assert [turn["api"] for turn in turns] == ["cursor_transcript"] * 3
    blocks = [block for turn in turns for message in turn["messages"] for block in message["content"]]
    assert {"type": "tool_use", "id": "t1", "name": "ls", "input": {"path": "."}} in blocks
    assert any(block["type"] == "tool_result" and block["tool_use_id"] == "t1" for block in blocks)
