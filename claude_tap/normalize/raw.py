"""Anything that is not a model call we understand, shown raw and never dropped.

Token counts, model lists, telemetry, Cursor's protobuf, an unknown gateway, a record that failed to
normalize: each becomes a turn with api "raw", its request body as an "other" block in a message with
role "request" and its response body as an "other" output block. `body_of` reads the one body field a
record part has (records.py: body, body_text or body_b64).

This module knows the record's body fields, no API format.
"""

from __future__ import annotations

from claude_tap.normalize.blocks import as_dict, as_str, other_block
from claude_tap.normalize.content import Content, empty_content
from claude_tap.normalize.model import JsonValue

# The page shows at most this much of a text or binary body; the trace keeps it whole. A 20 MB upload
# would otherwise be held in full by the viewer model and written into trace.html.
PAGE_BODY_CHARS = 1 << 20


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
        return kept
    return None


def normalize(request: JsonValue, response: JsonValue, path: str) -> Content:
    content = empty_content("raw", as_str(as_dict(request).get("model")))
    if request is not None:
        content["messages"] = [{"role": "request", "content": [other_block("request body", request)]}]
    if response is not None:
        content["output"] = [other_block("response body", response)]
    return content
