"""Antigravity's CLOUD_CODE_URL bridge through the real claude-tap process in forward mode, its default.

The Antigravity CLI is a desktop download, not on a registry this CI reaches, so a script plays its
model traffic: it streams `/v1internal:streamGenerateContent?alt=sse` from CLOUD_CODE_URL, as
Antigravity does for Code Assist. In forward mode the tap is the child's HTTPS_PROXY and also answers
requests sent to its own address, sending them to the target (here the loopback stand-in given with
--tap-target in place of https://daily-cloudcode-pa.googleapis.com).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from aiohttp import web

from tests.e2e.real_cli import run_through_tap, serving
from tests.e2e.tap_process import tap_env, write_script

pytestmark = [pytest.mark.e2e]

PATH = "/v1internal:streamGenerateContent?alt=sse"
CHUNK = {
    "response": {
        "candidates": [
            {"content": {"role": "model", "parts": [{"text": "Bridged."}]}, "finishReason": "STOP"}
        ],
        "usageMetadata": {"promptTokenCount": 10, "candidatesTokenCount": 2, "totalTokenCount": 12},
        "modelVersion": "gemini-3-pro",
    }
}

AGY = """\
import json, os, sys, urllib.request

contents = [{"role": "user", "parts": [{"text": "hi"}]}]
body = {"model": "gemini-3-pro", "project": "p", "request": {"contents": contents}}
url = os.environ["CLOUD_CODE_URL"] + "/v1internal:streamGenerateContent?alt=sse"
token = "Bearer ya29.agy-e2e-dummy-token-0123456789"
headers = {"Content-Type": "application/json", "Authorization": token}
request = urllib.request.Request(url, data=json.dumps(body).encode(), headers=headers)
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # the bridge is a plain local URL
with opener.open(request, timeout=20) as response:
    for line in response:
        line = line.decode().strip()
        if line.startswith("data: "):
            print(json.loads(line[6:])["response"]["candidates"][0]["content"]["parts"][0]["text"])
"""


async def test_model_calls_reach_code_assist_through_the_cloud_code_url_bridge(tmp_path: Path) -> None:
    write_script(tmp_path / "bin" / "agy", AGY)
    home = tmp_path / "home"
    workdir = tmp_path / "project"
    workdir.mkdir(parents=True)
    received: list[str] = []

    async def stream(request: web.Request) -> web.StreamResponse:
        received.append(request.path_qs)
        response = web.StreamResponse(headers={"content-type": "text/event-stream"})
        await response.prepare(request)
        await response.write(f"data: {json.dumps(CHUNK)}\r\n\r\n".encode())
        await response.write_eof()
        return response

    app = web.Application()
    app.router.add_post("/v1internal:streamGenerateContent", stream)
    async with serving(app) as upstream:
        env = tap_env(tmp_path, [tmp_path / "bin"])
        result = await run_through_tap(home, "agy", ["--tap-target", upstream], [], env, workdir)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "Bridged."
    assert received == [PATH]
    records = result.records
    assert (records[0]["client"], records[0]["mode"]) == ("agy", "forward")
    (exchange,) = result.exchanges
    assert exchange["transport"] == "sse" and exchange["request"]["url"] == upstream + PATH
    assert "agy-e2e-dummy-token" not in json.dumps(records)
