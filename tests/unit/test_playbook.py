"""tests/playbook.py: the helper itself: subset matching, readable diffs, clocks, unchecked playbooks."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from claude_tap.capture.exchange import RequestStarted, ResponseChunk, ResponseStarted
from tests.playbook import MISSING, START_AT, Playbook, assert_matches, project

REPO = Path(__file__).resolve().parents[2]


def test_expect_record_checks_only_the_named_keys_and_returns_the_record() -> None:
    record = (
        Playbook()
        .request("POST", "/v1/messages", body=b'{"a": 1}')
        .response(200, [("Content-Type", "application/json")])
        .chunk(b'{"ok": true}')
        .finish()
        .expect_record({"request": {"body": {"a": 1}}, "response": {"status": 200, "body": {"ok": True}}})
    )
    assert record["response"]["headers"] == {"content-type": "application/json"}


def test_mismatch_prints_a_diff_of_expected_against_actual() -> None:
    playbook = Playbook().request("GET", "/v1/models").response(404).finish()
    with pytest.raises(AssertionError) as caught:
        playbook.expect_record({"response": {"status": 200, "nonexistent": 1}})
    assert str(caught.value) == textwrap.dedent(
        """\
        record does not match:
        --- expected
        +++ actual (only the keys expected names)
        @@ -1,6 +1,6 @@
         {
           "response": {
        -    "status": 200,
        -    "nonexistent": 1
        +    "status": 404,
        +    "nonexistent": "<missing>"
           }
         }"""
    )


def test_steps_without_at_come_10_ms_apart_and_at_is_seconds_from_start() -> None:
    (
        Playbook()
        .request("POST", "/v1/messages", headers=[("content-type", "application/json")], body=[b"{", b"}"])
        .response(200, [("content-type", "text/event-stream")])
        .chunk(b"data: a\n\n")
        .chunk(b"data: b\n\n", at=0.5)
        .finish()
        .expect_record(
            {
                "ttfb_ms": 10.0,
                "duration_ms": 510.0,
                "request": {"body": {}, "body_bytes": 2},
                "response": {
                    "events": [
                        {"offset_ms": 20.0, "event": "message", "data": "a"},
                        {"offset_ms": 500.0, "event": "message", "data": "b"},
                    ]
                },
            }
        )
    )


def test_feed_takes_raw_events_and_moves_the_clock_to_them() -> None:
    (
        Playbook()
        .feed(
            RequestStarted(START_AT, "GET", "/", (), "http://127.0.0.1:9/"),
            ResponseStarted(START_AT + 0.25, 204, ()),
            ResponseChunk(START_AT + 0.3, b""),
        )
        .finish()
        .expect_record({"ttfb_ms": 250.0, "duration_ms": 310.0})
    )


def test_websocket_and_failure_steps() -> None:
    (
        Playbook()
        .request("GET", "/v1/responses", websocket=True)
        .response(101)
        .ws("client", "text", b"hi")
        .fail("upstream closed", at=1.0)
        .expect_record(
            {
                "transport": "websocket",
                "error": "upstream closed",
                "response": {
                    "events": [{"offset_ms": 20.0, "direction": "client", "data": "hi"}],
                    "complete": False,
                },
            }
        )
    )


def test_project_cuts_actual_to_the_shape_of_expected() -> None:
    actual = {"a": 1, "b": {"c": 2, "d": 3}, "e": [{"f": 1, "g": 2}], "h": [1, 2]}
    assert project(actual, {"b": {"c": 0}, "e": [{"f": 0}], "h": [1], "x": 0}) == {
        "b": {"c": 2},
        "e": [{"f": 1}],
        "h": [1, 2],  # a list of another length is shown whole, so the diff shows what is extra
        "x": MISSING,
    }
    assert project(5, {"a": 1}) == 5


def test_assert_matches_passes_on_subset_and_fails_on_list_length() -> None:
    assert_matches({"a": [1, 2], "b": 3}, {"a": [1, 2]})
    with pytest.raises(AssertionError, match=r"\+    3"):
        assert_matches({"a": [1, 2, 3]}, {"a": [1, 2]})


def test_unchecked_playbook_raises_when_collected(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[BaseException | None] = []
    monkeypatch.setattr(sys, "unraisablehook", lambda args: seen.append(args.exc_value))
    playbook = Playbook().request("GET", "/")
    del playbook
    assert len(seen) == 1
    assert isinstance(seen[0], AssertionError)
    assert "test_playbook.py" in str(seen[0])
    assert str(seen[0]).endswith("was never checked")


def test_record_counts_as_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[object] = []
    monkeypatch.setattr(sys, "unraisablehook", seen.append)
    playbook = Playbook().request("GET", "/")
    playbook.record()
    del playbook
    assert seen == []


def test_an_unchecked_playbook_fails_its_pytest_test(tmp_path: Path) -> None:
    (tmp_path / "test_forgot.py").write_text(
        "from tests.playbook import Playbook\n\ndef test_forgot():\n    Playbook().request('GET', '/')\n"
    )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-W",
            "error",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:asyncio",
            "test_forgot.py",
        ],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1, result.stdout
    assert "test_forgot.py:4 was never checked" in result.stdout
