"""The real Gemini CLI through the real claude-tap process, against a loopback Gemini API, in both modes.

Support-matrix rows for Gemini CLI with an API key: forward mode (gemini's default: Gemini CLI talks to
https://generativelanguage.googleapis.com through HTTPS_PROXY, trusting the tap's CA through
NODE_EXTRA_CA_CERTS, and the tap decrypts that host) and reverse mode (`--tap-proxy-mode reverse`:
GOOGLE_GEMINI_BASE_URL points at the tap, strip none). Either way Gemini CLI asks the model, runs the
`read_file` call the model sends back, and answers from what it read, as if the tap were not there.
The trace holds both streamed calls as the upstream got them, reassembled, with usage, and no key.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from claude_tap.normalize.session import normalize_records
from tests.e2e.agents import agent_env, find_agent
from tests.e2e.gemini_standin import GeminiStandIn
from tests.e2e.real_cli import TapRun, agent_dirs, run_through_tap, serving, serving_as

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

API_KEY = "AIzaSy-e2e-dummy-key-0123456789abcdef"
MODEL = "gemini-2.5-flash"  # named, so Gemini CLI skips its model router's extra call
NOTES = "the secret word is BANANA"
ANSWER = f"The tool said: {NOTES}"
PATH = f"/v1beta/models/{MODEL}:streamGenerateContent?alt=sse"
GEMINI_API = "generativelanguage.googleapis.com"
SETTINGS = {
    "security": {"auth": {"selectedType": "gemini-api-key"}},
    "privacy": {"usageStatisticsEnabled": False},
    "general": {"disableAutoUpdate": True, "disableUpdateNag": True},
}
PROMPT = ["-m", MODEL, "-p", "What does notes.txt say?", "--output-format", "text"]


def gemini_world(tmp_path: Path) -> tuple[Path, Path, dict[str, str]]:
    """(home, working directory, environment) for a Gemini CLI signed in with an API key."""
    gemini = find_agent("gemini")
    home, workdir = agent_dirs(tmp_path)
    (home / ".gemini").mkdir()
    (home / ".gemini" / "settings.json").write_text(json.dumps(SETTINGS))
    (workdir / "notes.txt").write_text(NOTES + "\n")
    # Headless runs refuse an untrusted folder.
    env = agent_env(home, gemini.parent, GEMINI_API_KEY=API_KEY, GEMINI_CLI_TRUST_WORKSPACE="true")
    return home, workdir, env


def assert_recorded(result: TapRun, standin: GeminiStandIn, mode: str, target: str) -> list[dict[str, Any]]:
    """The checks both modes share; returns the two exchanges of the model calls."""
    # The agent worked through the tap: it ran the tool and answered from the stand-in.
    assert result.returncode == 0, result.stderr
    assert ANSWER in result.stdout, (result.stdout, result.stderr)
    assert [r.path_qs for r in standin.requests] == [PATH, PATH]
    assert all(r.headers["x-goog-api-key"] == API_KEY for r in standin.requests)
    functions = [p for p in standin.requests[1].body["contents"][-1]["parts"] if "functionResponse" in p]
    assert functions[0]["functionResponse"]["name"] == "read_file"
    assert NOTES in json.dumps(functions[0]["functionResponse"]["response"])

    records = result.records
    assert (records[0]["client"], records[0]["mode"], records[0]["target"]) == ("gemini", mode, target)
    assert records[-1]["type"] == "end" and records[-1]["exit_code"] == 0
    calls = [e for e in result.exchanges if e["request"]["url"].endswith(PATH)]
    assert len(calls) == 2
    for exchange, received in zip(calls, standin.requests, strict=True):
        assert exchange["transport"] == "sse"
        assert exchange["request"]["url"] == target + PATH  # the final upstream URL, strip none
        assert exchange["request"]["body"] == received.body
        assert exchange["response"]["status"] == 200 and exchange["response"]["complete"] is True
    assert API_KEY not in json.dumps(records) and API_KEY not in result.stderr

    _, turns = normalize_records(records)
    call, answer = (t for t in turns if t["api"] == "gemini")
    assert call["model"] == MODEL
    assert [(block["type"], block["name"], block["input"]) for block in call["output"]] == [
        ("tool_use", "read_file", {"file_path": "notes.txt"})
    ]
    assert "".join(block["text"] for block in answer["output"] if block["type"] == "text") == ANSWER
    assert answer["usage"]["output_tokens"] == 7
    return calls


async def test_gemini_cli_with_an_api_key_is_recorded_in_reverse_mode(tmp_path: Path) -> None:
    home, workdir, env = gemini_world(tmp_path)
    standin = GeminiStandIn(read_path="notes.txt")
    async with serving(standin.app()) as upstream:
        env["GOOGLE_GEMINI_BASE_URL"] = upstream  # where the user's Gemini API is: the tap's target
        result = await run_through_tap(home, "gemini", ["--tap-proxy-mode", "reverse"], PROMPT, env, workdir)
    assert_recorded(result, standin, "reverse", upstream)
    assert "claude-tap: 2 calls, 0 errors" in result.stderr


async def test_gemini_cli_is_recorded_in_forward_mode_its_default(tmp_path: Path) -> None:
    home, workdir, env = gemini_world(tmp_path)
    standin = GeminiStandIn(read_path="notes.txt")
    async with serving_as(standin.app(), GEMINI_API, tmp_path) as vendor:
        result = await run_through_tap(home, "gemini", vendor.tap_args, PROMPT, env, workdir)
    calls = assert_recorded(result, standin, "forward", f"https://{GEMINI_API}")
    assert "rejected claude-tap's certificate" not in result.stderr  # Node trusted the tap's CA
    assert calls[0]["request"]["headers"]["x-goog-api-key"].startswith("[REDACTED:")
