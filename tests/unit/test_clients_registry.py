"""The client registry, the ClientConfig value, and the error bodies in each API's dialect."""

from __future__ import annotations

import dataclasses
import json

import pytest

from claude_tap.clients import CLIENT_CONFIGS, DEFAULT_CLIENT, get_client
from claude_tap.clients.base import error_body, never_refuse


def test_registry_lists_the_clients_in_order_under_their_own_names() -> None:
    assert list(CLIENT_CONFIGS) == [
        "claude",
        "codex",
        "gemini",
        "kimi",
        "opencode",
        "pi",
        "hermes",
        "cursor",
        "qoder",
        "agy",
        "codebuddy",
    ]
    assert all(config.name == name for name, config in CLIENT_CONFIGS.items())
    assert DEFAULT_CLIENT == "claude"


def test_get_client_returns_the_config() -> None:
    assert get_client("codex") is CLIENT_CONFIGS["codex"]


def test_get_client_names_the_valid_choices_for_an_unknown_name() -> None:
    with pytest.raises(ValueError, match=r"^unknown client 'claud'; choose one of: claude, codex, gemini, "):
        get_client("claud")


# spec: "Default Proxy Mode by Client", row by row
SPEC_DEFAULT_MODES = {
    "claude": "reverse",
    "codex": "reverse",
    "gemini": "forward",
    "kimi": "reverse",
    "opencode": "forward",
    "pi": "forward",
    "hermes": "forward",
    "cursor": "forward",
    "qoder": "forward",
    "agy": "forward",
    "codebuddy": "reverse",
}


@pytest.mark.parametrize(("name", "mode"), SPEC_DEFAULT_MODES.items())
def test_default_proxy_mode_matches_the_spec(name: str, mode: str) -> None:
    assert get_client(name).default_proxy_mode == mode


def test_every_client_of_the_spec_is_registered() -> None:
    assert set(CLIENT_CONFIGS) == set(SPEC_DEFAULT_MODES)


# Clients with no base-URL variable: forward only (cursor, qoder), or a config file of our own (hermes, pi).
NO_BASE_URL_ENV = {"cursor", "qoder", "hermes", "pi"}


@pytest.mark.parametrize("config", CLIENT_CONFIGS.values(), ids=list(CLIENT_CONFIGS))
def test_every_config_is_complete(config) -> None:  # type: ignore[no-untyped-def]
    assert config.executable and config.display_name
    assert "\n" not in config.install_hint and config.install_hint
    assert config.default_target.startswith("https://")
    assert bool(config.base_url_env) == (config.name not in NO_BASE_URL_ENV)
    assert config.intercept_hosts and all(
        "/" not in host and ":" not in host for host in config.intercept_hosts
    )
    assert config.error_style in ("anthropic", "openai", "gemini")


@pytest.mark.parametrize("config", CLIENT_CONFIGS.values(), ids=list(CLIENT_CONFIGS))
def test_launch_argv_runs_the_executable_with_the_arguments_in_forward_mode(config) -> None:  # type: ignore[no-untyped-def]
    assert config.launch_argv(["-p", "hi"], "http://127.0.0.1:1", "forward") == [
        config.executable,
        "-p",
        "hi",
    ]


@pytest.mark.parametrize("config", CLIENT_CONFIGS.values(), ids=list(CLIENT_CONFIGS))
def test_detect_target_on_an_empty_machine_is_the_default_target(config, tmp_path) -> None:  # type: ignore[no-untyped-def]
    home, cwd = tmp_path / "home", tmp_path / "home" / "project"
    cwd.mkdir(parents=True)
    choice = config.detect_target({"PATH": ""}, home, cwd, [])
    forward_only = {"cursor", "qoder"}
    gemini_login = config.name == "gemini"  # no key: a Google login, whose target is Code Assist
    if not gemini_login:
        assert choice.url == config.default_target
    assert (choice.reverse_refusal is not None) == (config.name in forward_only or gemini_login)
    assert choice.notes == ()


def test_configs_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        get_client("claude").executable = "other"  # type: ignore[misc]


# --- error bodies --------------------------------------------------------------------------------------


def test_anthropic_error_body() -> None:
    body, content_type = error_body("anthropic", 502, "upstream unreachable")
    assert content_type == "application/json"
    assert json.loads(body) == {
        "type": "error",
        "error": {"type": "api_error", "message": "upstream unreachable"},
    }


def test_anthropic_error_type_follows_the_status() -> None:
    body, _ = error_body("anthropic", 429, "slow down")
    assert json.loads(body)["error"]["type"] == "rate_limit_error"


def test_openai_error_body() -> None:
    body, content_type = error_body("openai", 502, "upstream unreachable")
    assert content_type == "application/json"
    assert json.loads(body) == {
        "error": {"message": "upstream unreachable", "type": "server_error", "code": "claude_tap_proxy_error"}
    }
    assert json.loads(error_body("openai", 400, "bad")[0])["error"]["type"] == "invalid_request_error"


@pytest.mark.parametrize(
    ("status", "rpc"), [(502, "UNAVAILABLE"), (504, "DEADLINE_EXCEEDED"), (599, "INTERNAL")]
)
def test_gemini_error_body(status: int, rpc: str) -> None:
    body, content_type = error_body("gemini", status, "upstream unreachable")
    assert content_type == "application/json"
    assert json.loads(body) == {"error": {"code": status, "message": "upstream unreachable", "status": rpc}}


def test_error_message_is_escaped_as_json() -> None:
    body, _ = error_body("anthropic", 500, 'a "quoted"\nline')
    assert json.loads(body)["error"]["message"] == 'a "quoted"\nline'


@pytest.mark.parametrize("config", CLIENT_CONFIGS.values(), ids=list(CLIENT_CONFIGS))
def test_only_kimi_refuses_a_launch_and_only_when_its_stub_is_installed(config) -> None:  # type: ignore[no-untyped-def]
    assert config.refuse_launch({"PATH": ""}) is None
    assert (config.refuse_launch is never_refuse) == (config.name != "kimi")
