"""normalize/failures: a capability probe the server answers "not here" is not a failed call; every
other HTTP error, transport error and cut stream is, wherever calls are counted."""

from __future__ import annotations

from pathlib import Path

import pytest

from claude_tap.normalize.failures import is_failed, is_probe_miss
from claude_tap.normalize.summary import summarize
from claude_tap.report import summary_lines
from claude_tap.store.writer import WriterStats
from tests.browser.fixtures.turns import make_turn
from tests.factories import write_trace

# (method, path, status, is a probe miss): shared with the page's copy of the rule
# (tests/browser/test_viewer_units.py runs the same cases through it).
PROBE_CASES = [
    ("GET", "/v1/models", 404, True),
    ("GET", "/api/v1/models?limit=5", 404, True),
    ("GET", "/v1/models/gpt-standin", 404, True),  # one model's details
    ("GET", "/api/tags", 404, True),  # Ollama
    ("POST", "/api/show", 404, True),  # Ollama's model details are a POST
    ("GET", "/v1/props", 404, True),  # llama.cpp
    ("GET", "/version/", 405, True),
    ("HEAD", "/health", 501, True),
    ("GET", "/v1/models", 401, False),  # a refused key is an error, whatever was asked
    ("GET", "/v1/models", 500, False),
    ("GET", "/v1/models", 200, False),
    ("POST", "/v1/chat/completions", 404, False),  # a model call that found nothing failed
    ("POST", "/v1beta/models/gemini-2.5-pro:generateContent", 404, False),
    ("POST", "/v1/models", 404, False),
    ("GET", "/v1/files", 404, False),
]


@pytest.mark.parametrize(("method", "path", "status", "expected"), PROBE_CASES)
def test_which_answers_are_probe_misses(method: str, path: str, status: int, expected: bool) -> None:
    assert is_probe_miss(method, path, status) is expected


def test_a_probe_miss_is_not_a_failed_turn_and_everything_else_that_broke_is() -> None:
    probe = make_turn(0, method="GET", path="/v1/models", status=404, error="HTTP 404: not found")
    assert not is_failed(probe)
    assert is_failed(make_turn(1, method="POST", path="/v1/messages", status=404, error="HTTP 404"))
    assert is_failed(make_turn(2, method="POST", path="/v1/messages", status=200, complete=False))
    assert is_failed(make_turn(3, method="POST", path="/v1/messages", status=None, error="reset"))
    assert not is_failed(make_turn(4, method="POST", path="/v1/messages", status=200))


def exchange(seq: int, method: str, path: str, status: int | None, error: str | None = None) -> dict:
    response = None if status is None else {"status": status, "headers": {}, "body": None}
    return {
        "type": "exchange",
        "id": f"ex-{seq:06d}",
        "seq": seq,
        "started_at": "2026-12-04T00:00:00+00:00",
        "request": {"method": method, "path": path, "url": "http://up" + path, "headers": {}, "body": None},
        "response": response,
        "error": error,
    }


def test_the_summary_counts_probe_misses_apart_from_errors(tmp_path: Path) -> None:
    probes = [("GET", "/api/tags"), ("GET", "/v1/models"), ("GET", "/props"), ("GET", "/version")]
    probes += [("POST", "/api/show"), ("GET", "/v1/props"), ("GET", "/api/tags")]
    records = [exchange(n, method, path, 404) for n, (method, path) in enumerate(probes, start=1)]
    records.append(exchange(20, "POST", "/v1/chat/completions", 400))  # what Hermes' -z hides
    records.append(exchange(21, "GET", "/v1/models", None, error="connection reset"))  # broke: an error
    summary = summarize(write_trace(tmp_path / "trace.jsonl.zst", records))
    assert (summary.calls, summary.errors) == (9, 2)
    lines = summary_lines(summary, WriterStats(written=9, dropped=0, failed=0))
    assert lines[0].startswith("claude-tap: 9 calls, 2 errors;")
    assert (
        "claude-tap: 7 probes answered not found (not counted as errors): "
        "/api/tags, /api/show, /props, /v1/models, /v1/props and 1 more"
    ) in lines
