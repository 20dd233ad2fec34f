"""The Pi adapter: reverse through models.json in a directory of our own, strip none."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from claude_tap.clients.home import PROXY_URL_ENV
from claude_tap.clients.pi import PI, REVERSE_HOME
from claude_tap.proxy.upstream import build_upstream_url

PROXY = "http://127.0.0.1:4321"


def test_defaults_match_the_spec() -> None:
    assert (PI.default_proxy_mode, PI.default_target, PI.error_style, PI.executable) == (
        "forward",
        "https://api.openai.com",
        "openai",
        "pi",
    )
    assert PI.install_hint == "npm install -g @mariozechner/pi-coding-agent"


def test_paths_reach_the_openai_api_unchanged() -> None:
    strip = PI.reverse_strip_path_prefix(PI.default_target)
    assert (
        build_upstream_url(PI.default_target, "/v1/responses", strip) == "https://api.openai.com/v1/responses"
    )
    assert build_upstream_url("https://openrouter.ai/api/v1", "/v1/chat/completions", strip) == (
        "https://openrouter.ai/api/v1/chat/completions"
    )


def test_target_is_the_users_openai_base_url_in_models_json(tmp_path: Path) -> None:
    assert PI.detect_target({}, tmp_path, tmp_path, []).url == "https://api.openai.com"
    (tmp_path / ".pi" / "agent").mkdir(parents=True)
    models = {"providers": {"openai": {"baseUrl": "https://gw.example/v1/"}}}
    (tmp_path / ".pi" / "agent" / "models.json").write_text(json.dumps(models))
    choice = PI.detect_target({"HOME": "/not/this"}, tmp_path, tmp_path, [])
    assert (choice.url, choice.source) == (
        "https://gw.example/v1",
        "providers.openai.baseUrl in ~/.pi/agent/models.json",
    )


def test_pi_coding_agent_dir_moves_models_json(tmp_path: Path) -> None:
    (tmp_path / "agent").mkdir()
    (tmp_path / "agent" / "models.json").write_text("[broken")
    choice = PI.detect_target({"PI_CODING_AGENT_DIR": "agent"}, tmp_path / "home", tmp_path, [])
    assert choice.url == "https://api.openai.com"
    assert choice.notes[0].startswith("skipped $PI_CODING_AGENT_DIR/models.json: not valid JSON")


def test_reverse_models_json_keeps_the_users_and_points_openai_at_the_proxy() -> None:
    assert (REVERSE_HOME.env_var, REVERSE_HOME.default_dir, REVERSE_HOME.generated) == (
        "PI_CODING_AGENT_DIR",
        ".pi/agent",
        ("models.json",),
    )
    mine = {"providers": {"openai": {"apiKey": "OPENAI_API_KEY"}, "ollama": {"baseUrl": "http://x/v1"}}}
    built = json.loads(REVERSE_HOME.build({"models.json": json.dumps(mine)}, PROXY + "/", [])["models.json"])
    assert built == {
        "providers": {
            "openai": {"apiKey": "OPENAI_API_KEY", "baseUrl": PROXY + "/v1"},
            "ollama": {"baseUrl": "http://x/v1"},
        }
    }


def test_reverse_models_json_from_nothing_or_from_a_broken_file() -> None:
    wanted = {"providers": {"openai": {"baseUrl": PROXY + "/v1"}}}
    for current in (None, "", "{oops", "[]", '{"providers": []}', '{"providers": {"openai": 1}}'):
        assert json.loads(REVERSE_HOME.build({"models.json": current}, PROXY, [])["models.json"]) == wanted


def test_launch() -> None:
    assert PI.launch_env({"A": "1"}, PROXY, "reverse") == {"A": "1", PROXY_URL_ENV: PROXY}
    assert PI.launch_env({"A": "1"}, PROXY, "forward") == {"A": "1"}
    assert PI.launch_argv(["-p", "hi"], PROXY, "reverse") == [
        sys.executable, "-m", "claude_tap.reverse_home", "pi", "pi", "-p", "hi"
    ]  # fmt: skip
    assert PI.launch_argv(["-p", "hi"], PROXY, "forward") == ["pi", "-p", "hi"]
