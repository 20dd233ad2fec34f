"""docs/support-matrix.md and its Chinese twin say what the client registry says, row by row."""

from __future__ import annotations

import pytest

from claude_tap.clients import CLIENT_CONFIGS
from claude_tap.clients.matrix import DOCS, FILES, Language, main, render


@pytest.mark.parametrize("language", ["en", "zh"])
def test_the_committed_page_is_what_the_registry_generates(language: Language) -> None:
    committed = (DOCS / FILES[language]).read_text(encoding="utf-8")
    assert committed == render(language), "run: python -m claude_tap.clients.matrix"


@pytest.mark.parametrize("language", ["en", "zh"])
def test_every_client_has_a_summary_row_and_a_section_with_its_facts(language: Language) -> None:
    page = render(language)
    for config in CLIENT_CONFIGS.values():
        assert f"| {config.display_name} | `{config.name}` | `{config.executable}` |" in page
        assert f"### {config.display_name} (`{config.name}`)" in page
        assert f"`{config.install_hint}`" in page
        section = page.split(f"(`{config.name}`)\n", 1)[1].split("\n### ", 1)[0]
        assert ", ".join(config.intercept_hosts) in section
        assert config.default_target in section
        assert len(section.strip().split("\n\n")) >= 2, "each client has at least one note"


def test_a_change_in_the_code_shows_in_the_page(monkeypatch: pytest.MonkeyPatch) -> None:
    import dataclasses

    changed = dataclasses.replace(CLIENT_CONFIGS["kimi"], default_proxy_mode="forward")
    monkeypatch.setitem(CLIENT_CONFIGS, "kimi", changed)
    assert "| Kimi CLI | `kimi` | `kimi` | forward |" in render("en")
    assert render("en") != (DOCS / FILES["en"]).read_text(encoding="utf-8")


def test_check_mode_reports_stale_pages_and_writes_nothing(monkeypatch, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    import claude_tap.clients.matrix as matrix

    monkeypatch.setattr(matrix, "DOCS", tmp_path)
    assert main(["--check"]) == 1
    assert "out of date: support-matrix.md, support-matrix.zh.md" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
    assert main([]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["support-matrix.md", "support-matrix.zh.md"]
    assert main(["--check"]) == 0


@pytest.mark.parametrize("readme", ["README.md", "README_zh.md"])
def test_the_readme_lists_every_client(readme: str) -> None:
    text = (DOCS.parent / readme).read_text(encoding="utf-8")
    line = next(line for line in text.split("\n\n") if "`--tap-client`" in line and "`codebuddy`" in line)
    assert all(f"`{name}`" in line for name in CLIENT_CONFIGS)


def test_the_e2e_tests_the_page_names_exist_and_cover_their_mode() -> None:
    from claude_tap.clients.matrix import E2E_TESTS

    assert set(E2E_TESTS) <= set(CLIENT_CONFIGS)
    for tests in E2E_TESTS.values():
        for mode, path in tests.items():
            source = (DOCS.parent / path).read_text(encoding="utf-8")
            assert mode in ("reverse", "forward") and "async def test_" in source
            assert mode == "reverse" or "forward" in source, path
