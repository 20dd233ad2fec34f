"""The Cursor CLI adapter: forward only, to api2.cursor.sh."""

from __future__ import annotations

from pathlib import Path

from claude_tap.clients.cursor import CURSOR

PROXY = "http://127.0.0.1:4321"


def test_forward_only_to_api2(tmp_path: Path) -> None:
    assert (CURSOR.default_proxy_mode, CURSOR.default_target, CURSOR.executable) == (
        "forward",
        "https://api2.cursor.sh",
        "cursor-agent",
    )
    assert CURSOR.intercept_hosts == ("api2.cursor.sh",)
    choice = CURSOR.detect_target({}, tmp_path, tmp_path, [])
    assert choice.reverse_refusal is not None and "no base-URL override" in choice.reverse_refusal


def test_launch_changes_nothing() -> None:
    assert CURSOR.launch_env({"A": "1"}, PROXY, "forward") == {"A": "1"}
    assert CURSOR.launch_argv(["-p", "hi"], PROXY, "forward") == ["cursor-agent", "-p", "hi"]
    assert CURSOR.reverse_strip_path_prefix(CURSOR.default_target) is None
