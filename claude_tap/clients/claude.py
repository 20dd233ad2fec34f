"""Claude Code (`claude`): reverse mode through its base-URL variables.

Spec rows "Claude Code / API Key" (https://api.anthropic.com) and "Claude-compatible gateway
(ANTHROPIC_BASE_URL env or Claude settings)"; default proxy mode reverse, no path prefix stripped.

Where the real upstream is, first match wins: the variable in the environment, the `env` block of a
`--settings` argument, ./.claude/settings.local.json, ./.claude/settings.json, ~/.claude/settings.json,
then https://api.anthropic.com. With CLAUDE_CODE_USE_BEDROCK / CLAUDE_CODE_USE_VERTEX the provider's
own base URL is the upstream instead. Native AWS Bedrock cannot go through a base-URL override (its
requests are SigV4-signed for the AWS host), so reverse mode is refused there.

The child gets every base-URL variable pointed at the proxy, in its environment and again through a
leading `--settings '{"env": ...}'` argument, because Claude Code lets settings files override the
environment and flag settings override settings files. A user's own `--settings` is left alone.

This module knows nothing about processes, sockets or the proxy. It reads only the settings files
under the `home` and `cwd` it is given (and a `--settings` file named in argv, relative to `cwd`).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from claude_tap.clients.base import (
    ClientConfig,
    ProxyMode,
    TargetChoice,
    env_value,
    is_truthy,
    reverse_env,
)

DEFAULT_TARGET = "https://api.anthropic.com"

# Claude Code reads only the variable of its active provider. Which provider is active may be decided
# in a settings file, so reverse mode points all three at the proxy; detect_target picks the upstream.
BASE_URL_ENV = ("ANTHROPIC_BASE_URL", "ANTHROPIC_BEDROCK_BASE_URL", "ANTHROPIC_VERTEX_BASE_URL")

# Set by a running Claude Code for the commands it starts: under CLAUDECODE a nested claude refuses to
# start, and CLAUDE_CODE_SSE_PORT would attach the child to the parent's IDE connection.
SESSION_ENV = ("CLAUDECODE", "CLAUDE_CODE_SSE_PORT")

# File names of a Claude Code executable, as the VS Code "Claude Process Wrapper" passes it.
EXECUTABLE_NAMES = frozenset({"claude", "claude.exe", "cli.js"})

_AWS_HOST_SUFFIXES = (".amazonaws.com", ".amazonaws.com.cn", ".api.aws")


@dataclass(frozen=True, slots=True)
class _EnvSource:
    label: str  # for people: "the environment", "./.claude/settings.json"
    env: Mapping[str, str]


def detect_target(env: Mapping[str, str], home: Path, cwd: Path, argv: Sequence[str]) -> TargetChoice:
    notes: list[str] = []
    sources = _env_sources(env, home, cwd, argv, notes)
    if _flag(sources, "CLAUDE_CODE_USE_BEDROCK"):
        return _bedrock_target(sources, notes)
    if _flag(sources, "CLAUDE_CODE_USE_VERTEX"):
        return _vertex_target(sources, notes)
    found = _lookup(sources, "ANTHROPIC_BASE_URL")
    if found is None:
        return TargetChoice(DEFAULT_TARGET, "default", tuple(notes))
    url, label = found
    return TargetChoice(url.rstrip("/"), f"ANTHROPIC_BASE_URL in {label}", tuple(notes))


def launch_env(env: Mapping[str, str], proxy_url: str, mode: ProxyMode) -> dict[str, str]:
    inherited = {name: value for name, value in env.items() if name not in SESSION_ENV}
    return reverse_env(inherited, mode, dict.fromkeys(BASE_URL_ENV, proxy_url))


def launch_argv(argv: Sequence[str], proxy_url: str, mode: ProxyMode) -> list[str]:
    command, args = split_executable(argv)
    if mode == "reverse" and not has_settings_flag(args):
        settings = json.dumps({"env": dict.fromkeys(BASE_URL_ENV, proxy_url)}, separators=(",", ":"))
        args = ["--settings", settings, *args]
    return [*command, *args]


def split_executable(argv: Sequence[str]) -> tuple[list[str], list[str]]:
    """(command to run, its arguments). The VS Code "Claude Process Wrapper" calls the wrapper with
    the path of the claude executable first; that path is what we run. Anything else runs `claude`."""
    if argv and _is_claude_path(argv[0]):
        path = argv[0]
        command = ["node", path] if path.endswith(".js") else [path]
        return command, list(argv[1:])
    return ["claude"], list(argv)


def _is_claude_path(arg: str) -> bool:
    name = re.split(r"[\\/]", arg)[-1]
    if name.lower() not in EXECUTABLE_NAMES:
        return False
    is_path = name != arg
    return is_path or os.path.isfile(arg)


def has_settings_flag(args: Sequence[str]) -> bool:
    """True when the user passed `--settings X` or `--settings=X` themselves."""
    return any(arg == "--settings" or arg.startswith("--settings=") for arg in _options(args))


def _options(args: Sequence[str]) -> list[str]:
    """Arguments before a `--` (after it everything is positional)."""
    args = list(args)
    return args[: args.index("--")] if "--" in args else args


def _settings_flag_value(args: Sequence[str]) -> str | None:
    options = _options(args)
    for index, arg in enumerate(options):
        if arg.startswith("--settings="):
            return arg.removeprefix("--settings=")
        if arg == "--settings" and index + 1 < len(options):
            return options[index + 1]
    return None


def _env_sources(
    env: Mapping[str, str], home: Path, cwd: Path, argv: Sequence[str], notes: list[str]
) -> list[_EnvSource]:
    """Every place a Claude Code variable can come from, highest precedence first."""
    sources = [_EnvSource("the environment", env)]
    settings_arg = _settings_flag_value(argv)
    if settings_arg is not None:
        sources += _settings_arg_source(settings_arg, cwd, notes)
    for label, path in (
        ("./.claude/settings.local.json", cwd / ".claude" / "settings.local.json"),
        ("./.claude/settings.json", cwd / ".claude" / "settings.json"),
        ("~/.claude/settings.json", home / ".claude" / "settings.json"),
    ):
        sources += _settings_file_source(label, path, notes)
    return sources


def _settings_arg_source(value: str, cwd: Path, notes: list[str]) -> list[_EnvSource]:
    # `--settings` takes a JSON string or the path of a JSON file.
    if value.lstrip().startswith("{"):
        return _parse_settings("--settings JSON", value, notes)
    path = cwd / Path(value).expanduser()
    return _settings_file_source(f"--settings {value}", path, notes, must_exist=True)


def _settings_file_source(
    label: str, path: Path, notes: list[str], *, must_exist: bool = False
) -> list[_EnvSource]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        if must_exist:
            notes.append(f"skipped {label}: no such file")
        return []
    except (OSError, UnicodeDecodeError) as exc:
        notes.append(f"skipped {label}: cannot read it ({exc})")
        return []
    return _parse_settings(label, text, notes)


def _parse_settings(label: str, text: str, notes: list[str]) -> list[_EnvSource]:
    try:
        settings = json.loads(text)
    except json.JSONDecodeError as exc:
        notes.append(f"skipped {label}: not valid JSON ({exc})")
        return []
    block = settings.get("env", {}) if isinstance(settings, dict) else None
    if not isinstance(block, dict):
        notes.append(f'skipped {label}: expected a JSON object with an "env" object')
        return []
    # Values are strings in Claude Code's schema; numbers and booleans are read as people wrote them.
    env = {
        name: value if isinstance(value, str) else json.dumps(value)
        for name, value in block.items()
        if isinstance(value, str | int | float | bool)
    }
    return [_EnvSource(label, env)]


def _lookup(sources: Sequence[_EnvSource], name: str) -> tuple[str, str] | None:
    """(value, where it came from) from the first source that sets `name`, else None."""
    for source in sources:
        value = env_value(source.env, name)
        if value is not None:
            return value, source.label
    return None


def _flag(sources: Sequence[_EnvSource], name: str) -> bool:
    found = _lookup(sources, name)
    return found is not None and is_truthy(found[0])


def _bedrock_target(sources: Sequence[_EnvSource], notes: list[str]) -> TargetChoice:
    found = _lookup(sources, "ANTHROPIC_BEDROCK_BASE_URL")
    if found is not None and not _is_aws_host(found[0]):
        url, label = found[0].rstrip("/"), found[1]
        if not _flag(sources, "CLAUDE_CODE_SKIP_BEDROCK_AUTH"):
            notes.append(
                "Bedrock requests are SigV4-signed for the proxy's address; if the gateway checks "
                "signatures, set CLAUDE_CODE_SKIP_BEDROCK_AUTH=1 or use --tap-proxy-mode forward"
            )
        return TargetChoice(url, f"ANTHROPIC_BEDROCK_BASE_URL in {label} (Bedrock gateway)", tuple(notes))
    if found is not None:
        url, source = found[0].rstrip("/"), f"ANTHROPIC_BEDROCK_BASE_URL in {found[1]}"
    else:
        region = _lookup(sources, "AWS_REGION") or _lookup(sources, "AWS_DEFAULT_REGION")
        url = f"https://bedrock-runtime.{region[0] if region else 'us-east-1'}.amazonaws.com"
        source = "AWS Bedrock (CLAUDE_CODE_USE_BEDROCK without ANTHROPIC_BEDROCK_BASE_URL)"
    refusal = (
        f"Claude Code is set up for AWS Bedrock at {url}: its requests are signed for that host, "
        "so they cannot be redirected through a base URL. Run with --tap-proxy-mode forward."
    )
    return TargetChoice(url, source, tuple(notes), reverse_refusal=refusal)


def _vertex_target(sources: Sequence[_EnvSource], notes: list[str]) -> TargetChoice:
    found = _lookup(sources, "ANTHROPIC_VERTEX_BASE_URL")
    if found is not None:
        url, label = found[0].rstrip("/"), found[1]
        return TargetChoice(url, f"ANTHROPIC_VERTEX_BASE_URL in {label} (Vertex AI)", tuple(notes))
    region_found = _lookup(sources, "CLOUD_ML_REGION")
    if region_found is None:
        refusal = (
            "Claude Code is set up for Vertex AI but neither CLOUD_ML_REGION nor "
            "ANTHROPIC_VERTEX_BASE_URL is set, so the upstream region is unknown. "
            "Set one of them, or run with --tap-proxy-mode forward."
        )
        return TargetChoice("https://aiplatform.googleapis.com/v1", "Vertex AI", tuple(notes), refusal)
    region, label = region_found
    # The endpoint the Vertex SDK builds from the region ("global" has no regional prefix).
    host = "aiplatform.googleapis.com" if region == "global" else f"{region}-aiplatform.googleapis.com"
    url = f"https://{host}/v1"
    other_regions = sorted(
        name
        for name in {name for source in sources for name in source.env if name.startswith("VERTEX_REGION_")}
        if (found_region := _lookup(sources, name)) is not None and found_region[0] != region
    )
    if other_regions:
        notes.append(
            f"{', '.join(other_regions)} send some models to other regions, but reverse mode sends every "
            f"request to {url}; if those requests fail, use --tap-proxy-mode forward"
        )
    return TargetChoice(url, f"CLOUD_ML_REGION={region} in {label} (Vertex AI)", tuple(notes))


def _is_aws_host(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    return host.endswith(_AWS_HOST_SUFFIXES)


CLAUDE = ClientConfig(
    name="claude",
    display_name="Claude Code",
    executable="claude",
    install_hint=(
        "npm install -g @anthropic-ai/claude-code (or: curl -fsSL https://claude.ai/install.sh | bash)"
    ),
    default_proxy_mode="reverse",
    default_target=DEFAULT_TARGET,
    base_url_env=BASE_URL_ENV,
    error_style="anthropic",
    detect_target=detect_target,
    launch_env=launch_env,
    launch_argv=launch_argv,
    intercept_hosts=("api.anthropic.com",),
)
