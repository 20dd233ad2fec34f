"""viewer/live.py: live turns carry their threads, context and cache figures (issue 14).

After a burst of turns the server works the figures out again and pushes `event: analysis` with every
thread and only the turns whose figures changed; a client that connects later gets them all after
its replay. Over real HTTP on 127.0.0.1, with the real SessionNormalizer.
"""

from __future__ import annotations

from typing import Any

from claude_tap.viewer.live import LiveServer
from tests.e2e.test_live_server import Browser, browser, exchange_record, publish_from_thread, server
from tests.factories import session_record

__all__ = ["browser", "server"]  # fixtures, imported for pytest


def asking(seq: int, history: int) -> dict[str, Any]:
    """An exchange whose request carries `history` messages, so each turn extends the one before."""
    record = exchange_record(seq, f"reply {seq}")
    record["request"]["body"]["messages"] = [
        {"role": "user" if n % 2 == 0 else "assistant", "content": f"message {n}"} for n in range(history)
    ]
    return record


async def test_live_turns_get_their_figures_and_later_bursts_only_what_changed(
    server: LiveServer, browser: Browser
) -> None:
    stream = await browser.open_events(server)
    await stream.until("replayed")

    publish_from_thread(server, session_record(), asking(1, 1), asking(2, 3))
    events = await stream.until("analysis")
    first = events[-1].data
    assert [event.name for event in events].count("turn") == 2
    assert [thread["id"] for thread in first["threads"]] == ["main"]
    assert set(first["turns"]) == {"0", "1"}
    assert first["turns"]["1"]["context"]["shared_with"] == 0  # what is new since turn 0 is known live

    publish_from_thread(server, asking(3, 5))
    second = (await stream.until("analysis"))[-1].data
    assert set(second["turns"]) == {"2"}  # turns 0 and 1 did not change: not sent again
    assert second["threads"][0]["turns"] == [0, 1, 2]

    late = await browser.open_events(server)
    replay = await late.until("analysis")
    assert [event.name for event in replay][-2:] == ["replayed", "analysis"]
    assert set(replay[-1].data["turns"]) == {"0", "1", "2"}
