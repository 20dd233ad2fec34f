"""The child of a Hermes Agent run in reverse mode: a HERMES_HOME of our own, then hermes in it.

`python -m claude_tap.hermes_home hermes [args...]`, with CLAUDE_TAP_HERMES_PROXY_URL set (see
claude_tap/clients/hermes.py for why Hermes needs this). It creates a temporary HERMES_HOME holding
config.yaml with the `claude-tap` provider pointed at the proxy, plus a copy of the user's .env (their
keys; the provider reads its key from OPENAI_API_KEY), runs hermes there, removes the directory, and
exits with hermes's exit code (128+N when a signal N ended it).

Ctrl+C reaches hermes directly (same process group); this process only waits, and passes SIGTERM on.

This module knows nothing about the proxy or the trace.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import FrameType

from claude_tap.clients.hermes import HERMES, PROXY_URL_ENV, model_from_argv, reverse_config

EXIT_NOT_FOUND = 127


def user_hermes_home(env: Mapping[str, str]) -> Path:
    configured = env.get("HERMES_HOME", "").strip()
    return (
        Path(configured).expanduser() if configured else Path(env.get("HOME", "~")).expanduser() / ".hermes"
    )


def build_home(directory: Path, env: Mapping[str, str], proxy_url: str, argv: Sequence[str]) -> None:
    """Fill `directory` as the HERMES_HOME of a reverse run."""
    config = reverse_config(proxy_url, model_from_argv(argv))
    (directory / "config.yaml").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    user_env = user_hermes_home(env) / ".env"
    if user_env.is_file():
        shutil.copyfile(user_env, directory / ".env")
        (directory / ".env").chmod(0o600)


def run(argv: Sequence[str], env: Mapping[str, str]) -> int:
    proxy_url = env.get(PROXY_URL_ENV, "")
    if not argv or not proxy_url:
        print(
            f"usage: {PROXY_URL_ENV}=URL python -m claude_tap.hermes_home hermes [args...]", file=sys.stderr
        )
        return 2
    executable = shutil.which(argv[0], path=env.get("PATH"))
    if executable is None:
        print(f"claude-tap: {argv[0]} not found. Install it: {HERMES.install_hint}", file=sys.stderr)
        return EXIT_NOT_FOUND
    with tempfile.TemporaryDirectory(prefix="claude-tap-hermes-") as directory:
        build_home(Path(directory), env, proxy_url, argv[1:])
        child_env = {name: value for name, value in env.items() if name != PROXY_URL_ENV}
        child_env["HERMES_HOME"] = directory
        child = subprocess.Popen([executable, *argv[1:]], env=child_env)

        def pass_on(signum: int, frame: FrameType | None) -> None:
            child.send_signal(signum)

        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the terminal sends it to hermes too
        signal.signal(signal.SIGTERM, pass_on)
        code = child.wait()
    return 128 - code if code < 0 else code


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:], os.environ))
