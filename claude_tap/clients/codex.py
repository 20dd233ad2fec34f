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

The upstream: a custom provider's base_url when config.toml, a profile or `-c` selects one
(`codex_providers`); else OPENAI_BASE_URL from the environment; else `openai_base_url` (`-c` or
config.toml); else the ChatGPT backend when `codex login` left ChatGPT tokens in $CODEX_HOME/auth.json
(spec rows "Codex CLI / OAuth"); else https://api.openai.com. For a custom provider the child's argv
names it first (`-c model_provider="<name>"`, which changes nothing Codex chooses), so `launch_argv`,
which sees only argv, can point that provider's base_url at the proxy in reverse mode.

This module knows nothing about processes, sockets or the proxy. It reads only config.toml and
auth.json under the `home` (or CODEX_HOME) it is given.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from claude_tap.clients.base import (
    ClientConfig,
    ProxyMode,
    TargetChoice,
    env_value,
    reverse_env,
)
from claude_tap.clients.codex_providers import (
    BUILTIN_PROVIDER,
    CONFIG_FLAGS,
    ConfigLayer,
    Provider,
    cli_overrides,
    cli_profile,
    parse_config,
    resolve_provider,
    without_base_url_overrides,
)

DEFAULT_TARGET = "https://api.openai.com"
CHATGPT_TARGET = "https://chatgpt.com/backend-api/codex"
BASE_URL_ENV = ("OPENAI_BASE_URL",)


def detect_target(env: Mapping[str, str], home: Path, cwd: Path, argv: Sequence[str]) -> TargetChoice:
    notes: list[str] = []
    config_label, config_path = _codex_file(env, home, cwd, "config.toml")
    config = _read_config(config_label, config_path, notes)
    layers: list[ConfigLayer] = [(config_label, config)]
    profile = cli_profile(argv)
    if profile is not None:  # Codex 0.16x+: --profile <name> layers <name>.config.toml over config.toml
        profile_label, profile_path = _codex_file(env, home, cwd, f"{profile}.config.toml")
        layers.append((profile_label, _read_config(profile_label, profile_path, notes)))
    provider = resolve_provider(layers, argv)
    if provider.is_custom:
        return _custom_provider_target(provider, argv, notes)
    base_url = env_value(env, "OPENAI_BASE_URL")
    if base_url is not None:
        return TargetChoice(base_url.rstrip("/"), "OPENAI_BASE_URL in the environment", tuple(notes))
    overridden = cli_overrides(argv).get("openai_base_url")
    if overridden:
        return TargetChoice(overridden.rstrip("/"), "-c openai_base_url", tuple(notes))
    configured = config.get("openai_base_url")
    if isinstance(configured, str) and configured.strip():
        return TargetChoice(configured.rstrip("/"), f"openai_base_url in {config_label}", tuple(notes))
    label, auth_path = _codex_file(env, home, cwd, "auth.json")
    if _holds_chatgpt_login(label, auth_path, notes):
        return TargetChoice(CHATGPT_TARGET, f"ChatGPT login in {label}", tuple(notes))
    return TargetChoice(DEFAULT_TARGET, "default", tuple(notes))


def reverse_strip_path_prefix(target: str) -> str | None:
    return None if "api.openai.com" in urlsplit(target).netloc else "/v1"


def launch_env(env: Mapping[str, str], proxy_url: str, mode: ProxyMode) -> dict[str, str]:
    return reverse_env(env, mode, {"OPENAI_BASE_URL": _child_base_url(proxy_url)})


def launch_argv(argv: Sequence[str], proxy_url: str, mode: ProxyMode) -> list[str]:
    if mode != "reverse":
        return ["codex", *argv]
    # A root-level -c reaches subcommands too (checked: `codex -c ... exec`).
    base_url = json.dumps(_child_base_url(proxy_url))
    provider = _named_provider(argv)
    if provider is None:
        return ["codex", "-c", f"openai_base_url={base_url}", *argv]
    return [
        "codex",
        "-c",
        f"model_providers.{provider}.base_url={base_url}",
        *without_base_url_overrides(argv, provider),
    ]


def _custom_provider_target(provider: Provider, argv: Sequence[str], notes: list[str]) -> TargetChoice:
    named = ("-c", f"model_provider={json.dumps(provider.name)}", *argv)
    if provider.base_url is None:
        refusal = (
            f'Codex\'s model provider "{provider.name}" (from {provider.name_source}) has no base_url '
            f"the tap can point at itself. Give it one in [model_providers.{provider.name}], or use "
            "--tap-proxy-mode forward."
        )
        return TargetChoice(DEFAULT_TARGET, provider.name_source, tuple(notes), refusal, named)
    source = f'{provider.base_url_source} (provider "{provider.name}" from {provider.name_source})'
    return TargetChoice(provider.base_url, source, tuple(notes), client_args=named)


def _named_provider(argv: Sequence[str]) -> str | None:
    """The custom provider `detect_target` named first in argv (`-c model_provider="<name>"`), if any."""
    if len(argv) < 2 or argv[0] not in CONFIG_FLAGS:
        return None
    name = cli_overrides(argv[:2]).get("model_provider")
    return name if name is not None and name != BUILTIN_PROVIDER else None


def _child_base_url(proxy_url: str) -> str:
    return proxy_url.rstrip("/") + "/v1"


def _codex_file(env: Mapping[str, str], home: Path, cwd: Path, name: str) -> tuple[str, Path]:
    codex_home = env_value(env, "CODEX_HOME")
    if codex_home is None:
        return f"~/.codex/{name}", home / ".codex" / name
    return f"$CODEX_HOME/{name}", cwd / Path(codex_home).expanduser() / name


def _read_config(label: str, path: Path, notes: list[str]) -> dict[str, Any]:
    try:
        text: str | None = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        text = None
    except (OSError, UnicodeDecodeError) as exc:
        notes.append(f"skipped {label}: {exc}")
        text = None
    config, problem = parse_config(text)
    if problem is not None:
        notes.append(f"skipped {label}: {problem}")
    return config


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
