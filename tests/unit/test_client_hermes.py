"""The Hermes adapter: strip /v1, `gateway start` -> `gateway run`, the reverse HERMES_HOME, its launcher."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from claude_tap.clients.hermes import HERMES, REVERSE_HOME, model_from_argv, reverse_config
from claude_tap.clients.home import PROXY_URL_ENV
from claude_tap.proxy.upstream import build_upstream_url

PROXY = "http://127.0.0.1:4321"


def test_defaults_match_the_spec() -> None:
    assert (HERMES.default_proxy_mode, HERMES.error_style, HERMES.executable) == (
        "forward",
        "openai",
        "hermes",
    )
    assert HERMES.install_hint.startswith("pip install hermes-agent")


@pytest.mark.parametrize(
    ("path", "url"),
    [
        ("/v1/chat/completions", "https://api.openai.com/v1/chat/completions"),
        ("/v1/models", "https://api.openai.com/v1/models"),
    ],
)
def test_strip_v1_then_the_target_supplies_its_own_version(path: str, url: str) -> None:
    assert HERMES.reverse_strip_path_prefix(HERMES.default_target) == "/v1"
    assert build_upstream_url(HERMES.default_target, path, "/v1") == url


def test_target(tmp_path: Path) -> None:
    assert HERMES.detect_target({}, tmp_path, tmp_path, []).url == "https://api.openai.com/v1"
    choice = HERMES.detect_target(
        {"OPENAI_BASE_URL": "https://openrouter.ai/api/v1/"}, tmp_path, tmp_path, []
    )
    assert choice.url == "https://openrouter.ai/api/v1"


@pytest.mark.parametrize(
    ("argv", "rewritten"),
    [
        (["gateway", "start"], ("gateway", "run")),
        (["gateway", "start", "--verbose"], ("gateway", "run", "--verbose")),
        (["--yolo", "gateway", "start"], ("--yolo", "gateway", "run")),
    ],
)
def test_gateway_start_becomes_gateway_run_announced(argv: list[str], rewritten: tuple[str, ...]) -> None:
    rewrite = HERMES.rewrite_argv(argv)
    assert rewrite.argv == rewritten
    assert rewrite.note is not None and "`gateway run`" in rewrite.note


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["-z", "hi"],
        ["gateway", "run"],
        ["gateway", "stop"],
        ["chat", "start"],
        ["gateway", "-x", "start"],
    ],
)
def test_other_argv_is_kept(argv: list[str]) -> None:
    assert HERMES.rewrite_argv(argv).argv == tuple(argv)
    assert HERMES.rewrite_argv(argv).note is None


def test_model_from_argv() -> None:
    assert model_from_argv(["-m", "gpt-x", "-z", "hi"]) == "gpt-x"
    assert model_from_argv(["--model=gpt-y"]) == "gpt-y"
    assert model_from_argv(["--model"]) is None
    assert model_from_argv(["--", "-m", "no"]) is None


def test_reverse_config_names_one_provider_at_the_proxy() -> None:
    assert reverse_config(PROXY + "/", "gpt-x") == {
        "model": {"provider": "claude-tap", "default": "gpt-x"},
        "providers": {
            "claude-tap": {"base_url": PROXY + "/v1", "key_env": "OPENAI_API_KEY", "default_model": "gpt-x"}
        },
    }
    assert reverse_config(PROXY, None)["model"] == {"provider": "claude-tap"}


def test_reverse_files_are_one_config_yaml_that_yaml_reads_as_json() -> None:
    assert REVERSE_HOME.env_var == "HERMES_HOME" and REVERSE_HOME.generated == ("config.yaml",)
    files = REVERSE_HOME.build({"config.yaml": "model: mine\n"}, PROXY, ["-m", "gpt-x"])
    assert json.loads(files["config.yaml"]) == reverse_config(PROXY, "gpt-x")


def test_user_dir_is_hermes_home_or_dot_hermes() -> None:
    assert REVERSE_HOME.user_dir({"HOME": "/h"}) == Path("/h/.hermes")
    assert REVERSE_HOME.user_dir({"HOME": "/h", "HERMES_HOME": "/elsewhere"}) == Path("/elsewhere")


def test_reverse_launch_goes_through_the_launcher_and_forward_runs_hermes() -> None:
    assert HERMES.launch_argv(["-z", "hi"], PROXY, "reverse") == [
        sys.executable,
        "-m",
        "claude_tap.reverse_home",
        "hermes",
        "hermes",
        "-z",
        "hi",
    ]
    assert HERMES.launch_env({"A": "1"}, PROXY, "reverse") == {"A": "1", PROXY_URL_ENV: PROXY}
    assert HERMES.launch_env({"A": "1"}, PROXY, "forward") == {"A": "1"}
