"""Long-session benchmark: a Claude Code session whose requests grow past a megabyte, replayed through
claude-tap, through the thinnest aiohttp relay (no recording) and straight to the upstream, side by side
in one run, one request after another as the agent sends them.

    python bench/bench_long_session.py                 # 400 turns (about 450 MB of requests)
    python bench/bench_long_session.py --turns 120     # quicker look
    python bench/bench_long_session.py --mode forward  # the same over HTTPS, the tap as forward proxy

What it prints (2-core machines: close other work first):
- tap CPU per request (the proxy process plus its recorder process), first 50 vs last 50 turns, and the
  thinnest relay's CPU per request for the same turns;
- added latency p50 (through minus direct) for the tap and the relay, first 50 and last 50 turns;
- the time from SIGINT to exit, with trace.html written; trace bytes per request;
- `claude-tap export` of the trace to HTML: seconds and peak RSS; the same for the session written in
  the earlier claude-tap's JSONL (a full body on every line).

With --mode forward everything speaks TLS: the upstream serves api.bench.test with a certificate of a
throwaway CA; the client reaches it directly through a resolver rule, through the tap as its HTTPS
proxy (the tap decrypts with its own CA and reaches the upstream through --tap-resolve), and through
the thinnest relay, which then terminates TLS too (the same name and CA) and forwards over TLS.

Every process listens on 127.0.0.1 only; the upstream answers each request with a short Anthropic
stream. Request bodies come from bench/make_session.py's generator (seeded: the same bytes each run).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_proxy import free_port, start_tap
from bench_proxy import wait_listening as wait_tap_listening
from make_session import SessionGenerator

from claude_tap.proxy.ca import CA_CERT_FILE, LocalCa
from claude_tap.proxy.resolve import Resolve
from claude_tap.proxy.resolver import MappedResolver

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
API = "api.bench.test"  # the upstream's name in forward mode
WINDOW = 50
STREAM = b"".join(
    [
        b'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_1","type":"message",'
        b'"role":"assistant","model":"claude-sonnet-4-5","content":[],"usage":{"input_tokens":5,'
        b'"cache_read_input_tokens":1000,"output_tokens":1}}}\n\n',
        b'event: content_block_start\ndata: {"type":"content_block_start","index":0,'
        b'"content_block":{"type":"text","text":""}}\n\n',
        *[
            b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,'
            b'"delta":{"type":"text_delta","text":"word %d "}}\n\n' % n
            for n in range(20)
        ],
        b'event: content_block_stop\ndata: {"type":"content_block_stop","index":0}\n\n',
        b'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"end_turn"},'
        b'"usage":{"output_tokens":40}}\n\n',
        b'event: message_stop\ndata: {"type":"message_stop"}\n\n',
    ]
)


# ---- the processes ---------------------------------------------------------------------------------


def vendor_ca(ca_dir: str) -> LocalCa:
    """The throwaway CA the upstream's (and the TLS relay's) certificate comes from."""
    return LocalCa.load_or_create(Path(ca_dir), print)


async def serve_upstream(port: int, ca_dir: str | None = None) -> None:
    async def answer(request: web.Request) -> web.StreamResponse:
        await request.read()
        response = web.StreamResponse(headers={"content-type": "text/event-stream"})
        await response.prepare(request)
        await response.write(STREAM)
        await response.write_eof()
        return response

    app = web.Application(client_max_size=64 << 20)
    app.router.add_route("*", "/{tail:.*}", answer)
    await _serve(app, port, ca_dir)


async def serve_relay(port: int, upstream: str, ca_dir: str | None = None) -> None:
    """The floor: read the request, send it upstream, stream the answer back. No recording. With
    `ca_dir` it terminates TLS as api.bench.test and reaches `upstream` (its port) over TLS."""
    if ca_dir is None:
        session = aiohttp.ClientSession(auto_decompress=False)
    else:
        upstream_port = int(upstream.rsplit(":", 1)[1])
        resolver = MappedResolver([Resolve(API, 443, "127.0.0.1", upstream_port)])
        trusting = ssl.create_default_context(cafile=str(vendor_ca(ca_dir).cert_path))
        connector = aiohttp.TCPConnector(resolver=resolver, ssl=trusting)
        session = aiohttp.ClientSession(connector=connector, auto_decompress=False)
        upstream = f"https://{API}"

    async def relay(request: web.Request) -> web.StreamResponse:
        body = await request.read()
        headers = {"content-type": request.headers.get("content-type", "application/json")}
        async with session.request(
            request.method, upstream + request.path_qs, data=body, headers=headers
        ) as up:
            response = web.StreamResponse(status=up.status, headers={"content-type": up.content_type})
            await response.prepare(request)
            async for chunk in up.content.iter_any():
                await response.write(chunk)
            await response.write_eof()
            return response

    app = web.Application(client_max_size=64 << 20)
    app.router.add_route("*", "/{tail:.*}", relay)
    await _serve(app, port, ca_dir)


async def _serve(app: web.Application, port: int, ca_dir: str | None = None) -> None:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    context = vendor_ca(ca_dir).server_context(API) if ca_dir is not None else None
    await web.TCPSite(runner, "127.0.0.1", port, ssl_context=context).start()
    await asyncio.Event().wait()


def start_forward_tap(upstream_port: int, out_dir: Path, ca_dir: Path) -> tuple[subprocess.Popen[bytes], int]:
    """The tap as an HTTPS proxy that decrypts api.bench.test and reaches it on the loopback upstream."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env["CLAUDE_TAP_HOME"] = str(out_dir / "home")
    argv = [
        sys.executable, "-m", "claude_tap", "--tap-no-launch", "--tap-no-open", "--tap-port", str(port),
        "--tap-proxy-mode", "forward", "--tap-target", f"https://{API}",
        "--tap-resolve", f"{API}:443:127.0.0.1:{upstream_port}",
        "--tap-upstream-ca", str(ca_dir / CA_CERT_FILE), "--tap-output-dir", str(out_dir / "trace"),
    ]  # fmt: skip
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wait_tap_listening(proc, port)
    return proc, port


def start_helper(*args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, __file__, *args], stdout=subprocess.DEVNULL)


async def wait_listening(port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.05)
    raise SystemExit(f"nothing listens on {port}")


def cpu_seconds(pid: int, with_children: bool = True) -> float:
    """CPU time of `pid` (and of every process below it), to the nanosecond where Linux keeps
    schedstat: summed over its threads, which in the tap and the relay live as long as the process.
    /proc/PID/stat counts in 10 ms ticks, 0.2 ms per request over a window of 50: too coarse for a
    ratio near 2."""
    try:
        total = sum(_thread_cpu_seconds(task) for task in Path(f"/proc/{pid}/task").iterdir())
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split() if with_children else []
    except OSError:
        return 0.0
    return total + sum(cpu_seconds(int(child)) for child in children)


def _thread_cpu_seconds(task: Path) -> float:
    try:
        return int((task / "schedstat").read_text().split()[0]) / 1e9
    except (OSError, IndexError, ValueError):  # a thread that just ended, or no schedstat: its ticks
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def descendants(pid: int) -> list[int]:
    try:
        children = [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []
    return children + [d for c in children for d in descendants(c)]


# ---- the session -----------------------------------------------------------------------------------


# Tool outputs scaled so that, with no compaction, the last of 400 requests passes 1.2 MB.
SCALE = 2.4
NO_COMPACTION_BYTES = 1 << 40


def session_bodies(turns: int) -> list[tuple[str, bytes]]:
    """(path, body) of each request of a generated session, as Claude Code sends it (compact JSON)."""
    out = []
    for record in SessionGenerator(turns, scale=SCALE, compact_at_bytes=NO_COMPACTION_BYTES).records():
        if record.get("type") == "exchange":
            request = record["request"]
            body = json.dumps(request["body"], ensure_ascii=False, separators=(",", ":")).encode()
            out.append((request["path"], body))
    return out


async def timed_post(http: aiohttp.ClientSession, url: str, body: bytes, proxy: str | None = None) -> float:
    began = time.perf_counter()
    headers = {"content-type": "application/json"}
    async with http.post(url, data=body, headers=headers, proxy=proxy) as response:
        await response.read()
        assert response.status == 200, response.status
    return (time.perf_counter() - began) * 1000


def window(values: list[float], start: int) -> list[float]:
    return values[start : start + WINDOW]


def settle(pid: int) -> float:
    """The CPU total of `pid` and its children once the recorder stopped working on the backlog."""
    last = cpu_seconds(pid)
    while True:
        time.sleep(0.5)
        now = cpu_seconds(pid)
        if now - last < 0.01:
            return now
        last = now


Route = tuple[aiohttp.ClientSession, str, str | None]  # (session, base URL, proxy)


def routes(mode: str, ports: dict[str, int], ca_dir: Path, tap_ca: Path) -> dict[str, Route]:
    """How the client reaches the upstream directly, through the relay and through the tap."""
    timeout = aiohttp.ClientTimeout(total=120)
    if mode == "reverse":
        http = aiohttp.ClientSession(timeout=timeout)
        return {name: (http, f"http://127.0.0.1:{port}", None) for name, port in ports.items()}

    def session(rules: list[Resolve]) -> aiohttp.ClientSession:
        trusting = ssl.create_default_context(cadata=(ca_dir / CA_CERT_FILE).read_text() + tap_ca.read_text())
        connector = aiohttp.TCPConnector(resolver=MappedResolver(rules), ssl=trusting)
        return aiohttp.ClientSession(connector=connector, timeout=timeout)

    base = f"https://{API}"
    return {
        "direct": (session([Resolve(API, 443, "127.0.0.1", ports["direct"])]), base, None),
        "relay": (session([Resolve(API, 443, "127.0.0.1", ports["relay"])]), base, None),
        "tap": (session([]), base, f"http://127.0.0.1:{ports['tap']}"),
    }


async def replay(bodies: list[tuple[str, bytes]], out_dir: Path, mode: str = "reverse") -> dict[str, Any]:
    upstream_port, relay_port = free_port(), free_port()
    ca_dir = out_dir / "vendor-ca"
    tls = ["--tls", str(ca_dir)] if mode == "forward" else []
    if tls:
        vendor_ca(str(ca_dir))  # made once, before the helpers load it
    upstream = start_helper("--serve-upstream", str(upstream_port), *tls)
    relay = start_helper("--serve-relay", str(relay_port), f"http://127.0.0.1:{upstream_port}", *tls)
    if mode == "forward":
        tap, tap_port = start_forward_tap(upstream_port, out_dir, ca_dir)
    else:
        tap, tap_port = start_tap(upstream_port, out_dir)
    ports = {"direct": upstream_port, "relay": relay_port, "tap": tap_port}
    try:
        for port in ports.values():
            await wait_listening(port)
        await asyncio.sleep(1.0)  # let the recorder process start before the clock runs
        tap_ca = out_dir / "home" / "ca" / CA_CERT_FILE
        paths = routes(mode, ports, ca_dir, tap_ca if mode == "forward" else ca_dir / CA_CERT_FILE)
        latency: dict[str, list[float]] = {name: [] for name in paths}
        cpu: dict[str, list[float]] = {"tap": [], "relay": [], "proxy": []}  # cumulative, before each turn
        pids = {"tap": tap.pid, "relay": relay.pid}
        try:
            for turn, (path, body) in enumerate(bodies):
                for name in pids:
                    cpu[name].append(cpu_seconds(pids[name]))
                cpu["proxy"].append(cpu_seconds(tap.pid, with_children=False))
                order = list(paths)[turn % 3 :] + list(paths)[: turn % 3]  # no route always goes first
                for name in order:
                    http, base, proxy = paths[name]
                    latency[name].append(await timed_post(http, base + path, body, proxy))
        finally:
            for http in {route[0] for route in paths.values()}:
                await http.close()
        cpu["tap"].append(settle(tap.pid))
        cpu["relay"].append(cpu_seconds(relay.pid))
        cpu["proxy"].append(cpu_seconds(tap.pid, with_children=False))
        recorder_pids = descendants(tap.pid)
        began = time.perf_counter()
        tap.send_signal(signal.SIGINT)
        tap.wait(timeout=600)
        for pid in recorder_pids:  # the recorder writes trace.html, then exits too
            while Path(f"/proc/{pid}").exists():
                time.sleep(0.01)
        stop_s = time.perf_counter() - began
    finally:
        for process in (upstream, relay, tap):
            if process.poll() is None:
                process.kill()
    session_dir = next((out_dir / "trace").rglob("trace.jsonl.zst")).parent
    return {"latency": latency, "cpu": cpu, "stop_s": stop_s, "session_dir": session_dir}


def export_figures(trace: Path, out: Path) -> tuple[float, float]:
    """(seconds, peak RSS MB) of `claude-tap export trace -o out` in a process of its own."""
    code = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from claude_tap.viewer.export import export_trace\n"
        "began = time.perf_counter()\n"
        "export_trace(Path(sys.argv[1]), Path(sys.argv[2]))\n"
        # VmHWM, not ru_maxrss: the latter keeps the peak of the forked copy of this big process.
        "hwm = [l for l in Path('/proc/self/status').read_text().splitlines() if l.startswith('VmHWM')]\n"
        "print(time.perf_counter() - began, int(hwm[0].split()[1]) / 1024)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(trace), str(out)], capture_output=True, text=True, check=True
    )
    seconds, rss = result.stdout.split()
    return float(seconds), float(rss)


def write_legacy(bodies: list[tuple[str, bytes]], path: Path) -> None:
    """The same requests as the earlier claude-tap wrote them: every line with its full body."""
    reply = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "content": [{"type": "text", "text": "ok"}],
    }
    with open(path, "wb") as file:
        for turn, (request_path, body) in enumerate(bodies, start=1):
            line = {
                "timestamp": f"2025-09-30T09:{turn // 60 % 60:02d}:{turn % 60:02d}.000Z",
                "request_id": f"req_{turn:08x}",
                "turn": turn,
                "duration_ms": 1200,
                "request": {"method": "POST", "path": request_path, "headers": {}, "body": json.loads(body)},
                "response": {"status": 200, "headers": {}, "body": reply},
            }
            file.write(json.dumps(line, separators=(",", ":")).encode() + b"\n")


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def report(bodies: list[tuple[str, bytes]], run: dict[str, Any], out_dir: Path) -> None:
    turns = len(bodies)
    first, last = 0, max(0, turns - WINDOW)
    sizes = [len(body) for _, body in bodies]
    print(f"session: {turns} requests, {sum(sizes) / 1e6:.0f} MB in all, last {sizes[-1] / 1e6:.2f} MB")

    def cpu_ms(name: str, start: int) -> float:
        cumulative = run["cpu"][name]
        end = min(start + WINDOW, len(cumulative) - 1)
        return (cumulative[end] - cumulative[start]) / (end - start) * 1000

    def added_p50(name: str, start: int) -> float:
        through, direct = window(run["latency"][name], start), window(run["latency"]["direct"], start)
        return median([t - d for t, d in zip(through, direct, strict=True)])

    for name in ("tap", "proxy", "relay"):
        a, b = cpu_ms(name, first), cpu_ms(name, last)
        ratio = b / a
        figures = f"first {WINDOW}: {a:6.2f} ms   last {WINDOW}: {b:6.2f} ms   ratio {ratio:.2f}"
        print(f"{name:5} CPU per request   {figures}")
    for name in ("tap", "relay"):
        a, b = added_p50(name, first), added_p50(name, last)
        print(f"{name:5} added p50 latency first {WINDOW}: {a:6.2f} ms   last {WINDOW}: {b:6.2f} ms")
    ratio = added_p50("tap", last) / added_p50("relay", last)
    print(f"tap / relay added p50, last {WINDOW}: {ratio:.2f}")
    trace = run["session_dir"] / "trace.jsonl.zst"
    html = run["session_dir"] / "trace.html"
    html_mb = html.stat().st_size / 1e6
    print(f"stop to exit (trace.html written): {run['stop_s']:.2f} s; trace.html {html_mb:.2f} MB")
    size = trace.stat().st_size
    print(f"trace: {size / 1e6:.2f} MB, {size / turns / 1024:.2f} KB per request")
    seconds, rss = export_figures(trace, out_dir / "export.html")
    print(f"export to HTML: {seconds:.2f} s, peak RSS {rss:.0f} MB")
    legacy = out_dir / "legacy.jsonl"
    write_legacy(bodies, legacy)
    seconds, rss = export_figures(legacy, out_dir / "legacy.html")
    legacy_mb = legacy.stat().st_size / 1e6
    figures = f"{seconds:.2f} s, peak RSS {rss:.0f} MB"
    print(f"export of the earlier claude-tap's JSONL ({legacy_mb:.0f} MB): {figures}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--turns", type=int, default=400)
    parser.add_argument("--mode", choices=["reverse", "forward"], default="reverse")
    parser.add_argument("--serve-upstream", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--serve-relay", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--tls", help=argparse.SUPPRESS)  # the helpers' CA directory in forward mode
    args = parser.parse_args()
    if args.serve_upstream:
        asyncio.run(serve_upstream(args.serve_upstream, args.tls))
        return
    if args.serve_relay:
        asyncio.run(serve_relay(int(args.serve_relay[0]), args.serve_relay[1], args.tls))
        return
    bodies = session_bodies(args.turns)
    print(f"mode: {args.mode}")
    with tempfile.TemporaryDirectory(prefix="bench-long-") as tmp:
        run = asyncio.run(replay(bodies, Path(tmp), args.mode))
        report(bodies, run, Path(tmp))


if __name__ == "__main__":
    main()
