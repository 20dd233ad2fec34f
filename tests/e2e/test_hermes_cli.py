"""The real Hermes Agent through the real claude-tap process in reverse mode, against a loopback
Chat Completions API.

Support-matrix row "Hermes Agent / Custom OpenAI-compatible provider (--tap-proxy-mode reverse) /
strip /v1": Hermes runs in a HERMES_HOME of claude-tap's whose config names one provider at <tap>/v1
(claude_tap.reverse_home); the proxy strips /v1 and sends `/v1/chat/completions` to
`<target>/chat/completions`, the target being an OpenAI-compatible base that carries its own /v1.
Hermes first probes the server (/v1/models, /api/tags, /props, ...); those pass through and get the
vendor's 404s, and are recorded like any other call, but the summary counts them apart from errors
(normalize/failures.py).

`hermes -z` exits 0 even when the model call fails: the tap's summary and trace still show the error,
the one error among some thirty probes answered 404.

Forward mode, Hermes's default ("Provider creds via ~/.hermes/"): its built-in OpenRouter provider
reaches https://openrouter.ai through HTTPS_PROXY (httpx), trusting the tap's CA through SSL_CERT_FILE,
and the tap decrypts that host.

hermes-agent is a PyPI package: .ci/run installs it into a venv of its own and puts its bin directory
on CLAUDE_TAP_TEST_AGENTS_BIN.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from claude_tap.normalize.session import normalize_records
from tests.e2e.agents import agent_env, find_agent
from tests.e2e.real_cli import agent_dirs, run_through_tap, serving, serving_as
from tests.e2e.text_standins import ANSWER_PREFIX, REFUSAL, TextStandIn

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

API_KEY = "sk-proj-e2e-dummy-key-0123456789abcdef"
MODEL = "gpt-standin"


async def test_hermes_with_a_custom_provider_is_recorded_in_reverse_mode(tmp_path: Path) -> None:
    hermes = find_agent("hermes")
    home, workdir = agent_dirs(tmp_path)
    standin = TextStandIn()
    async with serving(standin.app()) as upstream:
        target = f"{upstream}/v1"
        env = agent_env(home, hermes.parent, OPENAI_API_KEY=API_KEY, OPENAI_BASE_URL=target)
        args = ["-z", "Say hi", "-m", MODEL]
        result = await run_through_tap(
            home, "hermes", ["--tap-proxy-mode", "reverse"], args, env, workdir, 90
        )

    assert result.returncode == 0, result.stderr
    (call,) = standin.model_calls
    assert call.path_qs == "/v1/chat/completions" and call.body["model"] == MODEL
    assert call.headers["Authorization"] == f"Bearer {API_KEY}"
    assert f"{ANSWER_PREFIX}1" in result.stdout, (result.stdout, result.stderr)
    assert not (home / ".hermes" / "config.yaml").exists()  # ours lived in a directory that is gone

    records = result.records
    assert (records[0]["client"], records[0]["mode"], records[0]["target"]) == ("hermes", "reverse", target)
    exchanges = result.exchanges
    assert len(exchanges) == len(standin.requests)
    for exchange, received in zip(exchanges, standin.requests, strict=True):
        # What Hermes sent, /v1 stripped, behind a target that carries /v1: every path under the target.
        assert exchange["request"]["url"] == upstream + received.path_qs
        assert received.path_qs.startswith("/v1/")
    completions = [e for e in exchanges if e["request"]["url"] == f"{target}/chat/completions"]
    assert len(completions) == 1 and completions[0]["request"]["path"] == "/v1/chat/completions"
    assert completions[0]["request"]["body"] == call.body
    assert API_KEY not in json.dumps(records) and API_KEY not in result.stderr
    turns = [t for t in normalize_records(records)[1] if t["api"] == "chat_completions"]
    assert [block for turn in turns for block in turn["output"] if block["type"] == "text"] == [
        {"type": "text", "text": f"{ANSWER_PREFIX}1"}
    ]


async def test_hermes_is_recorded_in_forward_mode_its_default(tmp_path: Path) -> None:
    hermes = find_agent("hermes")
    home, workdir = agent_dirs(tmp_path)
    standin = TextStandIn()
    key = "sk-or-v1-e2e-dummy-key-0123456789abcdef"
    async with serving_as(standin.app(), "openrouter.ai", tmp_path) as vendor:
        env = agent_env(home, hermes.parent, OPENROUTER_API_KEY=key)
        args = ["-z", "Say hi", "--provider", "openrouter", "-m", "openai/gpt-4o-mini"]
        result = await run_through_tap(home, "hermes", vendor.tap_args, args, env, workdir, 90)

    assert result.returncode == 0, result.stderr
    (call,) = standin.model_calls
    assert call.path_qs == "/api/v1/chat/completions" and call.headers["Authorization"] == f"Bearer {key}"
    assert f"{ANSWER_PREFIX}1" in result.stdout, (result.stdout, result.stderr)
    records = result.records
    assert (records[0]["client"], records[0]["mode"]) == ("hermes", "forward")
    (exchange,) = [
        e for e in result.exchanges if e["request"]["url"] == "https://openrouter.ai/api/v1/chat/completions"
    ]
    assert exchange["request"]["body"] == call.body and exchange["response"]["complete"] is True
    assert key not in json.dumps(records) and key not in result.stderr


async def test_a_failed_model_call_shows_in_the_summary_though_hermes_exits_0(tmp_path: Path) -> None:
    hermes = find_agent("hermes")
    home, workdir = agent_dirs(tmp_path)
    standin = TextStandIn(refuse_status=400)
    async with serving(standin.app()) as upstream:
        env = agent_env(home, hermes.parent, OPENAI_API_KEY=API_KEY, OPENAI_BASE_URL=f"{upstream}/v1")
        args = ["-z", "Say hi", "-m", MODEL]
        result = await run_through_tap(
            home, "hermes", ["--tap-proxy-mode", "reverse"], args, env, workdir, 90
        )

    assert result.returncode == 0, result.stderr  # Hermes's own exit code, passed through
    assert REFUSAL in result.stdout
    assert len(standin.model_calls) == 1
    calls = len(result.exchanges)
    assert f"claude-tap: {calls} calls, 1 error;" in result.stderr  # the 400, not the probes' 404s
    probes = calls - 1
    assert f"claude-tap: {probes} probes answered not found (not counted as errors): /" in result.stderr
    (refused,) = [e for e in result.exchanges if e["request"]["path"] == "/v1/chat/completions"]
    assert refused["response"]["status"] == 400
    assert refused["response"]["body"]["error"]["message"] == REFUSAL
