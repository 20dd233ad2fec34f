"""store/recorder: the trace written by a process of its own, fed over a pipe, never blocking the feeder.

These start the real recorder child (`python -m claude_tap.store.recorder_main`)."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import stat
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from claude_tap.capture.exchange import (
    Exchange,
    Finished,
    RequestChunk,
    RequestEnded,
    RequestStarted,
    ResponseStarted,
)
from claude_tap.capture.redact import Redactor
from claude_tap.normalize.session import normalize_records
from claude_tap.store.reader import read_records
from claude_tap.store.recorder import RecorderProcess
from claude_tap.viewer.payload import decode_payload
from tests.factories import START_AT, exchange, json_post_exchange, session_record


def conversation_exchange(seq: int, turns: int) -> Exchange:
    messages = [{"role": "user", "content": f"message {n} " * 200} for n in range(turns)]
    built = json_post_exchange(
        {"model": "claude-x", "messages": messages}, {"type": "message", "content": []}
    )
    built.seq = seq
    return built


def start(tmp_path: Path, **kwargs: Any) -> RecorderProcess:
    return RecorderProcess(
        tmp_path / "trace.jsonl.zst",
        session_record(),
        Redactor(),
        html_path=tmp_path / "trace.html",
        **kwargs,
    )


def test_exchanges_become_records_deltas_and_a_viewer(tmp_path: Path) -> None:
    recorder = start(tmp_path)
    for seq in range(1, 6):
        assert recorder.submit(conversation_exchange(seq, turns=seq))
    result = recorder.close(exit_code=3)

    assert result.stats.written == 5 and result.stats.failed == 0 and result.stats.dropped == 0
    assert result.html_path == tmp_path / "trace.html" and result.html_path.stat().st_size > 0
    records = list(read_records(tmp_path / "trace.jsonl.zst"))
    assert [r["type"] for r in records] == ["session"] + ["exchange"] * 5 + ["end"]
    assert records[-1]["exit_code"] == 3
    last = records[5]["request"]
    assert last["body_ref"]["base"] == "ex-000004"
    assert len(last["body"]["messages"]) == 1  # only the new message is stored
    _, turns = normalize_records(records)
    assert [len(turn["messages"]) for turn in turns] == [1, 2, 3, 4, 5]


def test_the_live_callback_gets_each_stored_record(tmp_path: Path) -> None:
    shown: list[dict[str, Any]] = []
    recorder = start(tmp_path, on_record=shown.append)
    recorder.submit(conversation_exchange(1, turns=1))
    recorder.close(exit_code=0)
    assert [r["type"] for r in shown] == ["session", "exchange", "end"]


def test_a_secret_the_recorder_learns_is_scrubbed_by_the_feeder_too(tmp_path: Path) -> None:
    redactor = Redactor()
    recorder = RecorderProcess(tmp_path / "trace.jsonl.zst", session_record(), redactor)
    secret = "sk-live-0123456789abcdef"
    headers = (("authorization", f"Bearer {secret}"),)
    recorder.submit(
        exchange(
            [
                RequestStarted(START_AT, "GET", "/v1/models", headers, "https://api.example/v1/models"),
                RequestEnded(START_AT),
                Finished(START_AT + 0.01),
            ]
        )
    )
    recorder.close(exit_code=0)
    assert secret not in redactor.scrub(f"a log line with {secret} in it")


def test_a_stalled_recorder_costs_dropped_exchanges_never_a_blocked_feeder(tmp_path: Path) -> None:
    recorder = start(tmp_path, max_queued_bytes=64 << 10)
    os.kill(recorder._process.pid, signal.SIGSTOP)
    try:
        big = exchange(
            [
                RequestStarted(START_AT, "POST", "/upload", (), "https://api.example/upload"),
                RequestChunk(START_AT, b"x" * (1 << 20)),
                RequestEnded(START_AT),
                Finished(START_AT + 0.01),
            ]
        )
        began = time.monotonic()
        accepted = [recorder.submit(big) for _ in range(40)]
        assert time.monotonic() - began < 2.0  # a blocked pipe never blocks submit
    finally:
        os.kill(recorder._process.pid, signal.SIGCONT)
    result = recorder.close(exit_code=0)
    dropped = accepted.count(False)
    assert dropped > 0
    assert result.stats.dropped == dropped
    end = list(read_records(tmp_path / "trace.jsonl.zst"))[-1]
    assert end["type"] == "end" and end["dropped"] == dropped


def test_a_dead_recorder_is_reported_and_later_exchanges_are_counted(tmp_path: Path) -> None:
    recorder = start(tmp_path)
    recorder.submit(conversation_exchange(1, turns=1))
    deadline = time.monotonic() + 10
    while not any(r["type"] == "exchange" for r in read_records(tmp_path / "trace.jsonl.zst")):
        assert time.monotonic() < deadline, "the first record never reached the trace"
        time.sleep(0.05)
    os.kill(recorder._process.pid, signal.SIGKILL)
    recorder._process.wait()
    deadline = time.monotonic() + 5
    while recorder.submit(conversation_exchange(2, turns=2)):
        assert time.monotonic() < deadline, "submit kept accepting exchanges for a dead recorder"
        time.sleep(0.01)
    result = recorder.close(exit_code=0)
    assert result.html_path is None
    assert result.stats.errors and "ended unexpectedly" in result.stats.errors[0]
    assert result.stats.dropped >= 1
    records = list(read_records(tmp_path / "trace.jsonl.zst"))
    assert [r["type"] for r in records] == ["session", "exchange"]


def test_trace_and_viewer_are_private_whatever_the_umask(tmp_path: Path) -> None:
    previous = os.umask(0)
    try:
        recorder = start(tmp_path)
        recorder.submit(conversation_exchange(1, turns=1))
        result = recorder.close(exit_code=0)
    finally:
        os.umask(previous)
    assert result.html_path is not None
    for path in (tmp_path / "trace.jsonl.zst", result.html_path):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert json.loads(json.dumps(result.stats.errors)) == []


def test_the_viewer_model_waits_out_a_burst_then_catches_up_in_the_pause_and_is_whole_at_the_stop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from claude_tap.store import recorder_main
    from claude_tap.store.recorder_main import _Channel, _Recorder

    monkeypatch.setattr(recorder_main, "MODEL_AFTER_GAP_S", 0.5)
    init = {
        "trace": str(tmp_path / "trace.jsonl.zst"),
        "html": str(tmp_path / "trace.html"),
        "session": session_record(),
        "secrets": [],
        "live": False,
    }
    with open(os.devnull, "wb") as sink:
        recorder = _Recorder(init, _Channel(sink))
        for seq in range(1, 41):  # a burst: each record follows the last within the pause
            recorder.writer.submit(conversation_exchange(seq, turns=1), block=True)
        deadline = time.monotonic() + 10
        while recorder.writer.stats.written < 40 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert recorder.unmodelled >= 30  # relaying comes first: modelling waited
        while recorder.unmodelled and time.monotonic() < deadline:
            time.sleep(0.01)
        assert recorder.unmodelled == 0  # the pause after the burst, with no record to prompt it
        for seq in range(41, 52):
            recorder.writer.submit(conversation_exchange(seq, turns=1), block=True)
        final = recorder.finish(exit_code=0, parent_dropped=0)
    assert final["html"] == str(tmp_path / "trace.html") and final["stats"].written == 51
    encoded = re.search(r'id="tap-payload">([^<]+)</script>', (tmp_path / "trace.html").read_text())
    assert encoded is not None
    payload = decode_payload(encoded.group(1))
    assert len(payload["turns"]) == 51  # the tail of the burst too, modelled at the stop


def test_large_records_do_not_wait_for_the_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from claude_tap.store import recorder_main
    from claude_tap.store.recorder_main import _Channel, _Recorder

    monkeypatch.setattr(recorder_main, "MODEL_AFTER_GAP_S", 3600)  # no pause ever: only the bounds
    monkeypatch.setattr(recorder_main, "MAX_UNMODELLED_BYTES", 3 << 20)
    init = {
        "trace": str(tmp_path / "trace.jsonl.zst"),
        "html": str(tmp_path / "trace.html"),
        "session": session_record(),
        "secrets": [],
        "live": False,
    }
    body = {"model": "m", "input": "y" * (1 << 20)}
    with open(os.devnull, "wb") as sink:
        recorder = _Recorder(init, _Channel(sink))
        for seq in range(1, 5):  # a burst of big uploads: held until modelled, so bounded by bytes
            big = json_post_exchange(body, {"ok": True})
            big.seq = seq
            recorder.writer.submit(big, block=True)
        deadline = time.monotonic() + 20
        while recorder.writer.stats.written < 4 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert recorder.unmodelled == 1  # the third reached 3 MB waiting: all three were modelled
        final = recorder.finish(exit_code=0, parent_dropped=0)
    assert final["stats"].written == 4


def _threads(pid: int) -> list[tuple[int, int]]:
    """(nice, scheduling policy) of each thread of a process, from /proc."""
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
            found.append((int(fields[16]), int(fields[38])))
    return sorted(found)


@pytest.mark.skipif(not hasattr(os, "SCHED_IDLE"), reason="Linux scheduling policies")
def test_the_recorder_gives_way_to_the_agent_and_the_proxy(tmp_path: Path) -> None:
    """The recording runs at idle priority and the pipe's bytes are taken off at once by a thread of
    ordinary priority, so a backlog waits in the recorder, not in the tap. It stays in the tap's
    session: where Linux shares the CPU out by session (autogroup), a session of its own had a full
    share whatever its priority (throughput at concurrency 8: 38 % of direct; now 57-62 %)."""
    recorder = start(tmp_path)
    pid = recorder._process.pid
    recorder.submit(conversation_exchange(1, turns=1))  # the writer's thread exists once it wrote
    deadline = time.monotonic() + 10
    threads = _threads(pid)
    while time.monotonic() < deadline and (len(threads) < 3 or threads.count((19, os.SCHED_IDLE)) < 2):
        time.sleep(0.02)
        threads = _threads(pid)
    same_session = os.getsid(pid) == os.getsid(0)
    own_group = os.getpgid(pid) == pid
    recorder.close(exit_code=0)

    # The pipe's thread, ordinary; the recording's and the writer's (and any they start), idle.
    assert threads.count((0, os.SCHED_OTHER)) == 1, threads
    assert threads.count((19, os.SCHED_IDLE)) == len(threads) - 1 >= 2, threads
    assert same_session and own_group


def test_the_exit_summary_is_counted_as_records_are_written_and_agrees_with_the_file(tmp_path: Path) -> None:
    """The tap prints the recorder's figures at once instead of reading the whole trace back (1.2 s
    of a 10,000-call stop); they must be the figures a reading of the file gives."""
    from claude_tap.normalize.summary import summarize

    recorder = start(tmp_path)
    answer = {"type": "message", "content": [], "usage": {"input_tokens": 7, "output_tokens": 3}}
    submitted = []
    for seq in range(1, 5):  # a growing conversation: its bodies stored as deltas
        turns = [{"role": "user", "content": f"message {n} " * 200} for n in range(seq)]
        submitted.append(json_post_exchange({"model": "claude-x", "messages": turns}, answer))
    submitted.append(json_post_exchange({}, {"error": {"type": "overloaded"}}, status=529))
    submitted.append(json_post_exchange({}, {}, path="/api/show", status=404))  # a probe, not an error
    for seq, built in enumerate(submitted, 1):
        built.seq = seq
        recorder.submit(built)
    result = recorder.close(exit_code=0)

    assert result.summary is not None
    assert result.summary == summarize(tmp_path / "trace.jsonl.zst")
    assert (result.summary.calls, result.summary.errors) == (6, 1)
    assert result.summary.tokens is not None and result.summary.tokens["input_tokens"] == 4 * 7
    assert result.summary.insight and result.summary.insight.startswith("threads: ")


def test_a_sent_exchange_s_bytes_are_not_kept_while_the_sender_waits_for_the_next(tmp_path: Path) -> None:
    """The proxy keeps no upload once it has crossed the pipe: a 20 MB body held by the idle sender
    until the next exchange made every large upload cost the proxy twice its size in memory."""
    message = {"role": "user", "content": "x" * 100_000}
    body = json.dumps({"model": "claude-x", "messages": [message]}).encode()
    recorder = start(tmp_path)
    built = json_post_exchange({}, {"type": "message", "content": []})
    built.request_chunks = [RequestChunk(START_AT, body)]
    unshared = sys.getrefcount(body)
    assert recorder.submit(built)
    del built  # now only the recorder's frame and this test hold the body
    deadline = time.monotonic() + 10
    while recorder._queued and time.monotonic() < deadline:  # written to the pipe
        time.sleep(0.01)
    try:
        assert recorder._queued == 0
        assert sys.getrefcount(body) == unshared - 1  # the exchange's chunk is gone, and no other holder
    finally:
        recorder.close(exit_code=0)


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no {field}")


def peak_rss_mb(pid: int) -> float:
    return rss_mb(pid, "VmHWM")


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads the recorder's RSS from /proc")
def test_large_uploads_leave_no_memory_behind_in_the_recorder(tmp_path: Path) -> None:
    """Three 20 MB uploads left the recorder holding 125 MB for the rest of the session (glibc keeps
    freed blocks after it has seen large ones); the pause after them gives that memory back."""
    recorder = start(tmp_path)
    pid = recorder._process.pid
    with_ordinary_priority(pid)  # where allowed: a busy machine would leave it no CPU for minutes
    for seq in range(1, 4):
        upload = Exchange(seq=seq, started_wall=START_AT)
        upload.feed(RequestStarted(START_AT, "POST", "/v1/files", (), "https://api.example.com/v1/files"))
        data = os.urandom(20 << 20)
        for offset in range(0, len(data), 256 << 10):
            upload.feed(RequestChunk(START_AT, data[offset : offset + (256 << 10)]))
        del data
        upload.feed(RequestEnded(START_AT))
        upload.feed(ResponseStarted(START_AT, 200, (("content-type", "application/json"),)))
        upload.feed(Finished(START_AT))
        assert recorder.submit(upload)
        del upload
    try:
        deadline = time.monotonic() + 20
        while peak_rss_mb(pid) <= 85 and time.monotonic() < deadline:  # the uploads are in
            time.sleep(0.02)
        assert peak_rss_mb(pid) > 85
        while rss_mb(pid) > 85 and time.monotonic() < deadline:  # and what they left is given back
            time.sleep(0.05)
        assert rss_mb(pid) <= 85
    finally:
        result = recorder.close(exit_code=0)
    assert result.stats.written == 3


def with_ordinary_priority(pid: int) -> None:
    """Put the recorder's threads back at nice 0 under the ordinary policy once it has lowered them
    (it records at idle priority: on a busy machine it may get no CPU at all). Needs privileges;
    without them, the threads stay as they are."""
    if not hasattr(os, "SCHED_IDLE"):
        return
    deadline = time.monotonic() + 10
    threads = _threads(pid)
    while time.monotonic() < deadline and (len(threads) < 3 or threads.count((19, os.SCHED_IDLE)) < 2):
        time.sleep(0.02)
        threads = _threads(pid)
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):  # PermissionError unprivileged; a thread that ended
            os.sched_setscheduler(int(task.name), os.SCHED_OTHER, os.sched_param(0))
            os.setpriority(os.PRIO_PROCESS, int(task.name), 0)


def test_a_long_backlog_is_waited_for_while_the_recorder_says_it_gets_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The close timeout counts silence, not the whole wait: at idle priority a recorder may take
    long over a backlog, and killing it then would lose the records still held and the end record."""
    import claude_tap.store.recorder as recorder_module

    monkeypatch.setattr(recorder_module, "CLOSE_TIMEOUT_S", 0.8)
    monkeypatch.setattr(recorder_module, "PROGRESS_EVERY_S", 0.01)
    recorder = start(tmp_path)
    pid = recorder._process.pid
    with_ordinary_priority(pid)  # where allowed: the starving below is the test's, not a busy machine's
    for seq in range(1, 1501):
        assert recorder.submit(conversation_exchange(seq, turns=1 + seq % 7))

    # A starved recorder, made so by construction rather than by hoping this machine is slow: three
    # stops of 0.3 s (each shorter than the timeout) with 50 ms of running between them. The close
    # then lasts past the 0.8 s timeout unless the whole backlog is recorded in 100 ms of running.
    def starve() -> None:
        for _ in range(3):
            os.kill(pid, signal.SIGSTOP)
            time.sleep(0.3)
            os.kill(pid, signal.SIGCONT)
            time.sleep(0.05)

    starver = threading.Thread(target=starve)
    began = time.monotonic()
    starver.start()
    try:
        result = recorder.close(exit_code=0)
        waited = time.monotonic() - began
    finally:
        starver.join()

    assert waited > 0.8  # longer than the timeout: it was waited for, as it kept saying "progress"
    assert result.stats.written == 1500 and result.stats.failed == 0 and result.html_path is not None
    assert not [r for r in caplog.records if "stopping it" in r.getMessage()]  # never about to be killed


def test_a_recorder_that_hangs_with_the_pipe_full_does_not_hold_the_stop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sender, blocked writing to a child that no longer reads, used to be joined before the
    silence was watched: the tap never exited."""
    import claude_tap.store.recorder as recorder_module

    monkeypatch.setattr(recorder_module, "CLOSE_TIMEOUT_S", 0.5)
    recorder = start(tmp_path)
    pid = recorder._process.pid
    os.kill(pid, signal.SIGSTOP)  # hung: reads nothing more
    try:
        for seq in range(1, 9):  # 8 MB for a pipe of 1 MB: the sender blocks
            big = json_post_exchange({"model": "m", "input": "z" * (1 << 20)}, {"ok": True})
            big.seq = seq
            assert recorder.submit(big)
        results: list[Any] = []
        closer = threading.Thread(target=lambda: results.append(recorder.close(exit_code=0)), daemon=True)
        closer.start()
        closer.join(15)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGCONT)
    assert results, "close() did not return"
    (result,) = results
    assert "ended unexpectedly" in result.stats.errors[0]


def test_a_recorder_that_falls_silent_is_stopped_after_the_timeout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import claude_tap.store.recorder as recorder_module

    monkeypatch.setattr(recorder_module, "CLOSE_TIMEOUT_S", 0.5)
    recorder = start(tmp_path)
    recorder.submit(conversation_exchange(1, turns=1))
    os.kill(recorder._process.pid, signal.SIGSTOP)  # hung: no word from it any more
    try:
        began = time.monotonic()
        result = recorder.close(exit_code=0)
        waited = time.monotonic() - began
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(recorder._process.pid, signal.SIGCONT)
    assert 0.5 <= waited < 10
    assert "ended unexpectedly" in result.stats.errors[0]
