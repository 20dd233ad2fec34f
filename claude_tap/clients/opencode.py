"""OpenCode (`opencode`): forward mode by default; reverse for its Anthropic provider only.

Spec rows "OpenCode / Provider creds via opencode providers" (forward, any HTTPS upstream) and
"Anthropic provider only (--tap-proxy-mode reverse)": OpenCode talks to whichever providers it is
configured for, and honours HTTPS_PROXY, so forward mode is the default. Its Anthropic provider reads
ANTHROPIC_BASE_URL as a base that already includes the API version: the SDK appends `/messages`.
So reverse mode gives the child `<proxy>/v1` (without the /v1, OpenCode 1.18 calls `/messages` and
gets a 404), and the proxy sends `/v1/messages` to `<target>/v1/messages`, stripping nothing.

Where the real upstream is: ANTHROPIC_BASE_URL in the environment; else `provider.anthropic.options.
baseURL` in ./opencode.json or ~/.config/opencode/opencode.json ($XDG_CONFIG_HOME); else
https://api.anthropic.com. A target that ends in /v1 keeps working: the proxy does not double it.

This module knows nothing about processes, sockets or the proxy. It reads only the opencode.json
files under the `home` and `cwd` it is given.
"""

from __future__ import annotations

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
from claude_tap.clients.files import first_string, json_path, read_json

DEFAULT_TARGET = "https://api.anthropic.com"
BASE_URL_ENV = ("ANTHROPIC_BASE_URL",)
_BASE_URL_KEYS = ("provider", "anthropic", "options", "baseURL")


def detect_target(env: Mapping[str, str], home: Path, cwd: Path, argv: Sequence[str]) -> TargetChoice:
    base_url = env_value(env, "ANTHROPIC_BASE_URL")
    if base_url is not None:
        return TargetChoice(base_url.rstrip("/"), "ANTHROPIC_BASE_URL in the environment")
    notes: list[str] = []
    for label, path in _config_files(env, home, cwd):
        configured = first_string(json_path(read_json(label, path, notes), _BASE_URL_KEYS))
        if configured is not None:
            return TargetChoice(
                configured.rstrip("/"), f"provider.anthropic.options.baseURL in {label}", tuple(notes)
            )
    return TargetChoice(DEFAULT_TARGET, "default", tuple(notes))


def _config_files(env: Mapping[str, str], home: Path, cwd: Path) -> list[tuple[str, Path]]:
    """Project config first: OpenCode merges it over the global one."""
    config_home = env_value(env, "XDG_CONFIG_HOME")
    global_dir = Path(config_home) if config_home is not None else home / ".config"
    global_label = (
        "$XDG_CONFIG_HOME/opencode/opencode.json" if config_home else "~/.config/opencode/opencode.json"
    )
    return [
        ("./opencode.json", cwd / "opencode.json"),
        (global_label, global_dir / "opencode" / "opencode.json"),
    ]


def launch_env(env: Mapping[str, str], proxy_url: str, mode: ProxyMode) -> dict[str, str]:
    return reverse_env(env, mode, {"ANTHROPIC_BASE_URL": proxy_url.rstrip("/") + "/v1"})


OPENCODE = ClientConfig(
    name="opencode",
    display_name="OpenCode",
    executable="opencode",
    install_hint="npm install -g opencode-ai (or: curl -fsSL https://opencode.ai/install | bash)",
    default_proxy_mode="forward",
    default_target=DEFAULT_TARGET,
    base_url_env=BASE_URL_ENV,
    error_style="anthropic",
    detect_target=detect_target,
    launch_env=launch_env,
    launch_argv=executable_first("opencode"),
    intercept_hosts=(
        "api.anthropic.com",
        "api.openai.com",
        "chatgpt.com",
        "opencode.ai",
        "openrouter.ai",
        "generativelanguage.googleapis.com",
    ),
)
