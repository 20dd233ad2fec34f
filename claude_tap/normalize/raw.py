"""Anything that is not a model call we understand, shown raw and never dropped.

Token counts, model lists, telemetry, Cursor's protobuf, an unknown gateway, a record that failed to
normalize: each becomes a turn with api "raw", its request body as an "other" block in a message with
role "request" and its response body as an "other" output block. `body_of` reads the one body field a
record part has (records.py: body, body_text or body_b64); a binary body up to DECODE_BODY_CHARS also
gets what capture/encoded_body.py makes of it (Qoder's and Cursor's encoded bodies: Connect frames,
compression, base64, JSON, schema-less protobuf), with the steps that got there.

This module knows the record's body fields, no API format.
"""

from __future__ import annotations

import base64
import binascii

from claude_tap.capture.encoded_body import decode_body
from claude_tap.normalize.blocks import as_dict, as_str, other_block
from claude_tap.normalize.content import Content, empty_content
from claude_tap.normalize.model import JsonValue

# The page shows at most this much of a text or binary body; the trace keeps it whole. A 20 MB upload
# would otherwise be held in full by the viewer model and written into trace.html.
PAGE_BODY_CHARS = 1 << 20
# Binary bodies up to this much base64 are decoded for the page: model calls, not uploads.
DECODE_BODY_CHARS = 256 << 10


def body_of(part: JsonValue) -> JsonValue:
    """The decoded JSON body, else its text, else {"body_b64": ...}; None when there was no body.
    Text and base64 longer than PAGE_BODY_CHARS are cut there, and the cut is said."""
    fields = as_dict(part)
    if "body" in fields:
        return fields["body"]
    if "body_text" in fields:
        text = fields["body_text"]
        if isinstance(text, str) and len(text) > PAGE_BODY_CHARS:
            return (
                text[:PAGE_BODY_CHARS] + f"\n[... cut: {len(text):,} characters in all; the trace has them]"
            )
        return text
    if "body_b64" in fields:
        encoded = fields["body_b64"]
        kept = {"body_b64": encoded}
        if isinstance(encoded, str) and len(encoded) > PAGE_BODY_CHARS:
            kept = {
                "body_b64": encoded[:PAGE_BODY_CHARS],
                "cut": f"{len(encoded) * 3 // 4:,} bytes in the trace",
            }
        if "decode_error" in fields:
            kept["decode_error"] = fields["decode_error"]
        decoded = _decoded(encoded)
        if decoded is not None:
            kept["decoded"] = decoded
        return kept
    return None


def normalize(request: JsonValue, response: JsonValue, path: str) -> Content:
    content = empty_content("raw", as_str(as_dict(request).get("model")))
    if request is not None:
        content["messages"] = [{"role": "request", "content": [other_block("request body", request)]}]
    if response is not None:
        content["output"] = [other_block("response body", response)]
    return content


def _decoded(encoded: JsonValue) -> JsonValue:
    """What a small binary body turns out to be ({"steps", "value"}), or None when nothing decodes."""
    if not isinstance(encoded, str) or len(encoded) > DECODE_BODY_CHARS:
        return None
    try:
        data = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        return None
    decoding = decode_body(data)
    if decoding.steps == ["bytes"]:  # nothing but the bytes themselves: the base64 says it already
        return None
    return {"steps": list(decoding.steps), "value": decoding.value}
