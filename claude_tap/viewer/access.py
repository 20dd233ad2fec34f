"""Who may read a local page of claude-tap (the live viewer, the dashboard): whoever holds its token.

The token is random per server. It is given in the URL (`?token=`) or, for a browser claude-tap
opens, through a one-time code: `GET /open/<code>` works once, within OPEN_CODE_TTL_S, sets an
HttpOnly, SameSite=Strict cookie holding the token and redirects to `/`. So the token never appears
on the browser's command line, where every local user can read it with `ps`. The cookie is named
after the port: two servers on one machine never overwrite each other's.

This module knows aiohttp requests and nothing of what the pages show.
"""

from __future__ import annotations

import secrets
import time

from aiohttp import web

OPEN_CODE_TTL_S = 60.0  # long enough for a cold browser start, short enough to be useless in `ps` later


class PageAccess:
    def __init__(self, token: str | None = None) -> None:
        self.token = token or secrets.token_urlsafe(24)
        self.port = 0  # set once the server listens: it names the cookie
        self._open_codes: dict[str, float] = {}  # one-time code -> when it expires (time.monotonic)

    @property
    def cookie_name(self) -> str:
        return f"claude_tap_{self.port}"

    def url(self, host: str, path: str = "/") -> str:
        """The address with the token (print it only where the user alone can read it)."""
        return f"{_origin(host, self.port)}{path}?token={self.token}"

    def open_url(self, host: str) -> str:
        """A one-time address for the browser; safe on a command line, where `url` is not."""
        now = time.monotonic()
        self._open_codes = {code: expiry for code, expiry in self._open_codes.items() if expiry > now}
        code = secrets.token_urlsafe(24)
        self._open_codes[code] = now + OPEN_CODE_TTL_S
        return f"{_origin(host, self.port)}/open/{code}"

    def is_authorized(self, request: web.Request) -> bool:
        expected = self.token.encode()
        given = request.query.get("token", "").encode()
        from_cookie = request.cookies.get(self.cookie_name, "").encode()
        return secrets.compare_digest(given, expected) or secrets.compare_digest(from_cookie, expected)

    async def serve_open(self, request: web.Request) -> web.StreamResponse:
        """`GET /open/{code}`: the cookie and a redirect to `/`, once per code."""
        expiry = self._open_codes.pop(request.match_info["code"], None)  # once only, used or not
        if expiry is None or expiry < time.monotonic():
            return web.Response(
                status=403,
                text="403: this link was used already or has expired; open the address claude-tap printed.\n",
            )
        headers = {"Location": "/", "Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
        response = web.Response(status=303, headers=headers)
        self.set_cookie(response)
        return response

    def set_cookie(self, response: web.StreamResponse) -> None:
        """The token as an HttpOnly cookie, so the page's own requests need no token in their URL."""
        response.set_cookie(self.cookie_name, self.token, path="/", httponly=True, samesite="Strict")


def forbidden() -> web.Response:
    return web.Response(status=403, text="403: this address needs the token claude-tap printed.\n")


def _origin(host: str, port: int) -> str:
    return f"http://{f'[{host}]' if ':' in host else host}:{port}"
