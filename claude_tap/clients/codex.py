"""Codex CLI (`codex`): reverse mode through OPENAI_BASE_URL.

Codex appends `/responses` (and friends, WebSocket included) to OPENAI_BASE_URL, whose default is
https://api.openai.com/v1. In reverse mode the child gets `<proxy>/v1`, so every request reaches the
proxy as `/v1/...`, and the spec's "URL Construction Rules" turn that back into the upstream URL:

    target contains api.openai.com   strip none   /v1/responses -> https://api.openai.com/v1/responses
    any other target                 strip /v1    /v1/responses -> https://chatgpt.com/backend-api/codex/responses

A target that already ends in /v1 (https://api.openai.com/v1, as people copy it from OPENAI_BASE_URL)
keeps strip none, as the table says: `build_upstream_url` does not double a path the target already ends in.

Codex 0.169 no longer reads OPENAI_BASE_URL (seen by running it; which release dropped it is not
known here): the built-in provider's URL comes from the `openai_base_url` config key only. So reverse
mode also passes `-c openai_base_url="<proxy>/v1"`, which beats config.toml; the variable stays for
older versions.

The upstream: OPENAI_BASE_URL from the environment; else the ChatGPT backend when `codex login` left
ChatGPT tokens in $CODEX_HOME/auth.json (spec rows "Codex CLI / OAuth"); else https://api.openai.com.

This module knows nothing about processes, sockets or the proxy. It reads only auth.json under the
`home` (or CODEX_HOME) it is given, and only to learn which kind of login it holds.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from urllib.parse import urlsplit

from claude_tap.clients.base import (
    ClientConfig,
    ProxyMode,
    TargetChoice,
    env_value,
    reverse_env,
)

DEFAULT_TARGET = "https://api.openai.com"
CHATGPT_TARGET = "https://chatgpt.com/backend-api/codex"
BASE_URL_ENV = ("OPENAI_BASE_URL",)


def detect_target(env: Mapping[str, str], home: Path, cwd: Path, argv: Sequence[str]) -> TargetChoice:
    base_url = env_value(env, "OPENAI_BASE_URL")
    if base_url is not None:
        return TargetChoice(base_url.rstrip("/"), "OPENAI_BASE_URL in the environment")
    notes: list[str] = []
    label, auth_path = _auth_file(env, home, cwd)
    if _holds_chatgpt_login(label, auth_path, notes):
        return TargetChoice(CHATGPT_TARGET, f"ChatGPT login in {label}", tuple(notes))
    return TargetChoice(DEFAULT_TARGET, "default", tuple(notes))


def reverse_strip_path_prefix(target: str) -> str | None:
    return None if "api.openai.com" in urlsplit(target).netloc else "/v1"


def launch_env(env: Mapping[str, str], proxy_url: str, mode: ProxyMode) -> dict[str, str]:
    return reverse_env(env, mode, {"OPENAI_BASE_URL": _child_base_url(proxy_url)})


def launch_argv(argv: Sequence[str], proxy_url: str, mode: ProxyMode) -> list[str]:
    if mode == "reverse":  # a root-level -c reaches subcommands too (checked: `codex -c ... exec`)
        return ["codex", "-c", f"openai_base_url={json.dumps(_child_base_url(proxy_url))}", *argv]
    return ["codex", *argv]


def _child_base_url(proxy_url: str) -> str:
    return proxy_url.rstrip("/") + "/v1"


def _auth_file(env: Mapping[str, str], home: Path, cwd: Path) -> tuple[str, Path]:
    codex_home = env_value(env, "CODEX_HOME")
    if codex_home is None:
        return "~/.codex/auth.json", home / ".codex" / "auth.json"
    return "$CODEX_HOME/auth.json", cwd / Path(codex_home).expanduser() / "auth.json"


def _holds_chatgpt_login(label: str, path: Path, notes: list[str]) -> bool:
    """True when auth.json says Codex signs in with ChatGPT rather than an API key."""
    try:
        auth = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return False
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        notes.append(f"skipped {label}: cannot read it as JSON ({exc})")
        return False
    if not isinstance(auth, dict):
        notes.append(f"skipped {label}: expected a JSON object")
        return False
    auth_mode = auth.get("auth_mode")
    if isinstance(auth_mode, str):  # newer Codex versions say which login is active
        return "chatgpt" in auth_mode.lower()
    # Older files: `codex login` stores ChatGPT tokens (sometimes beside an exchanged API key) and
    # Codex prefers them; `codex login --api-key` stores only OPENAI_API_KEY.
    return isinstance(auth.get("tokens"), dict) and bool(auth["tokens"])


CODEX = ClientConfig(
    name="codex",
    display_name="Codex CLI",
    executable="codex",
    install_hint="npm install -g @openai/codex (or: brew install --cask codex)",
    default_proxy_mode="reverse",
    default_target=DEFAULT_TARGET,
    base_url_env=BASE_URL_ENV,
    error_style="openai",
    detect_target=detect_target,
    reverse_strip_path_prefix=reverse_strip_path_prefix,
    launch_env=launch_env,
    launch_argv=launch_argv,
    intercept_hosts=("api.openai.com", "chatgpt.com"),
)
