"""CodeBuddy CLI (`codebuddy`): reverse mode through CODEBUDDY_BASE_URL, Chat Completions.

Spec row "CodeBuddy CLI / CodeBuddy login (iOA / WeChat / Google-Github / Enterprise Domain)":
CodeBuddy appends `/chat/completions` to CODEBUDDY_BASE_URL, whose value includes the API version
(https://copilot.tencent.com/v2 by default), so the child gets CODEBUDDY_BASE_URL=<proxy> and the proxy
sends `/chat/completions` to `<target>/chat/completions`, stripping nothing.

Like Claude Code (it shares its settings model), CodeBuddy lets settings files override the
environment, so the proxy URL also goes in a leading `--settings '{"env": ...}'` argument, unless the
user passed their own `--settings`.

Where the real upstream is, first match wins: CODEBUDDY_BASE_URL in the environment; in the `env`
block of ./.codebuddy/settings.local.json, ./.codebuddy/settings.json or ~/.codebuddy/settings.json;
the endpoint the login cached under ~/.codebuddy/local_storage/ (a JSON string holding the site's
address, to which /v2 is appended: the region or enterprise domain the user signed in to); else
https://copilot.tencent.com/v2.

This module knows nothing about processes, sockets or the proxy. It reads only the settings files and
the login cache under the `home` and `cwd` it is given.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

from claude_tap.clients.base import (
    ClientConfig,
    ProxyMode,
    TargetChoice,
    env_value,
    reverse_env,
)
from claude_tap.clients.claude import has_settings_flag
from claude_tap.clients.files import first_string, json_path, read_json

DEFAULT_TARGET = "https://copilot.tencent.com/v2"
BASE_URL_ENV = ("CODEBUDDY_BASE_URL",)
API_VERSION_PATH = "/v2"


def detect_target(env: Mapping[str, str], home: Path, cwd: Path, argv: Sequence[str]) -> TargetChoice:
    base_url = env_value(env, "CODEBUDDY_BASE_URL")
    if base_url is not None:
        return TargetChoice(base_url.rstrip("/"), "CODEBUDDY_BASE_URL in the environment")
    notes: list[str] = []
    for label, path in (
        ("./.codebuddy/settings.local.json", cwd / ".codebuddy" / "settings.local.json"),
        ("./.codebuddy/settings.json", cwd / ".codebuddy" / "settings.json"),
        ("~/.codebuddy/settings.json", home / ".codebuddy" / "settings.json"),
    ):
        configured = first_string(json_path(read_json(label, path, notes), ("env", "CODEBUDDY_BASE_URL")))
        if configured is not None:
            return TargetChoice(configured.rstrip("/"), f"CODEBUDDY_BASE_URL in {label}", tuple(notes))
    cached = _login_endpoint(home / ".codebuddy" / "local_storage", notes)
    if cached is not None:
        url, label = cached
        return TargetChoice(url, f"the login cache {label}", tuple(notes))
    return TargetChoice(DEFAULT_TARGET, "default", tuple(notes))


def _login_endpoint(directory: Path, notes: list[str]) -> tuple[str, str] | None:
    """(endpoint + /v2, label) from the newest cache file holding a site address, else None."""
    try:
        files = sorted(
            (path for path in directory.iterdir() if path.is_file()),
            key=lambda path: path.stat().st_mtime,
            reverse=True,
        )
    except OSError:  # no login cache: not logged in, or an older CodeBuddy
        return None
    for path in files:
        label = f"~/.codebuddy/local_storage/{path.name}"
        site = _site_address(read_json(label, path, []))  # other cache entries are not ours to judge
        if site is not None:
            return _with_api_version(site), label
    return None


def _site_address(value: object) -> str | None:
    """The http(s) address in a cache entry: a JSON string, possibly JSON-encoded once more."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith('"'):
            try:
                return _site_address(json.loads(text))
            except json.JSONDecodeError:
                return None
        return text if text.startswith(("https://", "http://")) else None
    return None


def _with_api_version(site: str) -> str:
    site = site.rstrip("/")
    return site if site.endswith(API_VERSION_PATH) else site + API_VERSION_PATH


def launch_env(env: Mapping[str, str], proxy_url: str, mode: ProxyMode) -> dict[str, str]:
    return reverse_env(env, mode, {"CODEBUDDY_BASE_URL": proxy_url})


def launch_argv(argv: Sequence[str], proxy_url: str, mode: ProxyMode) -> list[str]:
    if mode == "reverse" and not has_settings_flag(argv):
        settings = json.dumps({"env": {"CODEBUDDY_BASE_URL": proxy_url}}, separators=(",", ":"))
        return ["codebuddy", "--settings", settings, *argv]
    return ["codebuddy", *argv]


CODEBUDDY = ClientConfig(
    name="codebuddy",
    display_name="CodeBuddy CLI",
    executable="codebuddy",
    install_hint="npm install -g @tencent-ai/codebuddy-code",
    default_proxy_mode="reverse",
    default_target=DEFAULT_TARGET,
    base_url_env=BASE_URL_ENV,
    error_style="openai",
    detect_target=detect_target,
    launch_env=launch_env,
    launch_argv=launch_argv,
    intercept_hosts=("copilot.tencent.com",),
)
