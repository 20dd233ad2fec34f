"""trace.html: one self-contained page (inline CSS and JS, no network) that shows a session's turns.

The page is assets/template.html with the stylesheet, the scripts (concatenated in SCRIPTS order into
one strict-mode function), the strings of both languages and the encoded payload (viewer/payload.py)
put in. Its Content-Security-Policy allows exactly that one script and that one stylesheet, by hash,
images only from data: URLs, and no network at all except, in live mode, the page's own server
(the EventSource of viewer/live.py). Trace data sits in non-executable <script type=...> blocks:
base64 (no `<` in it) and JSON with `<`, `>` and `&` escaped, so no trace string can end the block.

This module knows nothing about trace files, API formats or how the live server streams.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import html
import json
import os
import re
import tempfile
from importlib import resources
from pathlib import Path
from typing import Any

from claude_tap.normalize.model import SessionInfo, Turn
from claude_tap.normalize.pricing import prices_as_of
from claude_tap.viewer.payload import build_payload, encode_payload
from claude_tap.viewer.session_name import named_session

# One scope: functions are shared regardless of order; controls.js, last, boots the page once every
# module-level value above it is set.
SCRIPTS = (
    "util.js",
    "markdown.js",
    "diff.js",
    "store.js",
    "blocks.js",
    "tabs.js",
    "recorded.js",
    "difftab.js",
    "curl.js",
    "search.js",
    "live.js",
    "sidebar.js",
    "threads.js",
    "viewer.js",
    "controls.js",
)
_PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")
_JSON_UNSAFE_IN_HTML = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026"}


@functools.cache
def _asset(name: str) -> str:
    return resources.files("claude_tap.viewer").joinpath("assets", name).read_text(encoding="utf-8")


@functools.cache
def _script() -> str:
    body = "\n".join(f"/* ---- {name} ---- */\n{_asset(name)}" for name in SCRIPTS)
    script = f'(() => {{\n"use strict";\n{body}\n}})();\n'
    if "</script" in script.lower():  # our own code must never close its own element
        raise ValueError("viewer assets contain '</script'")
    return script


def _sha256(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")


def content_security_policy(script: str, style: str, *, is_live: bool) -> str:
    """The page's CSP: our inline script and style by hash, data: images, nothing remote."""
    connect = "'self'" if is_live else "'none'"
    return (
        f"default-src 'none'; script-src '{_sha256(script)}'; style-src '{_sha256(style)}'; "
        f"img-src data:; connect-src {connect}; base-uri 'none'; form-action 'none'"
    )


def _json_for_html(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return re.sub(r"[<>&]", lambda m: _JSON_UNSAFE_IN_HTML[m.group(0)], text)


def render_html(
    info: SessionInfo, turns: list[Turn], *, live: dict[str, str] | None = None, lang: str | None = None
) -> str:
    """The whole page as one string.

    `live`: {"events_url": "/events?token=..."} makes the page follow that SSE stream.
    `lang`: "en" or "zh" (any "zh-*" too) sets the default language; otherwise the browser's
    (navigator.language) decides. A choice the user made with the page's toggle wins over both.
    """
    info = named_session(info, turns)  # a legacy trace is not headed "unknown"
    script, style = _script(), _asset("viewer.css")
    page_lang = "zh-CN" if lang and lang.lower().startswith("zh") else "en"
    values = {
        "lang": page_lang,
        "csp": html.escape(content_security_policy(script, style, is_live=live is not None), quote=False),
        "title": html.escape(_title(info, turns)),
        "style": style,
        "config": _json_for_html({"live": live, "lang": lang, "prices_as_of": prices_as_of()}),
        "i18n": _json_for_html(json.loads(_asset("i18n.json"))),
        "payload": encode_payload(build_payload(info, turns)),
        "script": script,
    }
    # One pass, so text put in for one placeholder is never scanned for another.
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], _asset("template.html"))


def _title(info: SessionInfo, turns: list[Turn]) -> str:
    client = info.get("client") or "session"
    started = (info.get("started_at") or "")[:16].replace("T", " ")
    return " · ".join(part for part in (f"claude-tap: {client}", started, f"{len(turns)} turns") if part)


def write_html(path: Path | str, info: SessionInfo, turns: list[Turn], *, lang: str | None = None) -> None:
    """Write the page to `path` atomically (a reader never sees half a file)."""
    target = Path(path)
    text = render_html(info, turns, lang=lang)
    fd, temp_name = tempfile.mkstemp(prefix=".trace-", suffix=".html.tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as out:
            out.write(text)
        os.replace(temp_name, target)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
