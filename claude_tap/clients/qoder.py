"""Qoder CLI (`qodercli`, npm @qoder-ai/qodercli): forward mode only.

Spec row "Qoder CLI / Qoder login / QODER_PERSONAL_ACCESS_TOKEN / QODER_JOB_TOKEN": Qoder uses several
service hosts and no reliable base-URL override. A personal access token is exchanged at
openapi.qoder.sh; the model call goes to api2.qoder.sh (.../agent_chat_generation) with an encoded
body, recorded as bytes. Both hosts are decrypted so the trace shows the whole flow; their cosy-*
credential headers (cosy-key, cosy-signature, cosy-user, cosy-machineid) are redacted
like any other credential (capture/secret_names.py).

Qoder resolves its hosts over HTTP DNS by default, which would route around the proxy's view of host
names; QODER_HTTPDNS=off keeps its lookups on the proxy (forward mode sets it unless the user did).

This module knows nothing about processes, sockets or the proxy, and reads no files.
"""

from __future__ import annotations

from collections.abc import Mapping

from claude_tap.clients.base import ClientConfig, ProxyMode, executable_first, forward_only

DEFAULT_TARGET = "https://api2.qoder.sh"

REVERSE_REFUSAL = (
    "Qoder CLI has no reliable base-URL override, so reverse mode cannot record it. "
    "Run with --tap-proxy-mode forward (the default for qoder)."
)


def launch_env(env: Mapping[str, str], proxy_url: str, mode: ProxyMode) -> dict[str, str]:
    child = dict(env)
    if mode == "forward":
        child.setdefault("QODER_HTTPDNS", "off")
    return child


QODER = ClientConfig(
    name="qoder",
    display_name="Qoder CLI",
    executable="qodercli",
    install_hint="npm install -g @qoder-ai/qodercli",
    default_proxy_mode="forward",
    default_target=DEFAULT_TARGET,
    base_url_env=(),
    error_style="openai",
    detect_target=forward_only(DEFAULT_TARGET, REVERSE_REFUSAL),
    launch_env=launch_env,
    launch_argv=executable_first("qodercli"),
    intercept_hosts=("api2.qoder.sh", "openapi.qoder.sh"),
)
