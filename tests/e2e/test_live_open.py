"""viewer/live.py hands the browser a one-time code, not the token, and refuses foreign pages
(issue 15, item 5), over real HTTP on 127.0.0.1."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest

from claude_tap.viewer import access as access_module
from claude_tap.viewer.live import LiveServer

pytestmark = pytest.mark.e2e

INFO = {"client": "claude", "started_at": "2026-01-01T00:00:00+00:00"}


@pytest.fixture
async def server() -> AsyncIterator[LiveServer]:
    live = LiveServer(lambda: INFO)  # type: ignore[arg-type,return-value]
    await live.start()
    yield live
    await live.stop()


async def test_the_one_time_address_sets_a_strict_http_only_cookie_and_leads_to_the_page(
    server: LiveServer,
) -> None:
    url = server.open_url()
    assert server.token not in url
    # unsafe: aiohttp keeps no cookies from IP addresses by default; browsers do.
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        async with http.get(url, allow_redirects=False) as r:
            assert r.status == 303
            assert r.headers["Location"] == "/"
            cookie = r.headers["Set-Cookie"]
        assert cookie.startswith(f"{server.cookie_name}={server.token};")
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
        async with http.get(f"http://127.0.0.1:{server.port}/") as r:  # the cookie, no token in the URL
            assert r.status == 200
            assert "tap-payload" in await r.text()
        async with http.get(f"http://127.0.0.1:{server.port}/events?since=0") as r:
            assert r.status == 200
            assert (await r.content.readuntil(b"\n\n")).startswith(b"retry:")


async def test_a_one_time_code_works_once(server: LiveServer) -> None:
    url = server.open_url()
    async with aiohttp.ClientSession() as http, http.get(url, allow_redirects=False) as r:
        assert r.status == 303
    async with aiohttp.ClientSession() as other:
        async with other.get(url, allow_redirects=False) as r:
            assert r.status == 403
            assert "Set-Cookie" not in r.headers
            assert server.token not in await r.text()
        async with other.get(f"http://127.0.0.1:{server.port}/") as r:
            assert r.status == 403


async def test_a_one_time_code_expires(server: LiveServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(access_module, "OPEN_CODE_TTL_S", 0.05)
    url = server.open_url()
    await asyncio.sleep(0.1)
    async with aiohttp.ClientSession() as http, http.get(url, allow_redirects=False) as r:
        assert r.status == 403


@pytest.mark.parametrize(
    "headers, status",
    [
        ({"Host": "rebind.attacker.example:1234"}, 421),  # DNS rebinding: the page's own name
        ({"Origin": "https://attacker.example"}, 403),
        ({"Origin": "null"}, 403),
        ({"Sec-Fetch-Site": "cross-site"}, 403),
    ],
)
async def test_foreign_hosts_and_pages_are_refused_even_with_the_token(
    server: LiveServer, headers: dict[str, str], status: int
) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(server.url, headers=headers) as r:
            assert r.status == status
            assert "tap-payload" not in await r.text()
        async with http.get(server.open_url(), headers=headers, allow_redirects=False) as r:
            assert r.status == status
            assert "Set-Cookie" not in r.headers


async def test_our_own_origin_and_loopback_names_pass(server: LiveServer) -> None:
    async with aiohttp.ClientSession() as http:
        for headers in (
            {"Origin": f"http://127.0.0.1:{server.port}", "Sec-Fetch-Site": "same-origin"},
            {"Host": f"localhost:{server.port}"},
            {"Host": "127.0.0.1"},
        ):
            async with http.get(server.url, headers=headers) as r:
                assert r.status == 200, headers
