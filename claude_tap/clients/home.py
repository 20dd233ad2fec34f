"""A config directory of our own, for clients whose base URL lives in a file rather than a variable.

Hermes (HERMES_HOME) and Pi (PI_CODING_AGENT_DIR) read their provider's base URL from a config file in
a directory a variable names. For reverse mode the child gets a temporary directory of ours instead:
every entry of the user's directory appears in it as a symlink (so sessions, memories, logins and
keys stay the user's and keep being written where they always were), except the few files the
client's `build` function writes, pointed at the proxy. `claude_tap.reverse_home` does the writing,
runs the client, and removes the directory.

This module knows nothing about processes, sockets or the proxy; `build` is a pure function.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from claude_tap.clients.base import LaunchArgv, ProxyMode

# Where the proxy is, for claude_tap.reverse_home: a variable, not an argument, so the command line
# shown with --tap-no-launch stays the client's own.
PROXY_URL_ENV = "CLAUDE_TAP_REVERSE_PROXY_URL"
LAUNCHER_MODULE = "claude_tap.reverse_home"

# (the user's current text of each generated file, or None; proxy URL; client argv) -> {name: text}
BuildFiles = Callable[[Mapping[str, str | None], str, Sequence[str]], dict[str, str]]


@dataclass(frozen=True, slots=True)
class ReverseHome:
    """- `env_var`: the variable that names the client's config directory.
    - `default_dir`: that directory when the variable is unset, relative to HOME.
    - `generated`: the files `build` writes; every other entry of the user's directory is linked.
    - `build`: the generated files' contents."""

    env_var: str
    default_dir: str
    generated: tuple[str, ...]
    build: BuildFiles

    def user_dir(self, env: Mapping[str, str]) -> Path:
        configured = env.get(self.env_var, "").strip()
        if configured:
            return Path(configured).expanduser()
        return Path(env.get("HOME", "~")).expanduser() / self.default_dir


def launcher_argv(client: str, executable: str, argv: Sequence[str]) -> list[str]:
    """`launch_argv` in reverse mode: the launcher, which runs `executable argv` in the directory."""
    # sys.executable: the interpreter running claude-tap, which can import claude_tap.
    return [sys.executable, "-m", LAUNCHER_MODULE, client, executable, *argv]


def launched_executable(argv: Sequence[str]) -> str:
    """The client a launch command runs: inside a `launcher_argv`, the client's executable, not the
    interpreter that runs the launcher (a missing client must be said before anything starts)."""
    if list(argv[:3]) == [sys.executable, "-m", LAUNCHER_MODULE] and len(argv) > 4:
        return argv[4]
    return argv[0]


def home_launch_env(env: Mapping[str, str], proxy_url: str, mode: ProxyMode) -> dict[str, str]:
    """`launch_env` of a client with a `ReverseHome`: in reverse mode, tells the launcher where the
    proxy is; forward mode keeps the environment as it is."""
    return {**env, PROXY_URL_ENV: proxy_url} if mode == "reverse" else dict(env)


def home_launch_argv(executable: str) -> LaunchArgv:
    """`launch_argv` of a client with a `ReverseHome`: in reverse mode through the launcher, which
    runs `executable argv` in the directory; forward mode runs `executable argv` itself."""

    def launch_argv(argv: Sequence[str], proxy_url: str, mode: ProxyMode) -> list[str]:
        return launcher_argv(executable, executable, argv) if mode == "reverse" else [executable, *argv]

    return launch_argv
