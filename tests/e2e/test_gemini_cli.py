"""The real Gemini CLI through the real claude-tap process in reverse mode, against a loopback Gemini API.

Support-matrix row "Gemini CLI / API key (--tap-proxy-mode reverse) / generativelanguage.googleapis.com
/ strip none": Gemini CLI signs in with an API key, asks the model, runs the `read_file` call the model
sends back, and answers from what it read, as if the tap were not there. The trace holds both streamed
calls as the upstream got them, reassembled, with usage, and no key.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from claude_tap.normalize.session import normalize_records
from tests.e2e.agents import agent_env, find_agent
from tests.e2e.gemini_standin import GeminiStandIn
from tests.e2e.real_cli import run_through_tap, serving

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

API_KEY = "AIzaSy-e2e-dummy-key-0123456789abcdef"
MODEL = "gemini-2.5-flash"  # named, so Gemini CLI skips its model router's extra call
NOTES = "the secret word is BANANA"
ANSWER = f"The tool said: {NOTES}"
SETTINGS = {
    "security": {"auth": {"selectedType": "gemini-api-key"}},
    "privacy": {"usageStatisticsEnabled": False},
    "general": {"disableAutoUpdate": True, "disableUpdateNag": True},
}


async def test_gemini_cli_with_an_api_key_is_recorded_in_reverse_mode(tmp_path: Path) -> None:
    gemini = find_agent("gemini")
    home = tmp_path / "home"
    (home / ".gemini").mkdir(parents=True)
    (home / ".gemini" / "settings.json").write_text(json.dumps(SETTINGS))
    workdir = tmp_path / "project"
    workdir.mkdir()
    (workdir / "notes.txt").write_text(NOTES + "\n")
    standin = GeminiStandIn(read_path="notes.txt")
    async with serving(standin.app()) as upstream:
        env = agent_env(
            home,
            gemini.parent,
            GEMINI_API_KEY=API_KEY,
            GOOGLE_GEMINI_BASE_URL=upstream,  # where the user's Gemini API is: the tap's target
            GEMINI_CLI_TRUST_WORKSPACE="true",  # headless runs refuse an untrusted folder
        )
        prompt = ["-m", MODEL, "-p", "What does notes.txt say?", "--output-format", "text"]
        result = await run_through_tap(home, "gemini", ["--tap-proxy-mode", "reverse"], prompt, env, workdir)

    # The agent worked through the tap: it ran the tool and answered from the stand-in.
    assert result.returncode == 0, result.stderr
    assert ANSWER in result.stdout, (result.stdout, result.stderr)
    path = f"/v1beta/models/{MODEL}:streamGenerateContent?alt=sse"
    assert [r.path_qs for r in standin.requests] == [path, path]
    assert all(r.headers["x-goog-api-key"] == API_KEY for r in standin.requests)
    functions = [p for p in standin.requests[1].body["contents"][-1]["parts"] if "functionResponse" in p]
    assert functions[0]["functionResponse"]["name"] == "read_file"
    assert NOTES in json.dumps(functions[0]["functionResponse"]["response"])

    records = result.records
    assert (records[0]["client"], records[0]["mode"], records[0]["target"]) == ("gemini", "reverse", upstream)
    assert records[-1]["type"] == "end" and records[-1]["exit_code"] == 0
    exchanges = result.exchanges
    assert len(exchanges) == 2
    for exchange, received in zip(exchanges, standin.requests, strict=True):
        assert exchange["transport"] == "sse"
        assert exchange["request"]["url"] == upstream + path  # the final upstream URL, strip none
        assert exchange["request"]["body"] == received.body
        assert exchange["response"]["status"] == 200 and exchange["response"]["complete"] is True
    assert API_KEY not in json.dumps(records) and API_KEY not in result.stderr

    _, turns = normalize_records(records)
    call, answer = turns
    assert (call["api"], call["model"]) == ("gemini", MODEL)
    assert [(block["type"], block["name"], block["input"]) for block in call["output"]] == [
        ("tool_use", "read_file", {"file_path": "notes.txt"})
    ]
    assert "".join(block["text"] for block in answer["output"] if block["type"] == "text") == ANSWER
    assert answer["usage"]["output_tokens"] == 7
    assert "claude-tap: 2 calls, 0 errors" in result.stderr
