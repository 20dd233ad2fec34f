"""Codex custom model providers: which one Codex will use, where its base_url comes from, and how the
reverse-mode child is pointed at the tap through that same provider."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from claude_tap.clients.base import TargetChoice
from claude_tap.clients.codex import CODEX
from claude_tap.clients.codex_providers import (
    Provider,
    cli_overrides,
    resolve_provider,
    without_base_url_overrides,
)
from claude_tap.proxy.upstream import build_upstream_url

PROXY = "http://127.0.0.1:4321"
LOCAL = """\
model_provider = "local"

[model_providers.local]
base_url = "http://gw.internal:8080/v1/"
env_key = "LOCAL_KEY"
"""


def codex_home(tmp_path: Path, **files: str) -> Path:
    home = tmp_path / ".codex"
    home.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (home / name.replace("_", ".")).write_text(text)
    return home


def layer(text: str, label: str = "config.toml") -> tuple[str, dict[str, object]]:
    return label, tomllib.loads(text)


# --- which provider --------------------------------------------------------------------------------------


def test_without_a_provider_codex_uses_the_builtin_one() -> None:
    assert resolve_provider([layer("model = 'x'")], []) == Provider("openai", "default")
    assert not resolve_provider([], ["exec"]).is_custom


def test_model_provider_in_config_toml_names_the_provider_and_its_base_url() -> None:
    assert resolve_provider([layer(LOCAL)], ["exec"]) == Provider(
        "local",
        "model_provider in config.toml",
        "http://gw.internal:8080/v1",
        "model_providers.local.base_url in config.toml",
    )


def test_a_profile_file_layers_over_config_toml() -> None:
    profile = layer(
        'model_provider = "work"\n[model_providers.work]\nbase_url = "https://w/v1"', "work.config.toml"
    )
    provider = resolve_provider([layer(LOCAL), profile], ["--profile", "work"])
    assert (provider.name, provider.name_source) == ("work", "model_provider in work.config.toml")
    assert (provider.base_url, provider.base_url_source) == (
        "https://w/v1",
        "model_providers.work.base_url in work.config.toml",
    )
    # The profile may only pick the provider; its table stays in config.toml.
    picks_only = layer('model_provider = "local"', "work.config.toml")
    provider = resolve_provider([layer(LOCAL.replace('model_provider = "local"', "")), picks_only], [])
    assert provider.base_url_source == "model_providers.local.base_url in config.toml"


def test_an_older_codex_in_file_profile_beats_the_top_level_provider() -> None:
    tables = '\n[profiles.p]\nmodel_provider = "other"\n[model_providers.other]\nbase_url = "https://o"'
    config = 'profile = "p"\n' + LOCAL + tables
    provider = resolve_provider([layer(config)], [])
    assert (provider.name, provider.name_source, provider.base_url) == ("other", 'profile "p"', "https://o")
    # --profile selects a table too, and `-c profiles.<p>.model_provider` beats the table.
    assert (
        resolve_provider([layer(config)], ["-p", "p", "-c", "profiles.p.model_provider=local"]).name
        == "local"
    )


def test_command_line_overrides_beat_the_files() -> None:
    argv = ["-c", 'model_provider="cli"', "--config=model_providers.cli.base_url='https://cli.example/v1'"]
    provider = resolve_provider([layer(LOCAL)], argv)
    assert provider == Provider(
        "cli", "-c model_provider", "https://cli.example/v1", "-c model_providers.cli.base_url"
    )


def test_overrides_are_read_as_codex_reads_them() -> None:
    argv = ["-c", "a=plain", "-c", 'b="quoted"', "--config", "c = 3", "-c", "noequals", "--", "-c", "d=after"]
    # TOML strings are decoded, anything else is kept as written; nothing after `--` is a flag.
    assert cli_overrides(argv) == {"a": "plain", "b": "quoted", "c": "3"}


def test_a_provider_without_a_base_url_has_none() -> None:
    provider = resolve_provider([layer('model_provider = "bare"')], [])
    assert provider == Provider("bare", "model_provider in config.toml")


# --- target detection and the child's argv ---------------------------------------------------------------


def test_the_custom_provider_is_the_target_and_is_named_in_the_childs_argv(tmp_path: Path) -> None:
    home = codex_home(tmp_path, config_toml=LOCAL)
    choice = CODEX.detect_target({"CODEX_HOME": str(home)}, tmp_path, tmp_path, ["exec", "hi"])
    assert choice == TargetChoice(
        "http://gw.internal:8080/v1",
        'model_providers.local.base_url in $CODEX_HOME/config.toml (provider "local" from model_provider in '
        "$CODEX_HOME/config.toml)",
        client_args=("-c", 'model_provider="local"', "exec", "hi"),
    )
    # The spec's strip rule: /v1 comes off because the target is not api.openai.com.
    assert build_upstream_url(choice.url, "/v1/responses", CODEX.reverse_strip_path_prefix(choice.url)) == (
        "http://gw.internal:8080/v1/responses"
    )


def test_the_profile_file_is_found_under_codex_home(tmp_path: Path) -> None:
    codex_home(tmp_path, config_toml=LOCAL.replace('model_provider = "local"', ""), work_config_toml=LOCAL)
    choice = CODEX.detect_target({}, tmp_path, tmp_path, ["--profile", "work", "exec"])
    assert choice.url == "http://gw.internal:8080/v1"
    assert choice.source.endswith('(provider "local" from model_provider in ~/.codex/work.config.toml)')


def test_a_custom_provider_beats_openai_base_url(tmp_path: Path) -> None:
    codex_home(tmp_path, config_toml=LOCAL)
    choice = CODEX.detect_target({"OPENAI_BASE_URL": "https://elsewhere/v1"}, tmp_path, tmp_path, [])
    assert choice.url == "http://gw.internal:8080/v1"


def test_openai_base_url_in_config_or_on_the_command_line_is_the_target(tmp_path: Path) -> None:
    codex_home(tmp_path, config_toml='openai_base_url = "https://cfg.example/v1"\n')
    assert CODEX.detect_target({}, tmp_path, tmp_path, []) == TargetChoice(
        "https://cfg.example/v1", "openai_base_url in ~/.codex/config.toml"
    )
    argv = ["-c", 'openai_base_url="https://cli.example/v1"']
    assert CODEX.detect_target({}, tmp_path, tmp_path, argv).source == "-c openai_base_url"


def test_a_provider_without_base_url_is_refused_in_reverse_mode_only(tmp_path: Path) -> None:
    codex_home(tmp_path, config_toml='model_provider = "bare"\n')
    choice = CODEX.detect_target({}, tmp_path, tmp_path, [])
    assert choice.reverse_refusal is not None
    assert '"bare"' in choice.reverse_refusal and "--tap-proxy-mode forward" in choice.reverse_refusal


def test_config_toml_that_is_not_toml_is_skipped_with_a_note(tmp_path: Path) -> None:
    codex_home(tmp_path, config_toml="model_provider = = nope")
    choice = CODEX.detect_target({}, tmp_path, tmp_path, [])
    assert choice.url == "https://api.openai.com"
    assert choice.notes[0].startswith("skipped ~/.codex/config.toml: cannot read it as TOML")


def test_reverse_mode_points_the_named_provider_at_the_tap_and_drops_the_users_override() -> None:
    argv = ["-c", 'model_provider="local"', "-c", "model_providers.local.base_url=https://around", "exec"]
    assert CODEX.launch_argv(argv, PROXY, "reverse") == [
        "codex", "-c", f'model_providers.local.base_url="{PROXY}/v1"', "-c", 'model_provider="local"', "exec",
    ]  # fmt: skip
    assert CODEX.launch_argv(argv, PROXY, "forward") == ["codex", *argv]


@pytest.mark.parametrize(
    "argv",
    [
        ["-c", "model_providers.x.base_url=u", "exec"],
        ["--config", "model_providers.x.base_url = u", "exec"],
        ["--config=model_providers.x.base_url=u", "exec"],
    ],
)
def test_every_spelling_of_the_users_base_url_override_is_dropped(argv: list[str]) -> None:
    assert without_base_url_overrides(argv, "x") == ["exec"]
    assert without_base_url_overrides(argv, "y") == argv
