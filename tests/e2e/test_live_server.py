"""viewer/live.py: the live viewer server, over real HTTP on 127.0.0.1.

Records go in through `publish_record` (from another thread, as the trace writer calls it) and must
come out of `/events` as turns, normalized by the real SessionNormalizer. Browsers are played by
aiohttp clients reading the SSE stream line by line; one test starts `serve_trace` as a process.
"""

from __future__ import annotations

import asyncio
import json
import re
import signal
import sys
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from claude_tap.viewer.live import LiveServer
from tests.factories import json_exchange_record, session_info, session_record, write_trace

INFO = session_info()


def exchange_record(seq: int, reply: str, model: str = "claude-sonnet-4-5") -> dict[str, Any]:
    request_body = {"model": model, "max_tokens": 64, "messages": [{"role": "user", "content": "hi"}]}
    response_body = {
        "id": f"msg_{seq}",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": reply}],
        "stop_reason": "end_turn",
        "usage": {"input_tokens": 5, "output_tokens": 2},
    }
    return json_exchange_record(seq, request_body, response_body)


def hand_turn(index: int) -> dict[str, Any]:
    """A preloaded turn: the server only reads `index`, the rest travels as is."""
    return {"index": index, "id": f"ex-{index + 1:06d}", "model": "m", "output": [], "messages": []}


def output_text(turn: dict[str, Any]) -> str:
    return "".join(block.get("text", "") for block in turn["output"] if block["type"] == "text")


def publish_from_thread(server: LiveServer, *records: dict[str, Any]) -> None:
    def publish() -> None:
        for record in records:
            server.publish_record(record)

    thread = threading.Thread(target=publish, name="fake-trace-writer")
    thread.start()
    thread.join()


@dataclass
class Event:
    name: str
    id: str | None
    data: Any


MAX_EVENT_BYTES = 16 << 20  # a turn is one `data:` line, and the big ones are big


class EventStream:
    """Reads an SSE response the way EventSource does (WHATWG 9.2.6), enough for our frames."""

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self.response = response
        self.comments: list[str] = []

    async def next(self, timeout_s: float = 5.0) -> Event | None:
        """The next event, or None at the end of the stream."""
        fields: dict[str, str] = {}
        async with asyncio.timeout(timeout_s):
            while True:
                raw = await self.response.content.readline(max_line_length=MAX_EVENT_BYTES)
                if not raw:
                    return None
                line = raw.decode().rstrip("\n")
                if line.startswith(":"):
                    self.comments.append(line)
                elif line:
                    name, _, value = line.partition(":")
                    fields[name] = value.removeprefix(" ")
                elif "data" in fields:
                    return Event(fields.get("event", "message"), fields.get("id"), json.loads(fields["data"]))
                else:
                    fields = {}

    async def until(self, name: str) -> list[Event]:
        """Every event up to and including the first one called `name`."""
        seen: list[Event] = []
        while True:
            event = await self.next()
            assert event is not None, f"stream ended before {name!r}; got {[e.name for e in seen]}"
            seen.append(event)
            if event.name == name:
                return seen


class Browser:
    """An HTTP client that closes every stream it opened when the test ends."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self.session = session
        self._responses: list[aiohttp.ClientResponse] = []

    async def get(self, url: str, headers: dict[str, str] | None = None) -> aiohttp.ClientResponse:
        response = await self.session.get(url, headers=headers)
        self._responses.append(response)
        return response

    async def open_events(
        self, server: LiveServer, query: str = "", headers: dict[str, str] | None = None
    ) -> EventStream:
        response = await self.get(
            f"http://127.0.0.1:{server.port}/events?token={server.token}{query}", headers
        )
        assert response.status == 200
        assert response.headers["Content-Type"] == "text/event-stream; charset=utf-8"
        return EventStream(response)

    def close(self) -> None:
        for response in self._responses:
            response.close()


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with aiohttp.ClientSession() as session:
        client = Browser(session)
        yield client
        client.close()


@pytest.fixture
async def server() -> AsyncIterator[LiveServer]:
    live = LiveServer(lambda: INFO)
    await live.start()
    yield live
    await live.stop()


async def test_every_path_needs_the_token_and_a_refusal_tells_nothing(
    server: LiveServer, browser: Browser
) -> None:
    publish_from_thread(server, session_record(), exchange_record(1, "secret reply"))
    base = f"http://127.0.0.1:{server.port}"
    for path in ("/", "/?token=", "/?token=wrong", "/events", f"/events?token={server.token[:-1]}"):
        response = await browser.get(base + path)
        body = await response.text()
        assert response.status == 403, path
        assert server.token not in body and "secret reply" not in body


async def test_url_carries_the_token_and_serves_the_viewer(server: LiveServer, browser: Browser) -> None:
    assert server.url == f"http://127.0.0.1:{server.port}/?token={server.token}"
    assert len(server.token) >= 32

    response = await browser.get(server.url)
    page = await response.text()

    assert response.status == 200
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert response.headers["Cache-Control"] == "no-store"
    assert page.lstrip().lower().startswith("<!doctype html>")
    assert f"/events?token={server.token}" in page


async def test_a_new_stream_replays_the_session_and_every_turn_so_far(browser: Browser) -> None:
    live = LiveServer(lambda: INFO, turns=[hand_turn(0), hand_turn(1)])
    await live.start()
    try:
        stream = await browser.open_events(live)
        events = await stream.until("replayed")
    finally:
        await live.stop()

    assert [(event.name, event.id) for event in events] == [
        ("session", None),
        ("turn", None),
        ("turn", None),
        ("replayed", "2"),
    ]
    assert events[0].data == INFO
    assert [event.data for event in events[1:3]] == [hand_turn(0), hand_turn(1)]
    assert events[3].data == {"turns": 2}


async def test_a_stream_resumes_after_since_or_last_event_id(browser: Browser) -> None:
    live = LiveServer(lambda: INFO, turns=[hand_turn(0), hand_turn(1), hand_turn(2)])
    await live.start()
    try:
        from_page = await (await browser.open_events(live, query="&since=2")).until("replayed")
        reconnect = await (
            await browser.open_events(live, query="&since=0", headers={"Last-Event-ID": "1"})
        ).until("replayed")
    finally:
        await live.stop()

    assert [(event.name, event.id) for event in from_page] == [
        ("session", None),
        ("turn", "3"),
        ("replayed", "3"),
    ]
    assert from_page[1].data == hand_turn(2)
    assert [event.id for event in reconnect if event.name == "turn"] == ["2", "3"]


async def test_a_record_published_from_another_thread_reaches_every_client(
    server: LiveServer, browser: Browser
) -> None:
    first = await browser.open_events(server)
    second = await browser.open_events(server)
    await first.until("replayed")
    await second.until("replayed")

    publish_from_thread(server, session_record(), exchange_record(1, "hello from the model"))

    for stream in (first, second):
        turn_event = (await stream.until("turn"))[-1]
        assert turn_event.id == "1"
        assert turn_event.data["index"] == 0
        assert turn_event.data["model"] == "claude-sonnet-4-5"
        assert output_text(turn_event.data) == "hello from the model"


async def test_records_published_before_start_are_served_after_it(browser: Browser) -> None:
    live = LiveServer(lambda: INFO)
    publish_from_thread(live, session_record(), exchange_record(1, "early"))
    await live.start()
    try:
        events = await (await browser.open_events(live)).until("replayed")
    finally:
        await live.stop()

    assert [output_text(event.data) for event in events if event.name == "turn"] == ["early"]


async def test_a_client_that_went_away_does_not_stop_publishing(server: LiveServer, browser: Browser) -> None:
    staying = await browser.open_events(server)
    leaving = await browser.open_events(server)
    await staying.until("replayed")
    await leaving.until("replayed")
    leaving.response.close()

    publish_from_thread(server, session_record(), exchange_record(1, "one"))
    publish_from_thread(server, exchange_record(2, "two"))

    turns = [(await staying.until("turn"))[-1].data for _ in range(2)]
    assert [output_text(turn) for turn in turns] == ["one", "two"]
    async with asyncio.timeout(5):
        while server.client_count != 1:  # the dead stream is noticed at its next write
            await asyncio.sleep(0.01)
    late = await (await browser.open_events(server)).until("replayed")
    assert [output_text(event.data) for event in late if event.name == "turn"] == ["one", "two"]


async def test_a_client_that_stops_reading_is_dropped_without_holding_up_the_others(
    browser: Browser,
) -> None:
    live = LiveServer(lambda: INFO, client_queue_frames=4)
    await live.start()
    _, stuck = await asyncio.open_connection("127.0.0.1", live.port)  # connects, never reads
    try:
        stuck.write(f"GET /events?token={live.token} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
        reading = await browser.open_events(live)
        await reading.until("replayed")
        async with asyncio.timeout(5):
            while live.client_count != 2:
                await asyncio.sleep(0.01)

        big = "x" * 500_000  # 40 of these fill the stuck client's socket buffers, then its queue
        publish_from_thread(live, session_record())
        received = []
        for seq in range(1, 41):
            publish_from_thread(live, exchange_record(seq, f"{seq}:{big}"))
            received.append((await reading.until("turn"))[-1].data)

        assert [output_text(turn).split(":")[0] for turn in received] == [str(seq) for seq in range(1, 41)]
        assert live.client_count == 1
    finally:
        stuck.close()
        await live.stop()


async def test_idle_streams_get_keepalive_comments(browser: Browser) -> None:
    live = LiveServer(lambda: INFO, keepalive_s=0.05)
    await live.start()
    try:
        stream = await browser.open_events(live)
        await stream.until("replayed")
        with pytest.raises(TimeoutError):
            await stream.next(timeout_s=0.3)
    finally:
        await live.stop()

    assert stream.comments[:2] == [": keep-alive", ": keep-alive"]


async def test_stop_ends_every_stream(browser: Browser) -> None:
    live = LiveServer(lambda: INFO)
    await live.start()
    streams = [await browser.open_events(live) for _ in range(2)]
    for stream in streams:
        await stream.until("replayed")

    await live.stop()

    for stream in streams:
        assert await stream.next(timeout_s=5) is None


async def read_viewer_url(process: asyncio.subprocess.Process) -> str:
    assert process.stderr is not None
    async with asyncio.timeout(20):
        while line := await process.stderr.readline():
            if match := re.search(r"viewer at (http://127\.0\.0\.1:\d+/\?token=\S+)", line.decode()):
                return match.group(1)
    raise AssertionError("serve_trace exited before printing its URL")


async def test_view_serves_a_trace_file_until_interrupted(tmp_path: Path, browser: Browser) -> None:
    trace = write_trace(tmp_path / "trace.jsonl", [session_record(), exchange_record(1, "from the file")])
    code = (
        "import sys; from pathlib import Path; from claude_tap.viewer.live import serve_trace; "
        "sys.exit(serve_trace(Path(sys.argv[1]), open_browser=False))"
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", code, str(trace), stderr=asyncio.subprocess.PIPE
    )
    try:
        url = await read_viewer_url(process)
        page = await browser.get(url)
        assert page.status == 200
        events_url = url.replace("/?token=", "/events?token=")
        events = await EventStream(await browser.get(events_url)).until("replayed")
        assert [output_text(event.data) for event in events if event.name == "turn"] == ["from the file"]
        assert events[0].data["client"] == "claude"
    finally:
        process.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(process.wait(), 10) == 0
