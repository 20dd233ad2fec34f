"""store/writer.py: records reach the file in order, redacted; recording failures never stop anything."""

from __future__ import annotations

import base64
import json
import os
import random
import signal
import string
import subprocess
import sys
import threading
import time
import tracemalloc
from pathlib import Path

import pytest
import zstandard
from hypothesis import given
from hypothesis import strategies as st

from claude_tap.capture.bodies import Base64Body
from claude_tap.capture.exchange import (
    Exchange,
    Finished,
    RequestChunk,
    RequestStarted,
    ResponseChunk,
    ResponseStarted,
)
from claude_tap.capture.record import build_record
from claude_tap.capture.redact import Redactor, marker, secrets_from_env
from claude_tap.store.reader import ReadReport, read_records
from claude_tap.store.writer import BATCH_CHARS, PIECEWISE_OVER_BYTES, TraceWriter, exchange_id, json_pieces
from tests.unit.writer_child import SESSION, build_simple_record, make_exchange

REPO_ROOT = Path(__file__).resolve().parents[2]
SECRET = "sk-ant-api03-writer-secret-0001"
ENV_SECRET = "env-secret-value-0002"


def read_all(path: Path) -> tuple[list[dict], ReadReport]:
    report = ReadReport()
    return list(read_records(path, report)), report


def read_lines(path: Path) -> list[bytes]:
    with open(path, "rb") as file:
        return zstandard.ZstdDecompressor().stream_reader(file).read().split(b"\n")


def compact(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def upload(seq: int, chunks: list[bytes], content_type: str = "application/octet-stream") -> Exchange:
    """A POST whose body arrives in `chunks`, answered with a small JSON body."""
    exchange = Exchange(seq=seq, started_wall=1_740_000_000.0 + seq)
    headers = (("content-type", content_type),)
    exchange.feed(RequestStarted(10.0, "POST", "/v1/files", headers, "https://api.anthropic.com/v1/files"))
    for chunk in chunks:
        exchange.feed(RequestChunk(10.001, chunk))
    exchange.feed(ResponseStarted(10.2, 200, (("content-type", "application/json"),)))
    exchange.feed(ResponseChunk(10.3, b'{"ok":true}'))
    exchange.feed(Finished(10.5))
    return exchange


def in_chunks(data: bytes, size: int) -> list[bytes]:
    return [data[start : start + size] for start in range(0, len(data), size)]


def test_exchange_ids_are_ex_and_six_digits() -> None:
    assert exchange_id(7) == "ex-000007"
    assert exchange_id(1234567) == "ex-1234567"


def test_records_round_trip_in_order_between_session_and_end(tmp_path: Path) -> None:
    path = tmp_path / "trace.jsonl.zst"
    writer = TraceWriter(path, SESSION, Redactor(), build=build_simple_record)
    for seq in (1, 2, 3):
        assert writer.submit(make_exchange(seq, body=f'{{"n":{seq}}}'.encode()))
    transcript = {"type": "transcript", "source": "cursor", "at": "2025-03-01T10:00:09Z", "entry": {"t": 1}}
    assert writer.submit_record(transcript)
    stats = writer.close(exit_code=3)

    records, report = read_all(path)
    assert [r["type"] for r in records] == [
        "session",
        "exchange",
        "exchange",
        "exchange",
        "transcript",
        "end",
    ]
    assert records[0] == SESSION
    assert [r["id"] for r in records[1:4]] == ["ex-000001", "ex-000002", "ex-000003"]
    assert records[2]["request"]["body_text"] == '{"n":2}'
    assert records[2]["ttfb_ms"] == 200.0
    assert records[4] == transcript
    end = records[5]
    assert {k: end[k] for k in ("exit_code", "exchanges", "dropped", "failed")} == {
        "exit_code": 3,
        "exchanges": 3,
        "dropped": 0,
        "failed": 0,
    }
    assert (stats.written, stats.dropped, stats.failed, stats.errors) == (4, 0, 0, [])
    assert report.truncated is False and report.skipped == 0


def test_the_file_is_one_finished_zstd_frame_of_compact_json_lines(tmp_path: Path) -> None:
    path = tmp_path / "trace.jsonl.zst"
    writer = TraceWriter(path, SESSION, Redactor(), build=build_simple_record)
    writer.submit(make_exchange(1, body='{"text":"caf\u00e9"}'.encode()))
    writer.close(0)
    with open(path, "rb") as file:
        text = zstandard.ZstdDecompressor().stream_reader(file).read().decode("utf-8")
    lines = text.split("\n")
    assert lines[-1] == ""  # every record ends with a newline
    assert lines[0].startswith('{"type":"session","format_version":1,')
    assert '"body_text":"{\\"text\\":\\"café\\"}"' in lines[1]  # not ASCII-escaped


def test_repeated_conversation_text_is_stored_about_once(tmp_path: Path) -> None:
    # 20 requests repeating the same 200 KB of incompressible text: flushing after each record must
    # keep zstd's window, so later records cost little more than a reference.
    rng = random.Random(7)
    context = "".join(rng.choices(string.ascii_letters + string.digits, k=200_000))
    path = tmp_path / "trace.jsonl.zst"
    writer = TraceWriter(path, SESSION, Redactor(), build=build_simple_record)
    for seq in range(1, 21):
        writer.submit(make_exchange(seq, body=f"{context} turn {seq}".encode()))
    writer.close(0)
    assert path.stat().st_size < 2 * 200_000 * 3 // 4  # raw text is 4 MB; one copy alone ~150 KB
    records, _ = read_all(path)
    assert records[20]["request"]["body_text"] == f"{context} turn 20"


def test_on_idle_runs_once_in_each_pause_after_records_and_never_while_they_keep_coming(
    tmp_path: Path,
) -> None:
    events: list[str] = []
    idle = threading.Event()

    def on_idle() -> None:
        events.append("idle")
        idle.set()
        if events.count("idle") == 4:
            raise RuntimeError("a failing idle task")

    writer = TraceWriter(
        tmp_path / "t.zst",
        SESSION,
        Redactor(),
        build=build_simple_record,
        on_record=lambda record: events.append(str(record.get("type"))),
        on_idle=on_idle,
        idle_after_s=0.4,
    )
    assert idle.wait(5)  # after the session record
    idle.clear()
    for seq in range(1, 4):  # faster than the pause: the records come first
        assert writer.submit(make_exchange(seq))
    assert idle.wait(5)
    time.sleep(1.0)  # more pause: nothing new was written, so nothing more to do
    assert events == ["session", "idle", "exchange", "exchange", "exchange", "idle"]
    for seq in (4, 5, 6):  # the fourth pause's task fails, and the fifth's runs all the same
        idle.clear()
        assert writer.submit(make_exchange(seq))
        assert idle.wait(5)
    stats = writer.close(0)
    assert events.count("idle") == 5
    assert stats.written == 6 and stats.on_record_errors == 1  # the failing idle task cost no record


def test_a_pause_of_no_length_is_refused_before_anything_starts(tmp_path: Path) -> None:
    # A negative pause would end the writer's thread; none would run on_idle after every record.
    with pytest.raises(ValueError, match="idle_after_s"):
        TraceWriter(tmp_path / "t.zst", SESSION, Redactor(), on_idle=lambda: None, idle_after_s=0)
    assert not (tmp_path / "t.zst").exists()


def test_a_full_queue_drops_without_blocking(tmp_path: Path) -> None:
    entered = threading.Event()
    release = threading.Event()

    def slow_build(exchange: Exchange, record_id: str) -> dict:
        entered.set()
        release.wait(10)
        return build_simple_record(exchange, record_id)

    writer = TraceWriter(tmp_path / "t.zst", SESSION, Redactor(), build=slow_build, queue_size=1)
    try:
        assert writer.submit(make_exchange(1))
        assert entered.wait(5)  # the thread holds exchange 1
        assert writer.submit(make_exchange(2))  # fills the one slot
        started = time.monotonic()
        assert writer.submit(make_exchange(3)) is False
        assert writer.submit(make_exchange(4)) is False
        assert time.monotonic() - started < 2  # a blocking submit would wait out the 10 s release
        assert writer.stats.dropped == 2
    finally:
        release.set()
    stats = writer.close(0)
    assert (stats.written, stats.dropped) == (2, 2)
    records, _ = read_all(tmp_path / "t.zst")
    assert [r.get("id") for r in records[1:3]] == ["ex-000001", "ex-000002"]
    assert records[-1]["dropped"] == 2


def test_a_record_that_fails_to_build_is_counted_and_the_rest_are_written(tmp_path: Path) -> None:
    def picky_build(exchange: Exchange, record_id: str) -> dict:
        if exchange.seq == 2:
            raise KeyError("content-type")
        return build_simple_record(exchange, record_id)

    writer = TraceWriter(tmp_path / "t.zst", SESSION, Redactor(), build=picky_build)
    for seq in (1, 2, 3):
        writer.submit(make_exchange(seq))
    stats = writer.close(0)
    assert (stats.written, stats.failed) == (2, 1)
    assert stats.errors == ["ex-000002: building the record failed: KeyError: 'content-type'"]
    records, _ = read_all(tmp_path / "t.zst")
    assert [r.get("id") for r in records[1:-1]] == ["ex-000001", "ex-000003"]
    assert records[-1]["failed"] == 1


def test_a_record_that_cannot_be_serialized_is_counted(tmp_path: Path) -> None:
    writer = TraceWriter(tmp_path / "t.zst", SESSION, Redactor())
    writer.submit_record({"type": "transcript", "entry": {1, 2}})
    writer.submit_record({"type": "transcript", "entry": "fine"})
    stats = writer.close(0)
    assert (stats.written, stats.failed) == (1, 1)
    assert stats.errors[0].startswith("transcript: serializing the record failed: TypeError")


def test_a_directory_where_the_file_should_be_counts_failures_and_raises_nothing(tmp_path: Path) -> None:
    path = tmp_path / "trace.jsonl.zst"
    path.mkdir()
    writer = TraceWriter(path, SESSION, Redactor(), build=build_simple_record)
    assert writer.submit(make_exchange(1))
    stats = writer.close(0)
    assert (stats.written, stats.failed) == (0, 3)  # session, exchange, end
    assert stats.errors[0].startswith(f"abc123: not written: cannot open {path}: Is a directory")


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full (Linux)")
def test_a_full_disk_counts_failures_and_keeps_draining() -> None:
    writer = TraceWriter(Path("/dev/full"), SESSION, Redactor(), build=build_simple_record)
    for seq in (1, 2, 3):
        assert writer.submit(make_exchange(seq))
    stats = writer.close(0)
    assert (stats.written, stats.failed) == (0, 5)
    assert "No space left on device" in stats.errors[0]


def test_a_killed_writer_leaves_a_trace_readable_to_the_last_record(tmp_path: Path) -> None:
    path = tmp_path / "trace.jsonl.zst"
    with subprocess.Popen(
        [sys.executable, "-m", "tests.unit.writer_child", str(path), "25"],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    ) as child:
        try:
            assert child.stdout is not None
            assert child.stdout.readline().strip() == "written 25"
        finally:
            os.kill(child.pid, signal.SIGKILL)
            child.wait(10)
    assert child.returncode == -signal.SIGKILL

    records, report = read_all(path)
    assert [r["type"] for r in records] == ["session"] + ["exchange"] * 25
    assert records[25]["request"]["body_text"] == '{"turn":25}'
    assert report.truncated is True
    assert report.skipped == 0


def test_secrets_never_reach_the_file_or_the_live_viewer(tmp_path: Path) -> None:
    shown: list[dict] = []
    path = tmp_path / "trace.jsonl.zst"
    session = {**SESSION, "argv": ["--api-key", SECRET, "-p", "hi"]}
    writer = TraceWriter(
        path, session, Redactor([ENV_SECRET]), build=build_simple_record, on_record=shown.append
    )
    writer.submit(
        make_exchange(
            1,
            body=f'{{"prompt":"my env key is {ENV_SECRET}"}}'.encode(),
            headers=(("x-api-key", SECRET),),
        )
    )
    writer.submit_record({"type": "transcript", "source": "cursor", "entry": {"text": f"echo {SECRET}"}})
    writer.close(0)

    with open(path, "rb") as file:
        raw = zstandard.ZstdDecompressor().stream_reader(file).read()
    for secret in (SECRET, ENV_SECRET):
        assert secret.encode() not in raw
        assert secret not in json.dumps(shown)
    records, _ = read_all(path)
    assert records[0]["argv"] == ["--api-key", "[REDACTED:f7f1aa94]", "-p", "hi"]
    assert records[1]["request"]["headers"]["x-api-key"] == "[REDACTED:f7f1aa94]"
    assert records[2]["entry"] == {"text": "echo [REDACTED:f7f1aa94]"}
    assert shown == records  # the viewer sees exactly what was stored


def test_a_number_in_a_secret_named_variable_never_breaks_the_json_of_a_record(tmp_path: Path) -> None:
    # CLAUDE_CODE_API_KEY_HELPER_TTL_MS has KEY in its name; its value is a duration, and the same
    # number in a body must stay a JSON number, not become a bare marker that no reader can parse.
    env = {"CLAUDE_CODE_API_KEY_HELPER_TTL_MS": "86400000", "ANTHROPIC_API_KEY": SECRET}
    path = tmp_path / "trace.jsonl.zst"
    writer = TraceWriter(path, SESSION, Redactor(secrets_from_env(env)))
    writer.submit(make_exchange(1, body=f'{{"ttl_ms":86400000,"note":"{SECRET}"}}'.encode()))
    stats = writer.close(0)
    records, report = read_all(path)
    assert (stats.written, stats.failed, report.skipped) == (1, 0, 0)
    assert [r["type"] for r in records] == ["session", "exchange", "end"]
    assert records[1]["request"]["body"] == {"ttl_ms": 86400000, "note": marker(SECRET)}


def test_a_secret_that_matches_json_punctuation_leaves_a_valid_record_without_it(tmp_path: Path) -> None:
    # A remembered value that spans a number and the comma after it: replaced in the serialized line,
    # it would break the JSON and the reader would skip the whole record. Scrubbing falls back to
    # value by value, so the record stays readable and the secret is still gone.
    secret = "424242.5,"
    path = tmp_path / "trace.jsonl.zst"
    writer = TraceWriter(path, SESSION, Redactor([secret]))
    writer.submit(make_exchange(1, body=b'{"amount":424242.5,"note":"paid 424242.5, thanks"}'))
    stats = writer.close(0)
    records, report = read_all(path)
    assert (stats.written, stats.failed, report.skipped) == (1, 0, 0)
    body = records[1]["request"]["body"]
    assert body["amount"] == 424242.5  # the number alone is not the secret
    assert body["note"] == f"paid {marker(secret)} thanks"


def test_a_failing_live_viewer_is_counted_and_recording_goes_on(tmp_path: Path) -> None:
    def broken_viewer(record: dict) -> None:
        raise RuntimeError("socket closed")

    writer = TraceWriter(
        tmp_path / "t.zst", SESSION, Redactor(), build=build_simple_record, on_record=broken_viewer
    )
    writer.submit(make_exchange(1))
    stats = writer.close(0)
    assert (stats.written, stats.failed, stats.on_record_errors) == (1, 0, 3)  # session, exchange, end
    records, _ = read_all(tmp_path / "t.zst")
    assert [r["type"] for r in records] == ["session", "exchange", "end"]


def test_close_is_idempotent_and_later_submits_are_dropped(tmp_path: Path) -> None:
    writer = TraceWriter(tmp_path / "t.zst", SESSION, Redactor(), build=build_simple_record)
    writer.submit(make_exchange(1))
    first = writer.close(0)
    assert writer.close(1) == first
    assert writer.submit(make_exchange(2)) is False
    assert writer.submit_record({"type": "transcript"}) is False
    records, _ = read_all(tmp_path / "t.zst")
    assert [r["type"] for r in records] == ["session", "exchange", "end"]
    assert records[-1]["exit_code"] == 0


def test_a_lone_surrogate_is_written_as_a_json_escape(tmp_path: Path) -> None:
    writer = TraceWriter(tmp_path / "t.zst", SESSION, Redactor())
    writer.submit_record({"type": "transcript", "entry": "half \ud83d of an emoji"})
    stats = writer.close(0)
    assert stats.failed == 0
    records, _ = read_all(tmp_path / "t.zst")
    assert records[1]["entry"] == "half \ud83d of an emoji"


def test_the_default_builder_is_capture_record(tmp_path: Path) -> None:
    record_module = pytest.importorskip("claude_tap.capture.record")
    writer = TraceWriter(tmp_path / "t.zst", SESSION, Redactor())
    exchange = make_exchange(1)
    writer.submit(exchange)
    writer.close(0)
    records, _ = read_all(tmp_path / "t.zst")
    expected = Redactor().redact_record(dict(record_module.build_record(make_exchange(1), "ex-000001")))
    assert records[1] == json.loads(json.dumps(expected))


# -- large records: written piece by piece ------------------------------------------------------

JSON_VALUES = [
    {"a": [1, 2.5, None, True, False, -0.0, 10**20], "": {}, "empty": [], "nested": [[{}], [[]]]},
    {'quote"key': 'va"lue\\ with \\"escapes\\" and \n\t\x00\x1f controls', "café": "→ 😀 \u2028"},
    {1: "int key", 2.5: "float key", False: "bool key", None: "null key"},
    ["half \ud83d of an emoji", "\udc80 alone", "x" * 50 + '"' * 7 + "\\" * 9 + "y" * 13],
    "a long string " * 9,
    [],
    {},
    3,
]


@pytest.mark.parametrize("piece_chars", [1, 3, 7, 64])
@pytest.mark.parametrize("value", JSON_VALUES)
def test_json_pieces_join_to_what_json_dumps_writes(value: object, piece_chars: int) -> None:
    pieces = list(json_pieces(value, piece_chars))
    assert "".join(pieces) == compact(value)


JSON_LIKE = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children) | st.dictionaries(st.text(), children),
    max_leaves=20,
)


@given(JSON_LIKE, st.integers(min_value=1, max_value=9))
def test_json_pieces_of_any_json_value_join_to_what_json_dumps_writes(
    value: object, piece_chars: int
) -> None:
    assert "".join(json_pieces(value, piece_chars)) == compact(value)


def test_json_pieces_slice_long_strings_and_encode_base64_bodies_run_by_run() -> None:
    body = Base64Body((b"\xff\xfe\xfd\xfc", b"\x00" * 8))
    pieces = list(json_pieces({"t": 'ab"cdefgh', "b": body}, piece_chars=4))
    assert pieces == [
        '{"t":',
        '"',
        'ab\\"c',
        "defg",
        "h",
        '"',
        ',"b":',
        '"',
        "//79",
        "/AAA",
        "AAAA",
        "AAAA",
        '"',
        "}",
    ]
    assert "".join(pieces) == compact({"t": 'ab"cdefgh', "b": "//79/AAAAAAAAAAA"})


def test_json_pieces_refuse_what_json_dumps_refuses() -> None:
    with pytest.raises(TypeError):
        list(json_pieces({"entry": {1, 2}}))
    with pytest.raises(TypeError):
        list(json_pieces({(1, 2): "tuple key"}))


def test_a_large_exchange_is_written_piecewise_as_the_very_line_of_the_record(tmp_path: Path) -> None:
    rng = random.Random(5)
    data = rng.randbytes(PIECEWISE_OVER_BYTES + 1000)
    exchange = upload(1, in_chunks(data, 65536))
    shown: list[dict] = []
    writer = TraceWriter(tmp_path / "t.zst", SESSION, Redactor(), on_record=shown.append)
    writer.submit(exchange)
    assert writer.close(0).written == 1

    expected = Redactor().redact_record(dict(build_record(exchange, "ex-000001")))
    assert expected["request"]["body_b64"] == base64.b64encode(data).decode()
    assert read_lines(tmp_path / "t.zst")[1] == compact(expected).encode()
    records, _ = read_all(tmp_path / "t.zst")
    assert shown == records  # the live viewer gets the text, not the deferred bytes


def test_a_large_turn_stored_as_a_delta_is_written_in_one_call(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The second turn moves more than PIECEWISE_OVER_BYTES, but its record holds only what is new:
    # walking it piece by piece would cost four times the C encoder's time for nothing.
    history = [{"role": "user", "content": f"step {n} " * 400} for n in range(400)]
    turns = [
        {"model": "m", "messages": history},
        {"model": "m", "messages": [*history, {"role": "user", "content": "new"}]},
    ]
    bodies = [json.dumps(turn).encode() for turn in turns]
    assert len(bodies[1]) > PIECEWISE_OVER_BYTES
    walked: list[str] = []
    real_pieces = json_pieces

    def counting_pieces(value: object, *args: object) -> object:
        if isinstance(value, dict) and value.get("type") == "exchange":  # the record, not a part of it
            walked.append(str(value["id"]))
        return real_pieces(value, *args)  # type: ignore[arg-type]

    monkeypatch.setattr("claude_tap.store.writer.json_pieces", counting_pieces)
    writer = TraceWriter(tmp_path / "t.zst", SESSION, Redactor())
    for seq, body in enumerate(bodies, start=1):
        writer.submit(upload(seq, in_chunks(body, 65536), content_type="application/json"))
    assert writer.close(0).written == 2
    assert walked == ["ex-000001"]  # the first turn is stored whole: piecewise
    records, _ = read_all(tmp_path / "t.zst")
    assert records[2]["request"]["body_ref"]["prefix"] == {"messages": 400}
    assert records[2]["request"]["body"]["messages"] == [{"role": "user", "content": "new"}]


def test_a_secret_inside_a_huge_body_is_scrubbed_wherever_pieces_and_batches_are_cut(tmp_path: Path) -> None:
    # The secret every 23 characters over 3 MB: nearly every cut (chunks of 65536 bytes, string
    # slices, batches of BATCH_CHARS) falls inside one of them.
    count = 3 * 1024 * 1024 // (len(ENV_SECRET) + 1)
    body = f"{ENV_SECRET} " * count
    assert len(body) > 10 * BATCH_CHARS
    shown: list[dict] = []
    path = tmp_path / "t.zst"
    writer = TraceWriter(path, SESSION, Redactor([ENV_SECRET]), on_record=shown.append)
    writer.submit(upload(1, in_chunks(body.encode(), 65536), content_type="text/plain"))
    writer.close(0)

    with open(path, "rb") as file:
        raw = zstandard.ZstdDecompressor().stream_reader(file).read()
    assert ENV_SECRET.encode() not in raw
    records, _ = read_all(path)
    assert records[1]["request"]["body_text"] == f"{marker(ENV_SECRET)} " * count
    assert shown == records  # scrubbing changed the line: the viewer gets it as stored


def test_a_record_that_fails_halfway_leaves_a_cut_line_readers_skip(tmp_path: Path) -> None:
    def build_with_a_bad_value(exchange: Exchange, record_id: str) -> dict:
        # The long string goes out before the set is reached.
        return {"type": "exchange", "id": record_id, "long": "x" * (4 * BATCH_CHARS), "bad": {1, 2}}

    writer = TraceWriter(tmp_path / "t.zst", SESSION, Redactor(), build=build_with_a_bad_value)
    writer.submit(upload(1, [b"\x00" * (PIECEWISE_OVER_BYTES + 1)]))
    writer.submit_record({"type": "transcript", "entry": "after"})
    stats = writer.close(0)

    assert (stats.written, stats.failed) == (1, 1)
    assert stats.errors == [
        "ex-000001: serializing the record failed: TypeError: Object of type set is not JSON serializable"
    ]
    records, report = read_all(tmp_path / "t.zst")
    assert [r["type"] for r in records] == ["session", "transcript", "end"]
    assert report.skipped == 1
    assert records[-1]["failed"] == 1


@pytest.mark.parametrize("chunk_bytes", [65536, 20 * 1024 * 1024], ids=["streamed", "one chunk"])
def test_recording_a_20_mb_binary_upload_takes_little_memory_beyond_the_upload(
    tmp_path: Path, chunk_bytes: int
) -> None:
    # Traced from after the exchange exists: what building and writing its record allocates.
    # Before the piecewise path the joined bytes, base64 bytes, base64 text, JSON line and
    # encoded line were alive together, about 5.5x the body; now it is a few slices.
    size = 20 * 1024 * 1024
    data = random.Random(3).randbytes(size)
    writer = TraceWriter(tmp_path / "t.zst", SESSION, Redactor([ENV_SECRET]))
    exchange = upload(1, in_chunks(data, chunk_bytes))
    tracemalloc.start()
    try:
        writer.submit(exchange)
        del exchange
        writer.close(0)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < size // 2

    line = read_lines(tmp_path / "t.zst")[1]
    assert json.loads(line)["request"]["body_b64"] == base64.b64encode(data).decode()
