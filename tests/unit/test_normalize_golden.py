"""Golden tests: a realistic trace per API format in, the whole normalized session out.

Each tests/golden/normalize/<name>.records.json is a list of trace records written by hand in the shape
of capture/records.py, from the vendors' documented request/response/stream shapes; <name>.turns.json is
the expected SessionInfo, every Turn field, and the session summary. After a deliberate change to the
turn model, regenerate with UPDATE_GOLDEN=1 and review the diff line by line.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from claude_tap.normalize.session import SessionNormalizer, normalize_records

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "normalize"
CASES = sorted(path.name.removesuffix(".records.json") for path in GOLDEN.glob("*.records.json"))


def normalized(name: str) -> dict[str, object]:
    records = json.loads((GOLDEN / f"{name}.records.json").read_text(encoding="utf-8"))
    info, turns = normalize_records(records)
    summary = SessionNormalizer()
    for record in records:
        summary.add(record)
    # Round-trip through JSON: the turn must be plain JSON (it goes to the browser with json.dumps).
    return json.loads(json.dumps({"session": info, "turns": turns, "summary": summary.summary()}))


def test_every_format_has_a_golden_case() -> None:
    assert set(CASES) >= {
        "anthropic_messages",
        "openai_responses_http",
        "openai_responses_websocket",
        "chat_completions",
        "gemini",
        "cursor_transcript",
        "raw",
    }


@pytest.mark.parametrize("name", CASES)
def test_golden(name: str) -> None:
    actual = normalized(name)
    expected_path = GOLDEN / f"{name}.turns.json"
    if os.environ.get("UPDATE_GOLDEN") == "1":
        expected_path.write_text(json.dumps(actual, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    expected = json.loads(expected_path.read_text(encoding="utf-8"))
    assert actual["session"] == expected["session"]
    assert actual["summary"] == expected["summary"]
    assert len(actual["turns"]) == len(expected["turns"])
    for got, want in zip(actual["turns"], expected["turns"], strict=True):
        assert got == want, f"turn {want['id']} differs"
