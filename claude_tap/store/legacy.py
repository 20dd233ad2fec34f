"""Imports JSONL written by the earlier claude-tap (up to 0.1.146) as our trace records.

One legacy line is one exchange (DESIGN section 7): `timestamp` (when it completed), `request_id`,
`turn`, `duration_ms`, `transport` (absent = HTTP, "websocket", "cursor-transcript"), `request`
{method, path, headers, body, ws_events}, `response` {status, headers, body, sse_events, ws_events,
error}, `upstream_base_url`, `capture` {client, proxy_mode}.

What the old format did not keep becomes an honest default: event arrival offsets are 0.0 (the
exchange's `legacy.offsets_known` is false), `ttfb_ms` is null, `body_bytes` is the size of the body
as re-serialized here. The old request id, turn and timestamp are kept under `legacy`.

The old tool only partly masked auth headers, so every converted record goes through the Redactor.

This module knows nothing about files or compression: it converts parsed lines.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from typing import Any

from claude_tap.capture.body_sharing import BodySharer
from claude_tap.capture.records import FORMAT_VERSION
from claude_tap.capture.redact import Redactor
from claude_tap.normalize.memo import IdentityMemo

Record = dict[str, Any]

SOURCE_FORMAT = "legacy-jsonl"  # matches SessionInfo.source_format
LEGACY_VERSION = "<=0.1.146"
_CLIENT_SIDE = frozenset({"client", "send", "sent", "outgoing", "out", "up", "request", "c2s"})
_SERVER_SIDE = frozenset({"server", "recv", "received", "incoming", "in", "down", "response", "s2c"})


class LegacyFormatError(ValueError):
    """A line that is JSON but not a legacy exchange."""


def looks_like_legacy(line: Any) -> bool:
    """True for an object shaped like a legacy line: no `type`, a `request` object, and one of
    the fields only the old format has."""
    return (
        isinstance(line, dict)
        and "type" not in line
        and isinstance(line.get("request"), dict)
        and any(name in line for name in ("request_id", "turn", "timestamp"))
    )


class LegacyImporter:
    """Converts legacy lines in file order; the first call also yields the synthesized session."""

    def __init__(self, redactor: Redactor | None = None) -> None:
        self._redactor = redactor or Redactor()
        # Every old line holds its whole body: share what repeats before redacting, so each part of
        # the history is redacted (and later normalized) once, as for our own traces.
        self._sharer = BodySharer()
        self._seq = 0
        self._session_done = False

    def convert(self, line: Any) -> list[Record]:
        """The records for one legacy line: [session?, exchange | transcript].

        Raises LegacyFormatError for a line that is not a legacy exchange.
        """
        if not looks_like_legacy(line):
            raise LegacyFormatError("not a legacy claude-tap line (no request object)")
        records: list[Record] = []
        if not self._session_done:
            records.append(self._redactor.redact_record(session_record(line)))
            self._session_done = True
        if line.get("transport") == "cursor-transcript":
            records.append(self._redactor.redact_record(transcript_record(line)))
        else:
            self._seq += 1
            shared, whole = self._sharer.share(exchange_record(line, self._seq, size_request_body=False))
            if whole is not None:  # a JSON object: sized now, each repeated part serialized once
                shared["request"]["body_bytes"] = _serialized_size(whole)
            records.append(self._redactor.redact_record(shared))
        return records


def session_record(first_line: Record) -> Record:
    capture = _object(first_line.get("capture"))
    mode = capture.get("proxy_mode")
    request_id = str(first_line.get("request_id", first_line.get("timestamp", "")))
    return {
        "type": "session",
        "format_version": FORMAT_VERSION,
        "claude_tap_version": LEGACY_VERSION,
        "client": str(capture.get("client") or "unknown"),
        "mode": mode if mode in ("reverse", "forward") else "reverse",
        "target": _text_or_none(first_line.get("upstream_base_url")),
        "argv": [],
        "started_at": _started_at(first_line),
        "id": "legacy-" + hashlib.sha256(request_id.encode()).hexdigest()[:6],
        "source_format": SOURCE_FORMAT,
    }


def exchange_record(line: Record, seq: int, *, size_request_body: bool = True) -> Record:
    """The exchange record of a legacy line. Without `size_request_body`, a JSON request body's
    `body_bytes` is left 0 for the caller, which sizes it after sharing its repeated parts."""
    request = line["request"]
    response = _object(line.get("response"))
    upstream = _text_or_none(line.get("upstream_base_url")) or ""
    path = str(request.get("path") or "")
    events = _events(line, request, response)
    error = _text_or_none(response.get("error"))
    transport = _transport(line, response)
    converted_response: Record = {
        "status": response.get("status") if isinstance(response.get("status"), int) else None,
        "headers": _headers(response.get("headers")),
        **_body_fields(response.get("body")),
        "complete": error is None,
    }
    if events:
        converted_response["events"] = events
    return {
        "type": "exchange",
        "id": f"ex-{seq:06d}",
        "seq": seq,
        "transport": transport,
        "started_at": _started_at(line),
        "ttfb_ms": None,
        "duration_ms": _number_or_none(line.get("duration_ms")),
        "request": {
            "method": str(request.get("method") or "GET"),
            "url": upstream.rstrip("/") + path if upstream else path,
            "path": path,
            "headers": _headers(request.get("headers")),
            **_body_fields(request.get("body"), sized=size_request_body),
        },
        "response": converted_response,
        "upstream": upstream,
        "error": error,
        "legacy": {
            "request_id": line.get("request_id"),
            "turn": line.get("turn"),
            "timestamp": line.get("timestamp"),
            "offsets_known": False,
        },
    }


def transcript_record(line: Record) -> Record:
    request = line["request"]
    return {
        "type": "transcript",
        "source": "cursor",
        "at": str(line.get("timestamp") or ""),
        "entry": request.get("body"),
        "legacy": {"request_id": line.get("request_id"), "turn": line.get("turn")},
    }


def _transport(line: Record, response: Record) -> str:
    if line.get("transport") == "websocket" or str(line["request"].get("method")).upper() == "WEBSOCKET":
        return "websocket"
    content_type = _headers(response.get("headers")).get("content-type", "")
    if response.get("sse_events") or content_type.lower().startswith("text/event-stream"):
        return "sse"
    return "http"


def _events(line: Record, request: Record, response: Record) -> list[Record]:
    if line.get("transport") == "websocket" or request.get("ws_events") or response.get("ws_events"):
        sent = _ws_events(request.get("ws_events"), default_direction="client")
        received = _ws_events(response.get("ws_events"), default_direction="server")
        return sent + received
    return _sse_events(response.get("sse_events"))


def _sse_events(raw: Any) -> list[Record]:
    if not isinstance(raw, list):
        return []
    events = []
    for item in raw:
        if not isinstance(item, dict):
            continue
        events.append(
            {
                "offset_ms": 0.0,
                "event": str(item.get("event") or "message"),
                "data": _as_text(item.get("data")),
            }
        )
    return events


def _ws_events(raw: Any, default_direction: str) -> list[Record]:
    """WebSocket messages; the old format kept their order per side, not their interleaving."""
    if not isinstance(raw, list):
        return []
    events = []
    for item in raw:
        if isinstance(item, dict):
            direction = str(item.get("direction", "")).lower()
            kind = str(item.get("kind") or item.get("type") or "text").lower()
            data = item.get("data", item.get("message", item.get("payload")))
        else:
            direction, kind, data = "", "text", item
        if direction in _CLIENT_SIDE:
            side = "client"
        elif direction in _SERVER_SIDE:
            side = "server"
        else:
            side = default_direction
        events.append(
            {
                "offset_ms": 0.0,
                "direction": side,
                "kind": kind if kind in ("binary", "close") else "text",
                "data": _as_text(data),
            }
        )
    return events


def _body_fields(body: Any, *, sized: bool = True) -> Record:
    """Our body fields (body | body_text, body_bytes) for a legacy body; an object's body_bytes
    is 0 unless `sized`."""
    if body is None:
        return {"body_bytes": 0}
    if isinstance(body, dict) and body.get("_encoding") == "protobuf":
        size = body.get("byte_length")
        return {
            "body_bytes": size if isinstance(size, int) else 0,
            "decode_error": "the earlier claude-tap kept only the size of this protobuf body",
        }
    if isinstance(body, str):
        return {"body_text": body, "body_bytes": len(body.encode("utf-8", "surrogatepass"))}
    return {"body": body, "body_bytes": _serialized_size(body) if sized or not isinstance(body, dict) else 0}


def _json_size(value: Any) -> int:
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "surrogatepass"))


# Sizes of the values a session's bodies repeat, each serialized once (normalize/memo.py).
_value_size = IdentityMemo(_json_size)


def _serialized_size(body: Any) -> int:
    """The size of `body` as compact JSON, serializing each top-level value and list item once
    however many bodies repeat it (their repeats are the same objects after sharing)."""
    if body is None:
        return 0
    if not isinstance(body, dict):
        return _json_size(body)
    size = 2 + max(0, len(body) - 1)  # braces, commas
    for key, value in body.items():
        size += _json_size(key) + 1
        if isinstance(value, list):
            size += 2 + max(0, len(value) - 1) + sum(_value_size(item) for item in value)
        else:
            size += _value_size(value)
    return size


def _headers(raw: Any) -> dict[str, str]:
    if not isinstance(raw, dict):
        return {}
    return {str(name).lower(): _as_text(value) for name, value in raw.items()}


def _started_at(line: Record) -> str:
    """The start time: the old `timestamp` is when the exchange completed, minus its duration."""
    timestamp = line.get("timestamp")
    if not isinstance(timestamp, str):
        return ""
    try:
        completed = datetime.fromisoformat(timestamp)
    except ValueError:
        return timestamp
    duration = _number_or_none(line.get("duration_ms")) or 0.0
    started = completed - timedelta(milliseconds=duration)
    return started.isoformat(timespec="milliseconds")


def _object(value: Any) -> Record:
    return value if isinstance(value, dict) else {}


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _text_or_none(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return value if isinstance(value, str) else _as_text(value)


def _number_or_none(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)
