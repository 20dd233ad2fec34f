"""CodeBuddy through the real claude-tap process in reverse mode, its default, against a loopback
Chat Completions API.

CodeBuddy Code is not on the public npm registry this CI reaches, so a script plays the client, doing
what CodeBuddy does with its configuration: CODEBUDDY_BASE_URL comes from `--settings` first, then
~/.codebuddy/settings.json, then the environment (settings beat the environment, as in Claude Code),
and `/chat/completions` is appended to it. The user's settings.json names the real upstream, so the
tap must both find it there and win over it with its own `--settings` argument.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.real_cli import agent_dirs, run_through_tap, serving
from tests.e2e.tap_process import tap_env, write_script
from tests.e2e.text_standins import ANSWER_PREFIX, TextStandIn

pytestmark = [pytest.mark.e2e]

API_KEY = "sk-codebuddy-e2e-dummy-key-0123456789abcdef"

CODEBUDDY = """\
import json, os, pathlib, sys, urllib.request

args = sys.argv[1:]
settings = {}
if args[:1] == ["--settings"]:
    settings, args = json.loads(args[1]), args[2:]
user = pathlib.Path.home() / ".codebuddy" / "settings.json"
user_settings = json.loads(user.read_text()) if user.exists() else {}
base = (settings.get("env", {}).get("CODEBUDDY_BASE_URL")
        or user_settings.get("env", {}).get("CODEBUDDY_BASE_URL")
        or os.environ.get("CODEBUDDY_BASE_URL", "https://copilot.tencent.com/v2"))
body = {"model": "gpt-5", "stream": True, "messages": [{"role": "user", "content": args[-1]}]}
headers = {"Content-Type": "application/json", "Authorization": "Bearer " + os.environ["CODEBUDDY_API_KEY"]}
url = base.rstrip("/") + "/chat/completions"
request = urllib.request.Request(url, data=json.dumps(body).encode(), headers=headers)
text = []
with urllib.request.urlopen(request, timeout=20) as response:
    for line in response:
        line = line.decode().strip()
        if line.startswith("data: {"):
            for choice in json.loads(line[6:])["choices"]:
                text.append(choice["delta"].get("content") or "")
print("".join(text))
"""


async def test_codebuddy_settings_injection_wins_over_the_users_settings(tmp_path: Path) -> None:
    write_script(tmp_path / "bin" / "codebuddy", CODEBUDDY)
    home, workdir = agent_dirs(tmp_path)
    (home / ".codebuddy").mkdir()
    standin = TextStandIn()
    async with serving(standin.app()) as upstream:
        target = f"{upstream}/v2"
        settings = {"env": {"CODEBUDDY_BASE_URL": target}}
        (home / ".codebuddy" / "settings.json").write_text(json.dumps(settings))
        env = tap_env(tmp_path, [tmp_path / "bin"], CODEBUDDY_API_KEY=API_KEY)
        result = await run_through_tap(home, "codebuddy", [], ["-p", "Say hi"], env, workdir)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"{ANSWER_PREFIX}1"
    assert [r.path_qs for r in standin.requests] == ["/v2/chat/completions"]
    records = result.records
    assert (records[0]["client"], records[0]["mode"], records[0]["target"]) == (
        "codebuddy",
        "reverse",
        target,
    )
    assert "CODEBUDDY_BASE_URL in ~/.codebuddy/settings.json" in result.stderr
    (exchange,) = result.exchanges
    assert exchange["request"]["path"] == "/chat/completions"  # what the client sent to the tap
    assert exchange["request"]["url"] == f"{target}/chat/completions"  # where the tap sent it
    assert API_KEY not in json.dumps(records) and API_KEY not in result.stderr
