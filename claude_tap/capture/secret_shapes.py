"""Secrets found by their shape, wherever they are: API keys typed into a message, tokens in a tool's
output, a password inside a URL (issue 15, item 2).

capture/redact.py finds secrets by *name* (a header, a field, a flag) and by *value* once it has
seen them; a key pasted into a prompt has neither. Well-known credential formats are recognisable
on their own, so `scrub_shapes` replaces each with its marker in any text, in particular a
serialized trace line or a log line:

    sk-ant-..., sk-proj-..., sk-...   Anthropic and OpenAI keys (20+ characters, mixed case and digits)
    ghp_ gho_ ghu_ ghs_ ghr_ ...       GitHub tokens; github_pat_... fine-grained ones
    AKIA.../ASIA...                    AWS access key ids
    eyJ...eyJ...                       JSON Web Tokens (header.payload.signature)
    xoxb- xoxp- xoxa- xoxr- xoxs-      Slack tokens
    AIza...                            Google API keys
    hooks.slack.com/services/...       Slack webhooks (the path is the secret)
    discord.com/api/webhooks/ID/...    Discord webhooks (the last segment)
    scheme://user:PASSWORD@host        the password of a URL

A shape must stand alone: a letter, digit, `-` or `_` right before or after it means it is part of
a longer word, such as base64 image data, which is never touched. In serialized JSON a `\\n` escape
may come right before a key, so that counts as standing alone too.

Cost: one regex pass; about 2 ms per MB of text that holds no secret (measured on base64 data).
This module knows nothing about records, files or the Redactor.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator

_WORD = r"A-Za-z0-9_\-"
# Alone: not after a word character, unless that character ends a JSON escape (\n, \r, \t).
_START = rf"(?:(?<![{_WORD}])|(?<=\\[nrt]))"
_END = rf"(?![{_WORD}])"
_URL_USER_CHARS = r"[^/\s:@\"\\,{}\[\]<>']"  # no character that closes a JSON string or a markup tag

# Where a shape may start: cheap to find (re skips ahead on the first characters), so the full
# patterns below run only at these few places. The full patterns at every position cost 50-200 ms
# per MB; this way the pass costs about 2 ms per MB.
_CANDIDATE_RE = re.compile(
    r"sk-|gh[pousr]_|github_pat_|A[KS]IA|eyJ|xox[abprs]-|AIza|hooks\.slack\.com/|discord(?:app)?\.com/|://"
)
_TOKEN_RE = re.compile(
    _START
    + r"(?:"
    # Anthropic (sk-ant-api03-, sk-ant-oat01-) and OpenAI (sk-proj-, sk-svcacct-, legacy sk-): random
    # characters, so a digit, a capital and a small letter all appear; "sk-learn-the-basics" does not.
    + rf"sk-(?=[{_WORD}]*[0-9])(?=[{_WORD}]*[A-Z])(?=[{_WORD}]*[a-z])[{_WORD}]{{20,}}"
    + r"|gh[pousr]_[A-Za-z0-9]{36,}"
    + r"|github_pat_[A-Za-z0-9_]{22,}"
    + r"|(?:AKIA|ASIA)[A-Z0-9]{16}"
    + r"|eyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]*"
    + r"|xox[abprs]-[A-Za-z0-9\-]{10,}"
    + r"|AIza[A-Za-z0-9_\-]{35}"
    + r")"
    + _END
)
# The secret is one part of these (the `secret` group); the rest of the URL stays readable.
_WEBHOOK_RE = re.compile(
    r"hooks\.slack\.com/(?:services|workflows|triggers)/(?P<secret>[A-Za-z0-9_/]{16,})"
    r"|discord(?:app)?\.com/api/webhooks/[0-9]+/(?P<token>[A-Za-z0-9_\-]{16,})"
)
_URL_PASSWORD_RE = re.compile(
    rf"[A-Za-z][A-Za-z0-9+.\-]*://{_URL_USER_CHARS}*:(?P<secret>{_URL_USER_CHARS}+)@"
)
_SCHEME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-")
_MAX_SCHEME_CHARS = 32

# Characters no shape contains: a text cut just after one never splits a shape (see `safe_cut`).
_DELIMITERS = (" ", "\n", "\t", '"', ",", "{", "}", "[", "]", "<", ">", "'")
MAX_SHAPE_CHARS = 8192  # a JWT can be a few KB; what is longer is not looked for across a cut


def marker(value: str) -> str:
    """The replacement for a secret: `[REDACTED:` + the first 8 hex digits of its SHA-256 + `]`."""
    digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return f"[REDACTED:{digest}]"


def scrub_shapes(text: str) -> str:
    """`text` with every well-known secret shape replaced by its marker (the same object when none)."""
    pieces: list[str] = []
    done = 0  # text[:done] is in pieces
    for secret_start, secret_end in _find(text):
        pieces += [text[done:secret_start], marker(text[secret_start:secret_end])]
        done = secret_end
    if not pieces:
        return text
    pieces.append(text[done:])
    return "".join(pieces)


def find_shapes(text: str) -> list[str]:
    """The secrets `scrub_shapes` would replace in `text`, in order."""
    return [text[start:end] for start, end in _find(text)]


def _find(text: str) -> Iterator[tuple[int, int]]:
    """(start, end) of each secret, left to right: the whole shape, or its `secret`/`token` part."""
    pos = 0
    while (candidate := _CANDIDATE_RE.search(text, pos)) is not None:
        match = _match_at(text, candidate.start(), candidate.group())
        if match is None:
            pos = candidate.start() + 1
            continue
        parts = [name for name in ("secret", "token") if match.re.groupindex.get(name) and match.group(name)]
        yield match.span(parts[0]) if parts else match.span()
        pos = match.end()


def _match_at(text: str, start: int, found: str) -> re.Match[str] | None:
    if found == "://":
        scheme_start = start
        while (
            scheme_start > 0
            and start - scheme_start < _MAX_SCHEME_CHARS
            and text[scheme_start - 1] in _SCHEME_CHARS
        ):
            scheme_start -= 1
        return _URL_PASSWORD_RE.match(text, scheme_start)
    if found.startswith(("hooks", "discord")):
        return _WEBHOOK_RE.match(text, start)
    return _TOKEN_RE.match(text, start)


def safe_cut(text: str, cut: int) -> int:
    """A position at or before `cut` that no shape spans: just after the last delimiter before `cut`,
    looking back at most MAX_SHAPE_CHARS (beyond that, `cut` itself)."""
    low = max(0, cut - MAX_SHAPE_CHARS)
    found = max(text.rfind(delimiter, low, cut) for delimiter in _DELIMITERS)
    return found + 1 if found != -1 else cut
