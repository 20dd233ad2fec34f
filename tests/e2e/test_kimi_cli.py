"""The real kimi-cli 1.51 through the real claude-tap process, against a loopback Chat Completions API.

Support-matrix row "Kimi CLI / Kimi CLI auth/config / strip none / HTTP/SSE Chat Completions": the tap
finds the upstream in ~/.kimi/config.toml (the provider of `default_model`), hands the child
KIMI_BASE_URL=<tap>, and kimi-cli's `/chat/completions` reaches `<upstream>/chat/completions`. The
stand-in streams reasoning_content before the answer, as Kimi's API does; the viewer shows it as thinking.

The 1.52.0 stub is refused before anything starts; that test needs no kimi-cli, only its install layout.

kimi-cli needs Python 3.12 or later: .ci/run installs 1.51.0 into a venv of its own and puts its bin
directory on CLAUDE_TAP_TEST_AGENTS_BIN.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from claude_tap.normalize.session import normalize_records
from tests.e2e.agents import agent_env, find_agent
from tests.e2e.real_cli import agent_dirs, run_through_tap, serving
from tests.e2e.tap_process import run_tap, tap_env, write_script
from tests.e2e.text_standins import ANSWER_PREFIX, REASONING, TextStandIn

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

API_KEY = "sk-kimi-e2e-dummy-key-0123456789abcdef"
MODEL = "kimi-for-coding"
CONFIG = """\
default_model = "coding"
telemetry = false

[models.coding]
provider = "kimi-code"
model = "{model}"
max_context_size = 262144

[providers.kimi-code]
type = "kimi"
base_url = "{upstream}"
api_key = "{key}"
"""


async def test_kimi_cli_is_recorded_with_its_reasoning(tmp_path: Path) -> None:
    kimi = find_agent("kimi")
    home, workdir = agent_dirs(tmp_path)
    (home / ".kimi").mkdir()
    standin = TextStandIn()
    async with serving(standin.app()) as upstream:
        config = CONFIG.format(model=MODEL, upstream=f"{upstream}/coding/v1", key=API_KEY)
        (home / ".kimi" / "config.toml").write_text(config)
        env = agent_env(home, kimi.parent)
        result = await run_through_tap(home, "kimi", [], ["--print", "-p", "Say hi"], env, workdir)

    assert result.returncode == 0, result.stderr
    assert [r.path_qs for r in standin.requests] == ["/coding/v1/chat/completions"]
    assert standin.requests[0].headers["Authorization"] == f"Bearer {API_KEY}"
    assert f"{ANSWER_PREFIX}1" in result.stdout, (result.stdout, result.stderr)
    assert REASONING in result.stdout  # kimi-cli printed the thinking it got through the tap

    records = result.records
    assert (records[0]["client"], records[0]["mode"]) == ("kimi", "reverse")  # reverse: kimi's default
    assert records[0]["target"] == f"{upstream}/coding/v1"
    (exchange,) = result.exchanges
    assert exchange["request"]["url"] == f"{upstream}/coding/v1/chat/completions"
    assert exchange["request"]["body"] == standin.requests[0].body
    assert exchange["response"]["complete"] is True
    assert API_KEY not in json.dumps(records) and API_KEY not in result.stderr
    _, (turn,) = normalize_records(records)
    assert (turn["api"], turn["model"]) == ("chat_completions", MODEL)
    assert {"type": "thinking", "text": REASONING} in turn["output"]
    assert {"type": "text", "text": f"{ANSWER_PREFIX}1"} in turn["output"]
    assert turn["usage"]["output_tokens"] == 7


@pytest.mark.parametrize(
    "target", [[], ["--tap-target", "https://api.moonshot.ai/v1"]], ids=["detected", "given"]
)
async def test_the_kimi_cli_1_52_stub_is_refused_before_it_runs(tmp_path: Path, target: list[str]) -> None:
    # What pip, pipx and uv tool leave behind: <venv>/bin/kimi beside the package's dist-info.
    venv = tmp_path / "venv"
    (venv / "lib" / "python3.13" / "site-packages" / "kimi_cli-1.52.0.dist-info").mkdir(parents=True)
    ran = tmp_path / "stub-ran"
    write_script(venv / "bin" / "kimi", f"open({str(ran)!r}, 'w').close()\n")
    env = tap_env(tmp_path, [venv / "bin"])
    done = await run_tap(
        tmp_path, ["--tap-client", "kimi", *target, "--tap-no-open", "--", "--print", "-p", "hi"], env
    )
    assert done.returncode == 2, done.stderr
    assert "kimi-cli 1.52.0, an unmaintained stub" in done.stderr
    assert "kimi-cli==1.51.0" in done.stderr
    assert not ran.exists()  # never launched
    assert not list((tmp_path / "home").rglob("trace.jsonl.zst"))  # refused before any session began
