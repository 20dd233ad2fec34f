"""Gemini CLI (`gemini`): forward mode by default; reverse for API-key and Vertex AI setups.

Spec rows "Gemini CLI / Google OAuth / Code Assist" (forward) and "API key / Vertex-compatible config
(--tap-proxy-mode reverse)": a Google login talks to several Google hosts (OAuth, Code Assist at
cloudcode-pa.googleapis.com) with no base-URL override, so forward mode is the default. With an API
key the Gen AI SDK builds `<base>/v1beta/models/<model>:streamGenerateContent?alt=sse` from
GOOGLE_GEMINI_BASE_URL (Vertex AI: GOOGLE_VERTEX_BASE_URL), so reverse mode points both at the proxy
and strips nothing.

Where the real upstream is: GOOGLE_GEMINI_BASE_URL / GOOGLE_VERTEX_BASE_URL in the environment or in
the first .env file Gemini CLI itself would load (./.gemini/.env, ./.env, then the same in each parent
directory, then ~/.gemini/.env, ~/.env; the process environment wins over the file); else Vertex AI's
regional endpoint when Vertex is selected; else the Gemini API when a key is there; else a Google
login, which reverse mode cannot capture (`reverse_refusal`).

Node's fetch trusts NODE_EXTRA_CA_CERTS only, which the generic forward-proxy variables already set.

This module knows nothing about processes, sockets or the proxy. It reads only the .env files and
~/.gemini/settings.json under the `home` and `cwd` it is given.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from claude_tap.clients.base import (
    ClientConfig,
    ProxyMode,
    TargetChoice,
    env_value,
    executable_first,
    is_truthy,
    reverse_env,
)
from claude_tap.clients.files import first_string, json_path, read_dotenv, read_json

GEMINI_API_TARGET = "https://generativelanguage.googleapis.com"
CODE_ASSIST_TARGET = "https://cloudcode-pa.googleapis.com"
VERTEX_GLOBAL_TARGET = "https://aiplatform.googleapis.com"
BASE_URL_ENV = ("GOOGLE_GEMINI_BASE_URL", "GOOGLE_VERTEX_BASE_URL")

# Values of `security.auth.selectedType` (older versions: `selectedAuthType`) in settings.json.
_API_KEY_AUTH = "gemini-api-key"
_VERTEX_AUTH = "vertex-ai"

REVERSE_REFUSAL = (
    "Gemini CLI signs in with Google here: its Code Assist traffic (cloudcode-pa.googleapis.com) has "
    "no base-URL override, so reverse mode cannot record it. Run with --tap-proxy-mode forward "
    "(the default for gemini), or set GEMINI_API_KEY to use the Gemini API in reverse mode."
)


def detect_target(env: Mapping[str, str], home: Path, cwd: Path, argv: Sequence[str]) -> TargetChoice:
    notes: list[str] = []
    variables, where = _variables(env, home, cwd, notes)
    auth = _selected_auth(home, notes)
    uses_vertex = is_truthy(variables.get("GOOGLE_GENAI_USE_VERTEXAI")) or auth == _VERTEX_AUTH
    if uses_vertex:
        return _vertex_target(variables, where, notes)
    base_url = env_value(variables, "GOOGLE_GEMINI_BASE_URL")
    if base_url is not None:
        return TargetChoice(base_url.rstrip("/"), f"GOOGLE_GEMINI_BASE_URL in {where}", tuple(notes))
    if env_value(variables, "GEMINI_API_KEY") is not None or auth == _API_KEY_AUTH:
        return TargetChoice(GEMINI_API_TARGET, "default (Gemini API key)", tuple(notes))
    return TargetChoice(CODE_ASSIST_TARGET, "Google login (Code Assist)", tuple(notes), REVERSE_REFUSAL)


def _vertex_target(variables: Mapping[str, str], where: str, notes: list[str]) -> TargetChoice:
    base_url = env_value(variables, "GOOGLE_VERTEX_BASE_URL")
    if base_url is not None:
        return TargetChoice(base_url.rstrip("/"), f"GOOGLE_VERTEX_BASE_URL in {where}", tuple(notes))
    location = env_value(variables, "GOOGLE_CLOUD_LOCATION")
    if location is None or location == "global":  # express mode (API key) and "global" use the global host
        return TargetChoice(VERTEX_GLOBAL_TARGET, "Vertex AI (global endpoint)", tuple(notes))
    url = f"https://{location}-aiplatform.googleapis.com"
    return TargetChoice(url, f"Vertex AI (GOOGLE_CLOUD_LOCATION={location} in {where})", tuple(notes))


def _variables(env: Mapping[str, str], home: Path, cwd: Path, notes: list[str]) -> tuple[dict[str, str], str]:
    """The environment over the first .env file Gemini CLI loads, and a label for where they came from."""
    for label, path in _dotenv_candidates(home, cwd):
        found = read_dotenv(label, path, notes)
        if found is not None:
            return {**found, **env}, f"the environment or {label}"
    return dict(env), "the environment"


def _dotenv_candidates(home: Path, cwd: Path) -> list[tuple[str, Path]]:
    candidates: list[tuple[str, Path]] = []
    for directory in (cwd, *cwd.parents):
        if directory == home:
            break  # the home directory comes last, below
        candidates += [(str(directory / ".gemini" / ".env"), directory / ".gemini" / ".env")]
        candidates += [(str(directory / ".env"), directory / ".env")]
    candidates += [("~/.gemini/.env", home / ".gemini" / ".env"), ("~/.env", home / ".env")]
    return candidates


def _selected_auth(home: Path, notes: list[str]) -> str | None:
    settings = read_json("~/.gemini/settings.json", home / ".gemini" / "settings.json", notes)
    return first_string(
        json_path(settings, ("security", "auth", "selectedType")), json_path(settings, ("selectedAuthType",))
    )


def launch_env(env: Mapping[str, str], proxy_url: str, mode: ProxyMode) -> dict[str, str]:
    return reverse_env(env, mode, dict.fromkeys(BASE_URL_ENV, proxy_url))


GEMINI = ClientConfig(
    name="gemini",
    display_name="Gemini CLI",
    executable="gemini",
    install_hint="npm install -g @google/gemini-cli",
    default_proxy_mode="forward",
    default_target=GEMINI_API_TARGET,
    base_url_env=BASE_URL_ENV,
    error_style="gemini",
    detect_target=detect_target,
    launch_env=launch_env,
    launch_argv=executable_first("gemini"),
    intercept_hosts=(
        "cloudcode-pa.googleapis.com",
        "generativelanguage.googleapis.com",
        "aiplatform.googleapis.com",
    ),
)
