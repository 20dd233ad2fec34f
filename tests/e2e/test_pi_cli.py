"""The real Pi through the real claude-tap process in reverse mode, against a loopback OpenAI Responses API.

Support-matrix row "Pi / Custom OpenAI-compatible setup (--tap-proxy-mode reverse) / api.openai.com /
strip none". Pi reads no base-URL variable, so it runs in a PI_CODING_AGENT_DIR of claude-tap's whose
models.json points its `openai` provider at the tap (claude_tap.reverse_home); the user's own
models.json names the real upstream, and stays as it was.

Forward mode, Pi's default: no config of ours; Pi reaches https://api.openai.com through HTTPS_PROXY,
trusting the tap's CA, and the tap decrypts that host.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from claude_tap.normalize.session import normalize_records
from tests.e2e.agents import agent_env, find_agent
from tests.e2e.real_cli import agent_dirs, run_through_tap, serving, serving_as
from tests.e2e.text_standins import ANSWER_PREFIX, TextStandIn

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

API_KEY = "sk-proj-e2e-dummy-key-0123456789abcdef"
MODEL = "gpt-4o-mini"


async def test_pi_with_the_openai_provider_is_recorded_in_reverse_mode(tmp_path: Path) -> None:
    pi = find_agent("pi")
    home, workdir = agent_dirs(tmp_path)
    agent_dir = home / ".pi" / "agent"
    agent_dir.mkdir(parents=True)
    standin = TextStandIn()
    async with serving(standin.app()) as upstream:
        models = json.dumps({"providers": {"openai": {"baseUrl": f"{upstream}/v1"}}})
        (agent_dir / "models.json").write_text(models)
        env = agent_env(home, pi.parent, OPENAI_API_KEY=API_KEY, PI_OFFLINE="1")
        args = ["--provider", "openai", "--model", MODEL, "-p", "Say hi"]
        result = await run_through_tap(home, "pi", ["--tap-proxy-mode", "reverse"], args, env, workdir)

    assert result.returncode == 0, result.stderr
    assert [r.path_qs for r in standin.requests] == ["/v1/responses"]
    assert standin.requests[0].headers["Authorization"] == f"Bearer {API_KEY}"
    assert f"{ANSWER_PREFIX}1" in result.stdout, (result.stdout, result.stderr)
    assert (agent_dir / "models.json").read_text() == models  # the user's file, untouched
    assert list((agent_dir / "sessions").rglob("*.jsonl"))  # Pi's session, kept where Pi keeps it

    records = result.records
    assert (records[0]["client"], records[0]["mode"], records[0]["target"]) == (
        "pi",
        "reverse",
        f"{upstream}/v1",
    )
    (exchange,) = result.exchanges
    assert exchange["request"]["url"] == f"{upstream}/v1/responses"
    assert exchange["request"]["body"] == standin.requests[0].body
    assert exchange["response"]["complete"] is True
    assert API_KEY not in json.dumps(records) and API_KEY not in result.stderr
    _, (turn,) = normalize_records(records)
    assert (turn["api"], turn["model"]) == ("openai_responses", MODEL)
    assert turn["output"] == [{"type": "text", "text": f"{ANSWER_PREFIX}1"}]


async def test_pi_is_recorded_in_forward_mode_its_default(tmp_path: Path) -> None:
    pi = find_agent("pi")
    home, workdir = agent_dirs(tmp_path)
    standin = TextStandIn()
    async with serving_as(standin.app(), "api.openai.com", tmp_path) as vendor:
        env = agent_env(home, pi.parent, OPENAI_API_KEY=API_KEY, PI_OFFLINE="1")
        args = ["--provider", "openai", "--model", MODEL, "-p", "Say hi"]
        result = await run_through_tap(home, "pi", vendor.tap_args, args, env, workdir)

    assert result.returncode == 0, result.stderr
    assert [r.path_qs for r in standin.requests] == ["/v1/responses"]
    assert f"{ANSWER_PREFIX}1" in result.stdout, (result.stdout, result.stderr)
    records = result.records
    assert (records[0]["client"], records[0]["mode"]) == ("pi", "forward")
    (exchange,) = [
        e for e in result.exchanges if e["request"]["url"] == "https://api.openai.com/v1/responses"
    ]
    assert exchange["request"]["body"] == standin.requests[0].body
    assert exchange["response"]["complete"] is True
    assert API_KEY not in json.dumps(records) and API_KEY not in result.stderr
