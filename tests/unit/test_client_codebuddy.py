"""The CodeBuddy adapter: env, settings files, the login cache (+ /v2), and --settings injection."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from claude_tap.clients.codebuddy import CODEBUDDY
from claude_tap.proxy.upstream import build_upstream_url

PROXY = "http://127.0.0.1:4321"


@pytest.fixture
def dirs(tmp_path: Path) -> tuple[Path, Path]:
    home, cwd = tmp_path / "home", tmp_path / "project"
    (home / ".codebuddy" / "local_storage").mkdir(parents=True)
    (cwd / ".codebuddy").mkdir(parents=True)
    return home, cwd


def detect(dirs: tuple[Path, Path], env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return CODEBUDDY.detect_target(env or {}, dirs[0], dirs[1], [])


def test_defaults_match_the_spec(dirs) -> None:  # type: ignore[no-untyped-def]
    assert (CODEBUDDY.default_proxy_mode, CODEBUDDY.default_target, CODEBUDDY.base_url_env) == (
        "reverse",
        "https://copilot.tencent.com/v2",
        ("CODEBUDDY_BASE_URL",),
    )
    choice = detect(dirs)
    assert (choice.url, choice.source) == ("https://copilot.tencent.com/v2", "default")


def test_chat_completions_reach_v2() -> None:
    target = CODEBUDDY.default_target
    strip = CODEBUDDY.reverse_strip_path_prefix(target)
    assert (
        build_upstream_url(target, "/chat/completions", strip)
        == "https://copilot.tencent.com/v2/chat/completions"
    )


def test_environment_then_settings_files_in_order(dirs) -> None:  # type: ignore[no-untyped-def]
    home, cwd = dirs
    (home / ".codebuddy" / "settings.json").write_text(
        json.dumps({"env": {"CODEBUDDY_BASE_URL": "https://home/v2"}})
    )
    assert detect(dirs).source == "CODEBUDDY_BASE_URL in ~/.codebuddy/settings.json"
    (cwd / ".codebuddy" / "settings.json").write_text(
        json.dumps({"env": {"CODEBUDDY_BASE_URL": "https://proj/v2"}})
    )
    assert detect(dirs).url == "https://proj/v2"
    (cwd / ".codebuddy" / "settings.local.json").write_text(
        json.dumps({"env": {"CODEBUDDY_BASE_URL": "https://loc/"}})
    )
    assert detect(dirs).url == "https://loc"
    choice = detect(dirs, {"CODEBUDDY_BASE_URL": "https://env/v2/"})
    assert (choice.url, choice.source) == ("https://env/v2", "CODEBUDDY_BASE_URL in the environment")


def test_login_cache_json_string_gets_v2_appended(dirs) -> None:  # type: ignore[no-untyped-def]
    storage = dirs[0] / ".codebuddy" / "local_storage"
    (storage / "other").write_text(json.dumps({"theme": "dark"}))
    (storage / "endpoint").write_text(json.dumps("https://tencent.sso.copilot.tencent.com/"))
    choice = detect(dirs)
    assert (choice.url, choice.source) == (
        "https://tencent.sso.copilot.tencent.com/v2",
        "the login cache ~/.codebuddy/local_storage/endpoint",
    )


def test_login_cache_doubly_encoded_or_already_versioned(dirs) -> None:  # type: ignore[no-untyped-def]
    storage = dirs[0] / ".codebuddy" / "local_storage"
    (storage / "endpoint").write_text(json.dumps(json.dumps("https://www.codebuddy.ai/v2")))
    assert detect(dirs).url == "https://www.codebuddy.ai/v2"
    (storage / "endpoint").write_text(json.dumps('"broken'))
    (storage / "junk").write_text("not json")
    assert detect(dirs).url == "https://copilot.tencent.com/v2"


def test_a_broken_settings_file_is_noted(dirs) -> None:  # type: ignore[no-untyped-def]
    (dirs[1] / ".codebuddy" / "settings.json").write_text("{")
    choice = detect(dirs)
    assert choice.notes[0].startswith("skipped ./.codebuddy/settings.json: not valid JSON")


def test_no_login_cache_directory(tmp_path: Path) -> None:
    assert CODEBUDDY.detect_target({}, tmp_path, tmp_path, []).url == "https://copilot.tencent.com/v2"


def test_reverse_launch_injects_settings_unless_the_user_has_their_own() -> None:
    settings = json.dumps({"env": {"CODEBUDDY_BASE_URL": PROXY}}, separators=(",", ":"))
    assert CODEBUDDY.launch_argv(["-p", "hi"], PROXY, "reverse") == [
        "codebuddy",
        "--settings",
        settings,
        "-p",
        "hi",
    ]
    assert CODEBUDDY.launch_argv(["--settings=x.json"], PROXY, "reverse") == [
        "codebuddy",
        "--settings=x.json",
    ]
    assert CODEBUDDY.launch_argv(["-p", "hi"], PROXY, "forward") == ["codebuddy", "-p", "hi"]
    assert CODEBUDDY.launch_env({}, PROXY, "reverse") == {"CODEBUDDY_BASE_URL": PROXY}
    assert CODEBUDDY.launch_env({}, PROXY, "forward") == {}
