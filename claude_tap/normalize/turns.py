"""One trace record into its turns: the format module's content plus what the record itself says.

    exchange     one turn; a WebSocket exchange speaking the Responses API: one turn per response on
                 the socket, with id "<exchange id>.<k>" (k from 1) and offsets from its response.create
    transcript   one turn (Cursor)
    session, end, unknown record types: no turn (records.py: readers skip unknown types)

A record of any shape yields its turns without raising: when a format module fails on a body it did not
expect, the record becomes a raw turn whose error says so. Turns come out with index -1 and no
conversation links; session.py places them.

This module knows record shapes (records.py) and which module handles which API; not the session.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable

from claude_tap.normalize import anthropic, chat_completions, cursor, gemini, openai_responses, raw
from claude_tap.normalize.blocks import as_dict, as_list, as_str, json_or_none
from claude_tap.normalize.content import Content
from claude_tap.normalize.dispatch import detect_api, provider_of
from claude_tap.normalize.model import Api, JsonValue, RawEvent, Timing, Turn
from claude_tap.normalize.pricing import cost_of
from claude_tap.normalize.timing import first_token_offset, make_timing, number_or_none, shift_iso

Normalizer = Callable[[JsonValue, JsonValue, str], Content]

# Short header values seen lately, each kept once across turns (see `_headers`).
SHARED_HEADER_VALUE_MAX_CHARS = 64
SHARED_HEADER_VALUES = 4096
_shared_header_values: dict[str, str] = {}

NORMALIZERS: dict[Api, Normalizer] = {
    "anthropic_messages": anthropic.normalize,
    "openai_responses": openai_responses.normalize,
    "chat_completions": chat_completions.normalize,
    "gemini": gemini.normalize,
    "raw": raw.normalize,
}


def turns_of_record(record: JsonValue, position: int = 0) -> list[Turn]:
    """The turns of one record; `position` (its place in the trace) names records that carry no id."""
    if not isinstance(record, dict):
        return [
            _fallback_turn({"entry": record}, position, "not normalized: the record is not a JSON object")
        ]
    kind = record.get("type")
    if kind not in ("exchange", "transcript"):
        return []
    try:
        if kind == "exchange":
            return _exchange_turns(record, position)
        return [_transcript_turn(record, position)]
    except Exception as exc:  # the one boundary: a trace of any shape must still open, never dropped
        return [_fallback_turn(record, position, f"not normalized: {type(exc).__name__}: {exc}")]


def _exchange_turns(record: dict[str, JsonValue], position: int) -> list[Turn]:
    if not isinstance(record.get("request"), dict):
        raise ValueError("the exchange record has no request")
    request = record["request"]
    response = as_dict(record.get("response"))
    path = as_str(request.get("path")) or ""
    turn_id = as_str(record.get("id")) or f"record-{position}"
    transport = as_str(record.get("transport")) or "http"
    request_body = raw.body_of(request)
    response_body = raw.body_of(response)
    events = as_list(response.get("events"))
    api = detect_api(as_str(request.get("method")) or "", path, request_body, response_body, transport)
    if transport == "websocket":
        responses = openai_responses.split_websocket(events) if api == "openai_responses" else []
        if responses:
            return [_websocket_turn(record, f"{turn_id}.{k}", ws) for k, ws in enumerate(responses, start=1)]
        if not _is_one_response(api, request_body):
            api = "raw"
    if response_body is None and events:
        response_body = _reassembled(api, events)
    content = NORMALIZERS[api](request_body, response_body, path)
    raw_events = [_raw_event(event) for event in events]
    timing = make_timing(
        as_str(record.get("started_at")) or "",
        ttfb_ms=number_or_none(record.get("ttfb_ms")),
        ttft_ms=first_token_offset(api, events) if _offsets_known(record) else None,
        duration_ms=number_or_none(record.get("duration_ms")),
        output_tokens=content["usage"]["output_tokens"] if content["usage"] else None,
    )
    error = _error_of(as_str(record.get("error")), response.get("status"), response_body, raw_events)
    return [_assemble(record, turn_id, content, request_body, response_body, raw_events, timing, error)]


def _offsets_known(record: dict[str, JsonValue]) -> bool:
    # A legacy import has its events but not when they arrived (every offset 0): no ttft from them.
    return as_dict(record.get("legacy")).get("offsets_known") is not False


def _is_one_response(api: Api, request_body: JsonValue) -> bool:
    """A WebSocket record holding a single response with its request as the body: how the legacy
    format (claude-tap up to 0.1.146) stored each response of a socket."""
    body = as_dict(request_body)
    return api == "openai_responses" and ("input" in body or "model" in body)


def _reassembled(api: Api, events: list[JsonValue]) -> JsonValue:
    """A stream recorded without a reassembled body: rebuilt here for the APIs whose events say all."""
    payloads = [json_or_none(as_dict(event).get("data")) for event in events]
    objects = [as_dict(payload) for payload in payloads if isinstance(payload, dict)]
    if api == "openai_responses" and objects:
        return openai_responses.reassemble(objects)
    if api == "gemini" and objects:
        return gemini.merge_chunks(objects)
    return None


def _websocket_turn(record: dict[str, JsonValue], turn_id: str, ws: openai_responses.WsResponse) -> Turn:
    def since_create(offset_ms: float | None) -> float | None:
        return None if offset_ms is None else round(offset_ms - ws.start_ms, 3)

    response_body = ws.response
    path = as_str(as_dict(record.get("request")).get("path")) or ""
    content = openai_responses.normalize(ws.request, response_body, path)
    events: list[RawEvent] = [
        {**event, "offset_ms": since_create(event["offset_ms"]) or 0.0} for event in ws.events
    ]
    timing = make_timing(
        shift_iso(as_str(record.get("started_at")) or "", ws.start_ms),
        ttfb_ms=since_create(ws.first_server_ms),
        ttft_ms=since_create(first_token_offset("openai_responses", ws.events)),
        duration_ms=since_create(ws.end_ms),
        output_tokens=content["usage"]["output_tokens"] if content["usage"] else None,
    )
    # A broken socket is the fault of the response it cut short, not of those that finished before.
    socket_error = None if ws.is_finished else as_str(record.get("error"))
    error = _error_of(socket_error, None, response_body, [])
    turn = _assemble(record, turn_id, content, ws.request, response_body, events, timing, error)
    turn["complete"] = ws.is_finished
    return turn


def _transcript_turn(record: dict[str, JsonValue], position: int) -> Turn:
    content = cursor.normalize_entry(record.get("entry"))
    timing = make_timing(
        as_str(record.get("at")) or "", ttfb_ms=None, ttft_ms=None, duration_ms=None, output_tokens=None
    )
    turn_id = as_str(record.get("id")) or f"transcript-{position}"
    turn = _assemble(record, turn_id, content, record.get("entry"), None, [], timing, None)
    turn["transport"] = "transcript"
    turn["provider"] = as_str(record.get("source")) or "unknown"
    turn["complete"] = True
    return turn


def _fallback_turn(record: dict[str, JsonValue], position: int, note: str) -> Turn:
    if "request" in record:  # an exchange: show its request body, or the request itself if malformed
        request = record["request"]
        request_body = raw.body_of(request) if isinstance(request, dict) else request
    else:
        request_body = record.get("entry")
    response_body = raw.body_of(as_dict(record.get("response")))
    content = raw.normalize(request_body, response_body, "")
    started_at = as_str(record.get("started_at")) or as_str(record.get("at")) or ""
    timing = make_timing(started_at, ttfb_ms=None, ttft_ms=None, duration_ms=None, output_tokens=None)
    error = "; ".join(filter(None, [as_str(record.get("error")), note]))
    turn_id = as_str(record.get("id")) or f"record-{position}"
    return _assemble(record, turn_id, content, request_body, response_body, [], timing, error)


def _assemble(
    record: dict[str, JsonValue],
    turn_id: str,
    content: Content,
    request_body: JsonValue,
    response_body: JsonValue,
    events: list[RawEvent],
    timing: Timing,
    error: str | None,
) -> Turn:
    request = as_dict(record.get("request"))
    response = as_dict(record.get("response"))
    url = as_str(request.get("url")) or ""
    status = response.get("status")
    transport = record.get("transport")
    return {
        "index": -1,
        "id": turn_id,
        "api": content["api"],
        "provider": provider_of(url or as_str(record.get("upstream")) or "", content["model"]),
        "model": content["model"],
        "method": as_str(request.get("method")) or "",
        "path": as_str(request.get("path")) or "",
        "url": url,
        "transport": transport if transport in ("http", "sse", "websocket") else "http",
        "status": status if isinstance(status, int) and not isinstance(status, bool) else None,
        "complete": response.get("complete") is not False,
        "error": error,
        "system": content["system"],
        "messages": content["messages"],
        "tools": content["tools"],
        "output": content["output"],
        "stop_reason": content["stop_reason"],
        "usage": content["usage"],
        "cost_usd": cost_of(content["model"], content["usage"]),
        "params": content["params"],
        "timing": timing,
        "request_headers": _headers(request.get("headers")),
        "response_headers": _headers(response.get("headers")),
        "events": events,
        "conversation": "",
        "prev": None,
        "prev_is_guess": False,
        "thread": "",
        "parent_tool_use_id": None,
        "request_body": request_body,
        "response_body": response_body,
    }


def _headers(raw_headers: JsonValue) -> dict[str, str]:
    # Every record parses its own copies of the same names and values ("content-type", "*/*"): a
    # session keeps one of each (14 % of the model of 23,600 small exchanges).
    return {
        sys.intern(name): _shared_value(value)
        for name, value in as_dict(raw_headers).items()
        if isinstance(value, str)
    }


def _shared_value(value: str) -> str:
    if len(value) > SHARED_HEADER_VALUE_MAX_CHARS:
        return value
    if len(_shared_header_values) >= SHARED_HEADER_VALUES:  # dates and request ids: start again
        _shared_header_values.clear()
    return _shared_header_values.setdefault(value, value)


def _raw_event(raw_event: JsonValue) -> RawEvent:
    record = as_dict(raw_event)
    event: RawEvent = {
        "offset_ms": number_or_none(record.get("offset_ms")) or 0.0,
        "data": as_str(record.get("data")) or "",
    }
    name = as_str(record.get("event"))
    if name is None and record.get("kind") not in (None, "text"):
        name = as_str(record.get("kind"))  # a binary or close WebSocket frame
    if name:
        event["event"] = name
    if record.get("direction") in ("client", "server"):
        event["direction"] = record["direction"]
    return event


def _error_of(
    record_error: str | None, status: JsonValue, response_body: JsonValue, events: list[RawEvent]
) -> str | None:
    """Why the turn failed, for people: the transport error, the HTTP status with the API's own error
    message, or an error event inside a stream. None for a turn that succeeded."""
    notes: list[str] = []
    if record_error:
        notes.append(record_error)
    body_error = _body_error(response_body)
    if isinstance(status, int) and status >= 400:
        notes.append(f"HTTP {status}" + (f": {body_error}" if body_error else ""))
    elif body_error:
        notes.append(body_error)
    for event in events:
        if event.get("event") == "error":
            notes.append(_body_error(json_or_none(event["data"])) or event["data"])
            break
    return "; ".join(notes) or None


def _body_error(body: JsonValue) -> str | None:
    """The error an API put in its body: {"error": {"type"|"status"|"code", "message"}} or a string."""
    if isinstance(body, list) and body:  # Gemini answers some errors as a one-element array
        body = body[0]
    error = as_dict(body).get("error")
    if isinstance(error, str):
        return error
    details = as_dict(error)
    if not details:
        return None
    kind = details.get("type") or details.get("status") or details.get("code")
    message = as_str(details.get("message")) or json.dumps(details, ensure_ascii=False)
    return f"{kind}: {message}" if kind else message
