"""Forward-mode benchmark: the same HTTPS workloads direct to a loopback TLS upstream and through
`claude-tap --tap-proxy-mode forward`, side by side, in one run.

    python bench/bench_forward.py [--quick]

The upstream serves real host names (api.bench.test, and host-N.bench.test for "new host" figures)
with certificates from a throwaway CA; both the direct client and the tap reach it on 127.0.0.1 (the
client through a resolver rule, the tap through --tap-resolve) and trust that CA (the tap through
--tap-upstream-ca). The tap runs as its own process, recording to a throwaway directory as in real use.
Traffic goes to 127.0.0.1 only, bounded in count and time.

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
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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
    context = vendor.server_context(API)

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
def start_tap(upstream_port: int, tmp: Path, vendor: LocalCa) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env["CLAUDE_TAP_HOME"] = str(tmp / "home")
    resolve = [arg for host in hosts() for arg in ("--tap-resolve", f"{host}:443:127.0.0.1:{upstream_port}")]
    argv = [
        sys.executable, "-m", "claude_tap", "--tap-no-launch", "--tap-no-open", "--tap-port", str(port),
        "--tap-proxy-mode", "forward", "--tap-target", f"https://{API}",
        "--tap-output-dir", str(tmp / "trace"), "--tap-upstream-ca", str(vendor.cert_path), *resolve,
    ]  # fmt: skip
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc, port
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("claude-tap did not start listening: " + proc.stderr.read().decode()[-2000:])  # type: ignore[union-attr]


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


def ratio(tapped: float, direct: float) -> str:
    return f"{tapped / direct:.2f} of direct"


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


async def run(quick: bool) -> None:
    n_small = 300 if quick else 2000
    tp_seconds = 2.0 if quick else 5.0
    mb = 32 if quick else 128
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        vendor = LocalCa.load_or_create(tmp / "vendor-ca", logging.warning)
        upstream, up_port = await start_upstream(vendor)
        tap, tap_port = start_tap(up_port, tmp, vendor)
        proxy = f"http://127.0.0.1:{tap_port}"
        ours = (tmp / "home" / "ca" / CA_CERT_FILE).read_text()
        trusting = ssl.create_default_context(cadata=vendor.cert_pem.decode() + ours)
        resolver = MappedResolver([Resolve(host, 443, "127.0.0.1", up_port) for host in hosts()])

        def direct_session() -> aiohttp.ClientSession:
            connector = aiohttp.TCPConnector(limit=16, resolver=resolver, ssl=trusting)
            return aiohttp.ClientSession(connector=connector)

        def tap_session() -> aiohttp.ClientSession:
            return aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=16, ssl=trusting))

        rows: list[tuple[str, str, str, str]] = []
        api = f"https://{API}/v1/messages"
        async with direct_session() as d, tap_session() as t:
            await latencies(d, api, 50)
            await latencies(t, api, 50, proxy=proxy)
            d_lat: list[float] = []
            t_lat: list[float] = []
            for _ in range(10):  # interleaved, so machine noise hits both sides alike
                d_lat += await latencies(d, api, n_small // 10)
                t_lat += await latencies(t, api, n_small // 10, proxy=proxy)
            for name, q in (("kept-alive request p50", 0.5), ("kept-alive request p99", 0.99)):
                dv, tv = pct(d_lat, q), pct(t_lat, q)
                rows.append((name, f"{dv:.3f} ms", f"{tv:.3f} ms", f"+{tv - dv:.3f} ms"))
            d_tp = await throughput(d, api, tp_seconds, 8)
            t_tp = await throughput(t, api, tp_seconds, 8, proxy=proxy)
            rows.append(
                ("throughput, concurrency 8", f"{d_tp:.0f} req/s", f"{t_tp:.0f} req/s", ratio(t_tp, d_tp))
            )
            files = f"https://{FILES}/download"
            d_dl = await download_mb_s(d, files, mb, 3)
            t_dl = await download_mb_s(t, files, mb, 3, proxy=proxy)
            rows.append(
                (f"tunnel download {mb} MB", f"{d_dl:.0f} MB/s", f"{t_dl:.0f} MB/s", ratio(t_dl, d_dl))
            )
            d_big = await download_mb_s(d, f"https://{API}/download", mb // 4, 3)
            t_big = await download_mb_s(t, f"https://{API}/download", mb // 4, 3, proxy=proxy)
            name = f"decrypted download {mb // 4} MB"
            rows.append((name, f"{d_big:.0f} MB/s", f"{t_big:.0f} MB/s", ratio(t_big, d_big)))
        new = [f"host-{i}.bench.test" for i in range(NEW_HOSTS)]
        # New hosts are tunnelled (only the target's host is decrypted). A fresh decrypted connection
        # each time: a new session to API (its leaf certificate cached after the first).
        d_new = await new_host_ms(direct_session, [API] * 10)
        t_new = await new_host_ms(tap_session, [API] * 10, proxy=proxy)
        dv, tv = statistics.median(d_new), statistics.median(t_new)
        rows.append(("new decrypted connection p50", f"{dv:.2f} ms", f"{tv:.2f} ms", f"+{tv - dv:.2f} ms"))
        d_tun = await new_host_ms(direct_session, new[: NEW_HOSTS // 2])
        t_tun = await new_host_ms(tap_session, new[NEW_HOSTS // 2 :], proxy=proxy)
        dv, tv = statistics.median(d_tun), statistics.median(t_tun)
        rows.append(
            ("first CONNECT to a new host (tunnel) p50", f"{dv:.2f} ms", f"{tv:.2f} ms", f"{tv - dv:+.2f} ms")
        )
        await resolver.close()
        tap.send_signal(signal.SIGINT)
        try:
            tap.wait(timeout=30)
        except subprocess.TimeoutExpired:
            tap.kill()
        await upstream.cleanup()
    width = max(len(r[0]) for r in rows)
    print(f"{'workload':<{width}}  {'direct':>14}  {'via claude-tap':>14}  difference")
    for name, dv_, tv_, diff in rows:
        print(f"{name:<{width}}  {dv_:>14}  {tv_:>14}  {diff}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="fewer requests, for a fast look")
    asyncio.run(run(parser.parse_args().quick))


if __name__ == "__main__":
    main()
