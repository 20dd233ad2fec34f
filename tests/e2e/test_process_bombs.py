"""A decompression bomb through the real `claude-tap` process (issue 15, item 1).

A gzip body of about 1 MB that inflates to 1 GiB, once as a request body and once as a response
body, goes through the tap. The proxy forwards the bytes untouched; the record keeps them as received
(`body_b64`) with a `decode_error` naming the cap, and the memory of the tap (every process of it,
sampled while it works) stays far below what decoding the whole GiB would take.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import signal
import zlib
from pathlib import Path

import aiohttp
import pytest
import zstandard
from aiohttp import web

from claude_tap.capture.record import MAX_SSE_EVENTS
from tests.e2e.tap_process import proxy_only
from tests.loopback import Loopback

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

MIB = 1 << 20
# Decoding for the record is capped at 64 MiB; whatever the tap holds besides (Python, aiohttp, the
# 1 MB raw body, a copy or two of the capped output) stays well inside this. Decoding the whole
# GiB, as before the cap, took 1.3-3.5 GB.
MAX_TAP_HWM_BYTES = 450 * MIB


def gzip_bomb(unit: bytes = b"\0", inflated_mib: int = 1024) -> bytes:
    """A gzip body of ~1 MB that inflates to `inflated_mib` MiB of `unit` repeated: one member of
    64 MiB, repeated (a gzip body may be several members back to back)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    member = compressor.compress(unit * (64 * MIB // len(unit))) + compressor.flush()
    return member * (inflated_mib // 64)


def _status_kib(pid: int, field: str) -> int:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
    return 0


def _process_tree(pid: int) -> list[int]:
    pids, todo = [], [pid]
    while todo:
        current = todo.pop()
        pids.append(current)
        with contextlib.suppress(OSError):
            for task in Path(f"/proc/{current}/task").iterdir():
                todo += [int(child) for child in (task / "children").read_text().split()]
    return pids


class PeakMemory:
    """The highest VmHWM of any process in the tap's tree, sampled every 50 ms while it runs."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak_kib: dict[int, int] = {}
        self._task: asyncio.Task[None] | None = None

    def sample(self) -> None:
        for pid in _process_tree(self.pid):
            self.peak_kib[pid] = max(self.peak_kib.get(pid, 0), _status_kib(pid, "VmHWM"))

    async def _run(self) -> None:
        while True:
            self.sample()
            await asyncio.sleep(0.05)

    def __enter__(self) -> PeakMemory:
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    def __exit__(self, *exc_info: object) -> None:
        assert self._task is not None
        self._task.cancel()

    @property
    def max_bytes(self) -> int:
        return max(self.peak_kib.values(), default=0) * 1024


def exchange_records(session_dir: Path) -> list[dict]:
    data = (session_dir / "trace.jsonl.zst").read_bytes()
    text = zstandard.ZstdDecompressor().decompressobj().decompress(data).decode()
    return [r for r in map(json.loads, text.splitlines()) if r["type"] == "exchange"]


async def test_a_gzip_bomb_request_and_response_keep_the_tap_small_and_are_kept_raw(
    tmp_path: Path, loopback: Loopback
) -> None:
    bomb = gzip_bomb()
    assert len(bomb) < 1.1 * MIB

    async def bomb_response(request: web.BaseRequest) -> web.StreamResponse:
        await loopback.record(request)
        return web.Response(
            body=bomb, headers={"Content-Type": "application/json", "Content-Encoding": "gzip"}
        )

    loopback.route("bomb", bomb_response)
    timeout = aiohttp.ClientTimeout(total=60)
    async with proxy_only(tmp_path, loopback.url) as tap:
        with PeakMemory(tap.proc.pid) as memory:
            async with aiohttp.ClientSession(timeout=timeout, auto_decompress=False) as http:
                headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
                async with http.post(f"{tap.url}/v1/echo", data=bomb, headers=headers) as r:
                    assert r.status == 200
                    assert (await r.json())["body_sha256"] == hashlib.sha256(bomb).hexdigest()
                async with http.get(f"{tap.url}/v1/bomb") as r:
                    assert r.status == 200
                    assert await r.read() == bomb  # forwarded as sent, never decoded on the way
            done = await tap.stop(signal.SIGINT)
            memory.sample()
    assert done.returncode == 0, done.stderr

    assert memory.max_bytes < MAX_TAP_HWM_BYTES, f"peak VmHWM {memory.max_bytes // MIB} MiB"
    request_record, response_record = exchange_records(tap.session_dir())
    cap_error = "gzip: decodes to more than 64 MiB (the cap); kept as received"
    for part in (request_record["request"], response_record["response"]):
        assert part["decode_error"] == cap_error
        assert base64.b64decode(part["body_b64"]) == bomb
        assert "body" not in part and "body_text" not in part


async def test_a_gzip_event_stream_bomb_keeps_the_tap_small_and_the_first_events(
    tmp_path: Path, loopback: Loopback
) -> None:
    bomb = gzip_bomb(unit=b"data: {}\n\n")  # 1 GiB of tiny events: a flood of records to be

    async def sse_bomb(request: web.BaseRequest) -> web.StreamResponse:
        await loopback.record(request)
        headers = {"Content-Type": "text/event-stream", "Content-Encoding": "gzip"}
        return web.Response(body=bomb, headers=headers)

    loopback.route("sse-bomb", sse_bomb)
    async with proxy_only(tmp_path, loopback.url) as tap:
        with PeakMemory(tap.proc.pid) as memory:
            async with (
                aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60), auto_decompress=False) as http,
                http.get(f"{tap.url}/v1/sse-bomb") as r,
            ):
                assert await r.read() == bomb
            done = await tap.stop(signal.SIGINT)
            memory.sample()
    assert done.returncode == 0, done.stderr

    assert memory.max_bytes < MAX_TAP_HWM_BYTES, f"peak VmHWM {memory.max_bytes // MIB} MiB"
    (record,) = exchange_records(tap.session_dir())
    response = record["response"]
    assert response["decode_error"].endswith("(the cap on one stream); kept as received")
    assert len(response["events"]) == MAX_SSE_EVENTS
    assert base64.b64decode(response["body_b64"]) == bomb
