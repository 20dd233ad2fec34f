"""`claude-tap ca`: where the local CA of forward mode is, its fingerprint, and how to trust it.

    claude-tap ca                 path, SHA-256 fingerprint, validity, how to trust it on each system
    claude-tap ca --trust         add it to the macOS login keychain (runs `security`, which may ask)
    claude-tap ca --regenerate    a new CA; whoever trusted the old one must trust the new one

A client launched by claude-tap needs none of this: it gets the CA through its environment
(NODE_EXTRA_CA_CERTS, SSL_CERT_FILE, ...). Trusting it system-wide is for clients started by hand
(--tap-no-launch) or that ignore those variables. The answer is the command's output: stdout.

This module knows the CA files and the `security` tool; it knows nothing about proxies or traces.
"""

from __future__ import annotations

import shutil
import subprocess
from typing import TYPE_CHECKING

from claude_tap.launch import ExitCode
from claude_tap.options import PROG
from claude_tap.proxy.ca import LocalCa, ca_dir, trust_files

if TYPE_CHECKING:
    from claude_tap.cli import Environment

_SECURITY_TIMEOUT_S = 120.0  # it may wait for the user's password


def ca_command(environment: Environment, *, trust: bool, regenerate: bool) -> int:
    from claude_tap.cli import CommandError

    directory = ca_dir(environment.environ)
    try:
        ca = LocalCa.load_or_create(
            directory, lambda message: environment.say(f"{PROG}: warning: {message}"), regenerate=regenerate
        )
        bundle = trust_files(ca, {}).bundle
    except OSError as error:
        raise CommandError(
            f"cannot store the local CA in {directory}: {error.strerror or error}; "
            "set CLAUDE_TAP_HOME to a writable directory",
            ExitCode.FAILURE,
        ) from error
    if regenerate:
        environment.say(f"{PROG}: made a new local CA; clients that trusted the old one must trust this one")
    environment.stdout.write("\n".join(describe(ca, str(bundle))) + "\n")
    if trust:
        return trust_on_macos(ca, environment)
    return ExitCode.OK


def describe(ca: LocalCa, bundle: str) -> list[str]:
    path = ca.cert_path
    return [
        f"{PROG} local CA (forward mode decrypts model hosts with certificates it signs)",
        f"  certificate  {path}",
        f"  SHA-256      {ca.fingerprint}",
        f"  valid        {ca.cert.not_valid_before_utc:%Y-%m-%d} to {ca.cert.not_valid_after_utc:%Y-%m-%d}",
        f"  key          {ca.directory / 'claude-tap-ca.key'} (only you can read it; never share it)",
        "",
        f"A client {PROG} launches trusts it already, through its environment:",
        f"  NODE_EXTRA_CA_CERTS={path}",
        f"  SSL_CERT_FILE, REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE, GIT_SSL_CAINFO, CODEX_CA_CERTIFICATE={bundle}",
        "",
        "To trust it for clients you start yourself (--tap-no-launch), or that ignore those variables:",
        f"  macOS          {PROG} ca --trust   (the login keychain; `security` may ask for your password)",
        f"  Debian/Ubuntu  sudo cp {path} /usr/local/share/ca-certificates/claude-tap.crt "
        "&& sudo update-ca-certificates",
        f"  Fedora/RHEL    sudo cp {path} /etc/pki/ca-trust/source/anchors/claude-tap.pem "
        "&& sudo update-ca-trust",
        f"  Windows        certutil -user -addstore Root {path}",
        f"  {PROG} ca --regenerate makes a new one (then trust that one instead).",
    ]


def trust_on_macos(ca: LocalCa, environment: Environment) -> int:
    """Add the CA to the login keychain as a trusted root, with macOS's own `security` tool."""
    from claude_tap.cli import CommandError

    security = shutil.which("security", path=environment.environ.get("PATH"))
    if security is None:
        raise CommandError(
            "`ca --trust` adds the CA to the macOS login keychain with the `security` tool, which is not "
            "here; on this system use the commands above.",
            ExitCode.FAILURE,
        )
    keychain = environment.home / "Library" / "Keychains" / "login.keychain-db"
    argv = [security, "add-trusted-cert", "-r", "trustRoot", "-k", str(keychain), str(ca.cert_path)]
    environment.say(f"{PROG}: running {' '.join(argv[1:])}")
    try:
        done = subprocess.run(argv, env=dict(environment.environ), timeout=_SECURITY_TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise CommandError(f"`security` could not run: {error}", ExitCode.FAILURE) from error
    if done.returncode != 0:
        raise CommandError(
            f"`security add-trusted-cert` failed (exit {done.returncode}); the CA is not trusted yet",
            ExitCode.FAILURE,
        )
    environment.say(f"{PROG}: trusted in {keychain} (SHA-256 {ca.fingerprint})")
    return ExitCode.OK
