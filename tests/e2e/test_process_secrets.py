"""No secret leaves the real `claude-tap` process in anything it writes (issue "Core", item 7).

Distinct secrets are planted where agents carry them: the x-api-key and authorization headers, a
cookie, a `?key=` query parameter, JSON body fields (`api_key`, `client_secret`), the tap's own
environment (ANTHROPIC_API_KEY, OPENAI_API_KEY) and, in launch mode, a client argument
(`--api-key SECRET`). After the run none of them appears in the decompressed trace, proxy.log,
trace.html (its raw text and its decoded payload), the tap's stderr, or an export to .md and .json.
The same secret used twice gets the same `[REDACTED:<8 hex>]` marker, the first 8 hex digits of its
SHA-256, computed here independently. The upstream still receives every real value: redaction is
for the record, never for forwarding.

The loopback upstream echoes what it received, so the secrets also come back in response bodies,
as a real API's error message ("invalid x-api-key ...") would bring them back.
"""

from __future__ import annotations

import asyncio
import base64
import gzip
import hashlib
import json
import re
import signal
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import zstandard
from aiohttp import web

from tests.e2e.tap_process import proxy_only, run_tap, tap_env, wait_for, write_script
from tests.loopback import Loopback

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

TIMEOUT = aiohttp.ClientTimeout(total=20)

# Each secret carries its own word, so a leak report names where it was planted.
HEADER_KEY = "sk-ant-api03-HEADERKEY-Qm7x2PzR9wKv"
BEARER = "sk-ant-oat01-BEARERTOKEN-Vt4k8LsN3jAa"
COOKIE_VALUE = "COOKIESESSION-Hd6y1QcW5eTr"
QUERY_KEY = "AIzaSyQUERYKEY-Bn2r7XfK0uLp"
BODY_API_KEY = "sk-BODYAPIKEY-Jp9s3MdG6tEw"
CLIENT_SECRET = "cs-CLIENTSECRET-Wz5v8RhY1cNb"
ENV_KEY = "sk-ant-api03-ENVKEY-Lf3n6TbE8qZo"  # ANTHROPIC_API_KEY of the tap; sent as a bearer token
ENV_ONLY = "sk-proj-ENVONLY-Gc1m4UaZ7dXs"  # OPENAI_API_KEY of the tap; pasted into a message
ARG_KEY = "sk-ant-api03-ARGKEY-Xe2w9PoI5rYu"  # a client argument in launch mode
COSY_SIGNATURE = "COSYSIGNATURE-4f9a1c7e2b8d"  # Qoder's request signature header

COOKIE = f"session={COOKIE_VALUE}; theme=dark"
MODEL = "claude-sonnet-4-5"


def marker(secret: str) -> str:
    return f"[REDACTED:{hashlib.sha256(secret.encode()).hexdigest()[:8]}]"


def leaks(texts: dict[str, str], secrets: dict[str, str]) -> list[str]:
    """ "SECRET_NAME in WHERE" for every secret found, whole or by its distinctive word."""
    found = []
    for where, text in texts.items():
        for name, secret in secrets.items():
            word = secret.split("-")[-2]  # e.g. "HEADERKEY": a partly masked secret still shows it
            if secret in text or word in text:
                found.append(f"{name} in {where}")
    return found


def decompressed_trace(session_dir: Path) -> str:
    data = (session_dir / "trace.jsonl.zst").read_bytes()
    return zstandard.ZstdDecompressor().decompressobj().decompress(data).decode()


def html_payload(html: str) -> str:
    """The JSON the viewer page carries: base64(gzip(json)) in <script id="tap-payload">."""
    match = re.search(r'<script type="application/octet-stream" id="tap-payload">([^<]*)</script>', html)
    assert match, "no payload in trace.html"
    return gzip.decompress(base64.b64decode(match.group(1))).decode()


async def exported(tmp_path: Path, session_dir: Path, env: dict[str, str]) -> dict[str, str]:
    """The session exported to .md and .json by the real `claude-tap export`."""
    texts = {}
    for suffix in ("md", "json"):
        out = tmp_path / f"export.{suffix}"
        done = await run_tap(tmp_path, ["export", str(session_dir / "trace.jsonl.zst"), "-o", str(out)], env)
        assert done.returncode == 0, done.stderr
        texts[f"export .{suffix}"] = out.read_text() + done.stderr
    return texts


async def everything_written(
    tmp_path: Path, session_dir: Path, stderr: str, env: dict[str, str]
) -> dict[str, str]:
    html = (session_dir / "trace.html").read_text()
    texts = {
        "trace.jsonl.zst": decompressed_trace(session_dir),
        "proxy.log": (session_dir / "proxy.log").read_text(),
        "trace.html": html,
        "trace.html payload": html_payload(html),
        "stderr": stderr,
    }
    texts.update(await exported(tmp_path, session_dir, env))
    return texts


def exchange_records(trace_text: str) -> list[dict[str, Any]]:
    records = [json.loads(line) for line in trace_text.splitlines()]
    return [r for r in records if r["type"] == "exchange"]


# --- proxy only: secrets sent by a client we drive ---

PROXY_ONLY_SECRETS = {
    "x-api-key": HEADER_KEY,
    "bearer": BEARER,
    "cookie": COOKIE_VALUE,
    "?key=": QUERY_KEY,
    "body api_key": BODY_API_KEY,
    "body client_secret": CLIENT_SECRET,
    "env ANTHROPIC_API_KEY": ENV_KEY,
    "env OPENAI_API_KEY": ENV_ONLY,
    "cosy-signature": COSY_SIGNATURE,
}
FIRST_BODY = json.dumps(
    {
        "model": MODEL,
        "max_tokens": 10,
        "api_key": BODY_API_KEY,
        "client_secret": CLIENT_SECRET,
        "messages": [{"role": "user", "content": f"my other key is {ENV_ONLY}"}],
    }
).encode()


async def drive_with_secrets(url: str) -> dict[str, Any]:
    """Four requests carrying the secrets; returns what the upstream echoed for the first."""
    async with aiohttp.ClientSession(timeout=TIMEOUT) as http:
        headers = {
            "content-type": "application/json",
            "anthropic-version": "2023-06-01",
            "x-api-key": HEADER_KEY,
            "authorization": f"Bearer {BEARER}",
            "cookie": COOKIE,
            "cosy-signature": COSY_SIGNATURE,
        }
        async with http.post(
            f"{url}/v1/messages?beta=true&key={QUERY_KEY}", data=FIRST_BODY, headers=headers
        ) as r:
            echoed: dict[str, Any] = await r.json()
        headers = {"x-api-key": HEADER_KEY, "authorization": f"Bearer {ENV_KEY}"}
        async with http.post(
            f"{url}/v1/messages", json={"model": MODEL, "max_tokens": 1}, headers=headers
        ) as r:
            assert r.status == 200
        async with http.get(f"{url}/v1/sse?n=2&key={QUERY_KEY}", headers={"x-api-key": HEADER_KEY}) as r:
            assert r.status == 200
            await r.read()
        # A failing exchange is logged to proxy.log (and stderr with --tap-debug) with its URL.
        async with http.get(f"{url}/v1/sse-die?n=1&key={QUERY_KEY}") as r:
            with pytest.raises(aiohttp.ClientPayloadError):
                await r.read()
    return echoed


async def test_no_secret_from_headers_query_body_or_env_reaches_any_output(
    tmp_path: Path, loopback: Loopback
) -> None:
    env = tap_env(tmp_path, ANTHROPIC_API_KEY=ENV_KEY, OPENAI_API_KEY=ENV_ONLY)
    async with proxy_only(tmp_path, loopback.url, ["--tap-debug"], env=env) as tap:
        echoed = await drive_with_secrets(tap.url)
        done = await tap.stop(signal.SIGINT)
    assert done.returncode == 0, done.stderr

    # Forwarding is unchanged: the upstream got every real value, and the client got them back.
    first = loopback.seen[0]
    assert first.path == f"/v1/messages?beta=true&key={QUERY_KEY}"
    assert (first.header("x-api-key"), first.header("authorization")) == (HEADER_KEY, f"Bearer {BEARER}")
    assert first.header("cookie") == COOKIE
    assert first.body_sha256 == hashlib.sha256(FIRST_BODY).hexdigest()
    assert loopback.seen[1].header("authorization") == f"Bearer {ENV_KEY}"
    assert ["x-api-key", HEADER_KEY] in echoed["headers"]

    texts = await everything_written(tmp_path, tap.session_dir(), done.stderr, env)
    assert leaks(texts, PROXY_ONLY_SECRETS) == []

    # Markers take the secrets' places; the same secret gets the same marker every time.
    ex1, ex2, ex3, ex4 = exchange_records(texts["trace.jsonl.zst"])
    assert [ex["request"]["headers"]["x-api-key"] for ex in (ex1, ex2, ex3)] == [marker(HEADER_KEY)] * 3
    assert ex1["request"]["headers"]["authorization"] == f"Bearer {marker(BEARER)}"
    assert ex2["request"]["headers"]["authorization"] == f"Bearer {marker(ENV_KEY)}"
    assert ex1["request"]["headers"]["cookie"] == marker(COOKIE)
    assert ex1["request"]["headers"]["cosy-signature"] == marker(COSY_SIGNATURE)
    assert ex1["request"]["path"] == f"/v1/messages?beta=true&key={marker(QUERY_KEY)}"
    assert ex3["request"]["path"] == f"/v1/sse?n=2&key={marker(QUERY_KEY)}"
    assert ex4["request"]["path"] == f"/v1/sse-die?n=1&key={marker(QUERY_KEY)}"
    body = ex1["request"]["body"]
    assert (body["api_key"], body["client_secret"]) == (marker(BODY_API_KEY), marker(CLIENT_SECRET))
    assert body["messages"][0]["content"] == f"my other key is {marker(ENV_ONLY)}"
    # The secrets the upstream echoed back are scrubbed from the response body too.
    assert ["x-api-key", marker(HEADER_KEY)] in ex1["response"]["body"]["headers"]
    # The page's payload is real (not an empty shell the leak check passes trivially).
    assert MODEL in texts["trace.html payload"] and marker(BODY_API_KEY) in texts["trace.html payload"]


# --- launch mode: secrets in the tap's environment and the client's arguments ---

LAUNCHED_CLIENT = """
import json, os, sys, urllib.request
args = sys.argv[1:]
arg_key = args[args.index("--api-key") + 1]
for n in (1, 2):
    body = {"model": "claude-sonnet-4-5", "max_tokens": 10, "api_key": arg_key,
            "messages": [{"role": "user", "content": f"turn {n}"}]}
    request = urllib.request.Request(
        os.environ["ANTHROPIC_BASE_URL"] + "/v1/messages", data=json.dumps(body).encode(), method="POST",
        headers={"content-type": "application/json", "x-api-key": os.environ["ANTHROPIC_API_KEY"]})
    with urllib.request.urlopen(request, timeout=20) as response:
        response.read()
sys.stdout.write("client output\\n")
print("client: done", file=sys.stderr)
sys.exit(4)
"""
LAUNCH_SECRETS = {"env ANTHROPIC_API_KEY": ENV_KEY, "env OPENAI_API_KEY": ENV_ONLY, "--api-key": ARG_KEY}


async def test_launch_mode_keeps_env_and_argument_secrets_out_of_every_output(
    tmp_path: Path, loopback: Loopback
) -> None:
    # The VS Code wrapper form: the path of the claude executable comes first among the client args.
    claude = write_script(tmp_path / "vscode" / "claude", LAUNCHED_CLIENT)
    env = tap_env(tmp_path, ANTHROPIC_API_KEY=ENV_KEY, OPENAI_API_KEY=ENV_ONLY)
    args = ["--tap-no-open", "--tap-target", loopback.url, "--tap-output-dir", str(tmp_path / "traces")]

    done = await run_tap(tmp_path, [*args, "--", str(claude), "--api-key", ARG_KEY, "-p", "hi"], env)

    assert done.returncode == 4, done.stderr
    assert done.stdout == b"client output\n"
    assert "client: done" in done.stderr
    assert [s.header("x-api-key") for s in loopback.seen] == [ENV_KEY, ENV_KEY]
    session_dir = next((tmp_path / "traces").rglob("trace.jsonl.zst")).parent
    texts = await everything_written(tmp_path, session_dir, done.stderr, env)
    assert leaks(texts, LAUNCH_SECRETS) == []

    records = [json.loads(line) for line in texts["trace.jsonl.zst"].splitlines()]
    argv = records[0]["argv"]
    assert argv[argv.index("--api-key") + 1] == marker(ARG_KEY)
    ex1, ex2 = exchange_records(texts["trace.jsonl.zst"])
    assert [ex["request"]["headers"]["x-api-key"] for ex in (ex1, ex2)] == [marker(ENV_KEY)] * 2
    assert [ex["request"]["body"]["api_key"] for ex in (ex1, ex2)] == [marker(ARG_KEY)] * 2


# --- secrets with no secret name: found by their shape, inside JSON strings, in URLs (issue 15) ---

# Each holds a word of its own ("PlantMsgKey"), so a report names what leaked, even partly masked.
SHAPED = {
    "anthropic key in a message": "sk-ant-api03-PlantMsgKey7xQ2vB9nM4kLp8RtY3wZs",
    "openai key in a tool result": "sk-proj-PlantToolOut5Hd7Lm2Qx9Vb4Nc8K",
    "github pat in a message": "github_pat_11PLANTGHPAT0aBcDeFg_hIjKlMnOpQrStUvWxYz0123",
    "github token in a message": "ghp_PlantGhToken3dE6gH9jK2mN5pQ8sT1vW4yZ",
    "aws key id in a message": "AKIAPLANTAWSKEY12345",
    "jwt in a message": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJQbGFudEp3dCJ9.PlantJwtSig_dozjgNryP4J3jVmNHl0w5N",
    "slack token in a message": "xoxb-1234567890-PlantSlackTok-AbCdEf",
    "google key in a message": "AIzaSyPlantGoogleKey0b2C3d4E5f6G7h8I9j0",
    "slack webhook in a message": "T01PLANT/B02HOOK/PlantSlackHookAbCdEfGh",
    "discord webhook in a message": "PlantDiscordHook_GhIjKlMnOpQrStUv",
    "password of a url in a message": "PlantUrlPass-9x",
    "api_key in tool arguments (JSON in a JSON string)": "PlantNestedArg-4kq",
    "password in DATABASE_URL": "PlantDbPass-7qx",
    "DEPLOY_CREDS": "PlantDeployCreds-3vz",
    "code= in a Location header": "PlantOauthCode-8wy",
    "access_token in a Location fragment": "PlantOauthFrag-2mr",
    "password in a form body": "PlantFormPass-6jt",
    "client_secret in a multipart body": "PlantMultipart-5ns",
    "apiKey in --settings JSON holding a URL": "PlantSettingsKey-1bc",
    "over-long header refused by the parser": "PlantLongHeader",
}


def shaped_leaks(texts: dict[str, str]) -> list[str]:
    words = {name: re.search(r"(?i)plant[a-z]+", secret).group(0) for name, secret in SHAPED.items()}  # type: ignore[union-attr]
    words["over-long header refused by the parser"] = "PlantLongHeader"
    return [
        f"{name} in {where}" for where, text in texts.items() for name, word in words.items() if word in text
    ]


def message_text() -> str:
    s = SHAPED
    return (
        f"keys: {s['anthropic key in a message']}\n{s['github pat in a message']} and "
        f"{s['github token in a message']}, aws {s['aws key id in a message']}, jwt {s['jwt in a message']}, "
        f"slack {s['slack token in a message']}, google {s['google key in a message']}; "
        f"hooks https://hooks.slack.com/services/{s['slack webhook in a message']} and "
        f"https://discord.com/api/webhooks/112233445566/{s['discord webhook in a message']}; "
        f"db mysql://root:{s['password of a url in a message']}@localhost/app"
    )


async def read_live_events(url: str, until_closed: asyncio.Event) -> str:
    """Everything the live viewer's event stream sends, until it ends."""
    chunks = []
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=40)) as http, http.get(url) as r:
        assert r.status == 200
        async for chunk in r.content.iter_any():
            chunks.append(chunk.decode(errors="replace"))
    until_closed.set()
    return "".join(chunks)


async def drive_shaped_secrets(url: str, loopback: Loopback) -> None:
    s = SHAPED

    async def location(request: web.BaseRequest) -> web.StreamResponse:
        await loopback.record(request)
        target = (
            f"https://app.example/cb?code={s['code= in a Location header']}&state=1"
            f"#access_token={s['access_token in a Location fragment']}"
        )
        return web.Response(status=302, headers={"Location": target})

    loopback.route("authorize", location)
    arguments = json.dumps(
        {"url": "https://api.example.com", "api_key": s["api_key in tool arguments (JSON in a JSON string)"]}
    )
    body = {
        "model": MODEL,
        "max_tokens": 10,
        "messages": [
            {"role": "user", "content": message_text()},
            {
                "role": "assistant",
                "content": [{"type": "tool_use", "id": "t1", "name": "fetch", "input": {"args": arguments}}],
            },
            {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": "t1",
                        "content": f"found {s['openai key in a tool result']}",
                    }
                ],
            },
        ],
    }
    multipart = aiohttp.FormData()
    multipart.add_field("client_secret", s["client_secret in a multipart body"])
    multipart.add_field("note", "hello")
    async with aiohttp.ClientSession(timeout=TIMEOUT) as http:
        async with http.post(
            f"{url}/v1/messages", json=body, headers={"anthropic-version": "2023-06-01"}
        ) as r:
            assert r.status == 200
        async with http.get(f"{url}/oauth/authorize", allow_redirects=False) as r:
            assert r.status == 302
        form = f"grant_type=password&username=me&password={s['password in a form body']}"
        headers = {"content-type": "application/x-www-form-urlencoded"}
        async with http.post(f"{url}/oauth/token", data=form, headers=headers) as r:
            assert r.status == 200
        async with http.post(f"{url}/upload", data=multipart) as r:
            assert r.status == 200
    # A header line too long for the parser: refused with a 400, and aiohttp logs its first bytes.
    reader, writer = await asyncio.open_connection("127.0.0.1", int(url.rsplit(":", 1)[1]))
    too_long = f"x-api-key: {s['over-long header refused by the parser']}" + "A" * 70_000
    writer.write(f"GET /v1/x HTTP/1.1\r\nHost: 127.0.0.1\r\n{too_long}\r\n\r\n".encode())
    assert (await reader.read(100)).startswith(b"HTTP/1.")
    writer.close()


async def test_secrets_found_by_shape_json_in_strings_and_urls_reach_no_output(
    tmp_path: Path, loopback: Loopback
) -> None:
    s = SHAPED
    env = tap_env(
        tmp_path,
        DATABASE_URL=f"postgres://app:{s['password in DATABASE_URL']}@db.internal:5432/prod",
        DEPLOY_CREDS=s["DEPLOY_CREDS"],
    )
    settings = json.dumps(
        {"apiKey": s["apiKey in --settings JSON holding a URL"], "url": "https://gw.example"}
    )
    args = ["--tap-debug", "--tap-live", "--", "--settings", settings]
    async with proxy_only(tmp_path, loopback.url, args, env=env) as tap:
        await wait_for(lambda: "/?token=" in tap.stderr, 10, "the live viewer's address")
        live_url = re.search(r"(http://127\.0\.0\.1:\d+)/\?token=([\w-]+)", tap.stderr)
        assert live_url is not None
        closed = asyncio.Event()
        live = asyncio.ensure_future(read_live_events(f"{live_url[1]}/events?token={live_url[2]}", closed))
        await asyncio.sleep(0.3)
        await drive_shaped_secrets(tap.url, loopback)
        # The database password and the creds come back in a response, as an API error would echo them.
        async with aiohttp.ClientSession(timeout=TIMEOUT) as http:
            echo = {"note": f"env says {s['password in DATABASE_URL']} and {s['DEPLOY_CREDS']}"}
            async with http.post(f"{tap.url}/v1/messages", json=echo) as r:
                assert r.status == 200
        await asyncio.sleep(1.0)  # let the live viewer push the turns
        done = await tap.stop(signal.SIGINT)
        live_text = await asyncio.wait_for(live, 20)
    assert done.returncode == 0, done.stderr

    texts = await everything_written(tmp_path, tap.session_dir(), done.stderr, env)
    texts["live stream"] = live_text
    texts["stdout"] = done.stdout.decode(errors="replace")
    assert shaped_leaks(texts) == []
    # Not an empty pass: the records and the live stream are there, with markers in the secrets' places.
    trace = texts["trace.jsonl.zst"]
    assert marker(s["anthropic key in a message"]) in trace
    assert marker(s["code= in a Location header"]) in trace
    assert marker(s["anthropic key in a message"]) in live_text
    assert "Got more than 65536 bytes when reading: [REDACTED:" in texts["proxy.log"]
