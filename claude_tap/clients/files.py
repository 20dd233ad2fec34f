"""Reading the small config files agent CLIs keep (`.env`, JSON settings), for `detect_target`.

Each reader takes a label for people ("~/.gemini/.env") and a path, and returns what it found, or
None when there is nothing to use. A file that is absent is simply absent; a file that exists but
cannot be read or parsed adds a note (the banner shows it) instead of raising, because a broken
settings file must not stop a recording: the client would ignore it the same way.

This module knows nothing about processes, sockets or the proxy; it only reads the paths it is given.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping, Sequence
from pathlib import Path


def read_text(label: str, path: Path, notes: list[str]) -> str | None:
    """The file's text; None (with a note unless it does not exist) when it cannot be read."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        notes.append(f"skipped {label}: cannot read it ({exc})")
        return None


def read_json(label: str, path: Path, notes: list[str]) -> object | None:
    """The file parsed as JSON; None when absent, unreadable or not JSON (the last two with a note)."""
    text = read_text(label, path, notes)
    if text is None:
        return None
    try:
        value: object = json.loads(text)
    except json.JSONDecodeError as exc:
        notes.append(f"skipped {label}: not valid JSON ({exc})")
        return None
    return value


def read_dotenv(label: str, path: Path, notes: list[str]) -> dict[str, str] | None:
    """`NAME=value` lines of a .env file (`export` prefixes, comments and quotes as dotenv reads
    them); None when the file is absent or unreadable."""
    text = read_text(label, path, notes)
    if text is None:
        return None
    values: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        name, _, value = line.removeprefix("export ").partition("=")
        values[name.strip()] = _dotenv_value(value.strip())
    return values


def _dotenv_value(raw: str) -> str:
    if raw[:1] in {'"', "'"}:
        try:
            parts = shlex.split(raw)
        except ValueError:  # an unclosed quote: dotenv keeps the text as written
            return raw
        return parts[0] if parts else ""
    return raw.split(" #", 1)[0].strip()  # an unquoted value ends at a comment


def json_path(value: object, keys: Sequence[str]) -> object | None:
    """value[keys[0]][keys[1]]...; None when a level is missing or not an object."""
    for key in keys:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def first_string(*values: object) -> str | None:
    """The first value that is a non-blank string, stripped."""
    for value in values:
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None
