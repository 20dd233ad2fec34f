"""The real `claude-tap` process against web pages, a slow browser and idle sockets (issue 15,
items 5 and 6): the proxy refuses foreign Hosts and other origins, the browser gets a one-time
address instead of the token, a $BROWSER that never returns blocks neither the agent nor Ctrl+C,
and hundreds of idle connections under a low file-descriptor limit do not lock the agent out.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import resource
import signal
import sys
import time
from pathlib import Path
from subprocess import DEVNULL

import aiohttp
import pytest

from tests.e2e.tap_process import (
    free_port,
    proxy_only,
    run_tap,
    tap_env,
    wait_for,
    whole_records,
    write_script,
)
from tests.loopback import Loopback

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

TIMEOUT = aiohttp.ClientTimeout(total=20)

# A browser command that writes down how it was called, then hangs (a dead or very slow browser).
SLOW_BROWSER = """
import os, sys, time
# Let go of the tap's stdout and stderr, which the test reads to their end: a terminal would not care.
null = os.open(os.devnull, os.O_WRONLY)
os.dup2(null, 1)
os.dup2(null, 2)
with open(os.environ["BROWSER_LOG"], "a") as log:
    log.write(f"{os.getpid()} {' '.join(sys.argv[1:])}\\n")
time.sleep(120)
"""


# The agent: works until the browser has been started (at most 10 s), then exits with 3.
AGENT_WAITING_FOR_THE_BROWSER = """
import os, sys, time
deadline = time.monotonic() + 10
while not os.path.exists(os.environ["BROWSER_LOG"]) and time.monotonic() < deadline:
    time.sleep(0.05)
print("agent ran")
sys.exit(3)
"""


def browser_env(tmp_path: Path) -> dict[str, str]:
    browser = write_script(tmp_path / "bin" / "slow-browser", SLOW_BROWSER)
    return tap_env(tmp_path, BROWSER=str(browser), BROWSER_LOG=str(tmp_path / "browser.log"), DISPLAY=":0")


def kill_browsers(tmp_path: Path) -> list[str]:
    """The browser's recorded calls; each browser still running is killed (by its own pid)."""
    log = tmp_path / "browser.log"
    calls = log.read_text().splitlines() if log.exists() else []
    for call in calls:
        with contextlib.suppress(ProcessLookupError):
            os.kill(int(call.split()[0]), signal.SIGKILL)
    return [call.split(" ", 1)[1] for call in calls]


# --- the proxy refuses what web pages send ---


@pytest.mark.parametrize(
    "headers, status",
    [
        ({"Host": "rebind.attacker.example"}, 421),
        ({"Origin": "https://attacker.example"}, 403),
        ({"Origin": "null"}, 403),
        ({"Sec-Fetch-Site": "cross-site"}, 403),
    ],
)
async def test_the_proxy_refuses_foreign_hosts_and_pages_and_forwards_nothing(
    tmp_path: Path, loopback: Loopback, headers: dict[str, str], status: int
) -> None:
    async with proxy_only(tmp_path, loopback.url) as tap:
        async with aiohttp.ClientSession(timeout=TIMEOUT) as http:
            async with http.post(f"{tap.url}/v1/messages", json={"a": 1}, headers=headers) as r:
                assert r.status == status
            async with http.post(f"{tap.url}/v1/messages", json={"a": 2}) as r:  # an agent: no Origin
                assert r.status == 200
            same_origin = {
                "Origin": tap.url,
                "Sec-Fetch-Site": "same-origin",
                "Host": f"localhost:{tap.port}",
            }
            async with http.post(f"{tap.url}/v1/messages", json={"a": 3}, headers=same_origin) as r:
                assert r.status == 200
        done = await tap.stop(signal.SIGINT)
    assert done.returncode == 0, done.stderr
    assert [seen.body_bytes for seen in loopback.seen] == [8, 8]  # only the two allowed requests
    assert "refused POST /v1/messages" in (tap.session_dir() / "proxy.log").read_text()


# --- a request the HTTP parser refuses leaves a line in the trace ---

SECRET = "sk-ant-api03-refused-request-secret"
REFUSED = [
    b"GE\x00T /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",  # a malformed request line
    f"POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nx-api-key {SECRET}\r\n\r\n".encode(),  # no colon
]


@pytest.mark.parametrize("mode", ["reverse", "forward"])
@pytest.mark.parametrize("refused", REFUSED, ids=["request-line", "header"])
async def test_a_request_the_parser_refuses_is_recorded_as_a_failure(
    tmp_path: Path, loopback: Loopback, mode: str, refused: bytes
) -> None:
    async with proxy_only(tmp_path, loopback.url, ["--tap-proxy-mode", mode]) as tap:
        reader, writer = await asyncio.open_connection("127.0.0.1", tap.port)
        writer.write(refused)
        answer = await asyncio.wait_for(reader.read(), 10)
        writer.close()
        assert answer.split(b"\r\n")[0].endswith(b" 400 Bad Request"), answer
        async with (
            aiohttp.ClientSession(timeout=TIMEOUT) as http,
            http.post(f"{tap.url}/v1/messages", json={"after": "refused"}) as r,
        ):
            assert r.status == 200
        done = await tap.stop(signal.SIGINT)
    assert done.returncode == 0, done.stderr
    assert [seen.path for seen in loopback.seen] == ["/v1/messages"]  # the refused one went nowhere
    records = [r for r in whole_records(tap.session_dir() / "trace.jsonl.zst") if r["type"] == "exchange"]
    assert len(records) == 2, records
    refusal = next(r for r in records if r["error"] is not None)
    assert "refused" in refusal["error"] and "400" in refusal["error"], refusal["error"]
    assert refusal["request"]["method"] == "" and refusal["response"]["status"] is None
    assert SECRET not in json.dumps(records)


# --- the browser: a one-time address, never waited for ---


async def test_the_browser_gets_a_one_time_address_and_a_hung_browser_blocks_nothing(
    tmp_path: Path, loopback: Loopback
) -> None:
    env = browser_env(tmp_path)
    client = write_script(tmp_path / "bin" / "claude", AGENT_WAITING_FOR_THE_BROWSER)
    args = ["--tap-live", "--tap-target", loopback.url, "--tap-output-dir", str(tmp_path / "traces")]
    try:
        started = time.monotonic()
        done = await run_tap(tmp_path, [*args, "--", str(client)], env, timeout_s=60)
        elapsed = time.monotonic() - started
    finally:
        calls = kill_browsers(tmp_path)
    assert done.returncode == 3, done.stderr
    assert done.stdout == b"agent ran\n"
    assert elapsed < 20, f"the run took {elapsed:.1f} s with a browser that hangs for 120 s"
    token = re.search(r"/\?token=([\w-]+)", done.stderr)
    assert token is not None, done.stderr
    assert len(calls) == 1 and re.fullmatch(r"http://127\.0\.0\.1:\d+/open/[\w-]+", calls[0]), calls
    assert token[1] not in calls[0]  # the browser's command line, readable by anyone with `ps`


async def test_ctrl_c_stops_the_tap_while_the_browser_hangs(tmp_path: Path, loopback: Loopback) -> None:
    env = browser_env(tmp_path)
    args = ["--tap-no-launch", "--tap-live", "--tap-port", str(free_port()), "--tap-target", loopback.url]
    args += ["--tap-output-dir", str(tmp_path / "traces")]  # and no --tap-no-open: the browser opens
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "claude_tap", *args, cwd=tmp_path, env=env,
        stdin=DEVNULL, stdout=DEVNULL, stderr=DEVNULL,
    )  # fmt: skip
    try:
        await wait_for(lambda: (tmp_path / "browser.log").exists(), 15, "the browser to be started")
        await asyncio.sleep(0.2)
        started = time.monotonic()
        proc.send_signal(signal.SIGINT)
        returncode = await asyncio.wait_for(proc.wait(), 30)
        elapsed = time.monotonic() - started
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        kill_browsers(tmp_path)
    assert returncode == 0
    assert elapsed < 10, f"Ctrl+C took {elapsed:.1f} s to stop the tap"


# --- idle sockets ---

FD_LIMIT = 160  # the tap's own files, pipes and the recorder's take a few dozen of these
IDLE_SOCKETS = 300


def low_fd_limit() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (FD_LIMIT, FD_LIMIT))


async def test_hundreds_of_idle_sockets_under_a_low_fd_limit_do_not_lock_the_agent_out(
    tmp_path: Path, loopback: Loopback
) -> None:
    async with proxy_only(tmp_path, loopback.url, preexec_fn=low_fd_limit) as tap:
        idle: list[asyncio.StreamWriter] = []
        try:
            for _ in range(IDLE_SOCKETS):
                try:
                    _, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", tap.port), 1.0)
                except (TimeoutError, OSError):  # the backlog is full: the tap is out of descriptors
                    break
                idle.append(writer)
            writer = idle[-1]
            writer.write(b"GET /v1/x HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # half a request, never finished
            assert len(idle) >= FD_LIMIT, f"only {len(idle)} sockets opened: the test proves nothing"
            started = time.monotonic()
            timeout = aiohttp.ClientTimeout(total=90)
            async with (
                aiohttp.ClientSession(timeout=timeout) as http,
                http.post(f"{tap.url}/v1/messages", json={"after": "idle"}) as r,
            ):
                assert r.status == 200
            waited = time.monotonic() - started
        finally:
            for writer in idle:
                writer.close()
        done = await tap.stop(signal.SIGINT)
    assert done.returncode == 0, done.stderr
    assert [seen.path for seen in loopback.seen] == ["/v1/messages"]
    assert waited < 60  # the idle connections were closed (15 s), not left for aiohttp's hour
