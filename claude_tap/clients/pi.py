"""Pi (`pi`, npm @mariozechner/pi-coding-agent): forward mode by default; reverse for OpenAI-compatible APIs.

Spec rows "Pi / Provider creds via Pi /login or PI_CODING_AGENT_DIR auth file" (forward, any HTTPS
upstream; WebSocket only for its ChatGPT-login provider) and "Custom OpenAI-compatible setup
(--tap-proxy-mode reverse)": Pi talks to whichever providers its model registry names, so forward mode
is the default. Its OpenAI client takes OPENAI_BASE_URL (a base including /v1, as the OpenAI SDK
expects), so reverse mode gives the child `<proxy>/v1` and the proxy sends `/v1/...` to
`<target>/v1/...`, stripping nothing. Pi ignores ANTHROPIC_BASE_URL: there is no Anthropic reverse row.

Where the real upstream is: OPENAI_BASE_URL in the environment, else https://api.openai.com.

This module knows nothing about processes, sockets or the proxy, and reads no files.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from claude_tap.clients.base import (
    ClientConfig,
    ProxyMode,
    TargetChoice,
    env_value,
    keep_argv,
    keep_path,
    reverse_env,
)

DEFAULT_TARGET = "https://api.openai.com"
BASE_URL_ENV = ("OPENAI_BASE_URL",)


def detect_target(env: Mapping[str, str], home: Path, cwd: Path, argv: Sequence[str]) -> TargetChoice:
    base_url = env_value(env, "OPENAI_BASE_URL")
    if base_url is not None:
        return TargetChoice(base_url.rstrip("/"), "OPENAI_BASE_URL in the environment")
    return TargetChoice(DEFAULT_TARGET, "default")


def launch_env(env: Mapping[str, str], proxy_url: str, mode: ProxyMode) -> dict[str, str]:
    return reverse_env(env, mode, {"OPENAI_BASE_URL": proxy_url.rstrip("/") + "/v1"})


def launch_argv(argv: Sequence[str], proxy_url: str, mode: ProxyMode) -> list[str]:
    return ["pi", *argv]


PI = ClientConfig(
    name="pi",
    display_name="Pi",
    executable="pi",
    install_hint="npm install -g @mariozechner/pi-coding-agent",
    default_proxy_mode="forward",
    default_target=DEFAULT_TARGET,
    base_url_env=BASE_URL_ENV,
    error_style="openai",
    detect_target=detect_target,
    reverse_strip_path_prefix=keep_path,
    rewrite_argv=keep_argv,
    launch_env=launch_env,
    launch_argv=launch_argv,
    intercept_hosts=("api.openai.com", "chatgpt.com", "api.anthropic.com", "openrouter.ai"),
)
