"""Proxy benchmark: the same workloads direct to a loopback upstream and through claude-tap, in one run.

    python bench/bench_proxy.py [--quick]

Prints a table of figures and ratios (through the tap vs direct). The tap runs as its own process
(`python -m claude_tap --tap-no-launch`), recording to a throwaway directory exactly as in real use,
so its peak RSS is its own. Traffic goes to 127.0.0.1 only, bounded in count and time.

Targets (issue "Core", tightened by issue 10): added p50 <= 0.5 ms, p99 <= 2 ms; first SSE event
<= 1 ms later than direct; throughput >= 40 % of direct at concurrency 8; a 20 MB request <= 2x
direct; the proxy's peak RSS <= 100 MB. The recorder's peak is printed twice: before the stop, and
over its whole life, the stop included (where it writes trace.html for every exchange of the run).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
from aiohttp import web

SMALL_BODY = json.dumps(
    {"model": "claude-sonnet-4-5", "max_tokens": 64, "messages": [{"role": "user", "content": "x" * 900}]}
).encode()
SMALL_REPLY = {
    "id": "msg_1",
    "type": "message",
    "content": [{"type": "text", "text": "ok"}],
    "usage": {"input_tokens": 10, "output_tokens": 1},
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---- the stand-in upstream --------------------------------------------------------------------------
async def small(request: web.Request) -> web.Response:
    await request.read()
    return web.json_response(SMALL_REPLY)


async def sse(request: web.Request) -> web.StreamResponse:
    await request.read()
    response = web.StreamResponse(headers={"content-type": "text/event-stream"})
    await response.prepare(request)
    await response.write(b'event: message_start\ndata: {"type":"message_start"}\n\n')
    for i in range(20):
        await asyncio.sleep(0.002)
        await response.write(
            b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,'
            b'"delta":{"type":"text_delta","text":"tok%d "}}\n\n' % i
        )
    await response.write(b'event: message_stop\ndata: {"type":"message_stop"}\n\n')
    await response.write_eof()
    return response


async def big(request: web.Request) -> web.Response:
    digest = hashlib.sha256()
    async for chunk in request.content.iter_any():
        digest.update(chunk)
    return web.json_response({"sha256": digest.hexdigest()})


async def start_upstream() -> tuple[web.AppRunner, int]:
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.router.add_post("/v1/messages", small)
    app.router.add_post("/v1/sse", sse)
    app.router.add_post("/v1/big", big)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, port


# ---- the tap as a process -----------------------------------------------------------------------------
def start_tap(upstream_port: int, out_dir: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    env = {**os.environ, "CLAUDE_TAP_HOME": str(out_dir / "home")}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "claude_tap",
            "--tap-no-launch",
            "--tap-no-open",
            "--tap-port",
            str(port),
            "--tap-target",
            f"http://127.0.0.1:{upstream_port}",
            "--tap-output-dir",
            str(out_dir / "trace"),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    wait_listening(proc, port)
    return proc, port


def wait_listening(proc: subprocess.Popen[bytes], port: int, timeout_s: float = 20.0) -> None:
    """Until the tap `proc` accepts connections on `port`; exits the benchmark with its stderr if not."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    proc.kill()
    stderr = proc.stderr.read().decode()[-2000:] if proc.stderr is not None else ""
    raise SystemExit("claude-tap did not start listening: " + stderr)


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


# ---- workloads ----------------------------------------------------------------------------------------
async def latencies(session: aiohttp.ClientSession, url: str, n: int) -> list[float]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        async with session.post(url, data=SMALL_BODY, headers={"content-type": "application/json"}) as r:
            await r.read()
        out.append((time.perf_counter() - t0) * 1000)
    return out


async def first_event_ms(session: aiohttp.ClientSession, url: str, n: int) -> list[float]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        async with session.post(url, data=SMALL_BODY) as r:
            await r.content.readuntil(b"\n\n")
            out.append((time.perf_counter() - t0) * 1000)
            await r.read()
    return out


async def throughput(
    session: aiohttp.ClientSession, url: str, seconds: float, concurrency: int
) -> tuple[float, int]:
    """(requests per second, requests made)."""
    done = 0
    stop_at = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal done
        while time.perf_counter() < stop_at:
            async with session.post(url, data=SMALL_BODY) as r:
                await r.read()
            done += 1

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return done / (time.perf_counter() - t0), done


async def big_request_s(session: aiohttp.ClientSession, url: str, size: int, repeat: int) -> float:
    payload = os.urandom(1024) * (size // 1024)
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        async with session.post(url, data=payload, headers={"content-type": "application/octet-stream"}) as r:
            got = await r.json()
        best = min(best, time.perf_counter() - t0)
        assert got["sha256"] == hashlib.sha256(payload).hexdigest()
    return best


def count_exchanges(trace: Path) -> int:
    import zstandard

    with trace.open("rb") as f:
        text = zstandard.ZstdDecompressor().stream_reader(f, read_across_frames=True).read()
    return sum(1 for line in text.splitlines() if b'"type":"exchange"' in line)


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


async def run(quick: bool) -> None:
    n_small = 300 if quick else 2000
    n_sse = 30 if quick else 200
    tp_seconds = 2.0 if quick else 5.0
    upstream, up_port = await start_upstream()
    with tempfile.TemporaryDirectory() as tmp:
        tap, tap_port = start_tap(up_port, Path(tmp))
        direct = f"http://127.0.0.1:{up_port}"
        tapped = f"http://127.0.0.1:{tap_port}"
        conn = aiohttp.TCPConnector(limit=16)
        rows: list[tuple[str, str, str, str]] = []
        async with aiohttp.ClientSession(connector=conn, auto_decompress=False) as s:
            for base in (direct, tapped):  # warm both paths
                await latencies(s, base + "/v1/messages", 50)
            # interleave blocks so machine noise hits both sides alike
            d_lat, t_lat = [], []
            for _ in range(10):
                d_lat += await latencies(s, direct + "/v1/messages", n_small // 10)
                t_lat += await latencies(s, tapped + "/v1/messages", n_small // 10)
            for name, q in (("p50", 0.5), ("p99", 0.99)):
                d, t = pct(d_lat, q), pct(t_lat, q)
                rows.append((f"small request {name}", f"{d:.3f} ms", f"{t:.3f} ms", f"+{t - d:.3f} ms"))
            d_sse = await first_event_ms(s, direct + "/v1/sse", n_sse)
            t_sse = await first_event_ms(s, tapped + "/v1/sse", n_sse)
            d, t = statistics.median(d_sse), statistics.median(t_sse)
            rows.append(("SSE first event p50", f"{d:.3f} ms", f"{t:.3f} ms", f"+{t - d:.3f} ms"))
            d_tp, _ = await throughput(s, direct + "/v1/messages", tp_seconds, 8)
            t_tp, t_tp_count = await throughput(s, tapped + "/v1/messages", tp_seconds, 8)
            rows.append(
                (
                    "throughput, concurrency 8",
                    f"{d_tp:.0f} req/s",
                    f"{t_tp:.0f} req/s",
                    f"{100 * t_tp / d_tp:.0f} % of direct",
                )
            )
            size = 20 * 1024 * 1024
            d_big = await big_request_s(s, direct + "/v1/big", size, 3)
            t_big = await big_request_s(s, tapped + "/v1/big", size, 3)
            rows.append(
                (
                    "20 MB request (best of 3)",
                    f"{d_big * 1000:.0f} ms",
                    f"{t_big * 1000:.0f} ms",
                    f"{t_big / d_big:.2f}x direct",
                )
            )
        sent_through_tap = 50 + n_small + n_sse + t_tp_count + 3  # warm-up, latency, SSE, throughput, 20 MB
        time.sleep(1.0)  # let the writer drain before reading sizes
        rss = peak_rss_mb(tap.pid)
        children = Path(f"/proc/{tap.pid}/task/{tap.pid}/children").read_text().split()
        recorder_rss = sum(peak_rss_mb(int(pid)) for pid in children)  # the recorder process
        tap.send_signal(signal.SIGINT)
        recorder_stop_rss = recorder_rss
        stop_deadline = time.monotonic() + 30
        while tap.poll() is None and time.monotonic() < stop_deadline:  # the stop: trace.html written
            for pid in children:
                with contextlib.suppress(OSError, ValueError):
                    recorder_stop_rss = max(recorder_stop_rss, peak_rss_mb(int(pid)))
            time.sleep(0.01)
        if tap.poll() is None:
            tap.kill()
        traces = list(Path(tmp).rglob("trace.jsonl.zst"))
        trace_bytes = sum(p.stat().st_size for p in traces)
        n_requests = sum(count_exchanges(p) for p in traces) or 1
        rows.append(("tap peak RSS: proxy", "", f"{rss:.1f} MB", ""))
        rows.append(("tap peak RSS: recorder", "", f"{recorder_rss:.1f} MB", ""))
        rows.append(("  to its exit (trace.html written)", "", f"{recorder_stop_rss:.1f} MB", ""))
        rows.append(
            (
                "trace bytes / request",
                "",
                f"{trace_bytes / n_requests:.0f} B",
                f"{n_requests} of {sent_through_tap} recorded",
            )
        )
    await upstream.cleanup()
    width = max(len(r[0]) for r in rows)
    print(f"{'workload':<{width}}  {'direct':>14}  {'via claude-tap':>14}  difference")
    for name, d, t, diff in rows:
        print(f"{name:<{width}}  {d:>14}  {t:>14}  {diff}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer iterations (a smoke run)")
    asyncio.run(run(parser.parse_args().quick))


if __name__ == "__main__":
    main()
