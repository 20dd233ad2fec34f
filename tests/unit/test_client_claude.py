"""The Claude Code adapter: where the upstream is, and how the child is launched."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from claude_tap.clients.base import TargetChoice
from claude_tap.clients.claude import CLAUDE

PROXY = "http://127.0.0.1:4321"
PROXY_SETTINGS = json.dumps(
    {
        "env": {
            "ANTHROPIC_BASE_URL": PROXY,
            "ANTHROPIC_BEDROCK_BASE_URL": PROXY,
            "ANTHROPIC_VERTEX_BASE_URL": PROXY,
        }
    },
    separators=(",", ":"),
)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    (tmp_path / "home").mkdir()
    return tmp_path / "home"


@pytest.fixture
def cwd(tmp_path: Path) -> Path:
    (tmp_path / "project").mkdir()
    return tmp_path / "project"


def write_settings(directory: Path, name: str, content: object) -> None:
    (directory / ".claude").mkdir(exist_ok=True)
    text = content if isinstance(content, str) else json.dumps(content)
    (directory / ".claude" / name).write_text(text)


def detect(env: dict[str, str], home: Path, cwd: Path, argv: list[str] | None = None) -> TargetChoice:
    return CLAUDE.detect_target(env, home, cwd, argv or [])


# --- target detection ---------------------------------------------------------------------------------


def test_without_any_setting_the_target_is_the_anthropic_api(home: Path, cwd: Path) -> None:
    assert detect({}, home, cwd) == TargetChoice("https://api.anthropic.com", "default")


def test_anthropic_base_url_in_the_environment_wins_over_settings_files(home: Path, cwd: Path) -> None:
    write_settings(cwd, "settings.local.json", {"env": {"ANTHROPIC_BASE_URL": "https://local.example"}})
    env = {"ANTHROPIC_BASE_URL": "https://gateway.example/anthropic/"}
    assert detect(env, home, cwd) == TargetChoice(
        "https://gateway.example/anthropic", "ANTHROPIC_BASE_URL in the environment"
    )


@pytest.mark.parametrize(
    ("present", "expected_label"),
    [
        (["local", "project", "user"], "./.claude/settings.local.json"),
        (["project", "user"], "./.claude/settings.json"),
        (["user"], "~/.claude/settings.json"),
    ],
)
def test_settings_files_are_read_local_then_project_then_user(
    home: Path, cwd: Path, present: list[str], expected_label: str
) -> None:
    files = {
        "local": (cwd, "settings.local.json", "https://local.example"),
        "project": (cwd, "settings.json", "https://project.example"),
        "user": (home, "settings.json", "https://user.example"),
    }
    for key in present:
        directory, name, url = files[key]
        write_settings(directory, name, {"env": {"ANTHROPIC_BASE_URL": url}, "model": "x"})
    choice = detect({}, home, cwd)
    assert choice.url == files[present[0]][2]
    assert choice.source == f"ANTHROPIC_BASE_URL in {expected_label}"


def test_an_empty_variable_counts_as_unset(home: Path, cwd: Path) -> None:
    write_settings(home, "settings.json", {"env": {"ANTHROPIC_BASE_URL": "https://user.example"}})
    assert detect({"ANTHROPIC_BASE_URL": " "}, home, cwd).url == "https://user.example"


def test_malformed_settings_file_is_skipped_with_a_note(home: Path, cwd: Path) -> None:
    write_settings(cwd, "settings.json", '{"env": {"ANTHROPIC_BASE_URL": ')
    write_settings(home, "settings.json", {"env": {"ANTHROPIC_BASE_URL": "https://user.example"}})
    choice = detect({}, home, cwd)
    assert choice.url == "https://user.example"
    assert len(choice.notes) == 1
    assert choice.notes[0].startswith("skipped ./.claude/settings.json: not valid JSON (")


@pytest.mark.parametrize("content", [[1, 2], {"env": ["ANTHROPIC_BASE_URL"]}])
def test_settings_file_of_the_wrong_shape_is_skipped_with_a_note(
    home: Path, cwd: Path, content: object
) -> None:
    write_settings(cwd, "settings.local.json", content)
    assert detect({}, home, cwd) == TargetChoice(
        "https://api.anthropic.com",
        "default",
        ('skipped ./.claude/settings.local.json: expected a JSON object with an "env" object',),
    )


def test_settings_argument_as_json_is_read_after_the_environment(home: Path, cwd: Path) -> None:
    write_settings(cwd, "settings.json", {"env": {"ANTHROPIC_BASE_URL": "https://project.example"}})
    argv = ["-p", "hi", "--settings", '{"env": {"ANTHROPIC_BASE_URL": "https://flag.example"}}']
    assert detect({}, home, cwd, argv) == TargetChoice(
        "https://flag.example", "ANTHROPIC_BASE_URL in --settings JSON"
    )


def test_settings_argument_as_a_file_is_read_relative_to_cwd(home: Path, cwd: Path) -> None:
    (cwd / "mine.json").write_text(json.dumps({"env": {"ANTHROPIC_BASE_URL": "https://file.example"}}))
    choice = detect({}, home, cwd, ["--settings=mine.json"])
    assert choice == TargetChoice("https://file.example", "ANTHROPIC_BASE_URL in --settings mine.json")


def test_settings_argument_naming_a_missing_file_is_noted(home: Path, cwd: Path) -> None:
    choice = detect({}, home, cwd, ["--settings", "nowhere.json"])
    assert choice.notes == ("skipped --settings nowhere.json: no such file",)


def test_settings_after_double_dash_is_a_prompt_not_a_flag(home: Path, cwd: Path) -> None:
    argv = ["--", "--settings", '{"env": {"ANTHROPIC_BASE_URL": "https://flag.example"}}']
    assert detect({}, home, cwd, argv).url == "https://api.anthropic.com"


# --- Bedrock and Vertex ----------------------------------------------------------------------------------


def test_bedrock_gateway_url_is_the_target(home: Path, cwd: Path) -> None:
    env = {
        "CLAUDE_CODE_USE_BEDROCK": "1",
        "CLAUDE_CODE_SKIP_BEDROCK_AUTH": "1",
        "ANTHROPIC_BEDROCK_BASE_URL": "https://llm-gw.example/bedrock/",
        "ANTHROPIC_BASE_URL": "https://ignored.example",
    }
    assert detect(env, home, cwd) == TargetChoice(
        "https://llm-gw.example/bedrock", "ANTHROPIC_BEDROCK_BASE_URL in the environment (Bedrock gateway)"
    )


def test_bedrock_gateway_with_signed_requests_gets_a_note(home: Path, cwd: Path) -> None:
    env = {"CLAUDE_CODE_USE_BEDROCK": "true", "ANTHROPIC_BEDROCK_BASE_URL": "https://llm-gw.example"}
    choice = detect(env, home, cwd)
    assert choice.reverse_refusal is None
    assert choice.notes == (
        "Bedrock requests are SigV4-signed for the proxy's address; if the gateway checks signatures, "
        "set CLAUDE_CODE_SKIP_BEDROCK_AUTH=1 or use --tap-proxy-mode forward",
    )


def test_native_bedrock_endpoint_refuses_reverse_mode(home: Path, cwd: Path) -> None:
    env = {
        "CLAUDE_CODE_USE_BEDROCK": "1",
        "ANTHROPIC_BEDROCK_BASE_URL": "https://bedrock-runtime.eu-west-1.amazonaws.com",
    }
    choice = detect(env, home, cwd)
    assert choice.url == "https://bedrock-runtime.eu-west-1.amazonaws.com"
    assert choice.reverse_refusal == (
        "Claude Code is set up for AWS Bedrock at https://bedrock-runtime.eu-west-1.amazonaws.com: its "
        "requests are signed for that host, so they cannot be redirected through a base URL. "
        "Run with --tap-proxy-mode forward."
    )


def test_bedrock_without_base_url_refuses_reverse_mode_naming_the_region(home: Path, cwd: Path) -> None:
    choice = detect({"CLAUDE_CODE_USE_BEDROCK": "1", "AWS_REGION": "ap-south-1"}, home, cwd)
    assert choice.url == "https://bedrock-runtime.ap-south-1.amazonaws.com"
    assert choice.reverse_refusal is not None
    assert "--tap-proxy-mode forward" in choice.reverse_refusal


def test_bedrock_switched_on_in_a_settings_file_counts(home: Path, cwd: Path) -> None:
    write_settings(home, "settings.json", {"env": {"CLAUDE_CODE_USE_BEDROCK": 1}})
    choice = detect({"ANTHROPIC_BASE_URL": "https://gw.example"}, home, cwd)
    assert choice.url == "https://bedrock-runtime.us-east-1.amazonaws.com"
    assert choice.reverse_refusal is not None


def test_bedrock_switched_off_in_the_environment_beats_the_settings_file(home: Path, cwd: Path) -> None:
    write_settings(home, "settings.json", {"env": {"CLAUDE_CODE_USE_BEDROCK": "1"}})
    choice = detect({"CLAUDE_CODE_USE_BEDROCK": "0"}, home, cwd)
    assert choice == TargetChoice("https://api.anthropic.com", "default")


def test_vertex_base_url_is_the_target(home: Path, cwd: Path) -> None:
    write_settings(cwd, "settings.json", {"env": {"ANTHROPIC_VERTEX_BASE_URL": "https://vx-gw.example/v1"}})
    choice = detect({"CLAUDE_CODE_USE_VERTEX": "1"}, home, cwd)
    assert choice == TargetChoice(
        "https://vx-gw.example/v1", "ANTHROPIC_VERTEX_BASE_URL in ./.claude/settings.json (Vertex AI)"
    )


@pytest.mark.parametrize(
    ("region", "url"),
    [
        ("us-east5", "https://us-east5-aiplatform.googleapis.com/v1"),
        ("global", "https://aiplatform.googleapis.com/v1"),
    ],
)
def test_vertex_without_base_url_targets_the_regional_endpoint(
    home: Path, cwd: Path, region: str, url: str
) -> None:
    choice = detect({"CLAUDE_CODE_USE_VERTEX": "1", "CLOUD_ML_REGION": region}, home, cwd)
    assert choice == TargetChoice(url, f"CLOUD_ML_REGION={region} in the environment (Vertex AI)")


def test_vertex_model_regions_elsewhere_get_a_note(home: Path, cwd: Path) -> None:
    env = {
        "CLAUDE_CODE_USE_VERTEX": "1",
        "CLOUD_ML_REGION": "us-east5",
        "VERTEX_REGION_CLAUDE_3_5_HAIKU": "europe-west1",
        "VERTEX_REGION_CLAUDE_4_0_SONNET": "us-east5",
    }
    assert detect(env, home, cwd).notes == (
        "VERTEX_REGION_CLAUDE_3_5_HAIKU send some models to other regions, but reverse mode sends every "
        "request to https://us-east5-aiplatform.googleapis.com/v1; if those requests fail, "
        "use --tap-proxy-mode forward",
    )


def test_vertex_without_region_or_base_url_refuses_reverse_mode(home: Path, cwd: Path) -> None:
    choice = detect({"CLAUDE_CODE_USE_VERTEX": "1"}, home, cwd)
    assert choice.reverse_refusal is not None
    assert "CLOUD_ML_REGION" in choice.reverse_refusal


# --- the child's environment and argv ---------------------------------------------------------------------


def test_reverse_mode_points_every_base_url_variable_at_the_proxy() -> None:
    env = {
        "PATH": "/bin",
        "ANTHROPIC_BASE_URL": "https://gw.example",
        "CLAUDECODE": "1",
        "CLAUDE_CODE_SSE_PORT": "5",
    }
    assert CLAUDE.launch_env(env, PROXY, "reverse") == {
        "PATH": "/bin",
        "ANTHROPIC_BASE_URL": PROXY,
        "ANTHROPIC_BEDROCK_BASE_URL": PROXY,
        "ANTHROPIC_VERTEX_BASE_URL": PROXY,
    }
    assert env["ANTHROPIC_BASE_URL"] == "https://gw.example"  # the caller's mapping is left alone


def test_forward_mode_keeps_base_urls_and_drops_session_variables() -> None:
    env = {"ANTHROPIC_BASE_URL": "https://gw.example", "CLAUDECODE": "1", "CLAUDE_CODE_SSE_PORT": "5"}
    assert CLAUDE.launch_env(env, PROXY, "forward") == {"ANTHROPIC_BASE_URL": "https://gw.example"}


def test_reverse_mode_injects_settings_so_settings_files_cannot_override_the_proxy() -> None:
    assert CLAUDE.launch_argv(["-p", "hi"], PROXY, "reverse") == [
        "claude",
        "--settings",
        PROXY_SETTINGS,
        "-p",
        "hi",
    ]


@pytest.mark.parametrize(
    "argv",
    [["--settings", "mine.json", "-p", "hi"], ["-p", "hi", "--settings={}"]],
)
def test_users_own_settings_argument_is_left_alone(argv: list[str]) -> None:
    assert CLAUDE.launch_argv(argv, PROXY, "reverse") == ["claude", *argv]


def test_settings_after_double_dash_does_not_stop_the_injection() -> None:
    argv = ["--", "--settings"]
    assert CLAUDE.launch_argv(argv, PROXY, "reverse") == ["claude", "--settings", PROXY_SETTINGS, *argv]


def test_forward_mode_runs_claude_with_the_arguments_unchanged() -> None:
    assert CLAUDE.launch_argv(["-p", "hi"], PROXY, "forward") == ["claude", "-p", "hi"]


@pytest.mark.parametrize(
    ("first", "command"),
    [
        ("/home/u/.vscode/extensions/anthropic.claude-code/resources/native-binary/claude", None),
        (r"C:\Users\u\.vscode\extensions\anthropic.claude-code\claude.exe", None),
        ("/usr/lib/node_modules/@anthropic-ai/claude-code/cli.js", "node"),
    ],
)
def test_vscode_process_wrapper_runs_the_claude_path_it_is_given(first: str, command: str | None) -> None:
    argv = [first, "--output-format", "stream-json"]
    expected = [
        *([command] if command else []),
        first,
        "--settings",
        PROXY_SETTINGS,
        "--output-format",
        "stream-json",
    ]
    assert CLAUDE.launch_argv(argv, PROXY, "reverse") == expected


def test_an_existing_file_named_claude_in_the_working_directory_is_the_executable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert CLAUDE.launch_argv(["claude", "-p"], PROXY, "forward") == ["claude", "claude", "-p"]
    (tmp_path / "claude").write_text("")
    assert CLAUDE.launch_argv(["claude", "-p"], PROXY, "forward") == ["claude", "-p"]


def test_a_path_to_something_else_is_an_argument() -> None:
    assert CLAUDE.launch_argv(["/tmp/notes.md"], PROXY, "forward") == ["claude", "/tmp/notes.md"]


def test_claude_keeps_paths_and_argv_as_they_are() -> None:
    assert CLAUDE.reverse_strip_path_prefix("https://api.anthropic.com") is None
    assert CLAUDE.reverse_strip_path_prefix("https://gateway.example/v1") is None
    rewrite = CLAUDE.rewrite_argv(["-p", "hi"])
    assert (rewrite.argv, rewrite.note) == (("-p", "hi"), None)


def test_settings_path_that_cannot_be_read_is_skipped_with_a_note(home: Path, cwd: Path) -> None:
    (cwd / ".claude" / "settings.json").mkdir(parents=True)
    choice = detect({}, home, cwd)
    assert choice.url == "https://api.anthropic.com"
    assert choice.notes[0].startswith("skipped ./.claude/settings.json: cannot read it (")
