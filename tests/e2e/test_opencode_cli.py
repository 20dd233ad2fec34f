"""The real OpenCode through the real claude-tap process in reverse mode, against a loopback Anthropic API.

Support-matrix row "OpenCode / Anthropic provider only (--tap-proxy-mode reverse) / api.anthropic.com /
strip none": the child gets ANTHROPIC_BASE_URL=<tap>/v1 (without /v1 OpenCode 1.18 calls /messages and
gets a 404), so every call reaches the upstream at /v1/messages. OpenCode makes two: a title for the
session (a small model) and the answer, which it prints.

Forward mode, OpenCode's default ("Provider creds via opencode providers / any HTTPS upstream"): no base
URL at all; OpenCode honours HTTPS_PROXY and NODE_EXTRA_CA_CERTS, and the tap decrypts
api.anthropic.com.
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

API_KEY = "sk-ant-e2e-dummy-key-0123456789abcdef"
MODEL = "claude-sonnet-4-5"


async def test_opencode_with_the_anthropic_provider_is_recorded_in_reverse_mode(tmp_path: Path) -> None:
    opencode = find_agent("opencode")
    home, workdir = agent_dirs(tmp_path)
    standin = TextStandIn()
    async with serving(standin.app()) as upstream:
        env = agent_env(
            home,
            opencode.parent,
            ANTHROPIC_API_KEY=API_KEY,
            ANTHROPIC_BASE_URL=upstream,  # the user's Anthropic upstream: the tap's target
            OPENCODE_DISABLE_AUTOUPDATE="1",
            OPENCODE_DISABLE_MODELS_FETCH="1",  # its bundled model list; no models.dev
        )
        args = ["run", "-m", f"anthropic/{MODEL}", "Say hi"]
        result = await run_through_tap(home, "opencode", ["--tap-proxy-mode", "reverse"], args, env, workdir)

    assert result.returncode == 0, result.stderr
    calls = standin.model_calls
    assert calls and all(r.path_qs == "/v1/messages" for r in calls)
    assert all(r.headers["x-api-key"] == API_KEY for r in calls)
    main_call = next(n for n, r in enumerate(calls, 1) if r.body["model"] == MODEL)
    assert f"{ANSWER_PREFIX}{main_call}" in result.stdout, (result.stdout, result.stderr)

    records = result.records
    assert (records[0]["client"], records[0]["mode"], records[0]["target"]) == (
        "opencode",
        "reverse",
        upstream,
    )
    exchanges = result.exchanges
    assert len(exchanges) == len(standin.requests)
    for exchange, received in zip(exchanges, standin.requests, strict=True):
        assert exchange["request"]["url"] == upstream + "/v1/messages"  # /v1 once, not twice
        assert exchange["request"]["body"] == received.body
        assert exchange["response"]["complete"] is True
    assert API_KEY not in json.dumps(records) and API_KEY not in result.stderr
    _, turns = normalize_records(records)
    answer = next(turn for turn in turns if turn["model"] == MODEL)
    assert answer["api"] == "anthropic_messages"
    assert answer["output"] == [{"type": "text", "text": f"{ANSWER_PREFIX}{main_call}"}]
    assert answer["usage"]["output_tokens"] == 7


async def test_opencode_is_recorded_in_forward_mode_its_default(tmp_path: Path) -> None:
    opencode = find_agent("opencode")
    home, workdir = agent_dirs(tmp_path)
    standin = TextStandIn()
    async with serving_as(standin.app(), "api.anthropic.com", tmp_path) as vendor:
        env = agent_env(
            home,
            opencode.parent,
            ANTHROPIC_API_KEY=API_KEY,
            OPENCODE_DISABLE_AUTOUPDATE="1",
            OPENCODE_DISABLE_MODELS_FETCH="1",
        )
        args = ["run", "-m", f"anthropic/{MODEL}", "Say hi"]
        result = await run_through_tap(home, "opencode", vendor.tap_args, args, env, workdir)

    assert result.returncode == 0, result.stderr
    calls = standin.model_calls
    assert calls and all(r.path_qs == "/v1/messages" for r in calls)
    main_call = next(n for n, r in enumerate(calls, 1) if r.body["model"] == MODEL)
    assert f"{ANSWER_PREFIX}{main_call}" in result.stdout, (result.stdout, result.stderr)
    assert "rejected claude-tap's certificate" not in result.stderr

    records = result.records
    assert (records[0]["client"], records[0]["mode"]) == ("opencode", "forward")
    messages = [e for e in result.exchanges if e["request"]["url"] == "https://api.anthropic.com/v1/messages"]
    assert len(messages) == len(calls)
    for exchange, received in zip(messages, calls, strict=True):
        assert exchange["request"]["body"] == received.body
        assert exchange["response"]["complete"] is True
    assert API_KEY not in json.dumps(records) and API_KEY not in result.stderr
