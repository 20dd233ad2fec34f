"""The Antigravity adapter: forward mode plus the CLOUD_CODE_URL bridge to daily-cloudcode-pa."""

from __future__ import annotations

from pathlib import Path

from claude_tap.clients.agy import AGY
from claude_tap.proxy.upstream import build_upstream_url

PROXY = "http://127.0.0.1:4321"


def test_defaults_match_the_spec() -> None:
    assert (AGY.default_proxy_mode, AGY.default_target, AGY.base_url_env, AGY.error_style) == (
        "forward",
        "https://daily-cloudcode-pa.googleapis.com",
        ("CLOUD_CODE_URL",),
        "gemini",
    )


def test_the_bridge_is_set_in_both_modes() -> None:
    for mode in ("forward", "reverse"):
        assert AGY.launch_env({"CLOUD_CODE_URL": "https://mine"}, PROXY, mode) == {"CLOUD_CODE_URL": PROXY}  # type: ignore[arg-type]
    assert AGY.launch_argv([], PROXY, "forward") == ["agy"]


def test_model_calls_reach_code_assist_unchanged(tmp_path: Path) -> None:
    path = "/v1internal:streamGenerateContent?alt=sse"
    target = AGY.detect_target({}, tmp_path, tmp_path, []).url
    assert build_upstream_url(target, path, AGY.reverse_strip_path_prefix(target)) == (
        "https://daily-cloudcode-pa.googleapis.com/v1internal:streamGenerateContent?alt=sse"
    )
    choice = AGY.detect_target(
        {"CLOUD_CODE_URL": "https://cloudcode-pa.googleapis.com/"}, tmp_path, tmp_path, []
    )
    assert (choice.url, choice.source) == (
        "https://cloudcode-pa.googleapis.com",
        "CLOUD_CODE_URL in the environment",
    )
