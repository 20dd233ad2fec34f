"""The Gemini CLI adapter: API key, Vertex AI and Google-login targets, .env files, the child's launch."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from claude_tap.clients.gemini import GEMINI
from claude_tap.proxy.upstream import build_upstream_url

PROXY = "http://127.0.0.1:4321"


@pytest.fixture
def dirs(tmp_path: Path) -> tuple[Path, Path]:
    home = tmp_path / "home"
    cwd = home / "work" / "project"
    cwd.mkdir(parents=True)
    return home, cwd


def detect(env: dict[str, str], dirs: tuple[Path, Path]):  # type: ignore[no-untyped-def]
    home, cwd = dirs
    return GEMINI.detect_target(env, home, cwd, [])


def test_defaults_match_the_spec() -> None:
    assert (GEMINI.default_proxy_mode, GEMINI.error_style, GEMINI.executable) == (
        "forward",
        "gemini",
        "gemini",
    )
    assert GEMINI.install_hint == "npm install -g @google/gemini-cli"
    assert GEMINI.reverse_strip_path_prefix("https://generativelanguage.googleapis.com") is None


def test_the_sdk_path_reaches_the_gemini_api_unchanged() -> None:
    path = "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
    url = build_upstream_url(
        GEMINI.default_target, path, GEMINI.reverse_strip_path_prefix(GEMINI.default_target)
    )
    assert url == "https://generativelanguage.googleapis.com" + path


def test_api_key_in_the_environment_means_the_gemini_api(dirs) -> None:  # type: ignore[no-untyped-def]
    choice = detect({"GEMINI_API_KEY": "k"}, dirs)
    assert (choice.url, choice.source, choice.reverse_refusal) == (
        "https://generativelanguage.googleapis.com",
        "default (Gemini API key)",
        None,
    )


def test_base_url_variable_wins(dirs) -> None:  # type: ignore[no-untyped-def]
    choice = detect({"GOOGLE_GEMINI_BASE_URL": "https://gw.example/gemini/", "GEMINI_API_KEY": "k"}, dirs)
    assert (choice.url, choice.source) == (
        "https://gw.example/gemini",
        "GOOGLE_GEMINI_BASE_URL in the environment",
    )


def test_no_key_means_a_google_login_that_reverse_mode_refuses(dirs) -> None:  # type: ignore[no-untyped-def]
    choice = detect({}, dirs)
    assert choice.url == "https://cloudcode-pa.googleapis.com"
    assert choice.reverse_refusal is not None and "--tap-proxy-mode forward" in choice.reverse_refusal


def test_the_first_dotenv_found_supplies_the_key_and_the_environment_wins_over_it(dirs) -> None:  # type: ignore[no-untyped-def]
    home, cwd = dirs
    (cwd / ".gemini").mkdir()
    (cwd / ".gemini" / ".env").write_text(
        '# project\nexport GEMINI_API_KEY="k"\nGOOGLE_GEMINI_BASE_URL=https://file.example # c\n'
    )
    (home / ".gemini").mkdir()
    (home / ".gemini" / ".env").write_text("GOOGLE_GEMINI_BASE_URL=https://home.example\n")
    choice = detect({}, dirs)
    assert choice.url == "https://file.example"
    assert choice.source == f"GOOGLE_GEMINI_BASE_URL in the environment or {cwd / '.gemini' / '.env'}"
    assert detect({"GOOGLE_GEMINI_BASE_URL": "https://env.example"}, dirs).url == "https://env.example"


def test_a_parent_directory_dotenv_and_the_home_one_are_found(dirs) -> None:  # type: ignore[no-untyped-def]
    home, cwd = dirs
    (home / ".gemini").mkdir()
    (home / ".gemini" / ".env").write_text("GEMINI_API_KEY='k'\n")
    assert detect({}, dirs).source == "default (Gemini API key)"
    (cwd.parent / ".env").write_text("GOOGLE_GEMINI_BASE_URL=https://parent.example\n")
    assert detect({}, dirs).url == "https://parent.example"


def test_settings_select_the_api_key_or_vertex(dirs) -> None:  # type: ignore[no-untyped-def]
    home, _ = dirs
    (home / ".gemini").mkdir()
    settings = home / ".gemini" / "settings.json"
    settings.write_text(json.dumps({"security": {"auth": {"selectedType": "gemini-api-key"}}}))
    assert detect({}, dirs).reverse_refusal is None
    settings.write_text(json.dumps({"selectedAuthType": "vertex-ai"}))  # the older key
    assert detect({}, dirs).url == "https://aiplatform.googleapis.com"
    settings.write_text("{not json")
    choice = detect({}, dirs)
    assert choice.reverse_refusal is not None
    assert choice.notes[0].startswith("skipped ~/.gemini/settings.json: not valid JSON")


@pytest.mark.parametrize(
    ("env", "url"),
    [
        ({"GOOGLE_CLOUD_LOCATION": "europe-west4"}, "https://europe-west4-aiplatform.googleapis.com"),
        ({"GOOGLE_CLOUD_LOCATION": "global"}, "https://aiplatform.googleapis.com"),
        ({}, "https://aiplatform.googleapis.com"),
        ({"GOOGLE_VERTEX_BASE_URL": "https://vertex.gw/"}, "https://vertex.gw"),
    ],
)
def test_vertex_targets(dirs, env: dict[str, str], url: str) -> None:  # type: ignore[no-untyped-def]
    choice = detect({"GOOGLE_GENAI_USE_VERTEXAI": "true", **env}, dirs)
    assert (choice.url, choice.reverse_refusal) == (url, None)


def test_reverse_mode_points_both_variables_at_the_proxy_and_forward_mode_keeps_them() -> None:
    env = {"GOOGLE_GEMINI_BASE_URL": "https://mine", "PATH": "/bin"}
    child = GEMINI.launch_env(env, PROXY, "reverse")
    assert child == {"GOOGLE_GEMINI_BASE_URL": PROXY, "GOOGLE_VERTEX_BASE_URL": PROXY, "PATH": "/bin"}
    assert GEMINI.launch_env(env, PROXY, "forward") == env
    assert GEMINI.launch_argv(["-p", "hi"], PROXY, "reverse") == ["gemini", "-p", "hi"]
    assert GEMINI.rewrite_argv(["-p", "hi"]).note is None
