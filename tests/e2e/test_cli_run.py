"""The real `claude-tap` process running a client through the real proxy to a loopback upstream.

The client is a small Python script installed as `claude` on a throwaway PATH; the upstream is the
demo's Anthropic stand-in. What is checked is what a user relies on: the client's stdout arrives
byte for byte, its exit code comes back, the banner shows where requests go, the trace holds a
session record, the exchange and an end record, and --tap-no-launch / --tap-live work as printed.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from pathlib import Path

import aiohttp
import pytest

from claude_tap.store.reader import read_records
from tests.e2e.tap_process import only_session_dir, proxy_only, run_tap, tap_env, wait_for, write_script

pytestmark = pytest.mark.e2e

API_KEY = "sk-ant-api03-cli-run-test-key-0123456789"
# Bytes a terminal would mangle and a text layer would re-encode: NUL, invalid UTF-8, CRLF, no final newline.
CLIENT_OUTPUT = b"\x00\x01binary \xff\xfe\r\nline two\r\n\xe4\xbd\xa0\xe5\xa5\xbd, no newline at the end"

FAKE_CLAUDE = f"""
import json, os, signal, sys, urllib.request
body = {{"model": "claude-sonnet-4-5", "max_tokens": 64, "stream": True,
         "messages": [{{"role": "user", "content": [{{"type": "text", "text": "hi"}}]}}]}}
request = urllib.request.Request(
    os.environ["ANTHROPIC_BASE_URL"] + "/v1/messages?beta=true",
    data=json.dumps(body).encode(), method="POST",
    headers={{"content-type": "application/json", "x-api-key": os.environ["ANTHROPIC_API_KEY"],
             "anthropic-version": "2023-06-01"}})
with urllib.request.urlopen(request, timeout=30) as response:
    response.read()
out = sys.stdout.buffer
out.write(json.dumps(sys.argv[1:]).encode() + b"\\n")
out.write({CLIENT_OUTPUT!r})
out.flush()
print("fake claude: done", file=sys.stderr)
if os.environ.get("FAKE_SIGNAL"):
    os.kill(os.getpid(), int(os.environ["FAKE_SIGNAL"]))
sys.exit(int(os.environ.get("FAKE_EXIT", "0")))
"""


def client_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """A throwaway HOME and CLAUDE_TAP_HOME, and a PATH whose `claude` is the fake client."""
    bin_dir = tmp_path / "bin"
    write_script(bin_dir / "claude", FAKE_CLAUDE)
    return tap_env(tmp_path, [bin_dir], ANTHROPIC_API_KEY=API_KEY, **extra)


def trace_of(session_dir: Path) -> list[dict]:
    return list(read_records(session_dir / "trace.jsonl.zst"))


def home_traces(tmp_path: Path) -> Path:
    return tmp_path / "home" / ".claude-tap"


async def test_client_stdout_exit_code_banner_and_trace(tmp_path: Path, upstream: str) -> None:
    env = client_env(tmp_path, FAKE_EXIT="7")
    done = await run_tap(tmp_path, ["--tap-target", upstream, "--", "-p", "hi there", "--model", "opus"], env)

    assert done.returncode == 7, done.stderr
    # stdout is the client's alone, byte for byte: the tap added nothing to it.
    argv_line, _, rest = done.stdout.partition(b"\n")
    assert rest == CLIENT_OUTPUT
    assert json.loads(argv_line)[-4:] == ["-p", "hi there", "--model", "opus"]
    # The banner says where requests go, with the URL rule applied to an example.
    assert f"target     {upstream}  (--tap-target)" in done.stderr
    assert f"POST /v1/messages -> {upstream}/v1/messages" in done.stderr
    assert "fake claude: done" in done.stderr
    assert "1 call, 0 errors" in done.stderr
    assert API_KEY not in done.stderr

    session_dir = only_session_dir(home_traces(tmp_path))
    records = trace_of(session_dir)
    assert [r["type"] for r in records] == ["session", "exchange", "end"]
    session, exchange, end = records
    assert (session["client"], session["mode"], session["target"]) == ("claude", "reverse", upstream)
    assert session["argv"][0] == "claude" and session["argv"][-4:] == ["-p", "hi there", "--model", "opus"]
    assert exchange["request"]["path"] == "/v1/messages?beta=true"
    assert exchange["request"]["url"] == f"{upstream}/v1/messages?beta=true"
    assert exchange["transport"] == "sse" and exchange["response"]["status"] == 200
    assert exchange["request"]["headers"]["x-api-key"].startswith("[REDACTED:")
    assert (end["exit_code"], end["exchanges"], end["dropped"], end["failed"]) == (7, 1, 0, 0)
    assert f"trace   {session_dir / 'trace.jsonl.zst'}" in done.stderr
    assert f"viewer  {session_dir / 'trace.html'}" in done.stderr
    assert (session_dir / "trace.html").stat().st_size > 0
    assert "recording claude through a reverse proxy" in (session_dir / "proxy.log").read_text()


async def test_target_detected_from_the_clients_own_variable(tmp_path: Path, upstream: str) -> None:
    env = client_env(tmp_path, ANTHROPIC_BASE_URL=upstream)
    done = await run_tap(tmp_path, ["-p", "hi"], env)
    assert done.returncode == 0, done.stderr
    assert f"target     {upstream}  (ANTHROPIC_BASE_URL in the environment" in done.stderr
    records = trace_of(only_session_dir(home_traces(tmp_path)))
    assert records[1]["request"]["url"] == f"{upstream}/v1/messages?beta=true"


async def test_a_target_with_credentials_or_a_key_is_refused_without_printing_them(tmp_path: Path) -> None:
    # A gateway URL in the client's own variable (or in --tap-target) may carry a password or a key.
    env = client_env(tmp_path, ANTHROPIC_BASE_URL="http://alice:hunter2-gateway-pass@127.0.0.1:9")
    done = await run_tap(tmp_path, ["--", "-p", "hi"], env)
    assert done.returncode == 2, done.stderr
    assert "credentials do not belong in the target URL" in done.stderr
    assert "hunter2-gateway-pass" not in done.stderr and "internal error" not in done.stderr

    keyed = await run_tap(tmp_path, ["--tap-target", "http://127.0.0.1:9/v1?key=AIzaTargetKey123", "--"], env)
    assert keyed.returncode == 2, keyed.stderr
    assert "query" in keyed.stderr and "AIzaTargetKey123" not in keyed.stderr


async def test_output_dir_flag_and_variable_choose_where_the_session_goes(
    tmp_path: Path, upstream: str
) -> None:
    env = client_env(tmp_path, ANTHROPIC_BASE_URL=upstream, CLAUDE_TAP_OUTPUT_DIR=str(tmp_path / "from-env"))
    done = await run_tap(tmp_path, ["--tap-output-dir", str(tmp_path / "from-flag"), "-p", "hi"], env)
    assert done.returncode == 0, done.stderr
    assert only_session_dir(tmp_path / "from-flag").name.split("-")[1] == "claude"
    assert not (tmp_path / "from-env").exists()


async def test_child_killed_by_a_signal_exits_128_plus_n(tmp_path: Path, upstream: str) -> None:
    env = client_env(tmp_path, ANTHROPIC_BASE_URL=upstream, FAKE_SIGNAL=str(int(signal.SIGTERM)))
    done = await run_tap(tmp_path, [], env)
    assert done.returncode == 128 + signal.SIGTERM, done.stderr
    records = trace_of(only_session_dir(home_traces(tmp_path)))
    assert records[-1]["exit_code"] == 128 + signal.SIGTERM


@pytest.mark.parametrize(
    ("args", "install"),
    [
        (["-p", "hi"], "npm install -g @anthropic-ai/claude-code"),
        # Pi in reverse mode runs through a launcher (python -m ...): still its own executable is looked for.
        (["--tap-client", "pi", "--tap-proxy-mode", "reverse", "--", "-p", "hi"], "pi-coding-agent"),
    ],
    ids=["claude", "pi-through-its-launcher"],
)
async def test_missing_client_says_how_to_install_it(tmp_path: Path, args: list[str], install: str) -> None:
    env = {**tap_env(tmp_path), "PATH": str(tmp_path / "empty")}  # no client anywhere, whatever is installed
    done = await run_tap(tmp_path, args, env)
    assert done.returncode == 127, done.stderr
    assert install in done.stderr
    assert "--tap-no-launch" in done.stderr
    assert done.stdout == b""
    assert "listening" not in done.stderr  # said before any proxy started
    assert not home_traces(tmp_path).exists() or not any(home_traces(tmp_path).rglob("trace.jsonl.zst"))


async def read_stderr_until(proc: asyncio.subprocess.Process, *prefixes: str) -> dict[str, str]:
    """Read stderr lines until one starting with each prefix was seen; returns {prefix: rest of line}."""
    assert proc.stderr is not None
    found: dict[str, str] = {}
    seen: list[str] = []
    while len(found) < len(prefixes):
        line = (await asyncio.wait_for(proc.stderr.readline(), timeout=30)).decode()
        assert line, "claude-tap exited early:\n" + "".join(seen)
        seen.append(line)
        for prefix in prefixes:
            if line.strip().startswith(prefix):
                found[prefix] = line.strip().removeprefix(prefix).strip()
    return found


async def test_no_launch_prints_the_variable_and_records_until_sigint(tmp_path: Path, upstream: str) -> None:
    env = client_env(tmp_path, CLAUDECODE="1")  # set inside a Claude Code session; the child must not see it
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "claude_tap", "--tap-no-launch", "--tap-port", "0", "--tap-target", upstream,
        cwd=tmp_path, env=env, stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    found = await read_stderr_until(proc, "listening", "export ANTHROPIC_BASE_URL=", "unset CLAUDECODE")
    proxy_url = found["export ANTHROPIC_BASE_URL="]
    assert found["listening"] == proxy_url
    assert proxy_url.startswith("http://127.0.0.1:") and not proxy_url.endswith(":0")

    body = {"model": "claude-sonnet-4-5", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}
    headers = {"x-api-key": API_KEY, "anthropic-version": "2023-06-01"}
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{proxy_url}/v1/messages", json=body, headers=headers) as r,
    ):
        assert r.status == 200
        assert (await r.json())["type"] == "message"
    # Reverse mode never loads forward mode's CA code: cryptography alone is 8 MB of the proxy's memory.
    assert "/cryptography/" not in Path(f"/proc/{proc.pid}/maps").read_text()

    proc.send_signal(signal.SIGINT)
    stdout, rest = await asyncio.wait_for(proc.communicate(), timeout=30)
    assert proc.returncode == 0, rest.decode()
    assert "1 call, 0 errors" in rest.decode()
    assert stdout == b""
    records = trace_of(only_session_dir(home_traces(tmp_path)))
    assert [r["type"] for r in records] == ["session", "exchange", "end"]
    assert records[1]["transport"] == "http" and records[1]["request"]["body"] == body


async def test_live_viewer_receives_each_call_as_it_is_recorded(tmp_path: Path, upstream: str) -> None:
    async with proxy_only(tmp_path, upstream, extra_args=["--tap-live"], env=client_env(tmp_path)) as tap:
        await wait_for(lambda: "  live " in tap.stderr, 10, "the live viewer's address")
        live_url = tap.stderr.split("  live ", 1)[1].split()[0]
        assert live_url.startswith("http://127.0.0.1:") and "/?token=" in live_url
        turn = await first_live_turn(live_url.replace("/?token=", "/events?token=", 1), tap.url)
        done = await tap.stop(signal.SIGINT)
    assert (turn["model"], turn["path"], turn["status"]) == ("claude-sonnet-4-5", "/v1/messages", 200)
    assert done.returncode == 0, done.stderr


async def first_live_turn(events_url: str, proxy_url: str) -> dict:
    """Listen to the live viewer's event stream, send one call through the proxy, return its turn."""
    body = {"model": "claude-sonnet-4-5", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}
    headers = {"x-api-key": API_KEY, "anthropic-version": "2023-06-01"}
    async with aiohttp.ClientSession() as http, http.get(events_url) as events:
        assert events.status == 200
        async with http.post(f"{proxy_url}/v1/messages", json=body, headers=headers) as r:
            assert r.status == 200
        frame: dict[str, str] = {}
        while frame.get("event") != "turn":  # SSE frames: "field: value" lines, then a blank line
            frame = {}
            while line := (await asyncio.wait_for(events.content.readline(), timeout=30)).decode().strip():
                name, _, value = line.partition(":")
                frame[name] = value.strip()
    return json.loads(frame["data"])
