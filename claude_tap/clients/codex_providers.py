"""Which model provider Codex will use, and its base URL: config.toml, a profile, or `-c` overrides.

Codex picks its provider from layered config: config.toml, then (`--profile <name>`, Codex 0.16x and
later) $CODEX_HOME/<name>.config.toml on top of it, then `-c key=value` overrides on top of both. The
highest layer's `model_provider` wins, else the built-in "openai". A provider other than "openai" is
looked up in `[model_providers.<name>]` of the same layers, whose `base_url` is where requests go.
Older Codex kept profiles inside config.toml (`profile = "<name>"` or `--profile` selecting
`[profiles.<name>]`, whose `model_provider` beat every other); newer Codex refuses that form, but a
user on an older version still has it, so it is read too.

Only providers defined in config.toml (or by `-c model_providers.<name>.base_url=`) can be pointed at
the tap: Codex's own built-ins other than "openai" (oss, ollama, lmstudio) win over a table of the same
name, so a `-c` override cannot move them.

Pure: the caller reads config.toml and passes its text.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

BUILTIN_PROVIDER = "openai"
CONFIG_FLAGS = ("-c", "--config")
PROFILE_FLAGS = ("-p", "--profile")


@dataclass(frozen=True, slots=True)
class Provider:
    """`name` as Codex resolves it; `base_url` (None when unset) and where each came from."""

    name: str
    name_source: str
    base_url: str | None = None
    base_url_source: str = ""

    @property
    def is_custom(self) -> bool:
        return self.name != BUILTIN_PROVIDER


def parse_config(text: str | None) -> tuple[dict[str, Any], str | None]:
    """config.toml as a table, and a note when it could not be read (an empty table then)."""
    if text is None:
        return {}, None
    try:
        return tomllib.loads(text), None
    except tomllib.TOMLDecodeError as exc:
        return {}, f"cannot read it as TOML ({exc})"


def cli_overrides(argv: Sequence[str]) -> dict[str, str]:
    """`-c key=value` pairs from Codex's argv, values decoded as TOML when they parse (Codex does the
    same: `-c model_provider="x"` and `-c model_provider=x` both mean x). Later ones win."""
    overrides: dict[str, str] = {}
    for raw in _flag_values(argv, CONFIG_FLAGS):
        key, sep, value = raw.partition("=")
        if sep:
            overrides[key.strip()] = _toml_value(value.strip())
    return overrides


def cli_profile(argv: Sequence[str]) -> str | None:
    values = _flag_values(argv, PROFILE_FLAGS)
    return values[-1] if values else None


ConfigLayer = tuple[str, Mapping[str, Any]]
"""A config file as (how the banner names it, its table); lowest layer first."""


def resolve_provider(layers: Sequence[ConfigLayer], argv: Sequence[str]) -> Provider:
    """The provider Codex will use, given its config files (config.toml, then the profile's file if
    `--profile` named one that exists) and its argv."""
    overrides = cli_overrides(argv)
    chosen = _legacy_profile_provider(layers[0][1] if layers else {}, argv, overrides)
    if chosen is None and "model_provider" in overrides:
        chosen = overrides["model_provider"], "-c model_provider"
    for label, table in reversed(layers):
        if chosen is None and _string(table.get("model_provider")) is not None:
            chosen = str(table["model_provider"]), f"model_provider in {label}"
    if chosen is None:
        return Provider(BUILTIN_PROVIDER, "default")
    name, name_source = chosen
    key = f"model_providers.{name}.base_url"
    if key in overrides:
        return Provider(name, name_source, overrides[key].rstrip("/"), f"-c {key}")
    for label, table in reversed(layers):
        base_url = _string(_table(_table(table.get("model_providers")).get(name)).get("base_url"))
        if base_url is not None:
            return Provider(name, name_source, base_url.rstrip("/"), f"{key} in {label}")
    return Provider(name, name_source)


def _legacy_profile_provider(
    config: Mapping[str, Any], argv: Sequence[str], overrides: Mapping[str, str]
) -> tuple[str, str] | None:
    """The provider of an older Codex's in-file profile (`[profiles.<name>]`), which beat the rest."""
    profile_name = cli_profile(argv) or overrides.get("profile") or _string(config.get("profile"))
    if profile_name is None:
        return None
    profile = _table(_table(config.get("profiles")).get(profile_name))
    overridden = overrides.get(f"profiles.{profile_name}.model_provider")
    by_profile = overridden or _string(profile.get("model_provider"))
    return None if by_profile is None else (by_profile, f'profile "{profile_name}"')


def without_base_url_overrides(argv: Sequence[str], provider: str) -> list[str]:
    """`argv` less any `-c model_providers.<provider>.base_url=...` (the tap's own must win: Codex
    applies overrides in order, so a later one of the user's would send requests around the tap)."""
    key = f"model_providers.{provider}.base_url"
    kept: list[str] = []
    skip_next = False
    for index, arg in enumerate(argv):
        if skip_next:
            skip_next = False
            continue
        if arg in CONFIG_FLAGS and index + 1 < len(argv) and _is_key(argv[index + 1], key):
            skip_next = True
            continue
        if any(arg.startswith(f"{flag}=") and _is_key(arg.split("=", 1)[1], key) for flag in CONFIG_FLAGS):
            continue
        kept.append(arg)
    return kept


def _is_key(assignment: str, key: str) -> bool:
    return assignment.partition("=")[0].strip() == key


def _flag_values(argv: Sequence[str], flags: tuple[str, ...]) -> list[str]:
    """Values of `flags` (`-c v`, `--config v`, `--config=v`); stops at `--`."""
    values: list[str] = []
    args = iter(argv)
    for arg in args:
        if arg == "--":
            break
        if arg in flags:
            value = next(args, None)
            if value is not None:
                values.append(value)
            continue
        for flag in flags:
            if flag.startswith("--") and arg.startswith(f"{flag}="):
                values.append(arg[len(flag) + 1 :])
    return values


def _toml_value(text: str) -> str:
    try:
        value = tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text
    return value if isinstance(value, str) else text


def _string(value: object) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def _table(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
