"""The OpenCode adapter: reverse for the Anthropic provider needs a base URL ending in /v1."""

from __future__ import annotations

import json
from pathlib import Path

from claude_tap.clients.opencode import OPENCODE
from claude_tap.proxy.upstream import build_upstream_url

PROXY = "http://127.0.0.1:4321"


def test_defaults_match_the_spec() -> None:
    assert (OPENCODE.default_proxy_mode, OPENCODE.default_target, OPENCODE.error_style) == (
        "forward",
        "https://api.anthropic.com",
        "anthropic",
    )
    assert OPENCODE.install_hint.startswith("npm install -g opencode-ai")


def test_reverse_mode_gives_the_child_a_base_url_ending_in_v1() -> None:
    # Without /v1 OpenCode 1.18 calls <base>/messages and the upstream answers 404.
    child = OPENCODE.launch_env({"ANTHROPIC_BASE_URL": "https://mine"}, PROXY + "/", "reverse")
    assert child == {"ANTHROPIC_BASE_URL": PROXY + "/v1"}
    assert OPENCODE.launch_env({"X": "1"}, PROXY, "forward") == {"X": "1"}
    assert OPENCODE.launch_argv(["run", "hi"], PROXY, "reverse") == ["opencode", "run", "hi"]


def test_messages_path_reaches_the_anthropic_api_without_doubling_v1() -> None:
    for target in ("https://api.anthropic.com", "https://api.anthropic.com/v1"):
        strip = OPENCODE.reverse_strip_path_prefix(target)
        assert build_upstream_url(target, "/v1/messages", strip) == "https://api.anthropic.com/v1/messages"


def test_target_from_the_environment(tmp_path: Path) -> None:
    choice = OPENCODE.detect_target({"ANTHROPIC_BASE_URL": "https://gw.example/"}, tmp_path, tmp_path, [])
    assert (choice.url, choice.source) == ("https://gw.example", "ANTHROPIC_BASE_URL in the environment")


def test_target_from_project_then_global_config(tmp_path: Path) -> None:
    home, cwd = tmp_path / "home", tmp_path / "project"
    (home / ".config" / "opencode").mkdir(parents=True)
    cwd.mkdir()
    config = {"provider": {"anthropic": {"options": {"baseURL": "https://global.example/v1"}}}}
    (home / ".config" / "opencode" / "opencode.json").write_text(json.dumps(config))
    choice = OPENCODE.detect_target({}, home, cwd, [])
    assert (choice.url, choice.source) == (
        "https://global.example/v1",
        "provider.anthropic.options.baseURL in ~/.config/opencode/opencode.json",
    )
    config["provider"]["anthropic"]["options"]["baseURL"] = "https://project.example"
    (cwd / "opencode.json").write_text(json.dumps(config))
    assert OPENCODE.detect_target({}, home, cwd, []).url == "https://project.example"


def test_xdg_config_home_and_broken_files(tmp_path: Path) -> None:
    (tmp_path / "xdg" / "opencode").mkdir(parents=True)
    (tmp_path / "xdg" / "opencode" / "opencode.json").write_text("{")
    choice = OPENCODE.detect_target({"XDG_CONFIG_HOME": str(tmp_path / "xdg")}, tmp_path, tmp_path, [])
    assert choice.url == "https://api.anthropic.com" and choice.source == "default"
    assert choice.notes[0].startswith("skipped $XDG_CONFIG_HOME/opencode/opencode.json: not valid JSON")
