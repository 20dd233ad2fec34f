"""store/reader.py and store/paths.py: traces are found, read whole or cut short, never raise on bad lines."""

from __future__ import annotations

import json
import os
import random
from datetime import datetime
from pathlib import Path

import pytest
import zstandard

from claude_tap.capture.redact import Redactor
from claude_tap.store.paths import (
    TRACE_FILE,
    SessionDirError,
    claude_tap_home,
    new_session_dir,
    session_dir_name,
)
from claude_tap.store.reader import ReadReport, TraceNotFoundError, find_trace, read_records, read_trace
from claude_tap.store.writer import TraceWriter
from tests.unit.writer_child import SESSION, build_simple_record, make_exchange

EXCHANGE = {"type": "exchange", "id": "ex-000001", "seq": 1}
END = {"type": "end", "exit_code": 0, "exchanges": 1, "dropped": 0, "failed": 0}


def jsonl(*records: dict) -> bytes:
    return b"".join(json.dumps(record).encode() + b"\n" for record in records)


def write_trace(directory: Path, exchanges: int) -> Path:
    path = directory / TRACE_FILE
    writer = TraceWriter(path, SESSION, Redactor(), build=build_simple_record)
    for seq in range(1, exchanges + 1):
        writer.submit(make_exchange(seq, body=f'{{"turn":{seq}}}'.encode()))
    writer.close(0)
    return path


# -- paths -------------------------------------------------------------------------------------


def test_home_is_claude_tap_home_or_dot_claude_tap(tmp_path: Path) -> None:
    assert claude_tap_home({"CLAUDE_TAP_HOME": str(tmp_path / "h")}) == tmp_path / "h"
    assert claude_tap_home({"HOME": "/home/ada"}) == Path("/home/ada/.claude-tap")


def test_a_session_dir_is_dated_and_named_after_time_client_and_id(tmp_path: Path) -> None:
    now = datetime(2025, 3, 1, 9, 5, 7)
    path = new_session_dir(None, "claude", now, {"CLAUDE_TAP_HOME": str(tmp_path)})
    assert path.parent == tmp_path / "traces" / "2025-03-01"
    prefix, client, session_id = path.name.split("-")
    assert (prefix, client, len(session_id)) == ("090507", "claude", 6)
    int(session_id, 16)
    assert path.is_dir()
    assert path.stat().st_mode & 0o777 == 0o700


def test_an_output_dir_takes_the_place_of_home_traces(tmp_path: Path) -> None:
    now = datetime(2025, 3, 1, 23, 59, 59)
    first = new_session_dir(tmp_path / "out", "codex", now, {"CLAUDE_TAP_HOME": str(tmp_path / "home")})
    second = new_session_dir(tmp_path / "out", "codex", now, {})
    assert first.parent == second.parent == tmp_path / "out" / "2025-03-01"
    assert first != second
    assert not (tmp_path / "home").exists()


def test_a_client_name_cannot_escape_the_traces_directory() -> None:
    assert session_dir_name("../../evil client", datetime(2025, 1, 1, 1, 2, 3), "abcdef") == (
        "010203-evil_client-abcdef"
    )


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_an_unwritable_output_dir_is_a_clear_error(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    with pytest.raises(SessionDirError, match="choose another --tap-output-dir"):
        new_session_dir(locked / "sub", "claude", datetime(2025, 1, 1), {})


def test_an_output_dir_below_a_file_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(SessionDirError) as raised:
        new_session_dir(tmp_path / "file", "claude", datetime(2025, 1, 1), {})
    assert str(raised.value) == (
        f"cannot create trace directory {tmp_path}/file/2025-01-01: Not a directory; "
        "choose another --tap-output-dir (or CLAUDE_TAP_OUTPUT_DIR)"
    )


# -- finding -----------------------------------------------------------------------------------


def test_a_session_directory_resolves_to_its_trace(tmp_path: Path) -> None:
    path = write_trace(tmp_path, 1)
    assert find_trace(tmp_path) == path
    assert find_trace(path) == path


def test_a_directory_without_a_trace_says_what_it_expected(tmp_path: Path) -> None:
    with pytest.raises(TraceNotFoundError, match=f"no trace in {tmp_path}: expected trace.jsonl.zst"):
        find_trace(tmp_path)
    with pytest.raises(TraceNotFoundError, match="no such trace file or session directory"):
        list(read_records(tmp_path / "missing.jsonl"))


# -- reading -----------------------------------------------------------------------------------


def test_a_closed_trace_reads_whole(tmp_path: Path) -> None:
    write_trace(tmp_path, 2)
    records, report = read_trace(tmp_path)
    assert [r["type"] for r in records] == ["session", "exchange", "exchange", "end"]
    assert (report.records, report.skipped, report.truncated, report.compressed) == (4, 0, False, True)
    assert report.source_format == "trace"


def test_every_cut_of_a_trace_reads_to_its_last_complete_record(tmp_path: Path) -> None:
    full_path = write_trace(tmp_path, 6)
    data = full_path.read_bytes()
    full, _ = read_trace(full_path)
    cut_path = tmp_path / "cut.jsonl.zst"
    counts = set()
    for size in range(0, len(data)):
        cut_path.write_bytes(data[:size])
        report = ReadReport()
        records = list(read_records(cut_path, report))
        assert records == full[: len(records)], size
        assert report.truncated or size == 0, size
        assert report.skipped == 0
        counts.add(len(records))
    # every prefix, up to all 8 records when only the frame's closing checksum is missing
    assert counts == set(range(0, 9))


def test_damaged_compressed_bytes_stop_the_read_at_the_damage_without_raising(tmp_path: Path) -> None:
    # 40 records of 4 KB incompressible text each: about 160 KB compressed, damaged at 3/4.
    rng = random.Random(3)
    path = tmp_path / TRACE_FILE
    writer = TraceWriter(path, SESSION, Redactor(), build=build_simple_record)
    for seq in range(1, 41):
        writer.submit(make_exchange(seq, body=rng.randbytes(3000).hex().encode()))
    writer.close(0)
    full, _ = read_trace(path)
    data = bytearray(path.read_bytes())
    damage_at = len(data) * 3 // 4
    data[damage_at : damage_at + 64] = b"\xff" * 64
    path.write_bytes(bytes(data))

    records, report = read_trace(path)
    assert report.truncated is True
    assert "damaged" in report.warnings[0]
    # Up to the damage everything is intact (zstd has no per-block checksum, so the record the
    # damage lands in may come out garbled; the frame checksum at the end is never reached).
    assert records[:25] == full[:25]
    assert len(records) < len(full)


def test_a_plain_jsonl_skips_blank_and_corrupt_lines_and_counts_them(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_bytes(jsonl(SESSION) + b"\n   \n{not json\n[1, 2]\n\xff\xfe\n" + jsonl(EXCHANGE, END))
    records, report = read_trace(path)
    assert records == [SESSION, EXCHANGE, END]
    assert (report.records, report.skipped, report.truncated, report.compressed) == (3, 3, False, False)
    assert report.warnings[0].startswith("line 4: not JSON")
    assert report.warnings[1] == "line 5: a JSON list, not an object"


def test_a_complete_last_line_without_newline_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_bytes(jsonl(SESSION) + json.dumps(END).encode())
    records, report = read_trace(path)
    assert records == [SESSION, END]
    assert report.truncated is False


def test_a_partial_last_line_is_dropped_and_marks_the_read_truncated(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_bytes(jsonl(SESSION) + b'{"type": "exchange", "id": "ex-0')
    records, report = read_trace(path)
    assert records == [SESSION]
    assert (report.truncated, report.skipped) == (True, 0)


def test_unknown_record_types_are_passed_on_for_the_reader_to_skip(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_bytes(jsonl(SESSION, {"type": "from-the-future", "x": 1}))
    records, _ = read_trace(path)
    assert records[1] == {"type": "from-the-future", "x": 1}


def test_concatenated_zstd_frames_read_as_one_trace(tmp_path: Path) -> None:
    compressor = zstandard.ZstdCompressor()
    path = tmp_path / "t.jsonl.zst"
    path.write_bytes(compressor.compress(jsonl(SESSION)) + compressor.compress(jsonl(EXCHANGE, END)))
    records, report = read_trace(path)
    assert records == [SESSION, EXCHANGE, END]
    assert report.truncated is False


def test_a_line_split_across_read_chunks_is_joined(tmp_path: Path) -> None:
    big = {"type": "exchange", "id": "ex-000001", "text": "x" * (3 << 20)}
    path = tmp_path / "t.jsonl.zst"
    path.write_bytes(zstandard.ZstdCompressor().compress(jsonl(SESSION, big, END)))
    records, report = read_trace(path)
    assert records == [SESSION, big, END]
    assert report.skipped == 0
