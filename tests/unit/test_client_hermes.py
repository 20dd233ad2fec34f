"""The Hermes adapter: strip /v1, `gateway start` -> `gateway run`, the reverse HERMES_HOME, its launcher."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from claude_tap import hermes_home
from claude_tap.clients.hermes import HERMES, PROXY_URL_ENV, model_from_argv, reverse_config
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


def test_reverse_launch_goes_through_the_launcher_and_forward_runs_hermes() -> None:
    assert HERMES.launch_argv(["-z", "hi"], PROXY, "reverse") == [
        sys.executable,
        "-m",
        "claude_tap.hermes_home",
        "hermes",
        "-z",
        "hi",
    ]
    assert HERMES.launch_env({"A": "1"}, PROXY, "reverse") == {"A": "1", PROXY_URL_ENV: PROXY}
    assert HERMES.launch_env({"A": "1"}, PROXY, "forward") == {"A": "1"}


# --- the launcher, with a stand-in `hermes` script (the real one runs in tests/e2e/test_hermes_cli.py) ---


def fake_hermes(bin_dir: Path, exit_code: int) -> None:
    """Reports the HERMES_HOME it was given and what is in it, then exits with `exit_code`."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    script = bin_dir / "hermes"
    script.write_text(
        f"#!{sys.executable}\n"
        "import json, os, pathlib, sys\n"
        "home = pathlib.Path(os.environ['HERMES_HOME'])\n"
        "files = sorted(p.name for p in home.iterdir())\n"
        "report = {'home': str(home), 'argv': sys.argv[1:], 'files': files,\n"
        "          'config': json.loads((home / 'config.yaml').read_text()),\n"
        "          'env': (home / '.env').read_text() if (home / '.env').exists() else None,\n"
        f"          'leaked': '{PROXY_URL_ENV}' in os.environ}}\n"
        "pathlib.Path(os.environ['REPORT']).write_text(json.dumps(report))\n"
        f"sys.exit({exit_code})\n"
    )
    script.chmod(0o755)


def test_launcher_builds_a_home_runs_hermes_and_removes_the_home(tmp_path: Path) -> None:
    fake_hermes(tmp_path / "bin", 3)
    (tmp_path / ".hermes").mkdir()
    (tmp_path / ".hermes" / ".env").write_text("OPENAI_API_KEY=sk-x\n")
    report = tmp_path / "report.json"
    env = {"PATH": str(tmp_path / "bin"), "HOME": str(tmp_path), PROXY_URL_ENV: PROXY, "REPORT": str(report)}
    assert hermes_home.run(["hermes", "-m", "gpt-x", "-z", "hi"], env) == 3
    seen = json.loads(report.read_text())
    assert seen["argv"] == ["-m", "gpt-x", "-z", "hi"]
    assert seen["files"] == [".env", "config.yaml"]
    assert seen["config"] == reverse_config(PROXY, "gpt-x")
    assert seen["env"] == "OPENAI_API_KEY=sk-x\n"
    assert seen["leaked"] is False
    assert not Path(seen["home"]).exists()


def test_launcher_without_a_user_env_file_and_with_hermes_home_set(tmp_path: Path) -> None:
    fake_hermes(tmp_path / "bin", 0)
    report = tmp_path / "report.json"
    env = {
        "PATH": str(tmp_path / "bin"),
        "HERMES_HOME": str(tmp_path / "custom"),
        PROXY_URL_ENV: PROXY,
        "REPORT": str(report),
    }
    assert hermes_home.run(["hermes"], env) == 0
    assert json.loads(report.read_text())["files"] == ["config.yaml"]


def test_launcher_reports_a_missing_hermes_with_its_install_command(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert hermes_home.run(["hermes"], {"PATH": str(tmp_path), PROXY_URL_ENV: PROXY}) == 127
    assert "pip install hermes-agent" in capsys.readouterr().err
    assert hermes_home.run(["hermes"], {"PATH": os.defpath}) == 2
