"""The real Codex CLI with a custom model provider, through the real claude-tap process.

A throwaway CODEX_HOME holds a config.toml whose provider "local" (selected by `model_provider`, or by a
profile: `--profile work` layering work.config.toml, as Codex 0.16x does) has its base_url at a loopback
Responses API. The tap must take that base_url as its target,
say so in the banner, and point that same provider at itself (`-c model_providers.local.base_url=`),
so every request crosses the tap and none goes to the provider directly. The key comes from the
provider's `env_key`, as Codex documents for custom providers.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.e2e import real_cli
from tests.e2e.agents import agent_env, find_agent
from tests.e2e.real_cli import agent_dirs, serving
from tests.e2e.responses_standin import ResponsesStandIn
from tests.e2e.tap_process import whole_records

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

KEY = "local-e2e-key-0123456789abcdef"
NOTES = "the secret word is MANGO"
COMMAND = "cat notes.txt"


def provider_config(upstream: str, *, by_profile: bool) -> str:
    chooser = "" if by_profile else 'model_provider = "local"\n'
    return f"""\
model = "gpt-5.2-codex"
check_for_update_on_startup = false
{chooser}
[analytics]
enabled = false

[model_providers.local]
name = "Local"
base_url = "{upstream}/v1"
env_key = "LOCAL_KEY"
wire_api = "responses"
"""


@pytest.mark.parametrize("by_profile", [False, True], ids=["model_provider", "profile"])
async def test_codex_custom_provider_goes_through_the_tap(tmp_path: Path, by_profile: bool) -> None:
    codex = find_agent("codex")
    home, workdir = agent_dirs(tmp_path)
    codex_home = tmp_path / "codex-home"
    codex_home.mkdir()
    (workdir / "notes.txt").write_text(NOTES + "\n")
    standin = ResponsesStandIn(command=COMMAND, websocket=False)
    async with serving(standin.app()) as upstream:
        (codex_home / "config.toml").write_text(provider_config(upstream, by_profile=by_profile))
        (codex_home / "work.config.toml").write_text('model_provider = "local"\n')
        env = agent_env(home, codex.parent, CODEX_HOME=str(codex_home), LOCAL_KEY=KEY)
        tap = [sys.executable, "-m", "claude_tap", "--tap-client", "codex", "--tap-no-open", "--"]
        profile = ["--profile", "work"] if by_profile else []
        prompt = [*profile, "exec", "--skip-git-repo-check", "--dangerously-bypass-approvals-and-sandbox"]
        code, out, err = await real_cli.run([*tap, *prompt, "What does notes.txt say?"], workdir, env, 30)
    assert code == 0, err
    assert NOTES in out, (out, err)
    # The banner names the provider and where its base_url came from.
    chosen_by = "model_provider in $CODEX_HOME/" + ("work.config.toml" if by_profile else "config.toml")
    assert f'provider "local" from {chosen_by}' in err, err
    assert "model_providers.local.base_url in $CODEX_HOME/config.toml" in err
    # Every request reached the upstream through the tap, with the provider's own key.
    assert [r.path_qs for r in standin.requests] == ["/v1/responses"] * 2
    assert all(r.headers["Authorization"] == f"Bearer {KEY}" for r in standin.requests)
    traces = sorted((home / ".claude-tap").rglob("trace.jsonl.zst"))
    records = whole_records(traces[0])
    assert records[0]["target"] == f"{upstream}/v1"
    exchanges = [r for r in records if r["type"] == "exchange"]
    assert [e["request"]["url"] for e in exchanges] == [f"{upstream}/v1/responses"] * 2
    assert KEY not in str(records)
