"""One turn numbering in every export (issue 10): the turn at index 149 is "Turn 150" in the Markdown
report, in its "as in Turn K" references and in the JSON export's `number`, as in the viewer's links.
"""

from __future__ import annotations

import json

from claude_tap.viewer.export import render
from claude_tap.viewer.markdown import to_markdown, turn_number
from tests.factories import make_turn, session_info, text, user

INFO = session_info()


def _session(count: int) -> list:
    """`count` turns of one conversation; each repeats the messages of the one before."""
    turns = []
    messages = []
    for index in range(count):
        messages = [*messages, user(text(f"prompt {index}"))]
        turns.append(make_turn(index, messages=messages, prev=index - 1 if index else None))
    return turns


def test_turn_number_counts_from_one() -> None:
    assert [turn_number(turn) for turn in _session(3)] == [1, 2, 3]


def test_the_markdown_report_calls_index_149_turn_150_and_points_back_to_turn_149() -> None:
    report = to_markdown(INFO, _session(150))

    headings = [line.split(" · ")[0] for line in report.splitlines() if line.startswith("## Turn")]
    assert headings[0] == "## Turn 1" and headings[-1] == "## Turn 150" and len(headings) == 150
    last = report.split("## Turn 150")[1]
    assert "_149 earlier messages as in Turn 149._" in last
    assert "prompt 149" in last


def test_the_json_export_says_each_turns_shown_number_beside_its_index() -> None:
    exported = json.loads(render("json", INFO, _session(150)))

    turn = exported["turns"][149]
    assert (turn["number"], turn["index"], turn["prev"]) == (150, 149, 148)
    assert [t["number"] for t in exported["turns"][:2]] == [1, 2]
