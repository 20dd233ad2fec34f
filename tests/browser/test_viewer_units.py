"""The page's pure functions, called in the browser through window.claudeTap: the edit script,
line and word diffs, the Markdown renderer, and copy-as-curl run through a real bash."""

from __future__ import annotations

import json
import random
import shutil
import subprocess

import pytest
from playwright.sync_api import Page

from tests.browser.fixtures.turns import make_turn

pytestmark = pytest.mark.browser


def edit_script(page: Page, a: list, b: list) -> list:
    return page.evaluate("([a, b]) => window.claudeTap.editScript(a, b)", [a, b])


def lcs_length(a: list, b: list) -> int:
    table = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(len(a) - 1, -1, -1):
        for j in range(len(b) - 1, -1, -1):
            table[i][j] = table[i + 1][j + 1] + 1 if a[i] == b[j] else max(table[i + 1][j], table[i][j + 1])
    return table[0][0]


def apply_script(a: list, b: list, runs: list) -> list:
    """Replays runs on a and b: the result must be b, and "=" runs must really be equal."""
    out, i, j = [], 0, 0
    for op, count in runs:
        if op == "=":
            assert a[i : i + count] == b[j : j + count]
            out += a[i : i + count]
            i, j = i + count, j + count
        elif op == "-":
            i += count
        else:
            out += b[j : j + count]
            j += count
    assert (i, j) == (len(a), len(b))
    return out


def test_edit_script_of_literal_sequences(module_page: Page) -> None:
    # Myers' paper's example: 5 edits, an LCS of 4 (C, A, B, A).
    assert edit_script(module_page, list("ABCABBA"), list("CBABAC")) == [
        ["-", 2],
        ["=", 1],
        ["+", 1],
        ["=", 2],
        ["-", 1],
        ["=", 1],
        ["+", 1],
    ]
    assert edit_script(module_page, [], []) == []
    assert edit_script(module_page, [1, 2, 3], [1, 2, 3]) == [["=", 3]]
    assert edit_script(module_page, [1, 2, 3], [1, 9, 3]) == [["=", 1], ["-", 1], ["+", 1], ["=", 1]]
    assert edit_script(module_page, [], [5, 6]) == [["+", 2]]


def test_edit_script_is_minimal_on_random_sequences(module_page: Page) -> None:
    rng = random.Random(20251120)
    for _ in range(40):
        a = [rng.randrange(4) for _ in range(rng.randrange(0, 30))]
        b = [rng.randrange(4) for _ in range(rng.randrange(0, 30))]
        runs = edit_script(module_page, a, b)
        assert apply_script(a, b, runs) == b
        assert sum(count for op, count in runs if op == "=") == lcs_length(a, b)


def test_line_diff_numbers_lines_on_both_sides(module_page: Page) -> None:
    rows = module_page.evaluate("() => window.claudeTap.diffLines('a\\nb\\nc', 'a\\nB\\nc\\nd')")

    assert rows == [
        {"op": "=", "text": "a", "a": 1, "b": 1},
        {"op": "-", "text": "b", "a": 2, "b": None},
        {"op": "+", "text": "B", "a": None, "b": 2},
        {"op": "=", "text": "c", "a": 3, "b": 3},
        {"op": "+", "text": "d", "a": None, "b": 4},
    ]


def test_word_diff_marks_only_the_changed_words(module_page: Page) -> None:
    result = module_page.evaluate(
        "() => window.claudeTap.diffWords('max_tokens = 4096 # old', 'max_tokens = 8192 # new')"
    )

    assert result["left"] == [
        {"text": "max_tokens = ", "changed": False},
        {"text": "4096", "changed": True},
        {"text": " # ", "changed": False},
        {"text": "old", "changed": True},
    ]
    assert [s["text"] for s in result["right"] if s["changed"]] == ["8192", "new"]


def test_word_diff_splits_chinese_by_character(module_page: Page) -> None:
    result = module_page.evaluate("() => window.claudeTap.diffWords('请修复这个错误', '请修复那个错误')")

    assert [s["text"] for s in result["left"] if s["changed"]] == ["这"]
    assert [s["text"] for s in result["right"] if s["changed"]] == ["那"]


MARKDOWN_CASES = [
    ("# Title", '<h1 class="md-h">Title</h1>'),
    (
        "a **bold** and *em* and `code`",
        "<p>a <strong>bold</strong> and <em>em</em> and <code>code</code></p>",
    ),
    ("- one\n- two", "<ul><li>one</li><li>two</li></ul>"),
    ("3. three\n4. four", '<ol start="3"><li>three</li><li>four</li></ol>'),
    (
        "```js\nlet x = '<b>';\n```",
        '<pre class="md-code"><code data-lang="js">let x = \'&lt;b&gt;\';</code></pre>',
    ),
    ("> quoted", "<blockquote><p>quoted</p></blockquote>"),
    (
        "| a | b |\n|---|--:|\n| 1 | 2 |",
        '<div class="md-table"><table><thead><tr><th>a</th><th class="al-right">b</th></tr></thead>'
        '<tbody><tr><td>1</td><td class="al-right">2</td></tr></tbody></table></div>',
    ),
    ("line one\nline two", "<p>line one<br>line two</p>"),
    ("<b>raw html</b>", "<p>&lt;b&gt;raw html&lt;/b&gt;</p>"),
    ("[x](javascript:alert(1))", "<p>[x](javascript:alert(1))</p>"),
    (
        "see https://example.com/a.",
        '<p>see <a href="https://example.com/a" target="_blank" rel="noopener noreferrer nofollow">https://example.com/a</a>.</p>',
    ),
    (
        "![alt](https://example.com/i.png)",
        '<p><span class="md-img" title="https://example.com/i.png">[image: alt]</span></p>',
    ),
    ("---", "<hr>"),
]


@pytest.mark.parametrize(("source", "html"), MARKDOWN_CASES)
def test_markdown_builds_safe_elements(module_page: Page, source: str, html: str) -> None:
    assert module_page.evaluate("(s) => window.claudeTap.renderMarkdown(s).innerHTML", source) == html


def curl_for(page: Page, turn: dict) -> str:
    return page.evaluate("(turn) => window.claudeTap.curlFor(turn)", turn)


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_copy_as_curl_runs_in_bash_with_the_secrets_from_the_environment(module_page: Page) -> None:
    body = {
        "model": "claude-sonnet-4-5",
        "messages": [{"role": "user", "content": 'it\'s $HOME and `whoami` and \\n and "quotes"'}],
        "api_key": "[REDACTED:0badf00d]",
    }
    turn = make_turn(
        0,
        request_headers={
            "x-api-key": "[REDACTED:1a2b3c4d]",
            "authorization": "Bearer [REDACTED:99aa88bb]",
            "x-note": 'it\'s "$fine"',
            "content-length": "999",
        },
        request_body=body,
    )
    command = curl_for(module_page, turn)
    # A stand-in curl that prints its arguments, then the body it was given on stdin.
    script = "curl() { printf '<%s>\\n' \"$@\"; echo BODY; cat; }\n" + command
    env = {
        "PATH": "/usr/bin:/bin",
        "ANTHROPIC_API_KEY": "sk-ant-test",
        "ANTHROPIC_AUTH_TOKEN": "oauth-test",
        "API_KEY": "body-secret",
    }

    done = subprocess.run(["bash", "-c", script], capture_output=True, text=True, env=env, check=True)

    args, _, sent = done.stdout.partition("BODY\n")
    assert args.splitlines() == [
        "<-sS>",
        "<-N>",
        "<-X>",
        "<POST>",
        "<https://api.anthropic.com/v1/messages>",
        "<-H>",
        "<x-api-key: sk-ant-test>",
        "<-H>",
        "<authorization: Bearer oauth-test>",
        "<-H>",
        '<x-note: it\'s "$fine">',
        "<--data-binary>",
        "<@->",
    ]
    assert json.loads(sent) == {**body, "api_key": "body-secret"}
    assert command.splitlines()[0] == "# needs: $ANTHROPIC_API_KEY $ANTHROPIC_AUTH_TOKEN $API_KEY"


def test_copy_as_curl_of_a_get_without_secrets_is_plain(module_page: Page) -> None:
    turn = make_turn(
        0,
        method="GET",
        transport="http",
        url="https://api.anthropic.com/v1/models",
        request_headers={"anthropic-version": "2023-06-01"},
        request_body=None,
    )

    assert curl_for(module_page, turn) == (
        "curl -sS 'https://api.anthropic.com/v1/models' \\\n  -H 'anthropic-version: 2023-06-01'"
    )


def test_the_page_counts_probe_misses_as_python_does(module_page: Page) -> None:
    # The page's copy of normalize/failures.py's rule, held to the same cases.
    from tests.unit.test_failures import PROBE_CASES

    records = [{"method": method, "path": path, "status": status} for method, path, status, _ in PROBE_CASES]
    got = module_page.evaluate("(records) => records.map((r) => window.claudeTap.isProbeMiss(r))", records)
    assert got == [expected for *_, expected in PROBE_CASES]
