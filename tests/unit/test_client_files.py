"""The config-file readers shared by client adapters: absent is silent, broken is a note, never an error."""

from __future__ import annotations

from pathlib import Path

from claude_tap.clients.files import first_string, json_path, read_dotenv, read_json, read_text


def test_absent_file_is_none_without_a_note(tmp_path: Path) -> None:
    notes: list[str] = []
    assert read_text("x", tmp_path / "missing", notes) is None
    assert read_json("x", tmp_path / "missing", notes) is None
    assert read_dotenv("x", tmp_path / "missing", notes) is None
    assert notes == []


def test_unreadable_file_is_none_with_a_note(tmp_path: Path) -> None:
    notes: list[str] = []
    (tmp_path / "dir.json").mkdir()  # reading a directory fails with an OSError other than "not found"
    assert read_json("./dir.json", tmp_path / "dir.json", notes) is None
    (tmp_path / "latin1").write_bytes(b"\xff\xfe")
    assert read_text("./latin1", tmp_path / "latin1", notes) is None
    assert [note.split(":")[0] for note in notes] == ["skipped ./dir.json", "skipped ./latin1"]


def test_dotenv_lines(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    path.write_text(
        "# comment\n\nexport A=1\nB = 'two words'\nC=\"x # not a comment\"\nD=plain # comment\n"
        "E='unclosed\nNOEQUALS\nF=\n"
    )
    assert read_dotenv(".env", path, []) == {
        "A": "1",
        "B": "two words",
        "C": "x # not a comment",
        "D": "plain",
        "E": "'unclosed",
        "F": "",
    }


def test_json_path_and_first_string() -> None:
    value = {"a": {"b": {"c": "x"}}}
    assert json_path(value, ("a", "b", "c")) == "x"
    assert json_path(value, ("a", "z", "c")) is None
    assert json_path(["a"], ("a",)) is None
    assert first_string(None, 3, "  ", " y ") == "y"
    assert first_string() is None
