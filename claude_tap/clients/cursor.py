"""Cursor CLI (`cursor-agent`): forward mode only, to https://api2.cursor.sh.

Spec row "Cursor CLI / Cursor login (cursor-agent login)": Cursor has no base-URL override, so there
is no reverse mode; forward mode decrypts api2.cursor.sh, whose Connect/protobuf bodies are kept as
bytes, and the readable turns come from Cursor's local transcripts
(~/.cursor/projects/*/agent-transcripts, clients/cursor_transcripts.py), imported as the run goes on
(transcript_watch.py), also with --tap-no-launch.

This module knows nothing about processes, sockets or the proxy, and reads no files.
"""

from __future__ import annotations

from collections.abc import Mapping

from claude_tap.clients.base import ClientConfig, ProxyMode, executable_first, forward_only
from claude_tap.clients.cursor_transcripts import transcript_files

DEFAULT_TARGET = "https://api2.cursor.sh"

REVERSE_REFUSAL = (
    "Cursor CLI has no base-URL override, so reverse mode cannot record it. "
    "Run with --tap-proxy-mode forward (the default for cursor)."
)


def launch_env(env: Mapping[str, str], proxy_url: str, mode: ProxyMode) -> dict[str, str]:
    return dict(env)


CURSOR = ClientConfig(
    name="cursor",
    display_name="Cursor CLI",
    executable="cursor-agent",
    install_hint="curl https://cursor.com/install -fsS | bash",
    default_proxy_mode="forward",
    default_target=DEFAULT_TARGET,
    base_url_env=(),
    error_style="openai",  # never reaches Cursor's Connect client in a shape it shows; any JSON will do
    detect_target=forward_only(DEFAULT_TARGET, REVERSE_REFUSAL),
    launch_env=launch_env,
    launch_argv=executable_first("cursor-agent"),
    intercept_hosts=("api2.cursor.sh",),
    transcripts=transcript_files,
)
