"""Forward-mode benchmark: the same HTTPS workloads direct to a loopback TLS upstream and through
`claude-tap --tap-proxy-mode forward`, side by side, in one run.

    python bench/bench_forward.py [--quick] [--mitmdump PATH]

The upstream serves real host names (api.bench.test, and host-N.bench.test for "new host" figures)
with certificates from a throwaway CA; both the direct client and the tap reach it on 127.0.0.1 (the
client through a resolver rule, the tap through --tap-resolve) and trust that CA (the tap through
--tap-upstream-ca). The tap runs as its own process, recording to a throwaway directory as in real use.
Traffic goes to 127.0.0.1 only, bounded in count and time.

With --mitmdump (mitmproxy's, installed in a venv of its own), the same workloads also go through
mitmproxy, side by side: it decrypts api.bench.test (an addon sends its connections to the loopback
upstream) and passes files.bench.test through (`ignore_hosts`), as claude-tap does.

A reverse-mode tap with the same TLS upstream as its target runs alongside: the decrypted workloads
through it show what the relay and the upstream TLS cost in any mode.

Targets (issue 11): kept-alive added p50 <= 1 ms; first CONNECT to a new host <= 10 ms added;
decrypted throughput >= 0.30 of direct; tunnel throughput >= 0.8 of direct.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_proxy import free_port, wait_listening

from claude_tap.proxy.ca import CA_CERT_FILE, LocalCa
from claude_tap.proxy.resolve import Resolve
from claude_tap.proxy.resolver import MappedResolver

API = "api.bench.test"  # decrypted (the target's host)
FILES = "files.bench.test"  # tunnelled
NEW_HOSTS = 40  # host-N.bench.test, each used once for the "new host" figure
SMALL_BODY = json.dumps(
    {"model": "m", "max_tokens": 64, "messages": [{"role": "user", "content": "x" * 900}]}
)
BLOCK = os.urandom(1024 * 1024)


# ---- the upstream ----------------------------------------------------------------------------------
async def small(request: web.Request) -> web.Response:
    await request.read()
    return web.json_response({"id": "msg_1", "content": [{"type": "text", "text": "ok"}]})


async def download(request: web.Request) -> web.StreamResponse:
    size = int(request.query["mb"]) * len(BLOCK)
    response = web.StreamResponse(headers={"Content-Length": str(size)})
    await response.prepare(request)
    for _ in range(size // len(BLOCK)):
        await response.write(BLOCK)
    await response.write_eof()
    return response


async def start_upstream(vendor: LocalCa) -> tuple[web.AppRunner, int]:
    app = web.Application()
    app.router.add_post("/v1/messages", small)
    app.router.add_get("/download", download)
    context = vendor.server_context("127.0.0.1")  # reverse mode's target; names come by SNI

    def by_name(sslobj: ssl.SSLObject, name: str | None, _: ssl.SSLContext) -> None:
        if name:
            sslobj.context = vendor.server_context(name)

    context.sni_callback = by_name  # type: ignore[assignment]
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context)
    await site.start()
    return runner, site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]


def hosts() -> list[str]:
    return [API, FILES, *(f"host-{i}.bench.test" for i in range(NEW_HOSTS))]


# ---- the tap as a process -----------------------------------------------------------------------------
def start_tap(
    upstream_port: int, tmp: Path, vendor: LocalCa, mode: str = "forward"
) -> tuple[subprocess.Popen[bytes], int]:
    """The tap in forward mode, or in reverse mode with the same TLS upstream as its target."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env["CLAUDE_TAP_HOME"] = str(tmp / f"home-{mode}")
    if mode == "forward":
        how = ["--tap-target", f"https://{API}"]
        how += [arg for host in hosts() for arg in ("--tap-resolve", f"{host}:443:127.0.0.1:{upstream_port}")]
    else:
        how = ["--tap-target", f"https://127.0.0.1:{upstream_port}"]
    argv = [
        sys.executable, "-m", "claude_tap", "--tap-no-launch", "--tap-no-open", "--tap-port", str(port),
        "--tap-proxy-mode", mode, "--tap-output-dir", str(tmp / f"trace-{mode}"),
        "--tap-upstream-ca", str(vendor.cert_path), *how,
    ]  # fmt: skip
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wait_listening(proc, port)
    return proc, port


MITM_ADDON = """
from mitmproxy import ctx
PORT = int(__import__("os").environ["BENCH_UPSTREAM_PORT"])
def server_connect(data):
    data.server.address = ("127.0.0.1", PORT)
"""


def start_mitmdump(
    mitmdump: str, upstream_port: int, tmp: Path, vendor: LocalCa
) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    addon = tmp / "bench_addon.py"
    addon.write_text(MITM_ADDON)
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env["BENCH_UPSTREAM_PORT"] = str(upstream_port)
    argv = [
        mitmdump, "-q", "--listen-host", "127.0.0.1", "--listen-port", str(port), "-s", str(addon),
        "--set", f"confdir={tmp / 'mitm'}", "--set", f"ssl_verify_upstream_trusted_ca={vendor.cert_path}",
        "--set", rf"ignore_hosts=^{FILES.replace('.', '[.]')}:443$", "--set", "http2=false",
    ]  # fmt: skip
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            if (tmp / "mitm" / "mitmproxy-ca-cert.pem").exists():
                return proc, port
        except OSError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise SystemExit("mitmdump did not start listening: " + proc.stderr.read().decode()[-2000:])  # type: ignore[union-attr]


# ---- workloads ---------------------------------------------------------------------------------------
async def latencies(session: aiohttp.ClientSession, url: str, n: int, **kw: object) -> list[float]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        async with session.post(
            url, data=SMALL_BODY, headers={"content-type": "application/json"}, **kw
        ) as r:  # type: ignore[arg-type]
            await r.read()
        out.append((time.perf_counter() - t0) * 1000)
    return out


async def new_host_ms(make: object, hosts_: list[str], **kw: object) -> list[float]:
    """A fresh connection (TCP, CONNECT, TLS) to a host never seen before, then one request."""
    out = []
    for host in hosts_:
        async with make() as session:  # type: ignore[operator]
            t0 = time.perf_counter()
            async with session.post(f"https://{host}/v1/messages", data=SMALL_BODY, **kw) as r:
                await r.read()
            out.append((time.perf_counter() - t0) * 1000)
    return out


async def throughput(
    session: aiohttp.ClientSession, url: str, seconds: float, concurrency: int, **kw: object
) -> float:
    done = 0
    stop_at = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal done
        while time.perf_counter() < stop_at:
            async with session.post(url, data=SMALL_BODY, **kw) as r:  # type: ignore[arg-type]
                await r.read()
            done += 1

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return done / (time.perf_counter() - t0)


async def download_mb_s(
    session: aiohttp.ClientSession, url: str, mb: int, repeat: int, **kw: object
) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        async with session.get(f"{url}?mb={mb}", **kw) as r:  # type: ignore[arg-type]
            got = 0
            async for chunk in r.content.iter_any():
                got += len(chunk)
        assert got == mb * len(BLOCK)
        best = min(best, time.perf_counter() - t0)
    return mb / best


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


@dataclass
class Figures:
    lat: list[float]
    tp: float
    decrypted: float
    tunnel: float | None = None  # None: not a workload of this path (reverse mode has no tunnels)
    new_conn: list[float] | None = None
    new_host: list[float] | None = None


async def measure(
    make: Callable[[], aiohttp.ClientSession], quick: bool, new_hosts: list[str], **kw: object
) -> Figures:
    """Every workload through one path (`kw`: proxy=URL, or nothing for direct)."""
    n_small = 300 if quick else 2000
    mb = 32 if quick else 128
    api = f"https://{API}/v1/messages"
    async with make() as session:
        await latencies(session, api, 50, **kw)
        lat = await latencies(session, api, n_small, **kw)
        tp = await throughput(session, api, 2.0 if quick else 5.0, 8, **kw)
        tunnel = await download_mb_s(session, f"https://{FILES}/download", mb, 3, **kw)
        decrypted = await download_mb_s(session, f"https://{API}/download", mb // 4, 3, **kw)
    # A fresh decrypted connection each time (its leaf certificate cached after the first), and the
    # first CONNECT to hosts never seen before (tunnelled: only the target's host is decrypted).
    new_conn = await new_host_ms(make, [API] * 10, **kw)
    new_host = await new_host_ms(make, new_hosts, **kw)
    return Figures(lat, tp, decrypted, tunnel, new_conn, new_host)


async def measure_reverse(base: str, quick: bool) -> Figures:
    """The requests of `measure` through reverse mode (plain HTTP to the tap, TLS to the upstream)."""
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=16)) as session:
        await latencies(session, f"{base}/v1/messages", 50)
        lat = await latencies(session, f"{base}/v1/messages", 300 if quick else 2000)
        tp = await throughput(session, f"{base}/v1/messages", 2.0 if quick else 5.0, 8)
        decrypted = await download_mb_s(session, f"{base}/download", (32 if quick else 128) // 4, 3)
    return Figures(lat, tp, decrypted)


async def run(quick: bool, mitmdump: str | None) -> None:
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        vendor = LocalCa.load_or_create(tmp / "vendor-ca", logging.warning)
        upstream, up_port = await start_upstream(vendor)
        resolver = MappedResolver([Resolve(host, 443, "127.0.0.1", up_port) for host in hosts()])
        proxies: list[tuple[str, subprocess.Popen[bytes], str, str]] = []
        reverse, reverse_port = start_tap(up_port, tmp, vendor, "reverse")
        tap, tap_port = start_tap(up_port, tmp, vendor)
        tap_ca = str(tmp / "home-forward" / "ca" / CA_CERT_FILE)
        proxies.append(("claude-tap forward", tap, f"http://127.0.0.1:{tap_port}", tap_ca))
        if mitmdump:
            mitm, mitm_port = start_mitmdump(mitmdump, up_port, tmp, vendor)
            proxies.append(
                (
                    "mitmproxy",
                    mitm,
                    f"http://127.0.0.1:{mitm_port}",
                    str(tmp / "mitm" / "mitmproxy-ca-cert.pem"),
                )
            )
        cas = vendor.cert_pem.decode() + "".join(Path(ca).read_text() for *_, ca in proxies)
        trusting = ssl.create_default_context(cadata=cas)

        def direct_session() -> aiohttp.ClientSession:
            return aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=16, resolver=resolver, ssl=trusting)
            )

        def proxied_session() -> aiohttp.ClientSession:
            return aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=16, ssl=trusting))

        new = [f"host-{i}.bench.test" for i in range(NEW_HOSTS)]
        share = NEW_HOSTS // (len(proxies) + 1)
        direct = await measure(direct_session, quick, new[:share])
        via = [await measure_reverse(f"http://127.0.0.1:{reverse_port}", quick)]
        via += [
            await measure(proxied_session, quick, new[share * (k + 1) : share * (k + 2)], proxy=url)
            for k, (_, _, url, _) in enumerate(proxies)
        ]
        for proc in (reverse, *(proc for _, proc, _, _ in proxies)):
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        await resolver.close()
        await upstream.cleanup()
    names = ["claude-tap reverse", *(name for name, *_ in proxies)]
    rows: list[list[str]] = [["workload", "direct", *names]]

    def added_ms(name: str, pick: Callable[[Figures], list[float] | None], q: float) -> None:
        base = pct(pick(direct) or [], q)
        cells = [f"+{pct(got, q) - base:.2f} ms" if (got := pick(f)) else "n/a" for f in via]
        rows.append([name, f"{base:.2f} ms", *cells])

    def share_of(name: str, unit: str, pick: Callable[[Figures], float | None]) -> None:
        base = pick(direct) or 1.0
        cells = [f"{got:.0f} ({got / base:.2f}x)" if (got := pick(f)) else "n/a" for f in via]
        rows.append([name, f"{base:.0f} {unit}", *cells])

    added_ms("kept-alive request p50", lambda f: f.lat, 0.5)
    added_ms("kept-alive request p99", lambda f: f.lat, 0.99)
    share_of("throughput, concurrency 8", "req/s", lambda f: f.tp)
    share_of("tunnelled download", "MB/s", lambda f: f.tunnel)
    share_of("decrypted download", "MB/s", lambda f: f.decrypted)
    added_ms("new decrypted connection p50", lambda f: f.new_conn, 0.5)
    added_ms("first CONNECT to a new host p50", lambda f: f.new_host, 0.5)
    widths = [max(len(row[c]) for row in rows) for c in range(len(rows[0]))]
    for row in rows:
        print(
            "  ".join(
                cell.ljust(width) if c == 0 else cell.rjust(width)
                for c, (cell, width) in enumerate(zip(row, widths, strict=True))
            )
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="fewer requests, for a fast look")
    parser.add_argument("--mitmdump", metavar="PATH", help="mitmproxy's mitmdump, to measure it side by side")
    args = parser.parse_args()
    asyncio.run(run(args.quick, args.mitmdump))


if __name__ == "__main__":
    main()
