"""Pi (`pi`, npm @mariozechner/pi-coding-agent): forward mode by default; reverse for its OpenAI provider.

Spec rows "Pi / Provider creds via Pi /login or PI_CODING_AGENT_DIR auth file" (forward, any HTTPS
upstream; WebSocket only for its ChatGPT-login provider) and "Custom OpenAI-compatible setup
(--tap-proxy-mode reverse)": Pi talks to whichever providers its model registry names, so forward mode
is the default.

Reverse mode cannot use a variable: Pi 0.73 hands every built-in model its registry's baseUrl, so
OPENAI_BASE_URL is never read (measured: the request went to api.openai.com), and it ignores
ANTHROPIC_BASE_URL too. Its documented way to route a provider through a proxy is `providers.openai.
baseUrl` in models.json, in the directory PI_CODING_AGENT_DIR names (default ~/.pi/agent). So the child
runs with a directory of our own (clients/home.py: the user's entries linked in, so logins and sessions
stay theirs) whose models.json is the user's with that one field set to `<proxy>/v1`. Requests reach
the proxy as `/v1/responses` (or `/v1/chat/completions`) and go to `<target>/v1/...`, stripping nothing.

Where the real upstream is: `providers.openai.baseUrl` in the user's models.json; else
https://api.openai.com.

This module knows nothing about processes, sockets or the proxy. It reads only the user's models.json.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

from claude_tap.clients.base import ClientConfig, TargetChoice
from claude_tap.clients.files import first_string, json_path, read_json
from claude_tap.clients.home import ReverseHome, home_launch_argv, home_launch_env

DEFAULT_TARGET = "https://api.openai.com"
PROVIDER = "openai"
MODELS_FILE = "models.json"


def detect_target(env: Mapping[str, str], home: Path, cwd: Path, argv: Sequence[str]) -> TargetChoice:
    notes: list[str] = []
    label = "$PI_CODING_AGENT_DIR/models.json" if env.get(REVERSE_HOME.env_var) else "~/.pi/agent/models.json"
    user_dir = REVERSE_HOME.user_dir({**env, "HOME": str(home)})
    models = read_json(label, cwd / user_dir / MODELS_FILE, notes)
    configured = first_string(json_path(models, ("providers", PROVIDER, "baseUrl")))
    if configured is not None:
        return TargetChoice(configured.rstrip("/"), f"providers.openai.baseUrl in {label}", tuple(notes))
    return TargetChoice(DEFAULT_TARGET, "default", tuple(notes))


def reverse_files(current: Mapping[str, str | None], proxy_url: str, argv: Sequence[str]) -> dict[str, str]:
    """The user's models.json with the OpenAI provider's baseUrl at the proxy (a file that is not a
    JSON object is replaced: Pi would refuse it anyway)."""
    try:
        models = json.loads(current.get(MODELS_FILE) or "{}")
    except json.JSONDecodeError:
        models = {}
    if not isinstance(models, dict):
        models = {}
    providers = models.get("providers")
    if not isinstance(providers, dict):
        providers = models["providers"] = {}
    provider = providers.get(PROVIDER)
    if not isinstance(provider, dict):
        provider = providers[PROVIDER] = {}
    provider["baseUrl"] = proxy_url.rstrip("/") + "/v1"
    return {MODELS_FILE: json.dumps(models, indent=2) + "\n"}


REVERSE_HOME = ReverseHome("PI_CODING_AGENT_DIR", ".pi/agent", (MODELS_FILE,), reverse_files)


PI = ClientConfig(
    name="pi",
    display_name="Pi",
    executable="pi",
    install_hint="npm install -g @mariozechner/pi-coding-agent",
    default_proxy_mode="forward",
    default_target=DEFAULT_TARGET,
    base_url_env=(),  # reverse mode goes through models.json in a directory of our own
    error_style="openai",
    detect_target=detect_target,
    launch_env=home_launch_env,
    launch_argv=home_launch_argv("pi"),
    intercept_hosts=("api.openai.com", "chatgpt.com", "api.anthropic.com", "openrouter.ai"),
)
