"""Soak benchmark: does the tap's memory stay flat under many concurrent streams, or grow?

    python bench/bench_soak.py [--streams 50] [--seconds 75] [--warmup 20] [--body-kb 20]

The tap runs as its own process (`python -m claude_tap --tap-no-launch --tap-port 0`), recording to a
throwaway directory exactly as in real use, against a loopback SSE upstream in this process. `--streams`
clients each send a request (an Anthropic-shaped JSON body of `--body-kb`) and read its streamed answer
(`--events` events, `--event-ms` apart), then start the next, for `--seconds`. Every second the
script reads VmRSS from /proc/<pid>/status for the tap's own process (the proxy: what the relay,
the hand-off and aiohttp keep) and for its children (the recorder, when recording runs in a process
of its own), and prints the curve. At the end it fits a line to the samples after `--warmup` seconds:
a slope near 0 MB/min is warm-up that has settled; a steady positive slope is growth.

Traffic goes to 127.0.0.1 only, bounded in count and time. Not a pass/fail test: it prints figures.

Measured on the 2-core machine (issue 10; 50 streams, 20 KB bodies, 40 events, 90 s, ~57 streams/s):
with the writer as a thread of the tap (0.2.0), RSS rose 41 -> 61 MB in the first 15 s, then stayed
at 60.7 MB to the end (slope +0.02 MB/min): warm-up to the writer's working set, not growth (the
same with MALLOC_ARENA_MAX=1). With recording in a process of its own, the proxy process holds
43-51 MB from the first seconds, slope +0.05 MB/min; tracemalloc in the proxy alone showed 5.4 MB
traced after 150 streams and 5.2 MB after 700.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from aiohttp import web

LISTENING_RE = re.compile(r"listening\s+(http://127\.0\.0\.1:\d+)")


@dataclass(frozen=True)
class Settings:
    streams: int
    seconds: float
    warmup_s: float
    body_kb: int
    events: int
    event_ms: float


@dataclass(frozen=True)
class Sample:
    t_s: float
    tap_mb: float
    children_mb: float
    streams_done: int


# ---- the stand-in upstream ------------------------------------------------------------------------------
def upstream_app(settings: Settings) -> web.Application:
    async def messages(request: web.Request) -> web.StreamResponse:
        await request.read()
        response = web.StreamResponse(headers={"content-type": "text/event-stream"})
        await response.prepare(request)
        start = {"type": "message_start", "message": {"id": "msg_soak", "model": "claude-sonnet-4-5",
                 "usage": {"input_tokens": 1200, "output_tokens": 1}}}  # fmt: skip
        await response.write(b"event: message_start\ndata: " + json.dumps(start).encode() + b"\n\n")
        for i in range(settings.events):
            await asyncio.sleep(settings.event_ms / 1000)
            delta = {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "text_delta", "text": f"tok{i} "},
            }
            await response.write(b"event: content_block_delta\ndata: " + json.dumps(delta).encode() + b"\n\n")
        stop = {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 40}}
        await response.write(b"event: message_delta\ndata: " + json.dumps(stop).encode() + b"\n\n")
        await response.write(b'event: message_stop\ndata: {"type":"message_stop"}\n\n')
        await response.write_eof()
        return response

    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.router.add_post("/v1/messages", messages)
    return app


async def start_upstream(settings: Settings) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(upstream_app(settings), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}"


# ---- the tap as a process -------------------------------------------------------------------------------
def start_tap(target: str, out_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    """`claude-tap --tap-no-launch --tap-port 0`, and the URL its banner says it listens on."""
    env = {**os.environ, "CLAUDE_TAP_HOME": str(out_dir / "home")}
    stderr_path = out_dir / "tap.stderr"
    argv = [
        sys.executable, "-m", "claude_tap", "--tap-no-launch", "--tap-no-open", "--tap-port", "0",
        "--tap-target", target, "--tap-output-dir", str(out_dir / "trace"),
    ]  # fmt: skip
    with stderr_path.open("wb") as err:
        proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=err)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        match = LISTENING_RE.search(stderr_path.read_text(errors="replace"))
        if match:
            return proc, match.group(1)
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    proc.kill()
    raise SystemExit(
        "claude-tap did not start listening:\n" + stderr_path.read_text(errors="replace")[-2000:]
    )


def rss_mb(pid: int) -> float:
    """VmRSS of `pid` in MB (0 when it is gone)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
    return int(match.group(1)) / 1024 if match else 0.0


def children_of(pid: int) -> list[int]:
    """Every descendant of `pid`, from /proc/<pid>/task/*/children."""
    found: list[int] = []
    todo = [pid]
    while todo:
        parent = todo.pop()
        for task in Path(f"/proc/{parent}/task").glob("*"):
            try:
                kids = [int(k) for k in (task / "children").read_text().split()]
            except OSError:
                continue
            found += kids
            todo += kids
    return found


# ---- the load --------------------------------------------------------------------------------------------
def request_body(body_kb: int) -> bytes:
    history = [
        {
            "role": "user" if i % 2 == 0 else "assistant",
            "content": [{"type": "text", "text": f"message {i} " * 40}],
        }
        for i in range(max(1, body_kb * 1024 // 500))
    ]
    body = {"model": "claude-sonnet-4-5", "max_tokens": 4096, "stream": True, "messages": history}
    return json.dumps(body).encode()


async def load(url: str, settings: Settings, stop_at: float, counter: list[int]) -> None:
    body = request_body(settings.body_kb)
    headers = {
        "content-type": "application/json",
        "x-api-key": "sk-ant-soak-dummy",
        "anthropic-version": "2023-06-01",
    }
    connector = aiohttp.TCPConnector(limit=settings.streams)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def stream_forever() -> None:
            while time.monotonic() < stop_at:
                async with session.post(url + "/v1/messages", data=body, headers=headers) as response:
                    async for _ in response.content.iter_any():
                        pass
                counter[0] += 1

        await asyncio.gather(*(stream_forever() for _ in range(settings.streams)))


async def sample(pid: int, start: float, stop_at: float, counter: list[int], out: list[Sample]) -> None:
    while time.monotonic() < stop_at:
        await asyncio.sleep(1.0)
        children = sum(rss_mb(child) for child in children_of(pid))
        row = Sample(round(time.monotonic() - start), rss_mb(pid), children, counter[0])
        out.append(row)
        print(f"{row.t_s:4.0f} s  tap {row.tap_mb:6.1f} MB  children {row.children_mb:6.1f} MB  "
              f"streams done {row.streams_done}", flush=True)  # fmt: skip


def slope_mb_per_min(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, MB) points, in MB per minute."""
    if len(points) < 2:
        return float("nan")
    return statistics.linear_regression([t for t, _ in points], [mb for _, mb in points]).slope * 60


async def run(settings: Settings) -> None:
    upstream, target = await start_upstream(settings)
    with tempfile.TemporaryDirectory() as tmp:
        tap, url = start_tap(target, Path(tmp))
        start = time.monotonic()
        print(f"tap pid {tap.pid} at {url}; baseline {rss_mb(tap.pid):.1f} MB; "
              f"{settings.streams} streams for {settings.seconds:.0f} s", flush=True)  # fmt: skip
        stop_at = start + settings.seconds
        counter = [0]
        samples: list[Sample] = []
        await asyncio.gather(
            load(url, settings, stop_at, counter), sample(tap.pid, start, stop_at, counter, samples)
        )
        stop_started = time.monotonic()
        tap.send_signal(signal.SIGINT)
        try:
            tap.wait(timeout=120)
        except subprocess.TimeoutExpired:
            tap.kill()
        stop_s = time.monotonic() - stop_started
        summary = [
            line for line in (Path(tmp) / "tap.stderr").read_text().splitlines() if "claude-tap:" in line
        ]
    await upstream.cleanup()
    settled = [s for s in samples if s.t_s >= settings.warmup_s]
    if not settled:
        raise SystemExit("no samples after the warm-up: run longer than --warmup")
    first, last = settled[0], settled[-1]
    tap_slope = slope_mb_per_min([(s.t_s, s.tap_mb) for s in settled])
    kid_slope = slope_mb_per_min([(s.t_s, s.children_mb) for s in settled])
    print()
    print(f"streams completed: {counter[0]} ({counter[0] / settings.seconds:.1f}/s)")
    print(f"tap process: {samples[0].tap_mb:.1f} MB at 1 s, peak {max(s.tap_mb for s in samples):.1f} MB; "
          f"after {settings.warmup_s:.0f} s warm-up {first.tap_mb:.1f} -> {last.tap_mb:.1f} MB, "
          f"slope {tap_slope:+.2f} MB/min")  # fmt: skip
    print(f"children:    after warm-up {first.children_mb:.1f} -> {last.children_mb:.1f} MB, "
          f"slope {kid_slope:+.2f} MB/min")  # fmt: skip
    print(f"stop to exit: {stop_s:.1f} s; the tap said:")
    for line in summary:
        print("  " + line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=50, help="concurrent streams (default 50)")
    parser.add_argument("--seconds", type=float, default=75.0, help="how long to load the tap (default 75)")
    parser.add_argument(
        "--warmup", type=float, default=20.0, help="seconds left out of the slope (default 20)"
    )
    parser.add_argument("--body-kb", type=int, default=20, help="request body size in KB (default 20)")
    parser.add_argument("--events", type=int, default=40, help="events per streamed answer (default 40)")
    parser.add_argument("--event-ms", type=float, default=20.0, help="ms between events (default 20)")
    args = parser.parse_args()
    settings = Settings(args.streams, args.seconds, args.warmup, args.body_kb, args.events, args.event_ms)
    asyncio.run(run(settings))


if __name__ == "__main__":
    main()
