"""The child of a reverse run for clients configured by files: a config directory of ours, then the client.

    CLAUDE_TAP_REVERSE_PROXY_URL=URL python -m claude_tap.reverse_home CLIENT EXECUTABLE [args...]

See claude_tap/clients/home.py for what the directory holds and why. This process creates it (in a
temporary directory, 0700), runs the client with the client's variable (HERMES_HOME,
PI_CODING_AGENT_DIR) pointing at it, moves what the client created there to the user's directory,
removes it, and exits with the client's exit code (128+N when
signal N ended it). Ctrl+C reaches the client directly (same process group); this process only waits,
and passes SIGTERM and SIGHUP on.

This module knows nothing about the proxy or the trace.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import FrameType

from claude_tap.clients import get_client
from claude_tap.clients.hermes import REVERSE_HOME as HERMES_HOME
from claude_tap.clients.home import LAUNCHER_MODULE, PROXY_URL_ENV, ReverseHome
from claude_tap.clients.pi import REVERSE_HOME as PI_HOME

REVERSE_HOMES: dict[str, ReverseHome] = {"hermes": HERMES_HOME, "pi": PI_HOME}

EXIT_USAGE = 2
EXIT_NOT_FOUND = 127


def build_home(
    directory: Path, home: ReverseHome, env: Mapping[str, str], proxy_url: str, argv: Sequence[str]
) -> None:
    """Fill `directory`: links to the user's entries, then the generated files (never through a link)."""
    user_dir = home.user_dir(env)
    current: dict[str, str | None] = {}
    for name in home.generated:
        try:
            current[name] = (user_dir / name).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            current[name] = None
    if user_dir.is_dir():
        for entry in user_dir.iterdir():
            if entry.name not in home.generated:
                (directory / entry.name).symlink_to(entry.resolve())
    for name, text in home.build(current, proxy_url, argv).items():
        path = directory / name
        path.write_text(text, encoding="utf-8")
        path.chmod(0o600)


def run(argv: Sequence[str], env: Mapping[str, str]) -> int:
    proxy_url = env.get(PROXY_URL_ENV, "")
    if len(argv) < 2 or argv[0] not in REVERSE_HOMES or not proxy_url:
        clients = "|".join(REVERSE_HOMES)
        print(
            f"usage: {PROXY_URL_ENV}=URL python -m {LAUNCHER_MODULE} {{{clients}}} EXECUTABLE [args...]",
            file=sys.stderr,
        )
        return EXIT_USAGE
    client, executable_name, client_argv = argv[0], argv[1], list(argv[2:])
    home = REVERSE_HOMES[client]
    executable = shutil.which(executable_name, path=env.get("PATH"))
    if executable is None:
        hint = get_client(client).install_hint
        print(f"claude-tap: {executable_name} not found on PATH. Install it: {hint}", file=sys.stderr)
        return EXIT_NOT_FOUND
    with tempfile.TemporaryDirectory(prefix=f"claude-tap-{client}-") as directory:
        build_home(Path(directory), home, env, proxy_url, client_argv)
        child_env = {name: value for name, value in env.items() if name != PROXY_URL_ENV}
        child_env[home.env_var] = directory
        child = subprocess.Popen([executable, *client_argv], env=child_env)

        def pass_on(signum: int, frame: FrameType | None) -> None:
            child.send_signal(signum)

        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the terminal sends it to the client as well
        signal.signal(signal.SIGTERM, pass_on)
        signal.signal(signal.SIGHUP, pass_on)
        code = child.wait()
        keep_new_entries(Path(directory), home, env)
    return 128 - code if code < 0 else code


def keep_new_entries(directory: Path, home: ReverseHome, env: Mapping[str, str]) -> None:
    """Move what the client created in `directory` (a first session, a log) to the user's directory,
    where it would have been without the tap; what exists there already is never replaced."""
    user_dir = home.user_dir(env)
    for entry in directory.iterdir():
        if entry.is_symlink() or entry.name in home.generated or (user_dir / entry.name).exists():
            continue
        user_dir.mkdir(parents=True, exist_ok=True)
        shutil.move(entry, user_dir / entry.name)


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:], os.environ))
