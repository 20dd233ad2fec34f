"""The page against a crafted trace (issue 15): "Copy curl" quotes every part of the command, and
text that hides itself (bidi controls, zero-width characters) is shown visibly."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from playwright.sync_api import Page

from tests.browser.conftest import OpenViewer
from tests.browser.fixtures.turns import make_turn, text, user

pytestmark = pytest.mark.browser


def curl_for(page: Page, turn: dict) -> str:
    return page.evaluate("(turn) => window.claudeTap.curlFor(turn)", turn)


PWN = "touch PWNED"
HOSTILE_METHOD = f"POST'; {PWN}; echo '$({PWN})`{PWN}`"
HOSTILE_URL = (
    f"https://h.example/x?a=$({PWN})&b=`{PWN}`&c='\"\\&key=[REDACTED:0badf00d]&d=\x00x:-$({PWN})\x00"
)
HOSTILE_HEADERS = {
    f"x-$({PWN})": f"'; {PWN}; '",
    "x-quote": 'it\'s "$HOME" and `whoami` and \\ and \n a newline',
    "x-token": f"[REDACTED:1a2b3c4d] \x00x:-$({PWN})\x00",
}
HOSTILE_BODY = f"a\x00x:-$({PWN})\x00 [REDACTED:0badf00d]\nJSON\nJSON_BODY\n$({PWN}) `{PWN}` \\$HOME\n"


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_copy_as_curl_of_a_crafted_trace_runs_nothing_and_passes_every_value_verbatim(
    module_page: Page, tmp_path: Path
) -> None:
    turn = make_turn(
        0,
        transport="http",
        method=HOSTILE_METHOD,
        url=HOSTILE_URL,
        request_headers=HOSTILE_HEADERS,
        request_body=HOSTILE_BODY,
    )
    command = curl_for(module_page, turn)
    # A stand-in curl that prints its arguments, then the body it was given on stdin.
    script = "curl() { printf '<%s>\\n' \"$@\"; echo BODY; cat; }\n" + command
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": "/home/nobody",
        "ANTHROPIC_API_KEY": "key-from-env",
        "X_TOKEN": "tok",
        "SECRET": "s",
    }

    done = subprocess.run(
        ["bash", "-c", script], capture_output=True, text=True, env=env, cwd=tmp_path, check=True
    )

    assert list(tmp_path.iterdir()) == [], "pasting the command ran code"
    args, _, sent = done.stdout.partition("BODY\n")
    nul = "\ufffd"  # a NUL cannot be a shell argument: the page shows it as U+FFFD
    assert args.split(">\n<") == [
        "<-sS",
        "-X",
        HOSTILE_METHOD.upper(),
        HOSTILE_URL.replace("[REDACTED:0badf00d]", "key-from-env").replace("\x00", nul),
        "-H",
        f"x-$({PWN}): '; {PWN}; '",
        "-H",
        "x-quote: " + HOSTILE_HEADERS["x-quote"],
        "-H",
        f"x-token: tok {nul}x:-$({PWN}){nul}",
        "--data-binary",
        "@->\n",
    ]
    assert sent == HOSTILE_BODY.replace("[REDACTED:0badf00d]", "s").replace("\x00", nul) + "\n"


@pytest.mark.skipif(shutil.which("sh") is None, reason="needs sh")
def test_copy_as_curl_of_a_crafted_trace_is_valid_posix_sh(module_page: Page, tmp_path: Path) -> None:
    turn = make_turn(
        0, transport="http", method=HOSTILE_METHOD, url=HOSTILE_URL, request_headers=HOSTILE_HEADERS
    )
    command = curl_for(module_page, turn)
    script = "curl() { for a; do printf '<%s>' \"$a\"; done; }\n" + command
    done = subprocess.run(
        ["sh", "-c", script], capture_output=True, text=True, cwd=tmp_path, env={"PATH": "/usr/bin:/bin"}
    )
    assert done.returncode == 0, done.stderr
    assert list(tmp_path.iterdir()) == []
    assert f"<-X><{HOSTILE_METHOD.upper()}>" in done.stdout


# -- text that hides itself ----------------------------------------------------------------------

HIDDEN = {
    "\u202e": "U+202E",  # RIGHT-TO-LEFT OVERRIDE: "Trojan Source"
    "\u2066": "U+2066",  # LEFT-TO-RIGHT ISOLATE
    "\u200b": "U+200B",  # ZERO WIDTH SPACE
    "\ufeff": "U+FEFF",  # ZERO WIDTH NO-BREAK SPACE
    "\U000e0041": "U+E0041",  # TAG LATIN CAPITAL LETTER A: text a model reads and a person does not
}
SNEAKY = (
    "if access_level != \u202e\u2066// check if admin\u2069\u2066 'user'  pay\u200bpal \ufeff \U000e0041ok"
)


def test_bidi_zero_width_and_tag_characters_are_shown_as_visible_marks(open_viewer: OpenViewer) -> None:
    turn = make_turn(
        0, messages=[user(text(SNEAKY))], output=[text("fine \u200d family emoji 👨\u200d👩\u200d👧")]
    )
    page = open_viewer([turn])
    page.click('[data-turn="1"]')
    page.click('#detail .tab[data-tab="overview"]')
    message = page.locator(".msg").first
    marks = message.locator(".hidden-char").all_text_contents()
    assert set(marks) == set(HIDDEN.values()) | {"U+2069"}
    shown = message.inner_text()
    assert not any(char in shown for char in HIDDEN), "an invisible character reached the page as itself"
    assert "pay" in shown and "pal" in shown
    assert message.locator(".hidden-char").first.get_attribute("title")
    # A zero-width joiner is left alone: emoji sequences need it.
    assert page.locator(".hidden-char", has_text="U+200D").count() == 0
