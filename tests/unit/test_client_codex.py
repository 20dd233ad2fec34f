"""The Codex adapter: the spec's URL decision table, target detection, and the child's launch."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from claude_tap.clients.base import TargetChoice
from claude_tap.clients.codex import CODEX
from claude_tap.proxy.upstream import build_upstream_url

PROXY = "http://127.0.0.1:4321"


def upstream_url(target: str, path: str) -> str:
    """The spec's "URL Construction Rules", as the proxy applies them with this adapter's strip prefix."""
    return build_upstream_url(target, path, CODEX.reverse_strip_path_prefix(target))


# --- spec: "Decision Logic" table and the Codex rows of "Client Configurations" ----------------------------


@pytest.mark.parametrize(
    ("target", "strip"),
    [
        ("https://api.openai.com", None),  # target contains api.openai.com -> none
        ("https://api.openai.com/v1", None),
        ("https://chatgpt.com/backend-api/codex", "/v1"),  # any other target -> /v1
    ],
)
def test_spec_decision_table(target: str, strip: str | None) -> None:
    assert CODEX.reverse_strip_path_prefix(target) == strip


@pytest.mark.parametrize(
    ("target", "path", "url"),
    [
        ("https://api.openai.com", "/v1/responses", "https://api.openai.com/v1/responses"),
        (
            "https://chatgpt.com/backend-api/codex",
            "/v1/responses",
            "https://chatgpt.com/backend-api/codex/responses",
        ),
        # A target copied from OPENAI_BASE_URL keeps working instead of becoming /v1/v1/responses.
        ("https://api.openai.com/v1", "/v1/responses", "https://api.openai.com/v1/responses"),
        ("http://127.0.0.1:11434/v1", "/v1/responses", "http://127.0.0.1:11434/v1/responses"),
        ("https://openrouter.ai/api/v1", "/v1/models?x=1", "https://openrouter.ai/api/v1/models?x=1"),
    ],
)
def test_upstream_urls_for_the_paths_codex_sends(target: str, path: str, url: str) -> None:
    assert upstream_url(target, path) == url


def test_codex_defaults_match_the_spec() -> None:
    assert (CODEX.default_proxy_mode, CODEX.default_target, CODEX.error_style) == (
        "reverse",
        "https://api.openai.com",
        "openai",
    )
    assert CODEX.base_url_env == ("OPENAI_BASE_URL",)


# --- target detection -------------------------------------------------------------------------------------


def write_auth(codex_home: Path, content: object) -> None:
    codex_home.mkdir(parents=True, exist_ok=True)
    text = content if isinstance(content, str) else json.dumps(content)
    (codex_home / "auth.json").write_text(text)


def test_without_settings_the_target_is_the_openai_api(tmp_path: Path) -> None:
    assert CODEX.detect_target({}, tmp_path, tmp_path, []) == TargetChoice(
        "https://api.openai.com", "default"
    )


def test_openai_base_url_in_the_environment_is_the_target(tmp_path: Path) -> None:
    write_auth(tmp_path / ".codex", {"tokens": {"access_token": "x"}})
    env = {"OPENAI_BASE_URL": "https://gw.example/openai/v1/"}
    assert CODEX.detect_target(env, tmp_path, tmp_path, []) == TargetChoice(
        "https://gw.example/openai/v1", "OPENAI_BASE_URL in the environment"
    )


@pytest.mark.parametrize(
    "auth",
    [
        {"OPENAI_API_KEY": None, "tokens": {"id_token": "a", "access_token": "b", "refresh_token": "c"}},
        {"OPENAI_API_KEY": "sk-exchanged", "tokens": {"access_token": "b"}},
        {"auth_mode": "chatgpt", "tokens": {"access_token": "b"}},
    ],
)
def test_chatgpt_login_targets_the_chatgpt_backend(tmp_path: Path, auth: object) -> None:
    write_auth(tmp_path / ".codex", auth)
    assert CODEX.detect_target({}, tmp_path, tmp_path, []) == TargetChoice(
        "https://chatgpt.com/backend-api/codex", "ChatGPT login in ~/.codex/auth.json"
    )


@pytest.mark.parametrize(
    "auth",
    [
        {"OPENAI_API_KEY": "sk-1", "tokens": None},
        {"auth_mode": "apikey", "OPENAI_API_KEY": "sk-1", "tokens": {"access_token": "b"}},
        {"tokens": {}},
    ],
)
def test_api_key_login_targets_the_openai_api(tmp_path: Path, auth: object) -> None:
    write_auth(tmp_path / ".codex", auth)
    assert CODEX.detect_target({}, tmp_path, tmp_path, []).url == "https://api.openai.com"


def test_codex_home_decides_where_auth_json_is(tmp_path: Path) -> None:
    write_auth(tmp_path / "elsewhere", {"tokens": {"access_token": "b"}})
    choice = CODEX.detect_target({"CODEX_HOME": str(tmp_path / "elsewhere")}, tmp_path / "home", tmp_path, [])
    assert choice == TargetChoice(
        "https://chatgpt.com/backend-api/codex", "ChatGPT login in $CODEX_HOME/auth.json"
    )


@pytest.mark.parametrize(
    ("content", "note"),
    [
        ("{not json", "skipped ~/.codex/auth.json: cannot read it as JSON ("),
        ("[]", "skipped ~/.codex/auth.json: expected a JSON object"),
    ],
)
def test_unreadable_auth_json_is_skipped_with_a_note(tmp_path: Path, content: str, note: str) -> None:
    write_auth(tmp_path / ".codex", content)
    choice = CODEX.detect_target({}, tmp_path, tmp_path, [])
    assert choice.url == "https://api.openai.com"
    assert len(choice.notes) == 1
    assert choice.notes[0].startswith(note)


# --- the child's environment and argv ---------------------------------------------------------------------


def test_reverse_mode_gives_the_child_the_proxy_with_v1() -> None:
    env = {"PATH": "/bin", "OPENAI_BASE_URL": "https://gw.example/v1"}
    assert CODEX.launch_env(env, PROXY + "/", "reverse") == {"PATH": "/bin", "OPENAI_BASE_URL": PROXY + "/v1"}
    assert env["OPENAI_BASE_URL"] == "https://gw.example/v1"


def test_forward_mode_leaves_the_environment_alone() -> None:
    env = {"OPENAI_BASE_URL": "https://gw.example/v1"}
    assert CODEX.launch_env(env, PROXY, "forward") == env


def test_codex_gets_the_proxy_as_its_base_url_config_in_reverse_mode_only() -> None:
    # Codex 0.169 reads its base URL from the `openai_base_url` config key, not from the environment.
    assert CODEX.launch_argv(["exec", "fix it"], PROXY, "reverse") == [
        "codex", "-c", f'openai_base_url="{PROXY}/v1"', "exec", "fix it",
    ]  # fmt: skip
    assert CODEX.launch_argv(["exec", "fix it"], PROXY, "forward") == ["codex", "exec", "fix it"]
    rewrite = CODEX.rewrite_argv(["exec", "fix it"])
    assert (rewrite.argv, rewrite.note) == (("exec", "fix it"), None)
