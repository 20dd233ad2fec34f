"""The Qoder CLI adapter: forward only; QODER_HTTPDNS=off keeps host lookups on the proxy."""

from __future__ import annotations

from pathlib import Path

from claude_tap.clients.qoder import QODER

PROXY = "http://127.0.0.1:4321"


def test_forward_only(tmp_path: Path) -> None:
    assert (QODER.default_proxy_mode, QODER.executable) == ("forward", "qodercli")
    assert QODER.install_hint == "npm install -g @qoder-ai/qodercli"
    assert set(QODER.intercept_hosts) == {"api2.qoder.sh", "openapi.qoder.sh"}
    assert QODER.detect_target({}, tmp_path, tmp_path, []).reverse_refusal is not None


def test_forward_mode_turns_http_dns_off_unless_the_user_chose() -> None:
    assert QODER.launch_env({}, PROXY, "forward") == {"QODER_HTTPDNS": "off"}
    assert QODER.launch_env({"QODER_HTTPDNS": "on"}, PROXY, "forward") == {"QODER_HTTPDNS": "on"}
    assert QODER.launch_env({}, PROXY, "reverse") == {}
    assert QODER.launch_argv(["-p", "hi"], PROXY, "forward") == ["qodercli", "-p", "hi"]
