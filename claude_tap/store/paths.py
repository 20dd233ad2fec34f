"""Where traces live: the claude-tap home and one directory per session.

Layout (DESIGN section 4): `<home>/traces/YYYY-MM-DD/HHMMSS-<client>-<6 hex>/` holding TRACE_FILE,
HTML_FILE and LOG_FILE. With `--tap-output-dir DIR` the same `YYYY-MM-DD/HHMMSS-...` tree grows
under DIR instead of `<home>/traces`, so one glob lists sessions in either place and two runs into
the same DIR never share a directory.

This module knows nothing about what goes into the files.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path

TRACE_FILE = "trace.jsonl.zst"
HTML_FILE = "trace.html"
LOG_FILE = "proxy.log"
TRACES_DIR = "traces"
HOME_ENV = "CLAUDE_TAP_HOME"

# Traces hold prompts, code and (hashed) credentials: only the user may read them. The modes are set
# with chmod after creating, since mkdir and open apply the umask (under umask 000 a plain mkdir
# -p made 0777 directories, issue 15).
_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600
_UNSAFE_NAME_CHARS = re.compile(r"[^A-Za-z0-9_.-]+")


class SessionDirError(OSError):
    """The session directory could not be created. The message says where and what to do."""


def claude_tap_home(env: Mapping[str, str]) -> Path:
    """`$CLAUDE_TAP_HOME`, or `~/.claude-tap` (home taken from `$HOME` when set)."""
    configured = env.get(HOME_ENV)
    if configured:
        return Path(configured).expanduser()
    home = env.get("HOME")
    return (Path(home) if home else Path.home()) / ".claude-tap"


def traces_root(env: Mapping[str, str]) -> Path:
    return claude_tap_home(env) / TRACES_DIR


def session_dir_name(client: str, now: datetime, session_id: str) -> str:
    safe_client = _UNSAFE_NAME_CHARS.sub("_", client).strip("_.") or "client"
    return f"{now:%H%M%S}-{safe_client}-{session_id}"


def new_session_dir(base: Path | None, client: str, now: datetime, env: Mapping[str, str]) -> Path:
    """Create and return a fresh session directory under `base` (or `<home>/traces`).

    Raises SessionDirError naming the directory, the reason and the flag or variable to change.
    """
    root = base if base is not None else traces_root(env)
    day_dir = root / f"{now:%Y-%m-%d}"
    try:
        make_private_dirs(day_dir)
    except OSError as error:
        raise _dir_error(day_dir, error, base) from error
    for _ in range(8):  # 16.7 million ids per second and client: a clash is a freak, retry a few
        path = day_dir / session_dir_name(client, now, secrets.token_hex(3))
        try:
            path.mkdir(mode=_DIR_MODE)
            path.chmod(_DIR_MODE)
        except FileExistsError:
            continue
        except OSError as error:
            raise _dir_error(path, error, base) from error
        return path
    raise SessionDirError(f"cannot create a trace directory in {day_dir}: every name tried already exists")


def make_private_dirs(path: Path) -> None:
    """`mkdir -p path`, each directory it creates 0700 whatever the umask; existing ones are left
    as they are (a --tap-output-dir the user made is theirs to share)."""
    missing = []
    current = path
    while not current.is_dir() and current.parent != current:
        missing.append(current)
        current = current.parent
    for directory in reversed(missing):
        try:
            directory.mkdir(mode=_DIR_MODE)
        except FileExistsError:  # made meanwhile by another run: not ours to change
            continue
        directory.chmod(_DIR_MODE)


def create_private_file(path: Path) -> None:
    """Create `path` empty and 0600 whatever the umask, unless it exists; whoever opens it later to
    append (a logging.FileHandler) keeps that mode."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, PRIVATE_FILE_MODE)
    try:
        os.fchmod(fd, PRIVATE_FILE_MODE)
    finally:
        os.close(fd)


def _dir_error(path: Path, error: OSError, base: Path | None) -> SessionDirError:
    reason = error.strerror or str(error)
    fix = (
        "choose another --tap-output-dir (or CLAUDE_TAP_OUTPUT_DIR)"
        if base is not None
        else f"set {HOME_ENV} to a writable directory, or pass --tap-output-dir"
    )
    return SessionDirError(f"cannot create trace directory {path}: {reason}; {fix}")
