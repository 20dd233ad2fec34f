"""`claude-tap doctor [CLIENT ...]`: before a run, what would happen and what would break.

Per client (every installed one, or those named): that its executable is found and answers
`--version`, that claude-tap would launch it at all (kimi-cli's 1.52.0 stub is refused), which proxy
mode and upstream target it would get and why, for forward mode that the local CA is there and valid
(a launched client is handed it through its environment), and that the target answers a TCP connect
and, for https, a TLS handshake. One line per check: ok, warn or fail, and for each problem what to
do. `--json` gives the same as data. Exit 0 when nothing failed, 1 otherwise.

Nothing here sends a request to a model API: the reachability check ends after the handshake.
"""

from __future__ import annotations

import json
import socket
import ssl
import subprocess
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from claude_tap.clients import CLIENT_CONFIGS, ClientConfig
from claude_tap.clients.base import ProxyMode
from claude_tap.clients.home import launched_executable
from claude_tap.launch import LaunchError, resolve_executable
from claude_tap.options import PROG
from claude_tap.proxy.ca import CA_CERT_FILE, ca_dir

Status = Literal["ok", "warn", "fail"]
VERSION_TIMEOUT_S = 15.0
CONNECT_TIMEOUT_S = 3.0


@dataclass(frozen=True, slots=True)
class Check:
    name: str  # binary, launch, mode, target, ca, upstream
    status: Status
    detail: str
    fix: str = ""


@dataclass(slots=True)
class ClientReport:
    client: str
    display_name: str
    installed: bool
    install_hint: str
    checks: list[Check] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return any(check.status == "fail" for check in self.checks)


@dataclass(frozen=True, slots=True)
class Overrides:
    """What the tap flags would change in a run: --tap-target, --tap-proxy-mode, --tap-upstream-ca."""

    target: str | None = None
    proxy_mode: ProxyMode | None = None
    upstream_ca: Path | None = None


def run_doctor(
    names: list[str], environ: Mapping[str, str], home: Path, cwd: Path, overrides: Overrides = Overrides()
) -> list[ClientReport]:
    """The reports of the named clients, or of every installed one (and a line for the others)."""
    clients = [CLIENT_CONFIGS[name] for name in names] if names else list(CLIENT_CONFIGS.values())
    return [check_client(client, environ, home, cwd, overrides, named=bool(names)) for client in clients]


def check_client(
    client: ClientConfig,
    environ: Mapping[str, str],
    home: Path,
    cwd: Path,
    overrides: Overrides = Overrides(),
    *,
    named: bool = False,
) -> ClientReport:
    target, proxy_mode, upstream_ca = overrides.target, overrides.proxy_mode, overrides.upstream_ca
    report = ClientReport(client.name, client.display_name, True, client.install_hint)
    mode = proxy_mode or client.default_proxy_mode
    executable = launched_executable(client.launch_argv([], "http://127.0.0.1:0", mode))
    try:
        path = resolve_executable(executable, environ, client.install_hint)
    except LaunchError as error:
        report.installed = False
        if named:  # asked for by name: not being there is the problem
            report.checks.append(Check("binary", "fail", str(error), f"install it: {client.install_hint}"))
        return report
    refusal = client.refuse_launch(environ)
    if refusal is not None:
        report.checks.append(Check("launch", "fail", refusal))
        return report
    report.checks.append(_version_check(path, environ))
    why = "--tap-proxy-mode" if proxy_mode else "the client's default"
    report.checks.append(Check("mode", "ok", f"{mode} ({why})"))
    if target is not None:
        url, source, refused = target, "--tap-target", None
    else:
        choice = client.detect_target(environ, home, cwd, [])
        url, source, refused = (
            choice.url,
            choice.source,
            choice.reverse_refusal if mode == "reverse" else None,
        )
        for note in choice.notes:
            report.checks.append(Check("target", "warn", note))
    if refused is not None:
        report.checks.append(Check("target", "fail", refused))
    else:
        report.checks.append(Check("target", "ok", f"{url} ({source})"))
    if mode == "forward":
        report.checks.append(_ca_check(environ))
    report.checks.append(reachability(url, environ, upstream_ca))
    return report


def _version_check(path: str, environ: Mapping[str, str]) -> Check:
    try:
        done = subprocess.run(
            [path, "--version"],
            env=dict(environ),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=VERSION_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired:
        return Check("binary", "warn", f"{path}: `--version` gave no answer in {VERSION_TIMEOUT_S:.0f} s")
    except OSError as error:
        return Check("binary", "fail", f"{path}: cannot run it: {error.strerror or error}", "reinstall it")
    first_line = next((line.strip() for line in (done.stdout + done.stderr).splitlines() if line.strip()), "")
    if done.returncode != 0:
        return Check(
            "binary",
            "fail",
            f"{path}: `--version` exited {done.returncode}" + (f": {first_line[:160]}" if first_line else ""),
            "run it by hand to see why; reinstall it if it is broken",
        )
    return Check("binary", "ok", f"{path}: {first_line[:120] or 'runs'}")


def _ca_check(environ: Mapping[str, str]) -> Check:
    from cryptography import x509

    path = ca_dir(environ) / CA_CERT_FILE
    if not path.exists():
        return Check(
            "ca", "warn", f"no local CA yet at {path}", f"the first forward run makes it; or run `{PROG} ca`"
        )
    try:
        cert = x509.load_pem_x509_certificate(path.read_bytes())
    except (OSError, ValueError) as error:
        return Check("ca", "fail", f"{path} cannot be read: {error}", f"`{PROG} ca --regenerate`")
    if cert.not_valid_after_utc.timestamp() <= time.time():
        return Check(
            "ca",
            "fail",
            f"{path} expired on {cert.not_valid_after_utc:%Y-%m-%d}",
            f"`{PROG} ca --regenerate`",
        )
    return Check(
        "ca",
        "ok",
        f"{path}, valid to {cert.not_valid_after_utc:%Y-%m-%d}; handed to the client as NODE_EXTRA_CA_CERTS "
        "and SSL_CERT_FILE",
    )


def reachability(
    url: str,
    environ: Mapping[str, str],
    upstream_ca: Path | None = None,
    timeout_s: float = CONNECT_TIMEOUT_S,
) -> Check:
    """A TCP connect to the target (through the HTTP proxy claude-tap itself would use, as a CONNECT
    tunnel) and, for https, a TLS handshake checked against the system's CAs (and --tap-upstream-ca)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    proxy = _proxy_for(host, parts.scheme, environ)
    where = f"{host}:{port}" + (f" through {proxy}" if proxy else "")
    began = time.perf_counter()
    try:
        with _connect(host, port, proxy, timeout_s) as sock:
            if parts.scheme == "https":
                context = ssl.create_default_context()
                if upstream_ca is not None:
                    context.load_verify_locations(cafile=str(upstream_ca))
                with context.wrap_socket(sock, server_hostname=host):
                    pass
    except ssl.SSLError as error:
        return Check(
            "upstream",
            "fail",
            f"{where}: TLS failed: {error.reason or error}",
            "a proxy or gateway with its own CA? give that CA with --tap-upstream-ca FILE",
        )
    except OSError as error:
        return Check(
            "upstream",
            "fail",
            f"{where}: {error.strerror or error}",
            "check the network, the target URL, or the proxy in HTTPS_PROXY / --tap-upstream-proxy",
        )
    elapsed = (time.perf_counter() - began) * 1000
    what = "TLS handshake" if parts.scheme == "https" else "TCP connect"
    return Check("upstream", "ok", f"{where}: {what} in {elapsed:.0f} ms")


def _proxy_for(host: str, scheme: str, environ: Mapping[str, str]) -> str | None:
    """The HTTP proxy the tap's own environment sends `host` through (HTTPS_PROXY, NO_PROXY)."""
    names = ("https_proxy", "HTTPS_PROXY") if scheme == "https" else ("http_proxy", "HTTP_PROXY")
    proxy = next((environ[name] for name in names if environ.get(name)), None)
    no_proxy = environ.get("no_proxy") or environ.get("NO_PROXY") or ""
    bypassed = any(
        entry == "*" or host == entry.lstrip(".") or host.endswith("." + entry.lstrip("."))
        for entry in (item.strip() for item in no_proxy.split(","))
        if entry
    )
    return None if proxy is None or bypassed else proxy


def _connect(host: str, port: int, proxy: str | None, timeout_s: float) -> socket.socket:
    if proxy is None:
        return socket.create_connection((host, port), timeout=timeout_s)
    parts = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
    sock = socket.create_connection((parts.hostname or "", parts.port or 80), timeout=timeout_s)
    try:
        sock.sendall(f"CONNECT {host}:{port} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode())
        answer = b""
        while b"\r\n\r\n" not in answer and len(answer) < 8192:
            chunk = sock.recv(1024)
            if not chunk:
                break
            answer += chunk
        status = answer.split(b"\r\n", 1)[0].decode("latin-1")
        if status.split(" ")[1:2] != ["200"]:
            raise OSError(f"the proxy answered CONNECT with {status or 'nothing'!r}")
    except BaseException:
        sock.close()
        raise
    return sock


def render(reports: list[ClientReport]) -> str:
    """For people: a block per installed client, one line per check, the fix under a problem."""
    lines: list[str] = []
    missing = [report for report in reports if not report.installed and not report.checks]
    for report in reports:
        if not report.checks:
            continue
        lines.append(f"{report.display_name} ({report.client})")
        for check in report.checks:
            lines.append(f"  {check.status:<5} {check.name:<9} {check.detail}")
            if check.fix and check.status != "ok":
                lines.append(f"  {'':<5} {'':<9} fix: {check.fix}")
    if missing:
        lines.append(
            "not installed: " + ", ".join(f"{report.client} ({report.install_hint})" for report in missing)
        )
    checked = [report for report in reports if report.checks]
    failed = sum(1 for report in checked if report.failed)
    lines.append(
        f"{PROG} doctor: {len(checked)} client{'s' if len(checked) != 1 else ''} checked, "
        f"{failed} with problems, {len(missing)} not installed"
    )
    return "\n".join(lines)


def as_json(reports: list[ClientReport]) -> str:
    return json.dumps(
        [{**asdict(report), "failed": report.failed} for report in reports], indent=2, ensure_ascii=False
    )
