"""The live viewer: a local web server that shows a session's turns as they happen.

`GET /?token=T` serves the same self-contained viewer page as trace.html, holding the turns so far;
`GET /events?token=T` is a Server-Sent Events stream of what comes next:

    event: session    data: SessionInfo                 (first, and again when the session changes)
    event: turn       data: Turn, id: N                 (one per turn; N counts turns pushed so far)
    event: replayed   data: {"turns": n}, id: N         (the replay on connect is over)
    event: analysis   data: {"threads", "turns"}        (threads, context and cache figures)
    event: end        data: the trace's `end` record    (the run is over)

`analysis` is normalize/analysis.py's `page_analysis`, the figures the full page is built with: after
new turns, once the traffic pauses for ANALYSIS_DELAY_S, it is worked out again off the loop and
pushed with every thread but only the turns whose figures changed since the last push (a connecting
client gets them all once its replay is over). So a turn that arrived live shows its context and
cache figures without a reload.

On connect the stream replays every turn so far, unless the client already has some: the page asks
with `since=K` (the turns it was rendered with) and a reconnecting EventSource sends `Last-Event-ID`,
so it only gets what it missed. A turn the normalizer emits again with the same index replaces the
earlier one; clients should do the same.

Threads: `publish_record` is called from the trace writer thread. It only hands the record to the
server's event loop (`call_soon_threadsafe`); normalizing and pushing happen on the loop. Each client
has a bounded queue of encoded frames: a client that falls behind is dropped (its connection closed)
rather than slowing anyone else, and its EventSource reconnects and resumes from `Last-Event-ID`.

The server binds to 127.0.0.1 unless told otherwise, and every path needs the random token, in the
URL or in the cookie `GET /open/<code>` sets (a wrong or missing one gets a bare 403), so other local
users and web pages cannot read the session. The browser is handed `open_url()`: a one-time code,
valid for a minute (viewer/access.py), that sets an HttpOnly, SameSite=Strict cookie holding the token and
redirects to `/`; the token itself never appears on the browser's command line, where every local
user can read it with `ps` (issue 15). Requests naming a foreign Host (DNS rebinding) or coming from
another origin are refused (proxy/guard.py).

This module knows nothing about API formats (normalize/ does) or how the page looks (viewer/html.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import sys
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TextIO

from aiohttp import web

from claude_tap.normalize.analysis import page_analysis
from claude_tap.normalize.model import JsonValue, SessionInfo, Turn
from claude_tap.normalize.session import SessionNormalizer
from claude_tap.proxy.guard import Guard, guard_middleware
from claude_tap.store.reader import ReadReport
from claude_tap.viewer.access import PageAccess, forbidden
from claude_tap.viewer.export import json_line, load_session
from claude_tap.viewer.html import render_html
from claude_tap.viewer.opener import open_in_background

logger = logging.getLogger(__name__)

KEEPALIVE_S = 15.0  # well under the idle timeouts of browsers and proxies
CLIENT_QUEUE_FRAMES = 256  # frames a client may fall behind before it is dropped
SHUTDOWN_TIMEOUT_S = 2.0  # how long stop() waits for a stuck connection before cutting it
RETRY_MS = 1000  # how soon a dropped EventSource reconnects
LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")
ANALYSIS_DELAY_S = 0.3  # new turns come in bursts (parallel calls): analyse once per burst

InfoProvider = Callable[[], SessionInfo]


class _Client:
    """One connected /events stream."""

    def __init__(self, request: web.Request, max_frames: int) -> None:
        self.queue: asyncio.Queue[bytes | None] = asyncio.Queue(maxsize=max_frames)  # None: stop
        self.request = request
        self.is_dropped = False

    def drop(self) -> None:
        """Fell too far behind: cut the connection, which also wakes a write stuck on a full socket."""
        self.is_dropped = True
        if self.request.transport is not None:
            self.request.transport.abort()

    def end(self) -> None:
        """The server stops: finish the stream cleanly after what is queued, or cut it if full."""
        try:
            self.queue.put_nowait(None)
        except asyncio.QueueFull:
            self.drop()


class LiveServer:
    """Serves the viewer for one session and pushes each new turn to every connected browser.

    `info_provider` returns the session facts on demand; without one they come from the records
    published (the `session` record). `turns` preloads a finished session (`claude-tap view`).
    """

    def __init__(
        self,
        info_provider: InfoProvider | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        token: str | None = None,
        *,
        turns: Iterable[Turn] = (),
        keepalive_s: float = KEEPALIVE_S,
        client_queue_frames: int = CLIENT_QUEUE_FRAMES,
    ) -> None:
        self.access = PageAccess(token)
        self.failed_records = 0  # records the normalizer could not read (logged, never raised)
        self._info_provider = info_provider
        self._host, self._port = host, port
        self._keepalive_s = keepalive_s
        self._client_queue_frames = client_queue_frames
        self._normalizer = SessionNormalizer()
        self._turns: dict[int, Turn] = {}  # by index, latest version, in order of first appearance
        self._pushed: list[Turn] = []  # every turn pushed, in order; event id N = first N pushed
        self._clients: set[_Client] = set()
        self._runner: web.AppRunner | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._early_records: list[dict[str, JsonValue]] = []  # published before start()
        self._loop_lock = threading.Lock()  # guards _loop and _early_records across threads
        self._is_stopping = False
        self._guard: Guard | None = None  # set once the port is known
        self._analysis_timer: asyncio.TimerHandle | None = None
        self._is_analysing = False
        self._analysis_turns: dict[str, str] = {}  # turn index -> its figures' JSON, as last pushed
        self._analysis: dict[str, JsonValue] | None = None  # the latest, whole (for new clients)
        self._analysis_took_s = 0.0  # how long the last one took: the next waits at least twice that
        for turn in turns:
            self._add_turn(turn)

    # -- lifecycle -------------------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application(middlewares=[guard_middleware(lambda: self._guard)])
        app.router.add_get("/", self._serve_page)
        app.router.add_get("/events", self._serve_events)
        app.router.add_get("/open/{code}", self.access.serve_open)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=SHUTDOWN_TIMEOUT_S)
        await self._runner.setup()
        await web.TCPSite(self._runner, self._host, self._port).start()
        self._guard = Guard.for_server(self._host, self.port)
        self.access.port = self.port
        with self._loop_lock:
            self._loop = asyncio.get_running_loop()
            early, self._early_records = self._early_records, []
        for record in early:
            self._ingest(record)

    async def stop(self) -> None:
        """End every stream (clients see the end of the response), then close the server."""
        self._is_stopping = True
        if self._analysis_timer is not None:
            self._analysis_timer.cancel()
        for client in list(self._clients):
            client.end()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def port(self) -> int:
        if self._runner is None or not self._runner.addresses:
            raise RuntimeError("LiveServer.port: the server is not running (call start() first)")
        return int(self._runner.addresses[0][1])

    @property
    def token(self) -> str:
        return self.access.token

    @property
    def url(self) -> str:
        """The address to open, token included (print it only where the user alone can read it)."""
        return self.access.url(self._host)

    def open_url(self) -> str:
        """A one-time address for the browser (viewer/access.py): safe on a command line."""
        return self.access.open_url(self._host)

    @property
    def cookie_name(self) -> str:
        return self.access.cookie_name

    @property
    def client_count(self) -> int:
        return len(self._clients)

    # -- records in (any thread) -----------------------------------------------------------------

    def publish_record(self, record: dict[str, JsonValue]) -> None:
        """Hand one written trace record to the server. Safe from any thread; never blocks."""
        with self._loop_lock:
            if self._loop is None:
                self._early_records.append(record)
                return
            loop = self._loop
        # A closed loop raises RuntimeError: the run is over and nobody is watching.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(self._ingest, record)

    def _ingest(self, record: dict[str, JsonValue]) -> None:
        if self._is_stopping:
            return
        try:
            new_turns = self._normalizer.add(record)
        except Exception:  # one unreadable record must not take the live view down
            self.failed_records += 1
            logger.exception("live viewer: could not normalize a %r record", record.get("type"))
            return
        for turn in new_turns:
            self._broadcast(_frame("turn", turn, event_id=self._add_turn(turn)))
        if new_turns:
            self._analyse_soon()
        if record.get("type") == "session":
            self._broadcast(_frame("session", self._session_info()))
        elif record.get("type") == "end":
            self._broadcast(_frame("end", record))

    def _add_turn(self, turn: Turn) -> int:
        """Keep the turn (replacing an earlier version) and return its event id."""
        self._turns[turn["index"]] = turn
        self._pushed.append(turn)
        return len(self._pushed)

    # -- analysis (threads, context, cache) --------------------------------------------------------

    def _analyse_soon(self) -> None:
        if self._analysis_timer is None and self._loop is not None:
            # A long session's analysis takes longer: keep it to a third of the time at most, so the
            # worker thread never crowds out the recording beside it.
            delay = max(ANALYSIS_DELAY_S, 2 * self._analysis_took_s)
            self._analysis_timer = self._loop.call_later(delay, self._start_analysis)

    def _start_analysis(self) -> None:
        self._analysis_timer = None
        if self._is_stopping or self._loop is None:
            return
        if self._is_analysing:  # one at a time; the turns that came meanwhile get the next one
            self._analyse_soon()
            return
        self._is_analysing = True
        turns = list(self._turns.values())  # emitted turns are not changed, so a worker may read them
        future = self._loop.run_in_executor(None, page_analysis, turns)
        future.add_done_callback(functools.partial(self._analysis_done, time.monotonic()))

    def _analysis_done(self, started: float, future: asyncio.Future[dict[str, object]]) -> None:
        self._is_analysing = False
        self._analysis_took_s = time.monotonic() - started
        if self._is_stopping or future.cancelled():
            return
        if future.exception() is not None:
            logger.error("live viewer: the analysis failed", exc_info=future.exception())
            return
        analysis: dict[str, Any] = future.result()
        self._analysis = analysis
        changed = {}
        for index, figures in analysis["turns"].items():
            text = json_line(figures)
            if self._analysis_turns.get(index) != text:
                self._analysis_turns[index] = text
                changed[index] = figures
        self._broadcast(_frame("analysis", {"threads": analysis["threads"], "turns": changed}))

    def _broadcast(self, frame: bytes) -> None:
        for client in list(self._clients):
            try:
                client.queue.put_nowait(frame)
            except asyncio.QueueFull:
                logger.info("live viewer: dropping a client that fell %d events behind", client.queue.qsize())
                self._clients.discard(client)
                client.drop()

    def _session_info(self) -> SessionInfo:
        if self._info_provider is not None:
            return self._info_provider()
        return self._normalizer.info

    # -- HTTP ------------------------------------------------------------------------------------

    async def _serve_page(self, request: web.Request) -> web.StreamResponse:
        if not self.access.is_authorized(request):
            return forbidden()
        info, turns = self._session_info(), list(self._turns.values())
        live = {"events_url": f"/events?token={self.token}&since={len(self._pushed)}"}
        render = functools.partial(render_html, info, turns, live=live)
        # Rendering a long session takes a while; turns are never changed once emitted, so a
        # worker thread can read them while the loop keeps pushing.
        html = await asyncio.get_running_loop().run_in_executor(None, render)
        headers = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
        return web.Response(text=html, content_type="text/html", charset="utf-8", headers=headers)

    async def _serve_events(self, request: web.Request) -> web.StreamResponse:
        if not self.access.is_authorized(request):
            return forbidden()
        if self._is_stopping:
            return web.Response(status=503, text="503: the live viewer is shutting down.\n")
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream; charset=utf-8",
                "Cache-Control": "no-store",
                "X-Accel-Buffering": "no",  # tell any buffering proxy in between to pass events on
            }
        )
        client = _Client(request, self._client_queue_frames)
        # Snapshot and subscribe with no await in between: nothing is pushed in the gap, and a
        # stop() from here on reaches this client too.
        replay = self._replay(_resume_point(request))
        self._clients.add(client)
        try:
            await response.prepare(request)
            await response.write(f"retry: {RETRY_MS}\n\n".encode())
            for name, data, event_id in replay:  # encoded one by one: the loop stays responsive
                await response.write(_frame(name, data, event_id))
            await self._pump(client, response)
            if not client.is_dropped:
                await response.write_eof()
        except ConnectionError:  # the browser went away (or was dropped); nothing to tell it
            pass
        finally:
            self._clients.discard(client)
        return response

    async def _pump(self, client: _Client, response: web.StreamResponse) -> None:
        while not client.is_dropped:
            try:
                frame = await asyncio.wait_for(client.queue.get(), timeout=self._keepalive_s)
            except TimeoutError:
                frame = b": keep-alive\n\n"
            if frame is None or client.is_dropped:
                return
            await response.write(frame)

    def _replay(self, resume_after: int | None) -> list[tuple[str, JsonValue, int | None]]:
        """What a new stream gets first, as (event, data, id): the session, then the turns it lacks."""
        events: list[tuple[str, JsonValue, int | None]] = [("session", self._session_info(), None)]
        if resume_after is not None and 0 <= resume_after <= len(self._pushed):
            missed = self._pushed[resume_after:]
            events += [("turn", turn, resume_after + i + 1) for i, turn in enumerate(missed)]
        else:
            events += [("turn", turn, None) for turn in self._turns.values()]
        events.append(("replayed", {"turns": len(events) - 1}, len(self._pushed)))
        if self._analysis is not None:
            events.append(("analysis", self._analysis, None))
        return events


def _resume_point(request: web.Request) -> int | None:
    """How many pushed turns the client already has: Last-Event-ID (a reconnect) wins over ?since."""
    raw = request.headers.get("Last-Event-ID") or request.query.get("since")
    if raw is None or not raw.isdigit():
        return None
    return int(raw)


def _frame(event: str, data: JsonValue, event_id: int | None = None) -> bytes:
    head = f"event: {event}\n" + (f"id: {event_id}\n" if event_id is not None else "")
    return f"{head}data: {json_line(data)}\n\n".encode()  # one line: a single `data:` field


# -- claude-tap view TRACE -----------------------------------------------------------------------


def serve_trace(
    path: Path,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    open_browser: bool = True,
    stderr: TextIO | None = None,
) -> int:
    """Serve a recorded trace in the viewer until Ctrl+C; returns the exit code (0).

    The trace is read (and redacted, like an export) before anything is served, so reading errors
    (no such file, not a trace) are raised to the caller.
    """
    stderr = stderr or sys.stderr
    report = ReadReport()
    info, turns = load_session(path, report)
    for warning in report.warnings:
        print(f"claude-tap: warning: {report.path}: {warning}", file=stderr)
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl+C is how the user says "done"
        asyncio.run(_serve_until_interrupted(path, info, turns, host, port, open_browser, stderr))
    return 0


async def _serve_until_interrupted(
    path: Path,
    info: SessionInfo,
    turns: list[Turn],
    host: str,
    port: int,
    open_browser: bool,
    stderr: TextIO,
) -> None:
    if host not in LOOPBACK_HOSTS:
        print(f"claude-tap: warning: serving on {host}, reachable from other machines", file=stderr)
    server = LiveServer(lambda: info, host=host, port=port, turns=turns)
    await server.start()
    try:
        print(f"claude-tap: {len(turns)} turns from {path}", file=stderr)
        print(f"claude-tap: viewer at {server.url}  (Ctrl+C to stop)", file=stderr, flush=True)
        if open_browser:
            open_in_background(server.open_url())
        await asyncio.Event().wait()  # until Ctrl+C cancels us
    finally:
        await server.stop()
