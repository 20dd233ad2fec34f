"""Qoder's encoded model call through the real claude-tap process in forward mode.

qodercli needs a real login to reach its model call, so a script plays it, sending what the spec
row describes: a POST to https://api2.qoder.sh/.../agent_chat_generation through HTTPS_PROXY, trusting
the tap's CA through SSL_CERT_FILE, with cosy-* credential headers and an encoded body (here a
Connect frame holding gzip'd protobuf; the real encoding is unknown). The trace must keep the body's
bytes exactly, redact the credentials, and capture/encoded_body.py must read the recorded bytes back
to the message. The loopback stand-in answers as api2.qoder.sh.
"""

from __future__ import annotations

import base64
import gzip
from pathlib import Path

import pytest
from aiohttp import web

from claude_tap.capture.encoded_body import decode_body
from claude_tap.normalize.session import normalize_records
from tests.e2e.real_cli import agent_dirs, run_through_tap, serving_as
from tests.e2e.tap_process import tap_env, write_script

pytestmark = [pytest.mark.e2e]

PATH = "/algo/api/v2/service/pro/sse/agent_chat_generation"
COSY_KEY = "cosy-key-secret-0123456789"
# field 1 "list the files", field 2 varint 7, field 3 {field 1 "qwen3-coder"}
MESSAGE = b"\x0a\x0elist the files\x10\x07\x1a\x0d\x0a\x0bqwen3-coder"
PACKED = gzip.compress(MESSAGE)
BODY = bytes([1]) + len(PACKED).to_bytes(4, "big") + PACKED

QODERCLI = f"""\
import os, sys, urllib.request
assert os.environ.get("QODER_HTTPDNS") == "off", "forward mode keeps Qoder's host lookups on the proxy"
request = urllib.request.Request(
    "https://api2.qoder.sh{PATH}", data={BODY!r}, method="POST",
    headers={{"content-type": "application/octet-stream", "cosy-key": "{COSY_KEY}", "cosy-version": "0.1"}},
)
with urllib.request.urlopen(request, timeout=20) as response:
    print("qodercli:", response.read().decode())
"""


async def test_qoder_encoded_body_is_recorded_as_bytes_and_decoded(tmp_path: Path) -> None:
    received: list[tuple[bytes, str]] = []

    async def generation(request: web.Request) -> web.Response:
        received.append((await request.read(), request.headers.get("cosy-key", "")))
        return web.Response(text="data: ok\n\n", content_type="text/event-stream")

    app = web.Application()
    app.router.add_post(PATH, generation)
    write_script(tmp_path / "bin" / "qodercli", QODERCLI)
    home, workdir = agent_dirs(tmp_path)
    env = tap_env(tmp_path, [tmp_path / "bin"], CLAUDE_TAP_HOME=str(home / ".claude-tap"))
    env["HOME"] = str(home)
    async with serving_as(app, "api2.qoder.sh", tmp_path) as vendor:
        result = await run_through_tap(
            home, "qoder", ["--tap-watchdog", "0", *vendor.tap_args], ["-p", "list the files"], env, workdir
        )

    assert result.returncode == 0, result.stderr
    assert "qodercli: data: ok" in result.stdout
    assert received == [(BODY, COSY_KEY)]  # the vendor got the bytes and the key untouched
    [call] = [record for record in result.records if record["type"] == "exchange"]
    assert call["request"]["url"] == f"https://api2.qoder.sh{PATH}"  # decrypted, not tunnelled
    assert base64.b64decode(call["request"]["body_b64"]) == BODY
    assert COSY_KEY not in str(result.records)
    decoded = decode_body(base64.b64decode(call["request"]["body_b64"]))
    assert decoded.steps == ["connect", "gzip", "protobuf"]
    assert decoded.value == [
        {"field": 1, "wire": 2, "value": "list the files"},
        {"field": 2, "wire": 0, "value": 7},
        {"field": 3, "wire": 2, "value": [{"field": 1, "wire": 2, "value": "qwen3-coder"}]},
    ]
    # The turn the page and the exports show carries the same reading of the body.
    [turn] = [t for t in normalize_records(result.records)[1] if t["path"] == PATH]
    assert turn["request_body"]["decoded"] == {"steps": decoded.steps, "value": decoded.value}
