"""Kimi CLI (`kimi`, PyPI kimi-cli): reverse mode through KIMI_BASE_URL, Chat Completions.

Spec rows "Kimi CLI / Kimi CLI auth/config": https://api.kimi.com/coding/v1 by default,
https://api.moonshot.ai/v1 (or any other) via --tap-target; strip none. kimi-cli appends
`/chat/completions` (and `/models`) to its provider's base URL, and KIMI_BASE_URL replaces the base URL
of its "kimi" providers, so the child gets KIMI_BASE_URL=<proxy> and the proxy sends
`/chat/completions` to `<target>/chat/completions`. KIMI_CODE_BASE_URL, read when a Kimi Code login
builds its platform URLs, points at the proxy too.

Where the real upstream is: KIMI_BASE_URL in the environment; else the base_url of the provider of
`default_model` in the config file (`--config-file X`, else $KIMI_SHARE_DIR/config.toml, default
~/.kimi/config.toml); else KIMI_CODE_BASE_URL; else https://api.kimi.com/coding/v1. (A config given
inline with `--config '...'` is not read: pass --tap-target.)

kimi-cli 1.52.0 on PyPI is an unmaintained stub whose bare `kimi` pipes a remote install script into a
shell. `stub_refusal` finds the installed version from the package metadata next to the `kimi` on
PATH and refuses to launch 1.52.0, saying how to install 1.51.0, which works. It is the adapter's
`refuse_launch`, and `detect_target` returns it as its `reverse_refusal` too (kimi's default mode).

Not captured in reverse mode: kimi-cli's telemetry, its model list refresh and its OAuth calls go
to their own hosts and ignore proxies (docs/support-matrix.md says so).

This module knows nothing about sockets or the proxy, and starts no process: it reads config.toml and
the dist-info directory of the kimi-cli that PATH would run.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path

from claude_tap.clients.base import (
    ClientConfig,
    ProxyMode,
    TargetChoice,
    env_value,
    executable_first,
    reverse_env,
)
from claude_tap.clients.files import json_path, read_text

DEFAULT_TARGET = "https://api.kimi.com/coding/v1"
BASE_URL_ENV = ("KIMI_BASE_URL", "KIMI_CODE_BASE_URL")
WORKING_VERSION = "1.51.0"
STUB_VERSIONS = frozenset({"1.52.0"})
INSTALL_HINT = (
    f"uv tool install --python 3.13 kimi-cli=={WORKING_VERSION} (or: pip install kimi-cli=={WORKING_VERSION})"
)


def detect_target(env: Mapping[str, str], home: Path, cwd: Path, argv: Sequence[str]) -> TargetChoice:
    notes: list[str] = []
    refusal = stub_refusal(env)
    base_url = env_value(env, "KIMI_BASE_URL")
    if base_url is not None:
        return TargetChoice(base_url.rstrip("/"), "KIMI_BASE_URL in the environment", (), refusal)
    label, path = _config_file(env, home, cwd, argv)
    configured = _default_provider_url(label, path, notes)
    if configured is not None:
        return TargetChoice(
            configured.rstrip("/"), f"default_model's provider in {label}", tuple(notes), refusal
        )
    code_url = env_value(env, "KIMI_CODE_BASE_URL")
    if code_url is not None:
        return TargetChoice(
            code_url.rstrip("/"), "KIMI_CODE_BASE_URL in the environment", tuple(notes), refusal
        )
    return TargetChoice(DEFAULT_TARGET, "default", tuple(notes), refusal)


def stub_refusal(env: Mapping[str, str]) -> str | None:
    """Why the kimi on PATH must not be launched (it is the 1.52.0 stub), or None."""
    found = installed_version(env)
    if found is None or found[0] not in STUB_VERSIONS:
        return None
    version, executable = found
    return (
        f"{executable} is kimi-cli {version}, an unmaintained stub: run without arguments it pipes a "
        "remote install script into a shell, so claude-tap will not launch it.\n"
        f"  Install the last working release instead: {INSTALL_HINT}"
    )


def installed_version(env: Mapping[str, str]) -> tuple[str, Path] | None:
    """(version, executable) of the kimi-cli that PATH runs, from the dist-info directory of its
    environment (pip, pipx and uv tool all install `<env>/bin/kimi` beside `<env>/lib/python*/`);
    None when there is no kimi on PATH or its package metadata is not where a venv keeps it."""
    executable = _which("kimi", env.get("PATH", ""))
    if executable is None:
        return None
    prefix = executable.resolve().parent.parent
    for dist_info in sorted(prefix.glob("lib/python*/site-packages/kimi_cli-*.dist-info")):
        version = dist_info.name.removeprefix("kimi_cli-").removesuffix(".dist-info")
        return version, executable
    return None


def _which(name: str, path: str) -> Path | None:
    for directory in path.split(os.pathsep):
        candidate = Path(directory or ".") / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


def _config_file(env: Mapping[str, str], home: Path, cwd: Path, argv: Sequence[str]) -> tuple[str, Path]:
    named = _option_value(argv, "--config-file")
    if named is not None:
        return f"--config-file {named}", cwd / Path(named).expanduser()
    share_dir = env_value(env, "KIMI_SHARE_DIR")
    if share_dir is None:
        return "~/.kimi/config.toml", home / ".kimi" / "config.toml"
    return "$KIMI_SHARE_DIR/config.toml", cwd / Path(share_dir).expanduser() / "config.toml"


def _option_value(argv: Sequence[str], option: str) -> str | None:
    """The value of `OPTION X` or `OPTION=X` before any `--`."""
    for index, arg in enumerate(argv):
        if arg == "--":
            break
        if arg.startswith(option + "="):
            return arg.removeprefix(option + "=")
        if arg == option and index + 1 < len(argv):
            return argv[index + 1]
    return None


def _default_provider_url(label: str, path: Path, notes: list[str]) -> str | None:
    text = read_text(label, path, notes)
    if text is None:
        return None
    try:
        config = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        notes.append(f"skipped {label}: not valid TOML ({exc})")
        return None
    model = config.get("default_model")
    provider = json_path(config, ("models", model, "provider")) if isinstance(model, str) else None
    base_url = json_path(config, ("providers", provider, "base_url")) if isinstance(provider, str) else None
    return base_url if isinstance(base_url, str) and base_url.strip() else None


def launch_env(env: Mapping[str, str], proxy_url: str, mode: ProxyMode) -> dict[str, str]:
    return reverse_env(env, mode, dict.fromkeys(BASE_URL_ENV, proxy_url))


KIMI = ClientConfig(
    name="kimi",
    display_name="Kimi CLI",
    executable="kimi",
    install_hint=INSTALL_HINT,
    default_proxy_mode="reverse",
    default_target=DEFAULT_TARGET,
    base_url_env=BASE_URL_ENV,
    error_style="openai",
    detect_target=detect_target,
    launch_env=launch_env,
    launch_argv=executable_first("kimi"),
    intercept_hosts=("api.kimi.com", "api.moonshot.ai", "api.moonshot.cn"),
    refuse_launch=stub_refusal,
)
