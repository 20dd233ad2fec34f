"""The reverse-mode launcher for file-configured clients (Hermes, Pi), with a stand-in client script.

The real clients run through it in tests/e2e/test_hermes_cli.py and test_pi_cli.py.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from claude_tap.clients.hermes import reverse_config
from claude_tap.clients.home import PROXY_URL_ENV
from claude_tap.reverse_home import run

PROXY = "http://127.0.0.1:4321"
REPO = Path(__file__).resolve().parents[2]


def fake_client(bin_dir: Path, name: str, exit_code: int = 0, *, sleep_s: float = 0) -> None:
    """Reports the config directory it was given (variable, entries, links) and exits with `exit_code`."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    script = bin_dir / name
    script.write_text(
        f"#!{sys.executable}\n"
        "import json, os, pathlib, sys, time\n"
        "var = 'HERMES_HOME' if 'HERMES_HOME' in os.environ else 'PI_CODING_AGENT_DIR'\n"
        "home = pathlib.Path(os.environ[var])\n"
        "entries = {p.name: (os.readlink(p) if p.is_symlink() else p.read_text()) for p in home.iterdir()}\n"
        "mode = oct(home.stat().st_mode & 0o777)\n"
        f"leaked = {PROXY_URL_ENV!r} in os.environ\n"
        "report = {'var': var, 'home': str(home), 'mode': mode, 'argv': sys.argv[1:], 'entries': entries,\n"
        "          'leaked': leaked}\n"
        "pathlib.Path(os.environ['REPORT']).write_text(json.dumps(report))\n"
        f"time.sleep({sleep_s})\n"
        f"sys.exit({exit_code})\n"
    )
    script.chmod(0o755)


def test_hermes_home_links_the_users_entries_and_writes_config_yaml(tmp_path: Path) -> None:
    fake_client(tmp_path / "bin", "hermes", 3)
    user = tmp_path / ".hermes"
    (user / "sessions").mkdir(parents=True)
    (user / ".env").write_text("OPENAI_API_KEY=sk-x\n")
    (user / "config.yaml").write_text("model: mine\n")
    report = tmp_path / "report.json"
    env = {"PATH": str(tmp_path / "bin"), "HOME": str(tmp_path), PROXY_URL_ENV: PROXY, "REPORT": str(report)}
    assert run(["hermes", "hermes", "-m", "gpt-x", "-z", "hi"], env) == 3
    seen = json.loads(report.read_text())
    assert (seen["var"], seen["argv"], seen["leaked"], seen["mode"]) == (
        "HERMES_HOME", ["-m", "gpt-x", "-z", "hi"], False, "0o700"
    )  # fmt: skip
    assert seen["entries"] == {
        ".env": str(user / ".env"),  # linked: the user's keys, and the user's file
        "sessions": str(user / "sessions"),
        "config.yaml": json.dumps(reverse_config(PROXY, "gpt-x"), indent=2) + "\n",  # ours, not a link
    }
    assert not Path(seen["home"]).exists()
    assert (user / "config.yaml").read_text() == "model: mine\n"  # the user's file is untouched


def test_pi_dir_from_pi_coding_agent_dir_with_the_users_models_json_merged(tmp_path: Path) -> None:
    fake_client(tmp_path / "bin", "pi")
    user = tmp_path / "agent"
    user.mkdir()
    (user / "auth.json").write_text("{}")
    (user / "models.json").write_text(json.dumps({"providers": {"openai": {"apiKey": "K"}}}))
    report = tmp_path / "report.json"
    env = {
        "PATH": str(tmp_path / "bin"),
        "PI_CODING_AGENT_DIR": str(user),
        PROXY_URL_ENV: PROXY,
        "REPORT": str(report),
    }
    assert run(["pi", "pi", "-p", "hi"], env) == 0
    seen = json.loads(report.read_text())
    assert seen["var"] == "PI_CODING_AGENT_DIR" and seen["home"] != str(user)
    assert seen["entries"]["auth.json"] == str(user / "auth.json")
    assert json.loads(seen["entries"]["models.json"]) == {
        "providers": {"openai": {"apiKey": "K", "baseUrl": PROXY + "/v1"}}
    }


def test_entries_the_client_creates_end_up_in_the_users_directory(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "pi").write_text(
        f"#!{sys.executable}\n"
        "import os, pathlib\n"
        "home = pathlib.Path(os.environ['PI_CODING_AGENT_DIR'])\n"
        "(home / 'sessions').mkdir()\n"
        "(home / 'sessions' / 'one.jsonl').write_text('{}')\n"
        "(home / 'auth.json').write_text('replaced')\n"  # through the link: the user's own file
        "(home / 'models.json').write_text('changed by pi')\n"
    )
    (bin_dir / "pi").chmod(0o755)
    user = tmp_path / ".pi" / "agent"
    user.mkdir(parents=True)
    (user / "auth.json").write_text("{}")
    env = {"PATH": str(bin_dir), "HOME": str(tmp_path), PROXY_URL_ENV: PROXY}
    assert run(["pi", "pi"], env) == 0
    assert (user / "sessions" / "one.jsonl").read_text() == "{}"
    assert (user / "auth.json").read_text() == "replaced"
    assert not (user / "models.json").exists()  # ours, pointed at the proxy: never the user's


def test_no_user_directory_at_all(tmp_path: Path) -> None:
    fake_client(tmp_path / "bin", "pi")
    report = tmp_path / "report.json"
    env = {"PATH": str(tmp_path / "bin"), "HOME": str(tmp_path), PROXY_URL_ENV: PROXY, "REPORT": str(report)}
    assert run(["pi", "pi"], env) == 0
    assert list(json.loads(report.read_text())["entries"]) == ["models.json"]


def test_a_missing_client_gets_its_install_command(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert run(["hermes", "hermes"], {"PATH": str(tmp_path), PROXY_URL_ENV: PROXY}) == 127
    assert "hermes not found on PATH. Install it: pip install hermes-agent" in capsys.readouterr().err


def test_usage_errors(capsys) -> None:  # type: ignore[no-untyped-def]
    assert run(["hermes", "hermes"], {"PATH": os.defpath}) == 2  # no proxy URL
    assert run(["cursor", "cursor-agent"], {PROXY_URL_ENV: PROXY}) == 2  # not a file-configured client
    assert run(["pi"], {PROXY_URL_ENV: PROXY}) == 2
    assert capsys.readouterr().err.count("usage:") == 3


def test_sigterm_is_passed_on_and_the_exit_says_which_signal(tmp_path: Path) -> None:
    fake_client(tmp_path / "bin", "hermes", sleep_s=30)
    report = tmp_path / "report.json"
    env = {
        "PATH": str(tmp_path / "bin"),
        "HOME": str(tmp_path),
        PROXY_URL_ENV: PROXY,
        "REPORT": str(report),
        "PYTHONPATH": str(REPO),
    }
    proc = subprocess.Popen([sys.executable, "-m", "claude_tap.reverse_home", "hermes", "hermes"], env=env)
    deadline = time.monotonic() + 20
    while not report.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=20) == 128 + signal.SIGTERM
    assert not Path(json.loads(report.read_text())["home"]).exists()
