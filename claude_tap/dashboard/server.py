"""`claude-tap dashboard`: a local web page over the sessions index, until Ctrl+C.

    GET /                   the page (assets/dashboard.html, self-contained)
    GET /open/<code>        the one-time code that sets the token cookie (viewer/access.py)
    GET /api/sessions       sessions, newest first (?client= &since= &until= YYYY-MM-DD, &text=),
                            with tokens and cost per day and client for the charts
    GET /api/search?q=      ranked turns of any session
    GET /api/context?dir=   one session's prompt size turn by turn (reads that session's trace)
    GET /session?dir=       that session's viewer (its trace.html, or made from its trace)

Every path needs the token; the server binds 127.0.0.1 and refuses foreign Host and Origin headers
(proxy/guard.py), as the live viewer does. The index is brought up to date once, at the start, and
is the only thing listing and searching read. `dir` must be a session the index lists: no other
path on the machine can be named.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any, TextIO

from aiohttp import web

from claude_tap.dashboard.figures import context_growth, daily_totals, session_json
from claude_tap.proxy.guard import Guard, guard_middleware
from claude_tap.sessions import RECORDING_GRACE_S, open_index, update_index
from claude_tap.sessions_cli import hit_json
from claude_tap.store.index import IndexBusyError, SessionFilter
from claude_tap.store.paths import HTML_FILE
from claude_tap.viewer.access import PageAccess, forbidden
from claude_tap.viewer.opener import open_in_background

SEARCH_LIMIT = 50
Warn = Callable[[str], None]


class Dashboard:
    def __init__(self, environ: Mapping[str, str], root: Path, warn: Warn, host: str = "127.0.0.1") -> None:
        self._environ = environ
        self._root = root
        self._warn = warn
        self._host = host
        self.access = PageAccess()
        self._guard: Guard | None = None
        self._runner: web.AppRunner | None = None

    async def start(self, port: int = 0) -> None:
        try:
            await asyncio.to_thread(self._update_index)
        except IndexBusyError as error:  # another claude-tap is writing it: show it as it is
            self._warn(f"{error}; showing the index as it is")
        app = web.Application(middlewares=[guard_middleware(lambda: self._guard)])
        app.router.add_get("/", self._page)
        app.router.add_get("/open/{code}", self.access.serve_open)
        app.router.add_get("/api/sessions", self._sessions)
        app.router.add_get("/api/search", self._search)
        app.router.add_get("/api/context", self._context)
        app.router.add_get("/session", self._session_page)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, self._host, port).start()
        self.access.port = int(self._runner.addresses[0][1])
        self._guard = Guard.for_server(self._host, self.access.port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def url(self) -> str:
        """The address with the token (printed on stderr, for the user alone)."""
        return self.access.url(self._host)

    def open_url(self) -> str:
        return self.access.open_url(self._host)

    def _update_index(self) -> None:
        with open_index(self._environ, self._warn) as index:
            update_index(index, [self._root], self._warn, RECORDING_GRACE_S)

    def _query(self, action: Callable[[Any], Any]) -> Any:
        with open_index(self._environ, self._warn) as index:
            return action(index)

    # -- handlers --------------------------------------------------------------------------------

    async def _page(self, request: web.Request) -> web.StreamResponse:
        if not self.access.is_authorized(request):
            return forbidden()
        page = resources.files("claude_tap.dashboard").joinpath("assets", "dashboard.html").read_text("utf-8")
        response = web.Response(text=page, content_type="text/html", charset="utf-8", headers=_NO_STORE)
        self.access.set_cookie(response)  # the page's API calls and viewer links carry the token so
        return response

    async def _sessions(self, request: web.Request) -> web.StreamResponse:
        if not self.access.is_authorized(request):
            return forbidden()
        try:
            where = SessionFilter(
                client=request.query.get("client") or None,
                since_ts=_day_start(request.query.get("since")),
                until_ts=_day_end(request.query.get("until")),
                text=request.query.get("text") or None,
            )
        except ValueError as error:
            return web.json_response({"error": str(error)}, status=400)
        rows = await asyncio.to_thread(self._query, lambda index: index.sessions(where))
        clients = sorted({row.client or "unknown" for row in rows})
        body = {
            "sessions": [session_json(row) for row in rows],
            "days": daily_totals(rows),
            "clients": clients,
        }
        return web.json_response(body, headers=_NO_STORE)

    async def _search(self, request: web.Request) -> web.StreamResponse:
        if not self.access.is_authorized(request):
            return forbidden()
        text = request.query.get("q", "").strip()
        if not text:
            return web.json_response({"hits": []})
        hits = await asyncio.to_thread(self._query, lambda index: index.search(text, SEARCH_LIMIT))
        return web.json_response({"hits": [hit_json(hit) for hit in hits]}, headers=_NO_STORE)

    async def _context(self, request: web.Request) -> web.StreamResponse:
        if not self.access.is_authorized(request):
            return forbidden()
        session_dir = await self._listed_dir(request)
        if session_dir is None:
            return web.json_response({"error": "not a listed session"}, status=404)
        from claude_tap.viewer.export import load_session

        _, turns = await asyncio.to_thread(load_session, session_dir)
        return web.json_response({"turns": context_growth(turns)}, headers=_NO_STORE)

    async def _session_page(self, request: web.Request) -> web.StreamResponse:
        if not self.access.is_authorized(request):
            return forbidden()
        session_dir = await self._listed_dir(request)
        if session_dir is None:
            return web.Response(status=404, text="404: not a session the index lists.\n")
        html_path = session_dir / HTML_FILE
        if html_path.is_file():
            page = await asyncio.to_thread(html_path.read_text, "utf-8")
        else:  # recorded before trace.html was written, or it was deleted: made from the trace
            from claude_tap.viewer.export import load_session
            from claude_tap.viewer.html import render_html

            page = await asyncio.to_thread(lambda: render_html(*load_session(session_dir)))
        return web.Response(text=page, content_type="text/html", charset="utf-8", headers=_NO_STORE)

    async def _listed_dir(self, request: web.Request) -> Path | None:
        wanted = request.query.get("dir", "")
        listed = await asyncio.to_thread(self._query, lambda index: set(index.stamps()))
        return Path(wanted) if wanted in listed else None


_NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


def _day_start(value: str | None) -> float | None:
    return datetime.strptime(value, "%Y-%m-%d").timestamp() if value else None


def _day_end(value: str | None) -> float | None:
    return datetime.strptime(value, "%Y-%m-%d").timestamp() + 86400 if value else None


def serve_dashboard(
    environ: Mapping[str, str],
    root: Path,
    *,
    host: str,
    port: int,
    open_browser: bool,
    stderr: TextIO,
) -> int:
    """Serve until Ctrl+C; returns the exit code."""

    def warn(message: str) -> None:
        print(f"claude-tap: warning: {message}", file=stderr, flush=True)

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(Dashboard(environ, root, warn, host), port, open_browser, stderr))
    return 0


async def _serve(dashboard: Dashboard, port: int, open_browser: bool, stderr: TextIO) -> None:
    await dashboard.start(port)
    try:
        print(f"claude-tap: dashboard at {dashboard.url}  (Ctrl+C to stop)", file=stderr, flush=True)
        if open_browser:
            open_in_background(dashboard.open_url())
        await asyncio.Event().wait()
    finally:
        await dashboard.stop()
