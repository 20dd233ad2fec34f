"""The Pi adapter: reverse through OPENAI_BASE_URL with /v1, strip none."""

from __future__ import annotations

from pathlib import Path

from claude_tap.clients.pi import PI
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
    assert build_upstream_url(PI.default_target, "/v1/chat/completions", strip) == (
        "https://api.openai.com/v1/chat/completions"
    )
    assert build_upstream_url("https://openrouter.ai/api/v1", "/v1/responses", strip) == (
        "https://openrouter.ai/api/v1/responses"
    )


def test_target(tmp_path: Path) -> None:
    assert PI.detect_target({}, tmp_path, tmp_path, []).url == "https://api.openai.com"
    choice = PI.detect_target({"OPENAI_BASE_URL": "http://127.0.0.1:11434/v1/"}, tmp_path, tmp_path, [])
    assert (choice.url, choice.source) == ("http://127.0.0.1:11434/v1", "OPENAI_BASE_URL in the environment")


def test_launch() -> None:
    assert PI.launch_env({"ANTHROPIC_BASE_URL": "x"}, PROXY, "reverse") == {
        "ANTHROPIC_BASE_URL": "x",  # Pi ignores it; it is left as the user had it
        "OPENAI_BASE_URL": PROXY + "/v1",
    }
    assert PI.launch_env({}, PROXY, "forward") == {}
    assert PI.launch_argv(["-p", "hi"], PROXY, "reverse") == ["pi", "-p", "hi"]
