"""What a client adapter is: a frozen value holding data and a few pure functions.

One `ClientConfig` per supported agent CLI says how to run it behind the tap: which executable,
which proxy mode by default, which environment variables carry its base URL, where its real
upstream is (`detect_target`), how the proxy maps its paths (`reverse_strip_path_prefix`), and how
its environment and argv change for the child (`launch_env`, `launch_argv`). Every function takes
what it needs as arguments (an env mapping, a home and a working directory) and returns a value, so
tests need no process, no HOME and no network.

`error_body` speaks each API's error dialect, so a failure of the tap itself (the upstream cannot be
reached) reaches the client in a shape it can show to its user.

This module knows nothing about sockets, the event loop, processes or the trace.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, assert_never

ProxyMode = Literal["reverse", "forward"]
ErrorStyle = Literal["anthropic", "openai", "gemini"]

PROXY_MODES: tuple[ProxyMode, ...] = ("reverse", "forward")


@dataclass(frozen=True, slots=True)
class TargetChoice:
    """The upstream a client would have talked to without the tap, and how we know.

    `source` is for the banner ("ANTHROPIC_BASE_URL in ./.claude/settings.json", "default").
    `notes` are things the user should see (a settings file skipped because it is not JSON).
    `reverse_refusal` is set when reverse mode cannot capture this setup (a base-URL override would
    break it); it says why and what to do instead. Forward mode is unaffected by it.
    `client_args` replaces the client's argv when the target depends on a choice the client makes from
    its own config (Codex's provider): made explicit in argv, `launch_argv` can point it at the proxy.
    """

    url: str
    source: str
    notes: tuple[str, ...] = ()
    reverse_refusal: str | None = None
    client_args: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class ArgvRewrite:
    """Client argv after a rewrite; `note` is None when nothing changed, else a line to log loudly."""

    argv: tuple[str, ...]
    note: str | None = None


DetectTarget = Callable[[Mapping[str, str], Path, Path, Sequence[str]], TargetChoice]
StripPrefix = Callable[[str], str | None]
RewriteArgv = Callable[[Sequence[str]], ArgvRewrite]
LaunchEnv = Callable[[Mapping[str, str], str, ProxyMode], dict[str, str]]
LaunchArgv = Callable[[Sequence[str], str, ProxyMode], list[str]]
RefuseLaunch = Callable[[Mapping[str, str]], str | None]
TranscriptFiles = Callable[[Path, float], list[Path]]


def never_refuse(env: Mapping[str, str]) -> None:
    """`refuse_launch` for clients with no version known to be unsafe to launch."""
    return None


def keep_path(target: str) -> None:
    """`reverse_strip_path_prefix` for clients whose paths go upstream unchanged (the default)."""
    return None


def keep_argv(argv: Sequence[str]) -> ArgvRewrite:
    """`rewrite_argv` for clients with nothing to rewrite (the default)."""
    return ArgvRewrite(tuple(argv))


def forward_only(url: str, reverse_refusal: str) -> DetectTarget:
    """`detect_target` for a client with no base-URL override: always `url`, and reverse mode refused."""

    def detect_target(env: Mapping[str, str], home: Path, cwd: Path, argv: Sequence[str]) -> TargetChoice:
        return TargetChoice(url, "default", reverse_refusal=reverse_refusal)

    return detect_target


def executable_first(executable: str) -> LaunchArgv:
    """`launch_argv` for clients run as `executable` and the user's argv, in either mode."""

    def launch_argv(argv: Sequence[str], proxy_url: str, mode: ProxyMode) -> list[str]:
        return [executable, *argv]

    return launch_argv


@dataclass(frozen=True, slots=True, kw_only=True)
class ClientConfig:
    """One supported agent CLI.

    - `executable`: what to run when the user's argv does not name it.
    - `install_hint`: one line telling the user how to install it.
    - `base_url_env`: the variables that carry the client's base URL (reverse mode points them at us).
    - `detect_target(env, home, cwd, argv)`: the real upstream, see `TargetChoice`.
    - `reverse_strip_path_prefix(target)`: prefix removed from incoming paths before
      `target + path` is built (spec "URL Construction Rules"); None (the default) keeps the path whole.
    - `rewrite_argv(argv)`: foreground equivalents of daemonising subcommands (spec "Subcommand Argv
      Rewrites"); by default argv stays as it is.
    - `launch_env(env, proxy_url, mode)`: the child's environment, client-specific part only; the
      generic forward-proxy variables (HTTPS_PROXY, CA bundles) are added by `launch.forward_proxy_env`.
    - `launch_argv(argv, proxy_url, mode)`: the full command line, executable first.
    - `intercept_hosts`: hosts forward mode should decrypt for this client (model APIs).
    - `refuse_launch(env)`: why the client that PATH in `env` would run must not be launched, in any
      mode and whatever the target (kimi-cli's 1.52.0 stub), or None.
    - `transcripts(home, since)`: the client's own transcript files written since `since` (epoch s),
      which the run imports as `transcript` records while it goes on (Cursor), or None.
    """

    name: str
    display_name: str
    executable: str
    install_hint: str
    default_proxy_mode: ProxyMode
    default_target: str
    base_url_env: tuple[str, ...]
    error_style: ErrorStyle
    detect_target: DetectTarget
    reverse_strip_path_prefix: StripPrefix = keep_path
    rewrite_argv: RewriteArgv = keep_argv
    launch_env: LaunchEnv
    launch_argv: LaunchArgv
    intercept_hosts: tuple[str, ...] = ()
    refuse_launch: RefuseLaunch = never_refuse
    transcripts: TranscriptFiles | None = None


def reverse_env(env: Mapping[str, str], mode: ProxyMode, base_urls: Mapping[str, str]) -> dict[str, str]:
    """`launch_env` for a client that finds its upstream through variables: `env`, plus in reverse
    mode `base_urls` (those variables, pointing at the proxy). Forward mode keeps the client's own."""
    child = dict(env)
    match mode:
        case "reverse":
            child.update(base_urls)
        case "forward":
            pass
        case _:
            assert_never(mode)
    return child


def env_value(env: Mapping[str, str], name: str) -> str | None:
    """The variable's value, or None when it is unset or empty (an empty base URL means "unset")."""
    value = env.get(name, "").strip()
    return value or None


def is_truthy(value: str | None) -> bool:
    """How agent CLIs read boolean variables such as CLAUDE_CODE_USE_BEDROCK=1."""
    return value is not None and value.strip().lower() in {"1", "true", "yes", "on"}


# Error `type`s in the Anthropic API by HTTP status; anything else is a generic api_error.
_ANTHROPIC_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    529: "overloaded_error",
}

# google.rpc.Code names that Google APIs put in `error.status`, by HTTP status.
_GEMINI_STATUSES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    501: "UNIMPLEMENTED",
    502: "UNAVAILABLE",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


def error_body(style: ErrorStyle, status: int, message: str) -> tuple[bytes, str]:
    """A JSON error body in the client's API dialect, and its content type."""
    body: dict[str, object]
    match style:
        case "anthropic":
            error_type = _ANTHROPIC_ERROR_TYPES.get(status, "api_error")
            body = {"type": "error", "error": {"type": error_type, "message": message}}
        case "openai":
            error_type = "server_error" if status >= 500 else "invalid_request_error"
            body = {"error": {"message": message, "type": error_type, "code": "claude_tap_proxy_error"}}
        case "gemini":
            rpc_status = _GEMINI_STATUSES.get(status, "INTERNAL" if status >= 500 else "UNKNOWN")
            body = {"error": {"code": status, "message": message, "status": rpc_status}}
        case _:
            assert_never(style)
    return json.dumps(body).encode(), "application/json"
