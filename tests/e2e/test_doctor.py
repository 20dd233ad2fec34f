"""`claude-tap doctor`, the real process, with the real Claude Code and Codex CLIs on PATH beside a
broken `gemini` and against loopback targets only: one that answers, one nobody listens on, and a
TLS one whose certificate only a given CA vouches for."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from claude_tap.proxy.ca import LocalCa
from tests.e2e.agents import find_agent
from tests.e2e.tap_process import free_port, run_tap, tap_env, write_script
from tests.loopback import Loopback

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def blocks(out: str) -> dict[str, str]:
    """Each client's lines of the report, by client name (its header reads "Display Name (name)")."""
    found: dict[str, list[str]] = {}
    current: list[str] = []
    for line in out.splitlines():
        if not line.startswith((" ", "not installed:", "claude-tap")) and line.endswith(")"):
            current = found.setdefault(line.rsplit("(", 1)[1].rstrip(")"), [])
        elif line.startswith(" "):
            current.append(line)
    return {name: "\n".join(lines) for name, lines in found.items()}


def agents_dir(tmp_path: Path) -> Path:
    """A PATH directory with the real claude and codex, and a gemini whose --version fails."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("claude", "codex"):
        (bin_dir / name).symlink_to(find_agent(name))
    write_script(
        bin_dir / "gemini", "import sys\nprint('gemini: broken install', file=sys.stderr)\nsys.exit(3)\n"
    )
    return bin_dir


async def test_doctor_checks_each_installed_client_and_says_what_to_fix(
    tmp_path: Path, loopback: Loopback
) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    env = tap_env(
        tmp_path, [agents_dir(tmp_path)], ANTHROPIC_BASE_URL=loopback.url, OPENAI_BASE_URL=f"{dead}/v1"
    )
    done = await run_tap(tmp_path, ["doctor"], env)
    out = done.stdout.decode()

    assert done.returncode == 1, out + done.stderr  # a check failed
    report = blocks(out)
    assert set(report) == {"claude", "codex", "gemini"}
    claude, codex, gemini = report["claude"], report["codex"], report["gemini"]
    assert "ok    binary" in claude and "(Claude Code)" in claude  # its own --version line
    assert f"ok    target    {loopback.url} (ANTHROPIC_BASE_URL in the environment)" in claude
    assert f"ok    upstream  127.0.0.1:{loopback.port}: TCP connect in" in claude
    assert "ok    binary" in codex and "codex-cli" in codex
    assert f"fail  upstream  127.0.0.1:{dead.rsplit(':', 1)[1]}: Connection refused" in codex
    assert "fix: check the network, the target URL" in codex
    assert "fail  binary" in gemini and "`--version` exited 3: gemini: broken install" in gemini
    assert "warn  ca" in gemini  # forward by default: no CA made yet, the first forward run makes it
    assert "not installed: " in out and "opencode (" in out  # with how to install it
    assert "claude-tap doctor: 3 clients checked, 2 with problems, 8 not installed" in out

    as_json = await run_tap(tmp_path, ["doctor", "claude", "codex", "--json"], env)
    reports = {report["client"]: report for report in json.loads(as_json.stdout)}
    assert set(reports) == {"claude", "codex"}
    assert (reports["claude"]["failed"], reports["codex"]["failed"]) == (False, True)
    assert [check["name"] for check in reports["claude"]["checks"]] == [
        "binary",
        "mode",
        "target",
        "upstream",
    ]


async def test_doctor_checks_tls_with_the_upstream_ca_it_is_given(tmp_path: Path) -> None:
    vendor = LocalCa.load_or_create(tmp_path / "vendor-ca", logging.getLogger(__name__).warning)
    env = tap_env(tmp_path, [agents_dir(tmp_path)])
    async with Loopback(ssl_context=vendor.server_context("localhost")) as upstream:
        target = f"https://localhost:{upstream.port}"
        untrusted = await run_tap(tmp_path, ["doctor", "claude", "--tap-target", target], env)
        trusted = await run_tap(
            tmp_path,
            ["doctor", "claude", "--tap-target", target, "--tap-upstream-ca", str(vendor.cert_path)],
            env,
        )
    assert untrusted.returncode == 1
    assert "fail  upstream  localhost:" in untrusted.stdout.decode() and "CERTIFICATE_VERIFY_FAILED" in (
        untrusted.stdout.decode()
    )
    assert "fix: a proxy or gateway with its own CA? give that CA with --tap-upstream-ca FILE" in (
        untrusted.stdout.decode()
    )
    assert trusted.returncode == 0, trusted.stdout.decode()
    assert f"ok    upstream  localhost:{upstream.port}: TLS handshake in" in trusted.stdout.decode()
