"""Antigravity CLI (`agy`): forward mode plus a CLOUD_CODE_URL bridge for its model traffic.

Spec row "Antigravity CLI / Antigravity login": Antigravity talks to several Google and Antigravity
hosts, so forward mode (HTTPS_PROXY) carries its auxiliary traffic; its Code Assist model calls
(`/v1internal:streamGenerateContent`) go to CLOUD_CODE_URL, which the child gets pointed at the
proxy's own address in either mode, and the proxy sends them on to
https://daily-cloudcode-pa.googleapis.com (or the user's own CLOUD_CODE_URL), stripping nothing.
On macOS the CA is trusted through the user's login keychain (no admin prompt).

This module knows nothing about processes, sockets or the proxy, and reads no files.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from claude_tap.clients.base import ClientConfig, ProxyMode, TargetChoice, env_value, executable_first

DEFAULT_TARGET = "https://daily-cloudcode-pa.googleapis.com"
BASE_URL_ENV = ("CLOUD_CODE_URL",)


def detect_target(env: Mapping[str, str], home: Path, cwd: Path, argv: Sequence[str]) -> TargetChoice:
    base_url = env_value(env, "CLOUD_CODE_URL")
    if base_url is not None:
        return TargetChoice(base_url.rstrip("/"), "CLOUD_CODE_URL in the environment")
    return TargetChoice(DEFAULT_TARGET, "default")


def launch_env(env: Mapping[str, str], proxy_url: str, mode: ProxyMode) -> dict[str, str]:
    # The bridge is set in forward mode too: that is how the model calls reach the proxy at all.
    return {**env, "CLOUD_CODE_URL": proxy_url}


AGY = ClientConfig(
    name="agy",
    display_name="Antigravity CLI",
    executable="agy",
    install_hint="install Google Antigravity from https://antigravity.google/download (it provides agy)",
    default_proxy_mode="forward",
    default_target=DEFAULT_TARGET,
    base_url_env=BASE_URL_ENV,
    error_style="gemini",
    detect_target=detect_target,
    launch_env=launch_env,
    launch_argv=executable_first("agy"),
    intercept_hosts=("daily-cloudcode-pa.googleapis.com", "cloudcode-pa.googleapis.com"),
)
