"""Removes secrets before anything is stored or shown: headers, URLs, JSON bodies, argv, log lines.

A redacted value becomes `[REDACTED:<8 hex>]`, the start of the SHA-256 of the secret, so two records
can be seen to share a key without showing it. Every secret redacted (8 characters or more) is
remembered, and `scrub` replaces remembered and known secrets (e.g. the API keys in the environment)
wherever they still appear: it is the last pass over each serialized trace line and each log line.
`StreamScrubber` does the same for a line that is written in pieces, as it is serialized.

Redaction works by *name* (header, query parameter, JSON field, flag, environment variable);
`scrub` works by *value*. A secret under an innocent name that was never seen under a secret
name is not found: that is the limit of this module.

Thread safety: the writer thread redacts records while the event loop scrubs log lines. New
secrets are added under a lock and `scrub` reads an immutable snapshot.

This module knows nothing about sockets, files, clients or API formats.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import unquote_plus

from claude_tap.capture.secret_names import (
    MIN_REMEMBERED_SECRET,
    SECRET_HEADERS,
    URL_HEADERS,
    is_secret_env_name,
    is_secret_field_name,
    is_secret_flag_name,
    is_secret_header,
    is_secret_query_name,
    is_session_id_header,
    secrets_from_env,
    url_password,
)
from claude_tap.capture.secret_shapes import marker, scrub_shapes
from claude_tap.capture.secret_shapes import safe_cut as shape_safe_cut

# The name rules live in secret_names.py and the shapes in secret_shapes.py; callers import them here.
__all__ = [
    "MIN_REMEMBERED_SECRET",
    "SECRET_HEADERS",
    "Redactor",
    "ScrubFilter",
    "StreamScrubber",
    "is_secret_env_name",
    "is_secret_field_name",
    "is_secret_flag_name",
    "is_secret_header",
    "is_secret_query_name",
    "is_session_id_header",
    "marker",
    "mask_parser_excerpts",
    "secrets_from_env",
    "url_password",
]

JsonValue = Any

_MARKER_RE = re.compile(r"\[REDACTED:[0-9a-f]{8}\]")
_AUTH_SCHEME_RE = re.compile(r"^([A-Za-z][A-Za-z0-9_-]*)(\s+)(\S.*)$", re.DOTALL)
_AUTH_SCHEMES = frozenset({"bearer", "basic", "token", "digest", "negotiate", "apikey", "key", "sso-key"})

_JSON_OPENERS = ("{", "[")
# One field of a multipart/form-data body (RFC 7578): its headers, a blank line, the value up to the
# next boundary line.
_MULTIPART_FIELD_RE = re.compile(
    r'(?P<head>Content-Disposition:[ \t]*form-data;[^\r\n]*?\bname="(?P<name>[^"]*)"[^\r\n]*\r?\n'
    r"(?:[^\r\n]+\r?\n)*\r?\n)(?P<value>.*?)(?=\r?\n--)",
    re.IGNORECASE | re.DOTALL,
)
_FLAG_RE = re.compile(r"^--?([A-Za-z][A-Za-z0-9_.-]*)$")
_FLAG_WITH_VALUE_RE = re.compile(r"^(--?[A-Za-z][A-Za-z0-9_.-]*)=(.*)$", re.DOTALL)
_ENV_WORD_RE = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)=(.*)$", re.DOTALL)
_HEADER_WORD_RE = re.compile(r"^([A-Za-z0-9-]+):\s*(.+)$", re.DOTALL)


class Redactor:
    """Redacts by name and remembers what it redacted, so `scrub` can find it anywhere later."""

    def __init__(self, known_secrets: Iterable[str] = ()) -> None:
        self._lock = threading.Lock()
        self._markers: dict[str, str] = {}
        # Longest first, so a secret that contains another is replaced whole.
        self._scrub_pairs: tuple[tuple[str, str], ...] = ()
        for secret in known_secrets:
            self.remember(secret)

    # -- remembering and scrubbing ------------------------------------------------------------

    def remember(self, secret: str, label: str | None = None) -> None:
        """Add a secret for `scrub` (ignored when shorter than 8 characters, a marker, or digits only).

        Digits only: scrub runs over serialized JSON, where such a value also matches a JSON number
        (a TTL, a timestamp, a count) and its marker would leave the line unparseable, losing the
        record. A number under a secret name is still redacted where that name holds it.
        """
        if len(secret) < MIN_REMEMBERED_SECRET or _MARKER_RE.fullmatch(secret) or _is_digits(secret):
            return
        replacement = label or marker(secret)
        forms = {secret}
        # scrub runs over serialized JSON, where a quote or backslash in the secret is escaped.
        escaped = json.dumps(secret, ensure_ascii=False)[1:-1]
        forms.add(escaped)
        with self._lock:
            new = [form for form in forms if form not in self._markers]
            if not new:
                return
            for form in new:
                self._markers[form] = replacement
            pairs = sorted(self._markers.items(), key=lambda pair: len(pair[0]), reverse=True)
            self._scrub_pairs = tuple(pairs)

    @property
    def remembered(self) -> int:
        return len(self._scrub_pairs)

    def remembered_pairs(self) -> list[tuple[str, str]]:
        """Every remembered form of a secret with its replacement, for another Redactor to
        `remember(form, replacement)` (the recorder process and the proxy share what they learn)."""
        return list(self._scrub_pairs)

    def scrub(self, text: str) -> str:
        """Replace every remembered secret in `text`.

        One `in` test per secret, then `str.replace` only for those present: both run in C over
        the whole line. Measured on a 1 MB line of random text: 3 secrets 0.4 ms, 20 secrets
        2.5 ms, 100 secrets 13 ms; one regex alternation of the same secrets took 7, 15 and 118 ms.
        Then well-known key shapes (sk-ant-..., ghp_..., JWTs, URL passwords; capture/secret_shapes.py)
        are replaced wherever they stand: about 7 ms more per MB.
        """
        return _scrub(self._scrub_pairs, text)

    def stream_scrubber(self) -> StreamScrubber:
        """A `scrub` for one text that comes in pieces, with the secrets remembered so far."""
        return StreamScrubber(self._scrub_pairs)

    def _mask(self, value: str) -> str:
        if not value or _MARKER_RE.fullmatch(value):
            return value
        self.remember(value)
        return marker(value)

    # -- by name -------------------------------------------------------------------------------

    def redact_header_value(self, name: str, value: str) -> str:
        if name.lower() in URL_HEADERS:  # a redirect to `...?code=` or `...#access_token=`
            return self.redact_url(value)
        if not is_secret_header(name) or not value or _MARKER_RE.fullmatch(value):
            return value
        match = _AUTH_SCHEME_RE.match(value)
        if match and match.group(1).lower() in _AUTH_SCHEMES:
            scheme, space, credential = match.groups()
            return f"{scheme}{space}{self._mask(credential)}"
        lowered = name.lower()
        if lowered in ("cookie", "set-cookie"):
            self._remember_cookie_values(value, is_set_cookie=lowered == "set-cookie")
        if is_session_id_header(lowered):
            # A conversation id (Codex's session-id), not a credential: masked here as the rule says,
            # but not hunted for elsewhere, where it is the body's own data (prompt_cache_key, ...).
            return marker(value)
        return self._mask(value)

    def _remember_cookie_values(self, value: str, is_set_cookie: bool) -> None:
        # Each cookie value on its own, so a session cookie echoed elsewhere is scrubbed too.
        # In Set-Cookie only the first pair is a cookie; Domain=.example.com and Expires=... are
        # attributes, and scrubbing them would blank every URL of that domain.
        # A quoted value (RFC 6265) is remembered without its quotes: with them it would match a
        # whole JSON string in a trace line, and its marker would leave the line unparseable.
        pairs = value.split(";")
        for pair in pairs[:1] if is_set_cookie else pairs:
            _, _, cookie_value = pair.partition("=")
            self.remember(cookie_value.strip().removeprefix('"').removesuffix('"'))

    def redact_headers(self, headers: Mapping[str, str]) -> dict[str, str]:
        return {name: self.redact_header_value(name, value) for name, value in headers.items()}

    def redact_url(self, url_or_path: str) -> str:
        """Redact secret query parameters, the user info's password and secret parameters in the
        fragment (an OAuth implicit flow puts `#access_token=` there); every other byte stays."""
        rest, hash_sign, fragment = url_or_path.partition("#")
        head, question, query = rest.partition("?")
        parts = (head, query, fragment)
        redacted = (
            self._redact_url_password(head),
            self.redact_query(query),
            self.redact_query(fragment) if "=" in fragment else fragment,
        )
        if redacted == parts:
            return url_or_path
        return f"{redacted[0]}{question}{redacted[1]}{hash_sign}{redacted[2]}"

    def _redact_url_password(self, head: str) -> str:
        scheme, slashes, rest = head.partition("://")
        authority = rest.partition("/")[0]
        if not slashes or "@" not in authority:
            return head
        user_info = authority.rpartition("@")[0]
        user, colon, password = user_info.partition(":")
        if not colon or not password or _MARKER_RE.fullmatch(password):
            return head
        masked = f"{user}:{self._mask(password)}@{authority.rpartition('@')[2]}"
        return f"{scheme}://{masked}{rest[len(authority) :]}"

    def redact_query(self, query: str) -> str:
        """Redact secret parameters of an `a=1&b=2` string (a query or a form-encoded body)."""
        if "=" not in query:
            return query
        parts = query.split("&")
        for index, part in enumerate(parts):
            name, equals, value = part.partition("=")
            if equals and value and is_secret_query_name(name) and not _MARKER_RE.fullmatch(value):
                decoded = unquote_plus(value)
                self.remember(value, marker(decoded))
                parts[index] = f"{name}={self._mask(decoded)}"
        return "&".join(parts)

    def redact_json(self, value: JsonValue) -> JsonValue:
        """A copy of `value` with the string values of secret-named fields replaced by markers.

        A string that holds a JSON object or array (a tool call's arguments, a tool's result) is
        redacted inside too, and re-serialized only when something in it was."""
        if isinstance(value, dict):
            redacted = {}
            for key, item in value.items():
                if isinstance(item, str) and isinstance(key, str) and is_secret_field_name(key):
                    redacted[key] = self._mask(item)
                else:
                    redacted[key] = self.redact_json(item)
            return redacted
        if isinstance(value, list):
            return [self.redact_json(item) for item in value]
        if isinstance(value, str) and value[:1] in _JSON_OPENERS:
            return self.redact_json_text(value)
        return value

    def redact_json_text(self, text: str) -> str:
        """Redact JSON held in a string (SSE data, argv); text that is not JSON comes back as is.

        The text is re-serialized only when something was redacted, so untouched event data keeps
        its exact bytes.
        """
        stripped = text.lstrip()
        if not stripped.startswith(("{", "[")):
            return text
        try:
            parsed = json.loads(text)
        except (ValueError, RecursionError):  # RecursionError: nested deeper than Python's stack
            return text
        redacted = self.redact_json(parsed)
        if redacted == parsed:
            return text
        return json.dumps(redacted, ensure_ascii=False, separators=(",", ":"))

    def redact_argv(self, argv: Iterable[str]) -> list[str]:
        """Redact secret flag values (`--api-key X`, `--token=X`), `NAME=value` words, JSON and URLs."""
        redacted: list[str] = []
        value_is_secret = False
        for word in argv:
            flag = _FLAG_RE.match(word)
            if value_is_secret and not flag:
                redacted.append(self._mask(word))
                value_is_secret = False
                continue
            if flag:
                value_is_secret = is_secret_flag_name(flag.group(1))
                redacted.append(word)
                continue
            redacted.append(self._redact_word(word))
        return redacted

    def _redact_word(self, word: str) -> str:
        flag_with_value = _FLAG_WITH_VALUE_RE.match(word)
        if flag_with_value:
            flag, value = flag_with_value.groups()
            if is_secret_flag_name(flag.lstrip("-")):
                return f"{flag}={self._mask(value)}"
            return f"{flag}={self._redact_word(value)}"
        env_word = _ENV_WORD_RE.match(word)
        if env_word and is_secret_env_name(env_word.group(1)):
            return f"{env_word.group(1)}={self._mask(env_word.group(2))}"
        header = _HEADER_WORD_RE.match(word)
        if header and is_secret_header(header.group(1)):
            name = header.group(1)
            return f"{word[: header.start(2)]}{self.redact_header_value(name, header.group(2))}"
        if word.lstrip()[:1] in _JSON_OPENERS:
            # Before the URL test: `--settings '{"apiKeyHelper": ..., "url": "https://..."}'` is JSON.
            redacted = self.redact_json_text(word)
            if redacted is not word:
                return redacted
        if "://" in word:
            return self.redact_url(word)
        return word

    # -- whole trace records -------------------------------------------------------------------

    def redact_record(self, record: dict[str, Any]) -> dict[str, Any]:
        """A copy of a trace record (capture/records.py shapes) with its secrets redacted."""
        kind = record.get("type")
        out = dict(record)
        if kind == "session" and isinstance(record.get("argv"), list):
            out["argv"] = self.redact_argv(str(word) for word in record["argv"])
        elif kind == "exchange":
            for part_name in ("request", "response"):
                part = record.get(part_name)
                if isinstance(part, dict):
                    out[part_name] = self._redact_part(part)
        elif kind == "transcript" and "entry" in record:
            out["entry"] = self.redact_json(record["entry"])
        return out

    def _redact_part(self, part: dict[str, Any]) -> dict[str, Any]:
        out = dict(part)
        if isinstance(part.get("headers"), dict):
            out["headers"] = self.redact_headers(part["headers"])
        for url_field in ("url", "path"):
            if isinstance(part.get(url_field), str):
                out[url_field] = self.redact_url(part[url_field])
        if "body" in part:
            out["body"] = self.redact_json(part["body"])
        if isinstance(part.get("body_text"), str):
            out["body_text"] = self._redact_body_text(part["body_text"])
        if isinstance(part.get("events"), list):
            out["events"] = [self._redact_event(event) for event in part["events"]]
        return out

    def _redact_body_text(self, text: str) -> str:
        if "form-data" in text:  # multipart/form-data: each part says its field name
            return _MULTIPART_FIELD_RE.sub(self._redact_multipart_field, text)
        # OAuth token endpoints take form-encoded bodies (grant_type=refresh_token&refresh_token=...).
        if "\n" not in text and " " not in text:
            return self.redact_query(text)
        return text

    def _redact_multipart_field(self, match: re.Match[str]) -> str:
        name, value = match.group("name"), match.group("value")
        if not value or not (is_secret_field_name(name) or is_secret_query_name(name)):
            return match.group(0)
        return f"{match.group('head')}{self._mask(value)}"

    def _redact_event(self, event: Any) -> Any:
        if not isinstance(event, dict) or not isinstance(event.get("data"), str):
            return event
        if event.get("kind") == "binary":
            return event
        data = self.redact_json_text(event["data"])
        if data is event["data"]:
            return event
        return {**event, "data": data}


def _is_digits(value: str) -> bool:
    return value.isascii() and value.isdigit()


def _scrub(pairs: tuple[tuple[str, str], ...], text: str) -> str:
    for secret, replacement in pairs:
        if secret in text:
            text = text.replace(secret, replacement)
    return scrub_shapes(text)  # keys never seen under a secret name: by their shape (secret_shapes.py)


class StreamScrubber:
    """Scrubs one text that is written as it is made, piece by piece (a long trace line).

    What `feed` and `close` return, joined, is `scrub` of the pieces joined, however they are cut:
    the end of each piece is held back until the next one shows whether a secret runs on past it.
    The text is cut only where no occurrence of a secret spans the cut, so each side scrubs alone
    as it would within the whole. Only the tail is held, so a long text is never held whole.
    """

    def __init__(self, pairs: tuple[tuple[str, str], ...]) -> None:
        self._pairs = pairs  # a snapshot: the text is scrubbed with one set of secrets throughout
        self._held_chars = max((len(secret) for secret, _ in pairs), default=1) - 1
        self._pending = ""
        self.changed = False  # whether anything was replaced so far

    def feed(self, piece: str) -> str:
        """The scrubbed text that is now certain: all that was fed, less a tail held back."""
        text = self._pending + piece if self._pending else piece
        cut = self._safe_cut(text, shape_safe_cut(text, len(text) - self._held_chars))
        self._pending = text[cut:]
        return self._scrub(text[:cut])

    def close(self) -> str:
        """The scrubbed tail; the text is over."""
        text, self._pending = self._pending, ""
        return self._scrub(text)

    def _safe_cut(self, text: str, cut: int) -> int:
        """The last position at or before `cut` that no occurrence of a secret spans.

        Any occurrence spanning `cut` ends before `cut + held_chars`, so it lies within `text`; a
        cut moved back to its start is checked again against every secret."""
        moved = True
        while moved and cut > 0:
            moved = False
            for secret, _ in self._pairs:
                start = text.find(secret, max(0, cut - len(secret) + 1), cut + len(secret) - 1)
                if start != -1 and start < cut:
                    cut = start
                    moved = True
        return max(cut, 0)

    def _scrub(self, text: str) -> str:
        scrubbed = _scrub(self._pairs, text)
        self.changed = self.changed or scrubbed is not text
        return scrubbed


class ScrubFilter(logging.Filter):
    """A logging filter that scrubs every remembered secret out of a record before it is written.

    Attach it to the handler of proxy.log. The message is formatted here (args merged) so a
    secret passed as an argument is caught too; a traceback is formatted and scrubbed as well.
    """

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self._redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self._scrub(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self._scrub(record.exc_text)
        if record.stack_info:
            record.stack_info = self._scrub(record.stack_info)
        return True

    def _scrub(self, text: str) -> str:
        return mask_parser_excerpts(self._redactor.scrub(text))


# aiohttp's parser quotes the first 100 bytes of a line it refused ("Got more than 65536 bytes when
# reading: b'Bearer sk-...'"): a header too long to parse was never redacted by name, so the excerpt
# is masked whole, whatever it holds.
_PARSER_EXCERPT_RE = re.compile(r"""(when reading[^\n:]*:\s*)b(?:'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*")""")


def mask_parser_excerpts(text: str) -> str:
    """`text` with the excerpts of refused request lines that aiohttp's errors quote replaced by markers."""
    if "when reading" not in text:
        return text
    return _PARSER_EXCERPT_RE.sub(lambda match: match.group(1) + marker(match.group(0)), text)
