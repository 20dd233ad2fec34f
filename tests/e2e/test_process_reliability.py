"""What the real `claude-tap` process promises when things go wrong (issue "Core", items 4 and 6).

- kill -9: the trace holds every exchange completed before the kill, readable, without an `end`.
- The trace cannot be written: the agent keeps working (requests still pass byte for byte, the
  client's exit code and stdout are its own) and the tap reports the recording failure at exit.
  The failure is real: a file-size limit (RLIMIT_FSIZE) on the tap process makes every write past
  it fail with EFBIG, as a full disk or quota would.
- Upstream failures: a dead upstream gets an Anthropic-shaped 502 naming it; a stream that dies
  reaches the client as an error and the record says so; a client that leaves cancels its upstream
  request at once; twenty parallel streams all arrive and are all recorded.

The upstream is the loopback stand-in (tests/loopback.py); the tap runs as a subprocess.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import json
import os
import random
import re
import resource
import signal
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from claude_tap.store.reader import ReadReport, read_records
from tests.e2e.tap_process import (
    free_port,
    only_session_dir,
    proxy_only,
    run_tap,
    tap_env,
    wait_for,
    write_script,
)
from tests.loopback import Loopback

pytestmark = pytest.mark.e2e

TIMEOUT = aiohttp.ClientTimeout(total=20)
# Far below one big request's record, far above the session record and proxy.log's few lines.
FILE_SIZE_LIMIT_BYTES = 32 * 1024
BIG_BODY = random.Random(4).randbytes(256 * 1024)  # random: no compression brings it under the limit


def sse_bytes(n: int) -> bytes:
    return b"".join(f'data: {{"i": {i}}}\n\n'.encode() for i in range(n))


def trace_records(session_dir: Path, report: ReadReport | None = None) -> list[dict[str, Any]]:
    return list(read_records(session_dir / "trace.jsonl.zst", report))


def exchanges(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in records if r["type"] == "exchange"]


# --- kill -9 ---


async def test_sigkill_leaves_a_readable_trace_with_every_completed_exchange(
    tmp_path: Path, loopback: Loopback
) -> None:
    async with proxy_only(tmp_path, loopback.url) as tap:
        async with aiohttp.ClientSession(timeout=TIMEOUT) as http:
            for i in range(3):
                async with http.post(f"{tap.url}/v1/echo", json={"i": i}) as r:
                    assert r.status == 200
                async with http.get(f"{tap.url}/v1/sse?n=2") as r:
                    assert await r.read() == sse_bytes(2)
        trace = tap.session_dir() / "trace.jsonl.zst"
        # Each record is flushed to the file as it is written; without that this wait times out.
        await wait_for(
            lambda: len(exchanges(trace_records(trace.parent))) == 6, 10, "6 exchanges in the trace"
        )

        done = await tap.stop(signal.SIGKILL)

    assert done.returncode == -signal.SIGKILL
    # The recorder is a process of its own: it sees its input end, and still closes the trace (the
    # end record says the run was cut short: no exit code) and writes the viewer.
    await wait_for(lambda: (trace.parent / "trace.html").exists(), 10, "the recorder's trace.html")
    report = ReadReport()
    records = trace_records(trace.parent, report)
    assert [r["type"] for r in records] == ["session"] + ["exchange"] * 6 + ["end"]
    assert records[-1]["exit_code"] is None
    assert [r["id"] for r in records[1:7]] == [f"ex-{n:06d}" for n in range(1, 7)]
    assert all(r["response"]["complete"] and r["error"] is None for r in records[1:7])
    assert [r["request"]["body"] for r in records[1:6:2]] == [{"i": 0}, {"i": 1}, {"i": 2}]
    assert [len(r["response"]["events"]) for r in records[2:7:2]] == [2, 2, 2]
    assert report.skipped == 0 and not report.truncated


# --- the trace cannot be written ---


def limit_file_size() -> None:
    """Runs in the tap's process before exec: writes past the limit fail with EFBIG.
    Python ignores SIGXFSZ, so the write fails instead of the process being killed."""
    resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_SIZE_LIMIT_BYTES, FILE_SIZE_LIMIT_BYTES))


def failed_records(stderr: str) -> tuple[int, str]:
    """(count, reason) from the exit summary's recording warning."""
    match = re.search(r"(\d+) record\(s\) failed to write: (.+)", stderr)
    assert match, f"no recording failure reported on stderr:\n{stderr}"
    return int(match.group(1)), match.group(2)


async def test_unwritable_trace_keeps_forwarding_and_is_reported_at_exit(
    tmp_path: Path, loopback: Loopback
) -> None:
    async with proxy_only(tmp_path, loopback.url, preexec_fn=limit_file_size) as tap:
        async with aiohttp.ClientSession(timeout=TIMEOUT) as http:
            async with http.post(f"{tap.url}/v1/echo", json={"first": True}) as r:
                assert r.status == 200
            await wait_for(
                lambda: len(exchanges(trace_records(tap.session_dir()))) == 1, 10, "the first record"
            )
            # This one's record does not fit under the limit: the trace breaks here.
            headers = {"Content-Type": "application/octet-stream"}
            async with http.post(f"{tap.url}/v1/echo", data=BIG_BODY, headers=headers) as r:
                echoed = await r.json()
            assert (echoed["body_sha256"], echoed["body_bytes"]) == (
                hashlib.sha256(BIG_BODY).hexdigest(),
                len(BIG_BODY),
            )
            async with http.get(f"{tap.url}/v1/sse?n=3") as r:
                assert (r.status, await r.read()) == (200, sse_bytes(3))
            async with http.get(f"{tap.url}/v1/large?bytes=100000") as r:
                body = await r.read()
                assert hashlib.sha256(body).hexdigest() == r.headers["X-Body-Sha256"]

        done = await tap.stop(signal.SIGINT)

    assert done.returncode == 0, done.stderr
    assert done.stdout == b""
    count, reason = failed_records(done.stderr)
    assert count >= 3, done.stderr  # the big request and the two after it were not recorded
    assert "File too large" in reason
    assert "Traceback" not in done.stderr
    # What made it to disk before the failure still reads.
    records = trace_records(tap.session_dir())
    assert [r["type"] for r in records] == ["session", "exchange"]
    assert records[1]["request"]["body"] == {"first": True}


STOPPED = "claude-tap: recording stopped: "


async def test_unwritable_trace_is_said_on_stderr_when_it_happens_once(
    tmp_path: Path, loopback: Loopback
) -> None:
    async with proxy_only(tmp_path, loopback.url, preexec_fn=limit_file_size) as tap:
        async with aiohttp.ClientSession(timeout=TIMEOUT) as http:
            headers = {"Content-Type": "application/octet-stream"}
            async with http.post(f"{tap.url}/v1/echo", data=BIG_BODY, headers=headers) as r:
                assert r.status == 200
            # The tap still runs: the line comes now, not in the exit summary.
            await wait_for(lambda: STOPPED in tap.stderr, 10, "the recording failure on stderr")
            for _ in range(3):  # later records fail too, and say nothing more
                async with http.post(f"{tap.url}/v1/echo", data=BIG_BODY, headers=headers) as r:
                    assert r.status == 200
            stopped = [line for line in tap.stderr.splitlines() if line.startswith(STOPPED)]
        done = await tap.stop(signal.SIGINT)

    assert done.returncode == 0, done.stderr
    assert len(stopped) == 1, tap.stderr
    assert "File too large" in stopped[0] and stopped[0].endswith("; the agent keeps working")
    assert [line for line in done.stderr.splitlines() if line.startswith(STOPPED)] == stopped
    failed_records(done.stderr)  # and the exit summary still counts them


LAUNCHED_CLIENT = """
import hashlib, json, os, random, sys, urllib.request
big = random.Random(4).randbytes(256 * 1024)
lines = []
for body in (b'{"n": 1}', big, b'{"n": 3}'):
    request = urllib.request.Request(
        os.environ["ANTHROPIC_BASE_URL"] + "/v1/echo", data=body, method="POST",
        headers={"content-type": "application/octet-stream"})
    with urllib.request.urlopen(request, timeout=20) as response:
        echoed = json.loads(response.read())
    is_intact = echoed["body_sha256"] == hashlib.sha256(body).hexdigest()
    lines.append(f"{response.status} {echoed['body_bytes']} {is_intact}")
sys.stdout.write("\\n".join(lines) + "\\n")
sys.exit(3)
"""


async def test_unwritable_trace_in_launch_mode_keeps_the_clients_exit_code_and_stdout(
    tmp_path: Path, loopback: Loopback
) -> None:
    bin_dir = tmp_path / "bin"
    write_script(bin_dir / "claude", LAUNCHED_CLIENT)
    args = ["--tap-no-open", "--tap-target", loopback.url, "--tap-output-dir", str(tmp_path / "traces")]

    done = await run_tap(tmp_path, args, tap_env(tmp_path, [bin_dir]), preexec_fn=limit_file_size)

    assert done.returncode == 3, done.stderr
    assert done.stdout == f"200 8 True\n200 {len(BIG_BODY)} True\n200 8 True\n".encode()
    count, reason = failed_records(done.stderr)
    assert count >= 2, done.stderr  # the big request and the one after it
    assert "File too large" in reason
    assert [s.body_bytes for s in loopback.seen] == [8, len(BIG_BODY), 8]


async def test_trace_dir_that_cannot_be_made_stops_before_the_client_with_one_line_and_exit_2(
    tmp_path: Path, loopback: Loopback
) -> None:
    bin_dir = tmp_path / "bin"
    write_script(bin_dir / "claude", "print('the client ran')")
    a_file = tmp_path / "a-file"
    a_file.write_text("not a directory")
    args = ["--tap-no-open", "--tap-target", loopback.url, "--tap-output-dir", str(a_file / "traces")]

    done = await run_tap(tmp_path, args, tap_env(tmp_path, [bin_dir]))

    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert str(a_file / "traces") in lines[0] and "--tap-output-dir" in lines[0]
    assert "Not a directory" in lines[0]
    assert done.stdout == b""  # the client never started
    assert done.returncode == 2, done.stderr


# --- upstream failures through the process ---


async def test_unreachable_upstream_gives_an_anthropic_shaped_502_naming_it(tmp_path: Path) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    async with proxy_only(tmp_path, dead) as tap:
        async with (
            aiohttp.ClientSession(timeout=TIMEOUT) as http,
            http.post(f"{tap.url}/v1/messages?beta=true", json={"model": "m"}) as r,
        ):
            status, content_type, body = r.status, r.headers["Content-Type"], await r.json()
        done = await tap.stop()

    assert (status, content_type) == (502, "application/json")
    assert body["type"] == "error" and body["error"]["type"] == "api_error"
    assert f"{dead}/v1/messages" in body["error"]["message"]
    assert done.returncode == 0, done.stderr
    (record,) = exchanges(trace_records(tap.session_dir()))
    assert record["response"]["complete"] is False
    assert f"{dead}/v1/messages" in record["error"]


async def test_stream_dying_midway_reaches_the_client_as_an_error_and_the_record_says_so(
    tmp_path: Path, loopback: Loopback
) -> None:
    async with proxy_only(tmp_path, loopback.url) as tap:
        received = b""
        async with aiohttp.ClientSession(timeout=TIMEOUT) as http, http.get(f"{tap.url}/v1/sse-die?n=2") as r:
            assert r.status == 200
            with pytest.raises(aiohttp.ClientPayloadError):
                async for chunk in r.content.iter_any():
                    received += chunk
        done = await tap.stop()

    assert received == sse_bytes(2)
    assert done.returncode == 0, done.stderr
    (record,) = exchanges(trace_records(tap.session_dir()))
    assert record["transport"] == "sse" and record["response"]["status"] == 200
    assert record["response"]["complete"] is False
    assert "broke off the response" in record["error"]
    assert [e["data"] for e in record["response"]["events"]] == ['{"i": 0}', '{"i": 1}']


async def test_client_leaving_midstream_cancels_the_upstream_request_at_once(
    tmp_path: Path, loopback: Loopback
) -> None:
    async with proxy_only(tmp_path, loopback.url) as tap:
        async with aiohttp.ClientSession(timeout=TIMEOUT) as http:
            response = await http.get(f"{tap.url}/v1/sse?n=200&delay_ms=100")
            assert await asyncio.wait_for(response.content.readany(), 10) == sse_bytes(1)
            response.close()  # drops the connection mid-stream
            left = time.monotonic()
            assert await loopback.wait_cancelled(timeout_s=5.0) == ["/v1/sse?n=200&delay_ms=100"]
            assert time.monotonic() - left < 3  # not the 20 s the stream had left to run
        done = await tap.stop()

    assert done.returncode == 0, done.stderr
    (record,) = exchanges(trace_records(tap.session_dir()))
    assert record["response"]["complete"] is False
    assert "client closed the connection" in record["error"]


async def read_stream(http: aiohttp.ClientSession, url: str, k: int) -> bytes:
    async with http.get(f"{url}/v1/sse?n=5&delay_ms=20&stream={k}") as r:
        assert r.status == 200
        return await r.read()


async def test_twenty_parallel_streams_all_complete_and_all_are_recorded(
    tmp_path: Path, loopback: Loopback
) -> None:
    async with proxy_only(tmp_path, loopback.url) as tap:
        async with aiohttp.ClientSession(timeout=TIMEOUT) as http:
            bodies = await asyncio.gather(*(read_stream(http, tap.url, k) for k in range(20)))
        done = await tap.stop()

    assert bodies == [sse_bytes(5)] * 20
    assert done.returncode == 0, done.stderr
    records = trace_records(tap.session_dir())
    recorded = exchanges(records)
    assert sorted(r["request"]["path"] for r in recorded) == sorted(
        f"/v1/sse?n=5&delay_ms=20&stream={k}" for k in range(20)
    )
    assert all(r["response"]["complete"] and len(r["response"]["events"]) == 5 for r in recorded)
    assert records[-1]["type"] == "end" and records[-1]["exchanges"] == 20
    assert json.loads(recorded[0]["response"]["events"][4]["data"]) == {"i": 4}
    assert (only_session_dir(tap.output_dir) / "trace.html").stat().st_size > 0


async def test_a_recorder_stopped_when_the_tap_is_killed_still_finishes_the_trace(
    tmp_path: Path, loopback: Loopback
) -> None:
    """The recorder is a process group of its own in the tap's session. Killed, the tap leaves that
    group orphaned; the kernel then sends a stopped member SIGHUP and SIGCONT, which must not cost
    the trace its end record or the viewer."""
    async with proxy_only(tmp_path, loopback.url) as tap:
        async with (
            aiohttp.ClientSession(timeout=TIMEOUT) as http,
            http.post(f"{tap.url}/v1/echo", json={"i": 1}) as r,
        ):
            assert r.status == 200
        session = tap.session_dir()
        await wait_for(lambda: len(exchanges(trace_records(session))) == 1, 10, "the exchange in the trace")
        recorder = int(Path(f"/proc/{tap.proc.pid}/task/{tap.proc.pid}/children").read_text().split()[0])
        os.kill(recorder, signal.SIGSTOP)
        done = await tap.stop(signal.SIGKILL)

    assert done.returncode == -signal.SIGKILL
    # What the kernel sends a stopped process of an orphaned group (unless a subreaper in the session
    # adopts it, as under some test runners), sent here so that the test does not depend on it.
    for signum in (signal.SIGHUP, signal.SIGCONT):
        with contextlib.suppress(ProcessLookupError):
            os.kill(recorder, signum)
    await wait_for(lambda: not Path(f"/proc/{recorder}").exists(), 20, "the recorder to finish and exit")
    records = trace_records(session)
    assert [r["type"] for r in records] == ["session", "exchange", "end"]
    assert records[-1]["exit_code"] is None and (session / "trace.html").stat().st_size > 0


# --- Ctrl+C while the trace is being finished ---


async def test_a_recorder_still_catching_up_at_the_stop_is_waited_for_and_the_wait_explained(
    tmp_path: Path, loopback: Loopback
) -> None:
    """The recorder runs at idle priority: on a busy machine it may still be working through a
    backlog when the agent exits. The tap waits for every record and says why it has not exited."""
    async with proxy_only(tmp_path, loopback.url) as tap:
        async with aiohttp.ClientSession(timeout=TIMEOUT) as http:
            for k in range(3):
                async with http.post(f"{tap.url}/v1/echo?k={k}", json={"k": k}) as r:
                    assert r.status == 200
        children = Path(f"/proc/{tap.proc.pid}/task/{tap.proc.pid}/children").read_text().split()
        recorder = int(children[0])
        os.kill(recorder, signal.SIGSTOP)  # a recorder given no CPU at all, for now
        try:
            tap.proc.send_signal(signal.SIGINT)
            await wait_for(lambda: "still writing the trace" in tap.stderr, 10, "the tap to say why it waits")
            assert tap.proc.returncode is None
        finally:
            os.kill(recorder, signal.SIGCONT)
        done = await tap.stop()

    assert done.returncode == 0, done.stderr
    records = trace_records(tap.session_dir())
    assert [r["request"]["path"] for r in exchanges(records)] == [f"/v1/echo?k={k}" for k in range(3)]
    assert records[-1]["type"] == "end" and (tap.session_dir() / "trace.html").stat().st_size > 0
    assert "3 calls, 0 errors" in done.stderr


async def test_ctrl_c_during_the_wrap_up_still_writes_the_viewer_and_keeps_the_exit_code(
    tmp_path: Path, loopback: Loopback
) -> None:
    rng = random.Random(7)
    async with proxy_only(tmp_path, loopback.url) as tap:
        async with aiohttp.ClientSession(timeout=TIMEOUT) as http:
            # Enough distinct conversation text that writing trace.html takes a noticeable moment.
            messages: list[dict[str, str]] = []
            for i in range(40):
                words = " ".join(f"w{rng.randrange(10**6)}" for _ in range(4000))
                messages.append({"role": "user" if i % 2 == 0 else "assistant", "content": words})
                body = json.dumps({"model": "claude-sonnet-4-5", "messages": messages}).encode()
                headers = {"content-type": "application/json"}
                async with http.post(f"{tap.url}/v1/messages", data=io.BytesIO(body), headers=headers) as r:
                    assert r.status == 200
        tap.proc.send_signal(signal.SIGINT)  # the first press: stop recording, finish up
        await wait_for(lambda: "stopping" in tap.stderr, 10, "the tap to start finishing")
        await asyncio.sleep(0.05)
        assert tap.proc.returncode is None, "the wrap-up ended too soon for this test to press again"
        tap.proc.send_signal(signal.SIGINT)  # a second press, meant for the agent, lands on us
        done = await tap.stop(signal.SIGINT)

    assert done.returncode == 0, done.stderr
    session = tap.session_dir()
    assert (session / "trace.html").stat().st_size > 0
    records = trace_records(session)
    assert records[-1]["type"] == "end" and len(exchanges(records)) == 40
    assert "finishing the trace" in done.stderr
