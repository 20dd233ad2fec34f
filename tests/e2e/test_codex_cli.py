"""The real Codex CLI, run through the real claude-tap process, against a loopback Responses API.

Support-matrix rows "Codex CLI / API key / https://api.openai.com / HTTP/SSE" and "... / WebSocket":
Codex signs in with an API key (`codex login --with-api-key`, as its docs say for OPENAI_API_KEY), runs
`cat notes.txt` through its exec_command tool and answers from what it read, as if the tap were not
there. The trace holds what really went over the wire: the request bodies as the upstream got them,
the reassembled streamed responses with usage, every WebSocket frame both ways, and no key.

Codex 0.169 reads neither OPENAI_API_KEY nor OPENAI_BASE_URL from its environment: its key comes from
auth.json and the tap hands it the proxy as `-c openai_base_url=...`. OPENAI_BASE_URL here only tells
the tap where the upstream is, as it would for a user whose shell sets it.

Codex tries a WebSocket first. The SSE test's stand-in refuses the upgrade (426), so Codex falls back
to HTTP at once; the WebSocket test's stand-in accepts it and Codex keeps one socket for the session.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from claude_tap.normalize.session import normalize_records
from tests.e2e import real_cli
from tests.e2e.agents import agent_env, find_agent
from tests.e2e.real_cli import agent_dirs, serving
from tests.e2e.responses_standin import ResponsesStandIn
from tests.e2e.tap_process import whole_records

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

API_KEY = "sk-proj-e2e-dummy-key-0123456789abcdef"
NOTES = "the secret word is BANANA"
ANSWER = f"The tool said: {NOTES}"
COMMAND = "cat notes.txt"
RUN_TIMEOUT_S = 30
# A model Codex gives its classic tools (exec_command as a plain function); newer defaults hide the
# shell behind a JavaScript `exec` tool. No update checks, no analytics: nothing leaves the machine.
CODEX_CONFIG = """\
model = "gpt-5.2-codex"
check_for_update_on_startup = false

[analytics]
enabled = false
"""


@dataclass
class CodexRun:
    returncode: int
    stdout: str
    stderr: str
    standin: ResponsesStandIn
    upstream: str
    records: list[dict[str, Any]]
    html: str


async def run(argv: list[str], cwd: Path, env: dict[str, str], stdin: bytes = b"") -> tuple[int, str, str]:
    """Run to exit within RUN_TIMEOUT_S (tests/e2e/real_cli.py), `stdin` written and closed."""
    return await real_cli.run(argv, cwd, env, RUN_TIMEOUT_S, stdin)


def codex_dirs(tmp_path: Path) -> tuple[Path, Path]:
    """HOME with Codex's config, and a project holding notes.txt."""
    home, workdir = agent_dirs(tmp_path)
    (home / ".codex").mkdir()
    (home / ".codex" / "config.toml").write_text(CODEX_CONFIG)
    (workdir / "notes.txt").write_text(NOTES + "\n")
    return home, workdir


async def codex_exec(
    codex: Path, home: Path, workdir: Path, env: dict[str, str], tap_args: list[str], upstream: str,
    standin: ResponsesStandIn,
) -> CodexRun:  # fmt: skip
    """`codex login`, then `codex exec` through the tap with `tap_args`; the upstream must be serving."""
    # `printenv OPENAI_API_KEY | codex login --with-api-key`: offline, it only writes auth.json.
    code, _, err = await run([str(codex), "login", "--with-api-key"], workdir, env, API_KEY.encode())
    assert code == 0, err
    tap = [sys.executable, "-m", "claude_tap", "--tap-client", "codex", "--tap-no-open", *tap_args, "--"]
    prompt = ["exec", "--skip-git-repo-check", "--dangerously-bypass-approvals-and-sandbox"]
    code, out, err = await run([*tap, *prompt, "What does notes.txt say?"], workdir, env)
    traces = sorted((home / ".claude-tap").rglob("trace.jsonl.zst"))
    assert len(traces) == 1, (traces, err)
    records = whole_records(traces[0])
    html = (traces[0].parent / "trace.html").read_text()
    return CodexRun(code, out, err, standin, upstream, records, html)


async def run_codex_through_tap(tmp_path: Path, *, websocket: bool) -> CodexRun:
    codex = find_agent("codex")
    home, workdir = codex_dirs(tmp_path)
    standin = ResponsesStandIn(command=COMMAND, websocket=websocket)
    async with serving(standin.app()) as upstream:
        env = agent_env(home, codex.parent, OPENAI_API_KEY=API_KEY, OPENAI_BASE_URL=f"{upstream}/v1")
        return await codex_exec(codex, home, workdir, env, [], upstream, standin)


def assert_codex_answered(result: CodexRun) -> None:
    assert result.returncode == 0, result.stderr
    # The agent worked through the tap: it ran the command and answered from the stand-in.
    assert ANSWER in result.stdout, (result.stdout, result.stderr)
    assert COMMAND in result.stderr and NOTES in result.stderr  # Codex's own log of the tool run
    # The key reached the upstream unchanged, and the tap said where requests go.
    assert all(r.headers["Authorization"] == f"Bearer {API_KEY}" for r in result.standin.requests)
    assert f"{result.upstream}/v1" in result.stderr


def assert_no_key_anywhere(result: CodexRun) -> None:
    assert API_KEY not in json.dumps(result.records)
    assert API_KEY not in result.stderr and API_KEY not in result.stdout
    assert API_KEY not in result.html


MARKER_RE = re.compile(r"\[REDACTED:([0-9a-f]{8})\]")


def as_received(recorded: Any, received: Any) -> bool:
    """`recorded` is `received`, except strings (or parts of strings) the tap replaced by its marker,
    `[REDACTED:` + the first 8 hex digits of the SHA-256 of what it replaced + `]`."""
    if isinstance(recorded, dict) and isinstance(received, dict):
        return recorded.keys() == received.keys() and all(
            as_received(recorded[k], received[k]) for k in recorded
        )
    if isinstance(recorded, list) and isinstance(received, list):
        return len(recorded) == len(received) and all(map(as_received, recorded, received))
    if not (isinstance(recorded, str) and isinstance(received, str)) or not MARKER_RE.search(recorded):
        return recorded == received
    literals = MARKER_RE.split(recorded)[::2]
    match = re.fullmatch("(.+?)".join(map(re.escape, literals)), received, re.DOTALL)
    digests = MARKER_RE.findall(recorded)
    return match is not None and all(
        redacted(value) == f"[REDACTED:{digest}]"
        for value, digest in zip(match.groups(), digests, strict=True)
    )


def redacted(secret: str) -> str:
    return f"[REDACTED:{hashlib.sha256(secret.encode()).hexdigest()[:8]}]"


def assert_session(records: list[dict[str, Any]], upstream: str) -> None:
    assert records[0]["type"] == "session"
    assert (records[0]["client"], records[0]["mode"]) == ("codex", "reverse")
    assert records[0]["target"] == f"{upstream}/v1"
    assert records[-1]["type"] == "end" and records[-1]["exit_code"] == 0


def assert_tool_round_trip(turns: list[dict[str, Any]]) -> None:
    """The normalized call and answer: the exec_command call, and its output linked to it by id."""
    call_turn, answer_turn = turns
    assert call_turn["api"] == "openai_responses" and call_turn["model"] == "gpt-5.2-codex"
    assert call_turn["output"] == [
        {"type": "tool_use", "id": "call_standin_1", "name": "exec_command", "input": {"cmd": COMMAND}}
    ]
    assert call_turn["usage"] is not None
    assert (call_turn["usage"]["input_tokens"], call_turn["usage"]["cache_read_tokens"]) == (400, 600)
    assert call_turn["usage"]["output_tokens"] == 7
    results = [
        block
        for message in answer_turn["messages"]
        for block in message["content"]
        if block["type"] == "tool_result"
    ]
    assert [block["tool_use_id"] for block in results] == ["call_standin_1"]
    assert NOTES in json.dumps(results[0]["content"])
    assert answer_turn["output"] == [{"type": "text", "text": ANSWER}]
    assert answer_turn["conversation"] == call_turn["conversation"]
    assert answer_turn["prev"] == call_turn["index"]


async def test_codex_over_http_sse_is_recorded(tmp_path: Path) -> None:
    result = await run_codex_through_tap(tmp_path, websocket=False)
    assert_codex_answered(result)
    standin = result.standin
    assert standin.refused_upgrades >= 1  # Codex tried a WebSocket first, through the tap
    assert [(r.transport, r.path_qs) for r in standin.requests] == [("sse", "/v1/responses")] * 2
    assert_no_key_anywhere(result)
    records = result.records
    assert_session(records, result.upstream)
    exchanges = [r for r in records if r["type"] == "exchange" and r["transport"] == "sse"]
    assert len(exchanges) == 2
    for exchange, received in zip(exchanges, standin.requests, strict=True):
        # What was recorded is what the upstream received, but for redacted values.
        assert as_received(exchange["request"]["body"], received.body)
        assert exchange["request"]["url"] == f"{result.upstream}/v1/responses"
        assert exchange["request"]["headers"]["authorization"] == f"Bearer {redacted(API_KEY)}"
        assert exchange["response"]["status"] == 200 and exchange["response"]["complete"] is True
        assert exchange["response"]["events"][0]["event"] == "response.created"
    first, second = (exchange["response"]["body"] for exchange in exchanges)
    # The streamed function call was reassembled, its arguments whole again.
    assert first["id"] == "resp_standin_1" and first["status"] == "completed"
    assert first["output"] == [
        {
            "type": "function_call",
            "id": "fc_standin_1",
            "call_id": "call_standin_1",
            "name": "exec_command",
            "arguments": json.dumps({"cmd": COMMAND}),
            "status": "completed",
        }
    ]
    assert first["usage"]["input_tokens"] == 1000
    assert first["usage"]["input_tokens_details"] == {"cached_tokens": 600}
    assert first["usage"]["output_tokens"] == 7
    # The second request carries the command's output; its answer is reassembled text.
    tool_outputs = [
        i for i in exchanges[1]["request"]["body"]["input"] if i["type"] == "function_call_output"
    ]
    assert [i["call_id"] for i in tool_outputs] == ["call_standin_1"] and NOTES in tool_outputs[0]["output"]
    assert second["output"][0]["content"][0]["text"] == ANSWER
    assert second["usage"]["input_tokens"] == 2000
    _, turns = normalize_records(records)
    assert_tool_round_trip([turn for turn in turns if turn["transport"] == "sse"])


async def test_codex_over_websocket_is_recorded(tmp_path: Path) -> None:
    result = await run_codex_through_tap(tmp_path, websocket=True)
    assert_codex_answered(result)
    standin = result.standin
    assert standin.sockets == 1 and standin.refused_upgrades == 0
    # A warm-up (generate: false) when the socket opens, then the call, then the answer.
    creates = [r.body for r in standin.requests]
    assert [r.transport for r in standin.requests] == ["websocket"] * 3
    assert [body.get("generate") for body in creates] == [False, None, None]
    assert_no_key_anywhere(result)
    records = result.records
    assert_session(records, result.upstream)
    exchanges = [r for r in records if r["type"] == "exchange"]
    assert len(exchanges) == 1
    socket = exchanges[0]
    assert socket["transport"] == "websocket" and socket["response"]["status"] == 101
    # Codex exits without a close frame once its last response completed: a normal end (issue 10).
    assert socket["error"] is None and socket["response"]["complete"] is True
    assert "claude-tap: 1 call, 0 errors" in result.stderr
    assert socket["request"]["path"] == "/v1/responses"
    assert socket["request"]["headers"]["authorization"] == f"Bearer {redacted(API_KEY)}"
    events = socket["response"]["events"]
    client_frames = [
        json.loads(e["data"]) for e in events if e["direction"] == "client" and e["kind"] == "text"
    ]
    server_frames = [
        json.loads(e["data"]) for e in events if e["direction"] == "server" and e["kind"] == "text"
    ]
    # Every frame both ways: the client's response.create messages as the upstream got them.
    assert len(client_frames) == len(creates) and all(map(as_received, client_frames, creates))
    assert [f["type"] for f in server_frames].count("response.completed") == 3
    completed = [f["response"] for f in server_frames if f["type"] == "response.completed"]
    assert [r["id"] for r in completed] == ["resp_warmup_1", "resp_standin_1", "resp_standin_2"]
    _, turns = normalize_records(records)
    # One turn per response on the socket, each named after the socket's exchange.
    assert [turn["id"] for turn in turns] == [f"{socket['id']}.{k}" for k in (1, 2, 3)]
    assert all(turn["transport"] == "websocket" for turn in turns)
    warm_up, *round_trip = turns
    assert warm_up["output"] == []
    assert_tool_round_trip(round_trip)


async def test_codex_request_bodies_are_recorded_byte_for_byte(tmp_path: Path) -> None:
    result = await run_codex_through_tap(tmp_path, websocket=False)
    assert result.returncode == 0, result.stderr
    exchanges = [r for r in result.records if r["type"] == "exchange" and r["transport"] == "sse"]
    assert len(exchanges) == len(result.standin.requests) == 2
    for exchange, received in zip(exchanges, result.standin.requests, strict=True):
        assert exchange["request"]["body"] == received.body
