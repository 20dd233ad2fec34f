"""The Kimi CLI adapter: KIMI_BASE_URL, config.toml, the 1.52.0 stub refusal, the child's launch."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from claude_tap.clients.kimi import KIMI, installed_version, stub_refusal
from claude_tap.proxy.upstream import build_upstream_url

PROXY = "http://127.0.0.1:4321"

CONFIG = """
default_model = "k2"

[models.k2]
provider = "moonshot"
model = "kimi-k2"
max_context_size = 262144

[providers.moonshot]
type = "kimi"
base_url = "https://api.moonshot.ai/v1/"
api_key = "sk-test"
"""


def fake_install(root: Path, version: str) -> Path:
    """A venv-shaped kimi-cli install: bin/kimi plus its dist-info, as pip and uv tool lay it out."""
    (root / "bin").mkdir(parents=True)
    (root / "lib" / "python3.13" / "site-packages" / f"kimi_cli-{version}.dist-info").mkdir(parents=True)
    kimi = root / "bin" / "kimi"
    kimi.write_text("#!/bin/sh\n")
    kimi.chmod(0o755)
    return root / "bin"


def test_defaults_match_the_spec() -> None:
    assert (KIMI.default_proxy_mode, KIMI.default_target, KIMI.error_style) == (
        "reverse",
        "https://api.kimi.com/coding/v1",
        "openai",
    )
    assert KIMI.base_url_env == ("KIMI_BASE_URL", "KIMI_CODE_BASE_URL")
    assert "kimi-cli==1.51.0" in KIMI.install_hint


@pytest.mark.parametrize(
    ("target", "url"),
    [
        ("https://api.kimi.com/coding/v1", "https://api.kimi.com/coding/v1/chat/completions"),
        ("https://api.moonshot.ai/v1", "https://api.moonshot.ai/v1/chat/completions"),
    ],
)
def test_spec_targets_get_chat_completions_appended(target: str, url: str) -> None:
    assert build_upstream_url(target, "/chat/completions", KIMI.reverse_strip_path_prefix(target)) == url


def test_target_from_the_environment(tmp_path: Path) -> None:
    choice = KIMI.detect_target({"KIMI_BASE_URL": "https://api.moonshot.ai/v1/"}, tmp_path, tmp_path, [])
    assert (choice.url, choice.source, choice.reverse_refusal) == (
        "https://api.moonshot.ai/v1",
        "KIMI_BASE_URL in the environment",
        None,
    )


def test_target_from_the_default_models_provider_in_config_toml(tmp_path: Path) -> None:
    (tmp_path / ".kimi").mkdir()
    (tmp_path / ".kimi" / "config.toml").write_text(CONFIG)
    choice = KIMI.detect_target({}, tmp_path, tmp_path, [])
    assert (choice.url, choice.source) == (
        "https://api.moonshot.ai/v1",
        "default_model's provider in ~/.kimi/config.toml",
    )


def test_kimi_share_dir_moves_the_config(tmp_path: Path) -> None:
    (tmp_path / "share").mkdir()
    (tmp_path / "share" / "config.toml").write_text(CONFIG)
    choice = KIMI.detect_target({"KIMI_SHARE_DIR": "share"}, tmp_path / "home", tmp_path, [])
    assert choice.source == "default_model's provider in $KIMI_SHARE_DIR/config.toml"


def test_config_file_option_wins_over_the_share_dir(tmp_path: Path) -> None:
    (tmp_path / "alt.toml").write_text(CONFIG.replace("api.moonshot.ai", "alt.example"))
    for argv in (["--config-file", "alt.toml", "--print"], ["--config-file=alt.toml"]):
        choice = KIMI.detect_target({"KIMI_SHARE_DIR": "nowhere"}, tmp_path, tmp_path, argv)
        assert (choice.url, choice.source) == (
            "https://alt.example/v1",
            "default_model's provider in --config-file alt.toml",
        )
    for argv in (["--", "--config-file", "alt.toml"], ["--config-file"]):
        assert KIMI.detect_target({}, tmp_path, tmp_path, argv).url == "https://api.kimi.com/coding/v1"


def test_a_config_without_a_default_model_falls_back_to_kimi_code(tmp_path: Path) -> None:
    (tmp_path / ".kimi").mkdir()
    (tmp_path / ".kimi" / "config.toml").write_text('default_model = ""\n')
    choice = KIMI.detect_target({"KIMI_CODE_BASE_URL": "https://code.example/v1"}, tmp_path, tmp_path, [])
    assert (choice.url, choice.source) == ("https://code.example/v1", "KIMI_CODE_BASE_URL in the environment")
    assert KIMI.detect_target({}, tmp_path, tmp_path, []).url == "https://api.kimi.com/coding/v1"


def test_a_broken_config_is_skipped_with_a_note(tmp_path: Path) -> None:
    (tmp_path / ".kimi").mkdir()
    (tmp_path / ".kimi" / "config.toml").write_text("default_model = \n")
    choice = KIMI.detect_target({}, tmp_path, tmp_path, [])
    assert choice.url == "https://api.kimi.com/coding/v1"
    assert choice.notes[0].startswith("skipped ~/.kimi/config.toml: not valid TOML")


def test_the_1_52_stub_is_refused_with_how_to_get_1_51(tmp_path: Path) -> None:
    bin_dir = fake_install(tmp_path / "venv", "1.52.0")
    env = {"PATH": os.pathsep.join([str(tmp_path / "empty"), str(bin_dir)])}
    assert installed_version(env) == ("1.52.0", bin_dir / "kimi")
    for extra in ({}, {"KIMI_BASE_URL": "https://api.moonshot.ai/v1"}):
        refusal = KIMI.detect_target({**env, **extra}, tmp_path, tmp_path, []).reverse_refusal
        assert refusal is not None
        assert "kimi-cli 1.52.0, an unmaintained stub" in refusal
        assert "kimi-cli==1.51.0" in refusal


def test_a_working_version_or_no_kimi_is_not_refused(tmp_path: Path) -> None:
    bin_dir = fake_install(tmp_path / "venv", "1.51.0")
    assert installed_version({"PATH": str(bin_dir)}) == ("1.51.0", bin_dir / "kimi")
    assert KIMI.detect_target({"PATH": str(bin_dir)}, tmp_path, tmp_path, []).reverse_refusal is None
    assert installed_version({"PATH": str(tmp_path)}) is None
    (tmp_path / "kimi").write_text("#!/bin/sh\n")  # a kimi outside any venv: version unknown, not refused
    (tmp_path / "kimi").chmod(0o755)
    assert installed_version({"PATH": str(tmp_path)}) is None


def test_reverse_mode_points_both_variables_at_the_proxy() -> None:
    child = KIMI.launch_env({"KIMI_API_KEY": "k"}, PROXY, "reverse")
    assert child == {"KIMI_API_KEY": "k", "KIMI_BASE_URL": PROXY, "KIMI_CODE_BASE_URL": PROXY}
    assert KIMI.launch_env({"KIMI_API_KEY": "k"}, PROXY, "forward") == {"KIMI_API_KEY": "k"}
    assert KIMI.launch_argv(["--print"], PROXY, "reverse") == ["kimi", "--print"]


def test_refuse_launch_is_the_stub_check_whatever_the_target() -> None:
    assert KIMI.refuse_launch is stub_refusal
