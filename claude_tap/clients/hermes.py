"""Hermes Agent (`hermes`, PyPI hermes-agent): forward mode by default; reverse through its own config.

Spec rows "Hermes Agent / Provider creds via ~/.hermes/" (forward: httpx and requests honour
HTTPS_PROXY; they trust SSL_CERT_FILE and REQUESTS_CA_BUNDLE, which the generic forward-proxy variables
set) and "Custom OpenAI-compatible provider (--tap-proxy-mode reverse)", strip /v1.

Reverse mode cannot use OPENAI_BASE_URL: Hermes ignores it for `--provider custom`, and the .env in its
HERMES_HOME overrides the process environment. So the child runs with a HERMES_HOME of our own
(see clients/home.py: the user's entries linked in, so sessions, memories and .env keys stay theirs)
whose config.yaml names one provider, `claude-tap`, with base_url `<proxy>/v1` and its key read from
the variable named by `key_env` (OPENAI_API_KEY). The rest of the user's config.yaml is not carried
over: it is YAML, and claude-tap reads no YAML. Requests reach the proxy as
`/v1/chat/completions`; the proxy strips /v1 and sends them to `<target>/chat/completions`, where the
target is an OpenAI-compatible base that includes its version (https://api.openai.com/v1 by default).
Hermes's model probes (/v1/models, /api/v1/models, /api/show) pass through the same way.

`gateway start` hands the gateway to systemd / launchd, whose daemon would not inherit our variables,
so `gateway start [...]` becomes the foreground `gateway run [...]`, announced (spec "Subcommand Argv
Rewrites").

This module knows nothing about processes, sockets or the proxy, and reads no files.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

from claude_tap.clients.base import ArgvRewrite, ClientConfig, TargetChoice, env_value
from claude_tap.clients.home import ReverseHome, home_launch_argv, home_launch_env

DEFAULT_TARGET = "https://api.openai.com/v1"
PROVIDER_NAME = "claude-tap"
KEY_ENV = "OPENAI_API_KEY"


def detect_target(env: Mapping[str, str], home: Path, cwd: Path, argv: Sequence[str]) -> TargetChoice:
    # Hermes ignores OPENAI_BASE_URL with a custom provider, but people who set it mean it as the upstream.
    base_url = env_value(env, "OPENAI_BASE_URL")
    if base_url is not None:
        return TargetChoice(base_url.rstrip("/"), "OPENAI_BASE_URL in the environment")
    return TargetChoice(DEFAULT_TARGET, "default; --tap-target names another OpenAI-compatible base")


def reverse_strip_path_prefix(target: str) -> str:
    return "/v1"


def rewrite_argv(argv: Sequence[str]) -> ArgvRewrite:
    positionals = [index for index, arg in enumerate(argv) if not arg.startswith("-")]
    if len(positionals) >= 2:
        first, second = positionals[:2]
        if argv[first] == "gateway" and second == first + 1 and argv[second] == "start":
            rewritten = (*argv[:second], "run", *argv[second + 1 :])
            note = (
                "hermes `gateway start` would hand the gateway to systemd/launchd, out of the proxy's "
                "reach; running `gateway run` (the same gateway, in the foreground) instead. To daemonise "
                "it yourself, use --tap-no-launch and run the original command (nothing will be recorded)."
            )
            return ArgvRewrite(rewritten, note)
    return ArgvRewrite(tuple(argv))


def reverse_config(proxy_url: str, model: str | None) -> dict[str, object]:
    """config.yaml (written as JSON, which YAML reads) for the HERMES_HOME of a reverse run."""
    provider: dict[str, object] = {"base_url": proxy_url.rstrip("/") + "/v1", "key_env": KEY_ENV}
    chosen: dict[str, object] = {"provider": PROVIDER_NAME}
    if model:
        provider["default_model"] = model
        chosen["default"] = model
    return {"model": chosen, "providers": {PROVIDER_NAME: provider}}


def reverse_files(current: Mapping[str, str | None], proxy_url: str, argv: Sequence[str]) -> dict[str, str]:
    config = reverse_config(proxy_url, model_from_argv(argv))
    return {"config.yaml": json.dumps(config, indent=2) + "\n"}


REVERSE_HOME = ReverseHome("HERMES_HOME", ".hermes", ("config.yaml",), reverse_files)


def model_from_argv(argv: Sequence[str]) -> str | None:
    """The value of `-m X` / `--model X` / `--model=X`, if the user chose a model on the command line."""
    for index, arg in enumerate(argv):
        if arg == "--":
            break
        if arg.startswith("--model="):
            return arg.removeprefix("--model=")
        if arg in {"-m", "--model"} and index + 1 < len(argv):
            return argv[index + 1]
    return None


HERMES = ClientConfig(
    name="hermes",
    display_name="Hermes Agent",
    executable="hermes",
    install_hint="pip install hermes-agent (or: uv tool install hermes-agent)",
    default_proxy_mode="forward",
    default_target=DEFAULT_TARGET,
    base_url_env=(),  # reverse mode goes through a config file of our own, not a variable
    error_style="openai",
    detect_target=detect_target,
    reverse_strip_path_prefix=reverse_strip_path_prefix,
    rewrite_argv=rewrite_argv,
    launch_env=home_launch_env,
    launch_argv=home_launch_argv("hermes"),
    intercept_hosts=(
        "api.openai.com",
        "openrouter.ai",
        "inference-api.nousresearch.com",
        "api.anthropic.com",
    ),
)
