"""The real claude-tap process in forward mode, launching a small real client that honours HTTPS_PROXY.

The vendor is a loopback TLS server under the real host name api.anthropic.com, reached through
--tap-resolve and trusted through --tap-upstream-ca; the tap's own HTTPS_PROXY is a dead port, so any
stray connection fails fast instead of leaving the machine.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from claude_tap.proxy.ca import CA_CERT_FILE, LocalCa
from claude_tap.store.reader import read_records
from tests.e2e.tap_process import only_session_dir, run_tap, tap_env, write_script
from tests.loopback import Loopback

pytestmark = [pytest.mark.e2e]

LOG = logging.getLogger("test.forward_process")
API_KEY = "sk-ant-api03-forward-e2e-secret-0123456789"
MODEL_HOST = "api.anthropic.com"
OTHER_HOST = "downloads.example.com"
PLAIN_HOST = "plain.example.com"

# The client: aiohttp with trust_env (HTTPS_PROXY/HTTP_PROXY) and Python's default trust store (which
# reads SSL_CERT_FILE), as a Python agent would. It prints one JSON line per step.
CLIENT = f"""
import asyncio, json, os, sys
import aiohttp

async def main():
    steps = sys.argv[1:]
    async with aiohttp.ClientSession(trust_env=True) as s:
        if "http" in steps:
            key = {{"x-api-key": os.environ["ANTHROPIC_API_KEY"]}}
            body = {{"model": "m", "max_tokens": 5}}
            r = await s.post("https://{MODEL_HOST}/v1/messages/echo?beta=1", json=body, headers=key)
            print(json.dumps({{"http": r.status, "seen": (await r.json())["path"]}}), flush=True)
        if "sse" in steps:
            r = await s.get("https://{MODEL_HOST}/v1/sse?n=4")
            print(json.dumps({{"sse": (await r.read()).count(b"data: ")}}), flush=True)
        if "ws" in steps:
            # aiohttp's trust_env looks for WSS_PROXY for wss://; Codex and Node clients use HTTPS_PROXY.
            proxy = os.environ["HTTPS_PROXY"]
            async with s.ws_connect("wss://{MODEL_HOST}/v1/ws?greet=1", proxy=proxy) as ws:
                first = (await ws.receive()).data
                await ws.send_str("echo me")
                echoed = (await ws.receive()).data
                await ws.send_str("close 1000 bye")
                await ws.receive()
            print(json.dumps({{"ws": [first, echoed]}}), flush=True)
        if "tunnel" in steps:
            r = await s.get("https://{OTHER_HOST}/large?bytes=300000")
            body = await r.read()
            print(json.dumps({{"tunnel": len(body), "sha": r.headers["X-Body-Sha256"]}}), flush=True)
        if "plain" in steps:
            r = await s.get("http://{PLAIN_HOST}/plain/echo?q=1")
            print(json.dumps({{"plain": (await r.json())["path"]}}), flush=True)
    if "sleep" in steps:
        await asyncio.sleep(2)

asyncio.run(main())
"""

# A client that does not trust our CA, with a blocking socket (so it sends the TLS alert, as Node,
# curl and Rust clients do), three attempts like a retrying agent.
UNTRUSTING_CLIENT = f"""
import os, socket, ssl, urllib.parse
proxy = urllib.parse.urlsplit(os.environ["HTTPS_PROXY"])
for _ in range(3):
    with socket.create_connection((proxy.hostname, proxy.port), timeout=5) as sock:
        sock.sendall(b"CONNECT {MODEL_HOST}:443 HTTP/1.1\\r\\nHost: {MODEL_HOST}:443\\r\\n\\r\\n")
        sock.recv(1000)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.load_verify_locations(cadata=open(os.environ["VENDOR_CA"]).read())
        try:
            context.wrap_socket(sock, server_hostname="{MODEL_HOST}")
        except ssl.SSLError as error:
            print("rejected:", error.reason, flush=True)
"""


@dataclass
class Vendor:
    ca: LocalCa
    ca_file: Path
    model: Loopback
    other: Loopback
    plain: Loopback

    def tap_args(self) -> list[str]:
        return [
            "--tap-proxy-mode", "forward", "--tap-no-open", "--tap-upstream-ca", str(self.ca_file),
            "--tap-resolve", f"{MODEL_HOST}:443:127.0.0.1:{self.model.port}",
            "--tap-resolve", f"{OTHER_HOST}:443:127.0.0.1:{self.other.port}",
            "--tap-resolve", f"{PLAIN_HOST}:80:127.0.0.1:{self.plain.port}",
        ]  # fmt: skip


@pytest.fixture
async def vendor(tmp_path: Path) -> AsyncIterator[Vendor]:
    ca = LocalCa.load_or_create(tmp_path / "vendor-ca", LOG.warning)
    async with (
        Loopback(ssl_context=ca.server_context(MODEL_HOST)) as model,
        Loopback(ssl_context=ca.server_context(OTHER_HOST)) as other,
        Loopback() as plain,
    ):
        yield Vendor(ca, ca.cert_path, model, other, plain)


def client_env(tmp_path: Path, vendor: Vendor, script: str, **extra: str) -> dict[str, str]:
    bin_dir = tmp_path / "bin"
    write_script(bin_dir / "claude", script)
    dead = "http://127.0.0.1:9"
    return tap_env(
        tmp_path,
        [bin_dir],
        ANTHROPIC_API_KEY=API_KEY,
        HTTPS_PROXY=dead,  # the tap's own: stray traffic dies here
        HTTP_PROXY=dead,
        NO_PROXY="127.0.0.1,localhost",
        # The user's own trust file: the tap keeps it in the child's bundle, so tunnelled hosts verify.
        SSL_CERT_FILE=str(vendor.ca_file),
        VENDOR_CA=str(vendor.ca_file),
        **extra,
    )


def records_of(tmp_path: Path) -> list[dict]:
    return list(read_records(only_session_dir(tmp_path / "home" / ".claude-tap") / "trace.jsonl.zst"))


async def test_a_client_through_the_forward_proxy_is_recorded(tmp_path: Path, vendor: Vendor) -> None:
    env = client_env(tmp_path, vendor, CLIENT)
    done = await run_tap(tmp_path, [*vendor.tap_args(), "--", "http", "sse", "ws", "tunnel", "plain"], env)
    assert done.returncode == 0, done.stderr
    steps = {k: v for line in done.stdout.decode().splitlines() for k, v in json.loads(line).items()}
    assert steps["http"] == 200 and steps["seen"] == "/v1/messages/echo?beta=1"
    assert steps["sse"] == 4
    assert steps["ws"] == ["hello 0", "echo me"]
    assert steps["tunnel"] == 300_000 and steps["sha"]
    assert steps["plain"] == "/plain/echo?q=1"
    # The banner said which mode and why, and what is decrypted.
    assert "through a forward proxy (--tap-proxy-mode)" in done.stderr
    assert f"decrypts   {MODEL_HOST}; others are tunnelled" in done.stderr

    records = records_of(tmp_path)
    assert records[0]["type"] == "session" and records[0]["mode"] == "forward"
    exchanges = [r for r in records if r["type"] == "exchange"]
    assert sorted(r["request"]["url"] for r in exchanges) == [
        f"http://{PLAIN_HOST}/plain/echo?q=1",
        f"https://{MODEL_HOST}/v1/messages/echo?beta=1",
        f"https://{MODEL_HOST}/v1/sse?n=4",
        f"https://{MODEL_HOST}/v1/ws?greet=1",
    ]
    by_transport = {r["transport"]: r for r in exchanges}
    assert set(by_transport) == {"http", "sse", "websocket"}
    assert by_transport["sse"]["response"]["complete"] is True
    tunnels = [r for r in records if r["type"] == "tunnel"]
    assert [t["host"] for t in tunnels] == [OTHER_HOST] and tunnels[0]["bytes_down"] > 300_000
    # The upstream saw the key; no output of the tap did.
    assert vendor.model.seen[0].header("x-api-key") == API_KEY
    log = (only_session_dir(tmp_path / "home" / ".claude-tap") / "proxy.log").read_text()
    for output in (json.dumps(records), log, done.stderr):
        assert API_KEY not in output
    assert "1 connection(s) tunnelled undecrypted: downloads.example.com" in done.stderr


async def test_the_ca_survives_a_restart(tmp_path: Path, vendor: Vendor) -> None:
    env = client_env(tmp_path, vendor, CLIENT)
    ca_file = tmp_path / "home" / ".claude-tap" / "ca" / CA_CERT_FILE
    first = await run_tap(tmp_path, [*vendor.tap_args(), "--", "http"], env)
    assert first.returncode == 0, first.stderr
    pem = ca_file.read_bytes()
    second = await run_tap(tmp_path, [*vendor.tap_args(), "--", "http"], env)
    assert second.returncode == 0, second.stderr
    assert ca_file.read_bytes() == pem


async def test_the_watchdog_names_a_client_that_rejects_the_certificate(
    tmp_path: Path, vendor: Vendor
) -> None:
    env = client_env(tmp_path, vendor, UNTRUSTING_CLIENT)
    done = await run_tap(tmp_path, vendor.tap_args(), env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.decode().count("rejected:") == 3
    warnings = [line for line in done.stderr.splitlines() if "rejected claude-tap's certificate for" in line]
    assert len(warnings) == 1, done.stderr  # one line, at once, however often the client retries
    assert "TLS alert unknown_ca" in warnings[0] and "claude-tap ca" in warnings[0]
    assert "the client rejected claude-tap's certificate 3 time(s)" in done.stderr  # the exit summary
    assert [r["kind"] for r in records_of(tmp_path) if r["type"] == "notice"] == ["certificate_rejected"] * 3


async def test_the_watchdog_speaks_when_the_client_never_connects(tmp_path: Path, vendor: Vendor) -> None:
    env = client_env(tmp_path, vendor, CLIENT)
    done = await run_tap(tmp_path, [*vendor.tap_args(), "--tap-watchdog", "0.5", "--", "sleep"], env)
    assert done.returncode == 0, done.stderr
    assert "no request has reached the proxy 0.5 s after Claude Code started" in done.stderr
    assert "watchdog saw no request" in done.stderr  # the exit summary


async def test_no_launch_prints_the_forward_setup(tmp_path: Path, vendor: Vendor) -> None:
    from tests.e2e.tap_process import proxy_only

    env = client_env(tmp_path, vendor, CLIENT)
    async with proxy_only(tmp_path, f"https://{MODEL_HOST}", ["--tap-proxy-mode", "forward"], env) as tap:
        assert "/cryptography/" in Path(f"/proc/{tap.proc.pid}/maps").read_text()  # its CA is loaded
        done = await tap.stop()
    assert f"export HTTPS_PROXY=http://127.0.0.1:{tap.port}" in done.stderr
    ca_file = tmp_path / "home" / ".claude-tap" / "ca" / CA_CERT_FILE
    assert f"export NODE_EXTRA_CA_CERTS={ca_file}" in done.stderr
    assert "export SSL_CERT_FILE=" in done.stderr and "unset ALL_PROXY" not in done.stderr
