"""The command line: which arguments are claude-tap's and which the client's, and what users see.

Parsing is checked through `parse_command` (values out) and through `main` in-process with an injected
Environment (exit code, stdout, stderr), the way a person meets it.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import pytest

from claude_tap import __version__
from claude_tap.cli import Environment, main
from claude_tap.options import FLAGS, Command, UsageError, parse_command, split_argv
from claude_tap.run import client_facing_url, shell_lines_for


@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str


def run_cli(args: list[str], tmp_path: Path, **environ: str) -> Result:
    stdout, stderr = io.StringIO(), io.StringIO()
    env = Environment(
        stdin=io.StringIO(),
        stdout=stdout,
        stderr=stderr,
        environ={"HOME": str(tmp_path), "CLAUDE_TAP_HOME": str(tmp_path / "tap"), **environ},
        home=tmp_path,
        cwd=tmp_path,
    )
    code = main(args, env)
    return Result(code, stdout.getvalue(), stderr.getvalue())


def parse(args: list[str], **environ: str) -> Command:
    return parse_command(args, environ)


# --- which arguments go where ---


def test_client_arguments_pass_through_unchanged_and_in_order() -> None:
    command = parse(["-p", "hello world", "--model", "opus", "--verbose", "-c"])
    assert command.name == "run"
    assert command.options.client_args == ("-p", "hello world", "--model", "opus", "--verbose", "-c")


def test_tap_flags_are_taken_out_wherever_they_stand_before_a_double_dash() -> None:
    command = parse(["-p", "--tap-port", "8123", "hi", "--tap-live", "--model=x", "--tap-client=codex"])
    assert command.options.client_args == ("-p", "hi", "--model=x")
    assert (command.options.port, command.options.live, command.options.client) == (8123, True, "codex")


def test_leading_double_dash_ends_tap_options_and_is_dropped() -> None:
    command = parse(["--tap-client", "codex", "--", "exec", "--tap-port", "1", "--help", "--"])
    assert command.options.client == "codex"
    assert command.options.port == 0
    assert command.options.client_args == ("exec", "--tap-port", "1", "--help", "--")
    assert command.wants_help is False


def test_double_dash_after_a_client_argument_is_the_clients() -> None:
    command = parse(["exec", "--", "--tap-live", "-x"])
    assert command.options.client_args == ("exec", "--", "--tap-live", "-x")
    assert command.options.live is False


def test_help_is_ours_only_before_client_arguments() -> None:
    assert parse(["--help"]).wants_help
    assert parse(["--tap-client", "codex", "-h"]).wants_help
    for args in (["--", "--help"], ["-p", "--help"], ["--", "-h"]):
        command = parse(args)
        assert not command.wants_help, args
        assert command.options.client_args[-1] in ("--help", "-h")


def test_version_is_ours_only_before_client_arguments() -> None:
    assert parse(["--version"]).wants_version
    assert parse(["--", "--version"]).options.client_args == ("--version",)
    assert parse(["--model", "x", "--version"]).options.client_args == ("--model", "x", "--version")


@pytest.mark.parametrize(
    "word", ["demo", "view", "export", "sessions", "search", "index", "dashboard", "ca", "doctor"]
)
def test_subcommand_words_reach_the_client_unless_first(word: str) -> None:
    assert parse(["--", word]).options.client_args == (word,)
    assert parse(["--tap-port", "0", word]).options.client_args == (word,)
    assert parse(["-p", word]).options.client_args == ("-p", word)


def test_subcommand_is_recognised_as_first_argument() -> None:
    assert parse(["demo"]).name == "demo"
    view = parse(["view", "some/trace.jsonl.zst", "--tap-port", "9000"])
    assert (view.name, view.args["trace"], view.options.port) == ("view", Path("some/trace.jsonl.zst"), 9000)
    export = parse(["export", "t.jsonl.zst", "-o", "out.md"])
    assert (export.args["trace"], export.args["output"], export.args["format"]) == (
        Path("t.jsonl.zst"),
        Path("out.md"),
        None,
    )


def test_a_tap_value_starting_with_a_dash_is_still_the_flags_value() -> None:
    split = split_argv(["--tap-output-dir", "-odd-dir", "-p"])
    assert split.tap == ("--tap-output-dir=-odd-dir",)
    assert split.client == ("-p",)


# --- no abbreviations, helpful errors ---


def test_abbreviated_flag_is_an_error_not_a_prefix_match(tmp_path: Path) -> None:
    result = run_cli(["--tap-cli", "codex"], tmp_path)
    assert result.exit_code == 2
    assert "unknown flag '--tap-cli'" in result.stderr
    assert "Did you mean --tap-client?" in result.stderr
    assert "claude-tap --help" in result.stderr
    assert result.stdout == ""


def test_abbreviation_is_refused_inside_subcommands_too(tmp_path: Path) -> None:
    result = run_cli(["view", "x.jsonl", "--tap-po", "1"], tmp_path)
    assert result.exit_code == 2
    assert "unknown flag '--tap-po'" in result.stderr and "--tap-port" in result.stderr


@pytest.mark.parametrize(
    ("args", "quoted", "hint"),
    [
        (["--tap-port", "abc"], "'abc'", "0 for any free port"),
        (["--tap-port", "70000"], "'70000'", "out of range"),
        (["--tap-proxy-mode", "sideways"], "'sideways'", "reverse or forward"),
        (["--tap-target", "ftp://example.com"], "'ftp://example.com'", "http(s) URL"),
        (["--tap-target=api.anthropic.com"], "'api.anthropic.com'", "http(s) URL"),
        (["--tap-client", "nope"], "'nope'", "known clients: claude"),
        (["--tap-read-timeout", "-1"], "'-1'", "positive number of seconds"),
        (["--tap-connect-timeout", "soon"], "'soon'", "number of seconds"),
    ],
)
def test_bad_value_exits_2_quoting_the_value_and_the_fix(
    tmp_path: Path, args: list[str], quoted: str, hint: str
) -> None:
    result = run_cli(args, tmp_path)
    assert result.exit_code == 2
    assert args[0].split("=")[0] in result.stderr
    assert quoted in result.stderr
    assert hint in result.stderr
    assert "See `claude-tap --help`" in result.stderr
    assert result.stdout == ""


def test_missing_value_names_the_flag(tmp_path: Path) -> None:
    result = run_cli(["-p", "hi", "--tap-port"], tmp_path)
    assert result.exit_code == 2
    assert "--tap-port needs a value, e.g. --tap-port PORT" in result.stderr


def test_switch_given_a_value_is_an_error(tmp_path: Path) -> None:
    result = run_cli(["--tap-live=1"], tmp_path)
    assert result.exit_code == 2
    assert "--tap-live is a switch and takes no value" in result.stderr


def test_flag_of_another_command_is_refused_by_name(tmp_path: Path) -> None:
    result = run_cli(["demo", "--tap-client", "codex"], tmp_path)
    assert result.exit_code == 2
    assert "--tap-client does not apply to `claude-tap demo`" in result.stderr


def test_export_without_output_is_a_usage_error(tmp_path: Path) -> None:
    result = run_cli(["export", "trace.jsonl.zst"], tmp_path)
    assert result.exit_code == 2
    assert "-o/--output" in result.stderr
    assert "claude-tap export --help" in result.stderr


# --- CLAUDE_TAP_* variables ---


def test_every_flag_is_readable_from_its_variable() -> None:
    environ = {
        "CLAUDE_TAP_CLIENT": "codex",
        "CLAUDE_TAP_TARGET": "https://example.test/api/",
        "CLAUDE_TAP_PROXY_MODE": "reverse",
        "CLAUDE_TAP_PORT": "9001",
        "CLAUDE_TAP_HOST": "::1",
        "CLAUDE_TAP_NO_LAUNCH": "1",
        "CLAUDE_TAP_CONNECT_TIMEOUT": "3.5",
        "CLAUDE_TAP_READ_TIMEOUT": "42",
        "CLAUDE_TAP_OUTPUT_DIR": "/tmp/traces-here",
        "CLAUDE_TAP_LIVE": "yes",
        "CLAUDE_TAP_NO_OPEN": "true",
        "CLAUDE_TAP_DEBUG": "on",
        "CLAUDE_TAP_INTERCEPT_ALL": "1",
        "CLAUDE_TAP_RESOLVE": "a.test:443:127.0.0.1:8443 b.test:443:[::1]:9",
        "CLAUDE_TAP_UPSTREAM_CA": __file__,
        "CLAUDE_TAP_UPSTREAM_PROXY": "direct",
        "CLAUDE_TAP_WATCHDOG": "0",
        "CLAUDE_TAP_OTLP_CONTENT": "1",
        "CLAUDE_TAP_OTLP_ENDPOINT": "http://127.0.0.1:4318/",
    }
    assert {flag.env_var for flag in FLAGS} == set(environ)
    options = parse([], **environ).options
    assert options.client == "codex"
    assert options.target == "https://example.test/api"
    assert options.proxy_mode == "reverse"
    assert (options.port, options.host) == (9001, "::1")
    assert (options.connect_timeout, options.read_timeout) == (3.5, 42.0)
    assert options.output_dir == Path("/tmp/traces-here")
    assert (options.no_launch, options.live, options.no_open, options.debug) == (True, True, True, True)
    assert options.otlp_content is True and options.otlp_endpoint == "http://127.0.0.1:4318"
    assert options.from_env["target"] == "CLAUDE_TAP_TARGET"
    assert options.intercept_all and options.upstream_proxy == "direct" and options.watchdog == 0
    assert [rule.host for rule in options.resolve] == ["a.test", "b.test"]
    assert options.upstream_ca == Path(__file__)


def test_resolve_is_repeatable_and_bad_values_are_named() -> None:
    options = parse(
        ["--tap-resolve", "a.test:443:127.0.0.1:1", "--tap-resolve=b.test:80:127.0.0.1:2"]
    ).options
    assert [(r.host, r.address_port) for r in options.resolve] == [("a.test", 1), ("b.test", 2)]
    assert parse([]).options.resolve == ()
    with pytest.raises(UsageError, match="--tap-resolve: 'nonsense' is not HOST:PORT:ADDR:PORT"):
        parse(["--tap-resolve", "nonsense"])
    with pytest.raises(UsageError, match="CLAUDE_TAP_UPSTREAM_PROXY='ftp://x'"):
        parse([], CLAUDE_TAP_UPSTREAM_PROXY="ftp://x")
    with pytest.raises(UsageError, match="is not a file"):
        parse(["--tap-upstream-ca", "/no/such/file.pem"])
    with pytest.raises(UsageError, match="--tap-otlp-endpoint: 'localhost:4318' is not an http"):
        parse(["--tap-otlp-endpoint", "localhost:4318"])


def test_flag_wins_over_variable() -> None:
    options = parse(
        ["--tap-port", "8000", "--tap-client", "claude"], CLAUDE_TAP_PORT="9000", CLAUDE_TAP_CLIENT="codex"
    ).options
    assert (options.port, options.client) == (8000, "claude")
    assert "port" not in options.from_env


def test_switch_variable_set_to_off_stays_off() -> None:
    assert parse([], CLAUDE_TAP_LIVE="0").options.live is False
    assert parse([], CLAUDE_TAP_LIVE="").options.live is False


def test_bad_variable_value_names_the_variable(tmp_path: Path) -> None:
    result = run_cli([], tmp_path, CLAUDE_TAP_NO_LAUNCH="maybe")
    assert result.exit_code == 2
    assert "CLAUDE_TAP_NO_LAUNCH='maybe'" in result.stderr
    assert "Fix or unset the variable" in result.stderr
    result = run_cli([], tmp_path, CLAUDE_TAP_PORT="http")
    assert result.exit_code == 2
    assert "CLAUDE_TAP_PORT='http'" in result.stderr


def test_defaults_without_flags_or_variables() -> None:
    options = parse([]).options
    assert (options.client, options.target, options.proxy_mode) == ("claude", None, None)
    assert (options.port, options.host, options.no_launch, options.live) == (0, "127.0.0.1", False, False)
    assert options.client_args == ()


def test_parse_error_is_a_usage_error_not_system_exit() -> None:
    with pytest.raises(UsageError):
        parse(["--tap-port", "x"])


# --- help, version, stdout ---


def test_help_lists_every_flag_with_its_default_and_variable(tmp_path: Path) -> None:
    result = run_cli(["--help"], tmp_path)
    assert result.exit_code == 0
    assert result.stderr == ""
    text = " ".join(result.stdout.split())  # argparse wraps lines
    for flag in FLAGS:
        assert flag.option in text
        assert f"env {flag.env_var})" in text
    assert "(default: claude; env CLAUDE_TAP_CLIENT)" in text
    for heading in ("choosing the client:", "proxy:", "output:", "viewer:"):
        assert heading in result.stdout
    assert "claude-tap demo" in text


def test_subcommand_help(tmp_path: Path) -> None:
    result = run_cli(["demo", "--help"], tmp_path)
    assert result.exit_code == 0
    assert "usage: claude-tap demo" in result.stdout
    assert "--tap-no-open" in result.stdout and "--tap-client" not in result.stdout


def test_version(tmp_path: Path) -> None:
    result = run_cli(["--version"], tmp_path)
    assert (result.exit_code, result.stdout, result.stderr) == (0, f"claude-tap {__version__}\n", "")


# --- refusals that stop a run before anything starts ---


def test_an_upstream_ca_that_is_not_pem_is_refused_with_exit_2(tmp_path: Path) -> None:
    not_pem = tmp_path / "ca.pem"
    not_pem.write_text("not a certificate")
    result = run_cli(
        ["--tap-proxy-mode", "forward", "--tap-upstream-ca", str(not_pem), "--", "-p", "hi"], tmp_path
    )
    assert result.exit_code == 2
    assert f"--tap-upstream-ca {not_pem}: not a PEM file of CA certificates" in result.stderr
    assert result.stdout == ""
    assert not (tmp_path / "tap").exists()  # refused before any session directory was made


def test_target_the_client_adapter_refuses_exits_2_with_its_reason(tmp_path: Path) -> None:
    result = run_cli(["-p", "hi"], tmp_path, CLAUDE_CODE_USE_BEDROCK="1", AWS_REGION="eu-west-1")
    assert result.exit_code == 2
    assert (
        "Claude Code is set up for AWS Bedrock at https://bedrock-runtime.eu-west-1.amazonaws.com"
        in result.stderr
    )
    assert not (tmp_path / "tap").exists()


def test_view_of_a_missing_trace_says_which_path(tmp_path: Path) -> None:
    result = run_cli(["view", "nowhere.jsonl.zst", "--tap-no-open"], tmp_path)
    assert result.exit_code != 0
    assert f"no such trace: {tmp_path / 'nowhere.jsonl.zst'}" in result.stderr


# --- small pieces of a run ---


def test_no_launch_lines_set_and_unset_exactly_what_the_child_would_get() -> None:
    current = {"PATH": "/bin", "CLAUDECODE": "1", "ANTHROPIC_BASE_URL": "https://gw.example"}
    wanted = {"PATH": "/bin", "ANTHROPIC_BASE_URL": "http://127.0.0.1:8080", "NOTE": "a b'c"}
    assert shell_lines_for(current, wanted) == [
        "export ANTHROPIC_BASE_URL=http://127.0.0.1:8080",
        "export NOTE='a b'\"'\"'c'",
        "unset CLAUDECODE",
    ]


@pytest.mark.parametrize(
    ("bound", "host", "reached"),
    [
        ("http://127.0.0.1:81", "127.0.0.1", "http://127.0.0.1:81"),
        ("http://0.0.0.0:81", "0.0.0.0", "http://127.0.0.1:81"),
        ("http://[::]:81", "::", "http://[::1]:81"),
        ("http://[::1]:81", "::1", "http://[::1]:81"),
    ],
)
def test_a_wildcard_bind_is_reached_through_loopback(bound: str, host: str, reached: str) -> None:
    assert client_facing_url(bound, host) == reached


# --- the docs keep up with the flags ---

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("readme", ["README.md", "README_zh.md"])
def test_readme_flag_table_lists_every_flag_and_variable(readme: str) -> None:
    text = (REPO / readme).read_text()
    rows = [line for line in text.splitlines() if line.startswith("| `--tap-")]
    assert len(rows) == len(FLAGS)
    for flag, row in zip(FLAGS, rows, strict=True):
        assert row.startswith(f"| `{flag.option}") and f"`{flag.env_var}`" in row


@pytest.mark.parametrize("readme", ["README.md", "README_zh.md"])
def test_readme_opens_with_the_demo_and_the_test_command(readme: str) -> None:
    first_lines = (REPO / readme).read_text().splitlines()[:5]
    assert "pip install -e . && claude-tap demo" in "\n".join(first_lines)
    assert "bash .ci/run" in "\n".join(first_lines)
