"""`claude-tap ca`: what the user is told, --regenerate, and --trust through a recording `security`."""

from __future__ import annotations

import io
import json
import os
import sys
from pathlib import Path

from claude_tap.cli import Environment, main
from claude_tap.proxy.ca import CA_CERT_FILE, LocalCa

RECORDING_SECURITY = """\
import json, os, sys
with open(os.environ["SECURITY_LOG"], "a") as log:
    log.write(json.dumps(sys.argv[1:]) + "\\n")
sys.exit(int(os.environ.get("SECURITY_EXIT", "0")))
"""


def run_ca(args: list[str], tmp_path: Path, **environ: str) -> tuple[int, str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    env = Environment(
        stdin=io.StringIO(),
        stdout=stdout,
        stderr=stderr,
        environ={
            "HOME": str(tmp_path),
            "CLAUDE_TAP_HOME": str(tmp_path / "tap"),
            "PATH": "/nowhere",
            **environ,
        },
        home=tmp_path,
        cwd=tmp_path,
    )
    code = main(["ca", *args], env)
    return code, stdout.getvalue(), stderr.getvalue()


def stand_in_security(tmp_path: Path) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "security"
    script.write_text(f"#!{sys.executable}\n{RECORDING_SECURITY}")
    script.chmod(0o755)
    return bin_dir


def test_ca_shows_path_fingerprint_and_how_to_trust(tmp_path: Path) -> None:
    code, out, err = run_ca([], tmp_path)
    ca = LocalCa.load_or_create(tmp_path / "tap" / "ca", print)
    assert code == 0 and err == ""
    assert str(tmp_path / "tap" / "ca" / CA_CERT_FILE) in out
    assert ca.fingerprint in out and len(ca.fingerprint) == 95  # 32 bytes as XX:XX:...
    for system in ("macOS", "Debian/Ubuntu", "Fedora/RHEL", "Windows", "NODE_EXTRA_CA_CERTS"):
        assert system in out
    assert run_ca([], tmp_path)[1] == out  # the same CA the next time


def test_regenerate_makes_a_new_ca_and_says_so(tmp_path: Path) -> None:
    old = run_ca([], tmp_path)[1]
    code, out, err = run_ca(["--regenerate"], tmp_path)
    assert code == 0 and out != old
    assert "made a new local CA" in err


def test_trust_runs_security_add_trusted_cert_on_the_login_keychain(tmp_path: Path) -> None:
    bin_dir = stand_in_security(tmp_path)
    log = tmp_path / "security.log"
    code, _, err = run_ca(["--trust"], tmp_path, PATH=f"{bin_dir}{os.pathsep}/usr/bin", SECURITY_LOG=str(log))
    assert code == 0, err
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    assert calls == [
        [
            "add-trusted-cert",
            "-r",
            "trustRoot",
            "-k",
            str(tmp_path / "Library" / "Keychains" / "login.keychain-db"),
            str(tmp_path / "tap" / "ca" / CA_CERT_FILE),
        ]
    ]
    assert "trusted in" in err


def test_trust_reports_a_failing_security(tmp_path: Path) -> None:
    bin_dir = stand_in_security(tmp_path)
    code, _, err = run_ca(
        ["--trust"], tmp_path, PATH=str(bin_dir), SECURITY_LOG=str(tmp_path / "log"), SECURITY_EXIT="45"
    )
    assert code == 1 and "failed (exit 45)" in err and "not trusted yet" in err


def test_trust_without_security_says_what_to_do(tmp_path: Path) -> None:
    code, out, err = run_ca(["--trust"], tmp_path)
    assert code == 1 and "`security` tool, which is not here" in err
    assert "Debian/Ubuntu" in out  # the instructions were printed first
