"""What an encoded body (Qoder's agent_chat_generation, Cursor's Connect frames) turns out to be.

Qoder's model call carries a body we have no schema for and, without a login, no real sample of. So
the body is recorded as bytes (capture/bodies.py) and this module tries the documented decodings in a
fixed order, each on what the previous step produced: a Connect envelope (flag byte + 4-byte length),
gzip, zlib/deflate, zstd, brotli, JSON inside a JSON string, base64; then JSON, UTF-8 text or,
last, protobuf read without a schema. The steps that worked are listed, so a person sees how the
value was reached. Nothing here raises on bad input: an undecodable body is answered with the steps
tried so far and the bytes as hex.

Pure functions of bytes; no record, file or network knowledge. normalize/raw.py shows the result
beside a binary body on the page and in exports.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from claude_tap.capture.bodies import ContentDecodingError, decode_content
from claude_tap.capture.records import JsonValue

# A cap on the work done for one body: nesting (every step may unwrap another layer) and fields.
MAX_STEPS = 8
MAX_PROTOBUF_DEPTH = 12
MAX_PROTOBUF_FIELDS = 10_000
HEX_PREVIEW_BYTES = 64
PLAUSIBLE_FIELD_NUMBER = 1000

_BASE64 = re.compile(rb"^[A-Za-z0-9+/_-]+={0,2}$")

Decoded = JsonValue


@dataclass
class Decoding:
    """The layers peeled off (in order) and what was left: JSON, text or a protobuf field list."""

    steps: list[str] = field(default_factory=list)
    value: Decoded = None


def decode_body(data: bytes) -> Decoding:
    """Peel layers off `data` while one applies, then read what is left as JSON, text or protobuf."""
    result = Decoding()
    for _ in range(MAX_STEPS):
        peeled = _peel(data)
        if peeled is None:
            break
        name, data = peeled
        result.steps.append(name)
    result.value = _final_value(data, result.steps)
    return result


def _peel(data: bytes) -> tuple[str, bytes] | None:
    """The first wrapping layer that comes off `data` whole, as (its name, the bytes inside)."""
    for name, unwrap in _LAYERS:
        try:
            inner = unwrap(data)
        except (ContentDecodingError, ValueError, binascii.Error, EOFError, OSError):
            continue
        if inner is not None and inner != data:
            return name, inner
    return None


def _connect_frames(data: bytes) -> bytes | None:
    """The payloads of a Connect/gRPC-web stream: frames of flag (1 byte), length (4, big-endian),
    payload, back to back and filling the body exactly. A compressed frame (flag bit 0) is left to
    the next layer; several frames are joined, as the messages of one stream."""
    payloads, offset = [], 0
    while offset < len(data):
        if len(data) - offset < 5 or data[offset] & ~0x03:
            return None
        length = int.from_bytes(data[offset + 1 : offset + 5], "big")
        offset += 5
        if offset + length > len(data):
            return None
        payloads.append(data[offset : offset + length])
        offset += length
    return b"".join(payloads) if payloads else None


def _content(encoding: str) -> Callable[[bytes], bytes | None]:
    def unwrap(data: bytes) -> bytes | None:
        return decode_content(data, encoding) or None

    return unwrap


def _base64(data: bytes) -> bytes | None:
    text = data.strip()
    if len(text) < 8 or not _BASE64.match(text):
        return None
    padded = text + b"=" * (-len(text) % 4)
    decoded = base64.b64decode(padded, altchars=b"-_" if b"-" in text or b"_" in text else None)
    return decoded if _worth_it(decoded) else None


def _worth_it(decoded: bytes) -> bool:
    """A base64 reading of plain words also 'decodes'; keep it only when the result is something
    more: JSON, text, or bytes another layer recognises."""
    if _json(decoded) is not None or _text(decoded) is not None:
        return True
    return _peel(decoded) is not None or _plausible_protobuf(decoded)


def _plausible_protobuf(data: bytes) -> bool:
    """Schema-less protobuf reads many byte strings; real schemas number their fields low."""
    fields = protobuf_fields(data)
    return fields is not None and all(entry["field"] <= PLAUSIBLE_FIELD_NUMBER for entry in fields)


def _json_string(data: bytes) -> bytes | None:
    """A JSON string whose content is itself an encoded body or JSON ("JSON-in-string")."""
    value = _json(data)
    return value.encode() if isinstance(value, str) and value else None


_LAYERS: list[tuple[str, Callable[[bytes], bytes | None]]] = [
    ("connect", _connect_frames),
    ("gzip", _content("gzip")),
    ("deflate", _content("deflate")),
    ("zstd", _content("zstd")),
    ("br", _content("br")),
    ("json-string", _json_string),
    ("base64", _base64),
]


def _json(data: bytes) -> Decoded | None:
    try:
        value: Decoded = json.loads(data)
    except (ValueError, RecursionError):
        return None
    return value


def _text(data: bytes) -> str | None:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    printable = sum(ch.isprintable() or ch in "\r\n\t" for ch in text)
    return text if text and printable == len(text) else None


def _final_value(data: bytes, steps: list[str]) -> Decoded:
    parsed = _json(data)
    if parsed is not None:
        steps.append("json")
        return parsed
    text = _text(data)  # before protobuf: printable words often parse as a message too
    if text is not None:
        steps.append("text")
        return text
    fields = protobuf_fields(data)
    if fields is not None:
        steps.append("protobuf")
        return fields
    steps.append("bytes")
    return {"bytes": len(data), "hex": data[:HEX_PREVIEW_BYTES].hex()}


def protobuf_fields(data: bytes, depth: int = 0) -> list[Decoded] | None:
    """`data` read as protobuf without a schema: [{"field", "wire", "value"}, ...], or None when it
    is not a well-formed message. A length-delimited value is shown as a nested message when it parses
    as one, else as text when it is UTF-8, else as hex; fixed-width values as integers."""
    if not data or depth > MAX_PROTOBUF_DEPTH:
        return None
    fields: list[Decoded] = []
    offset = 0
    while offset < len(data):
        key = _varint(data, offset)
        if key is None or len(fields) >= MAX_PROTOBUF_FIELDS:
            return None
        tag, offset = key
        number, wire = tag >> 3, tag & 0x07
        if number == 0:
            return None
        value: Decoded
        if wire == 0:
            read = _varint(data, offset)
            if read is None:
                return None
            value, offset = read
        elif wire in (1, 5):
            width = 8 if wire == 1 else 4
            if offset + width > len(data):
                return None
            value = int.from_bytes(data[offset : offset + width], "little")
            offset += width
        elif wire == 2:
            read = _varint(data, offset)
            if read is None or read[0] > len(data) - read[1]:
                return None
            length, offset = read
            value = _length_delimited(data[offset : offset + length], depth)
            offset += length
        else:  # groups (3, 4) are long deprecated and 6, 7 do not exist: not protobuf we can read
            return None
        fields.append({"field": number, "wire": wire, "value": value})
    return fields


def _length_delimited(chunk: bytes, depth: int) -> Decoded:
    """Text first: a nested message always holds a non-printable key or length byte, text does not."""
    text = _text(chunk)
    if text is not None:
        return text
    nested = protobuf_fields(chunk, depth + 1)
    return nested if nested is not None else {"hex": chunk.hex()}


def _varint(data: bytes, offset: int) -> tuple[int, int] | None:
    value = shift = 0
    while offset < len(data) and shift < 64:
        byte = data[offset]
        offset += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, offset
        shift += 7
    return None
