"""Body bytes -> the body fields of a trace record: content decoding, then JSON, text or base64.

Content decoding exists only for the record: the proxy forwards the original bytes. Decoders share
one incremental shape (as httpx's): `decode(chunk) -> bytes`, `flush() -> bytes`, so a compressed
event stream can be decoded chunk by chunk and each event keeps its arrival time.

Decoding errors are raised as `ContentDecodingError` chained to the library's own error;
`body_fields` turns them into a `decode_error` field and never raises.

Bodies may be large (a 20 MB upload), so they are taken in the chunks they arrived in and a binary
body is never joined: its base64 can stay a `Base64Body` until the trace writer encodes it piece by
piece (see `body_fields`).

This module knows nothing about API formats, SSE, sockets or the trace file.
"""

from __future__ import annotations

import base64
import codecs
import json
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import brotli  # ships no type information
import zstandard

from claude_tap.capture.records import JsonValue

HeaderSource = Iterable[tuple[str, str]] | Mapping[str, str]
UTF8_SLICE_BYTES = 1 << 20


class ContentDecodingError(ValueError):
    """The bytes do not decode with the content-encoding their headers name."""


class Decoder(Protocol):
    def decode(self, data: bytes) -> bytes: ...

    def flush(self) -> bytes: ...


class IdentityDecoder:
    def decode(self, data: bytes) -> bytes:
        return data

    def flush(self) -> bytes:
        return b""


class MemberDecoder:
    """A format made of back-to-back members (gzip members, zstd frames): a new one starts where the
    previous one ends. `flush` raises when the input stopped inside a member (a truncated body)."""

    def __init__(self, name: str, new_member: Callable[[], Any]) -> None:
        self._name = name
        self._new_member = new_member
        self._member = new_member()
        self._inside_member = False

    def decode(self, data: bytes) -> bytes:
        out = bytearray()
        try:
            while data:
                self._inside_member = True
                out += self._member.decompress(data)
                if not self._member.eof:
                    break
                self._inside_member = False
                data = self._member.unused_data
                self._member = self._new_member()
        except (zlib.error, zstandard.ZstdError) as exc:
            raise ContentDecodingError(f"{self._name}: {exc}") from exc
        return bytes(out)

    def flush(self) -> bytes:
        if self._inside_member:
            raise ContentDecodingError(f"{self._name}: truncated (the body ends inside compressed data)")
        return b""


def gzip_decoder() -> Decoder:
    return MemberDecoder("gzip", lambda: zlib.decompressobj(16 + zlib.MAX_WBITS))  # 16+: gzip wrapper


def zstd_decoder() -> Decoder:
    # decompressobj copes with frames that do not declare their content size.
    return MemberDecoder("zstd", lambda: zstandard.ZstdDecompressor().decompressobj())


class DeflateDecoder:
    """HTTP "deflate" is meant to be zlib-wrapped (RFC 9110 8.4.1.2), but some servers send raw deflate.

    Try zlib first; if it fails before producing any output, start over as raw deflate with the
    bytes seen so far (kept only until the first output)."""

    def __init__(self) -> None:
        self._zlib = zlib.decompressobj(zlib.MAX_WBITS)
        self._seen: bytearray | None = bytearray()  # None once output proved the format right
        self._has_input = False

    def decode(self, data: bytes) -> bytes:
        self._has_input = self._has_input or bool(data)
        try:
            if self._seen is None:
                return self._zlib.decompress(data)
            self._seen += data
            try:
                out = self._zlib.decompress(data)
            except zlib.error:  # not zlib after all (or not raw either: then this raises again)
                self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
                out = self._zlib.decompress(bytes(self._seen))
            if out:
                self._seen = None
            return out
        except zlib.error as exc:
            raise ContentDecodingError(f"deflate: {exc}") from exc

    def flush(self) -> bytes:
        if self._has_input and not self._zlib.eof:
            raise ContentDecodingError("deflate: truncated (the body ends inside compressed data)")
        return b""


class BrotliDecoder:
    def __init__(self) -> None:
        self._brotli = brotli.Decompressor()
        self._has_input = False

    def decode(self, data: bytes) -> bytes:
        if not data:
            return b""
        self._has_input = True
        try:
            return bytes(self._brotli.process(data))
        except brotli.error as exc:
            raise ContentDecodingError(f"br: {exc}") from exc

    def flush(self) -> bytes:
        if self._has_input and not self._brotli.is_finished():
            raise ContentDecodingError("br: truncated (the body ends inside compressed data)")
        return b""


class StackedDecoder:
    """Encodings applied in order (RFC 9110 8.4: "gzip, br" means gzip first, then br), undone in reverse."""

    def __init__(self, decoders: list[Decoder]) -> None:
        self._decoders = decoders  # outermost (last applied) first

    def decode(self, data: bytes) -> bytes:
        for decoder in self._decoders:
            data = decoder.decode(data)
        return data

    def flush(self) -> bytes:
        data = b""
        for decoder in self._decoders:
            data = decoder.decode(data) + decoder.flush()
        return data


DECODERS: dict[str, Callable[[], Decoder]] = {
    "identity": IdentityDecoder,
    "gzip": gzip_decoder,
    "x-gzip": gzip_decoder,
    "deflate": DeflateDecoder,
    "br": BrotliDecoder,
    "zstd": zstd_decoder,
}


def make_decoder(content_encoding: str | None) -> Decoder:
    """An incremental decoder for a Content-Encoding header value (None or "" means identity)."""
    names = [name.strip().lower() for name in (content_encoding or "").split(",")]
    names = [name for name in names if name]
    unknown = [name for name in names if name not in DECODERS]
    if unknown:
        raise ContentDecodingError(f"unsupported content-encoding {unknown[0]!r}")
    if not names:
        return IdentityDecoder()
    if len(names) == 1:
        return DECODERS[names[0]]()
    return StackedDecoder([DECODERS[name]() for name in reversed(names)])


def decode_content(data: bytes, content_encoding: str | None) -> bytes:
    decoder = make_decoder(content_encoding)
    return decoder.decode(data) + decoder.flush()


def header_value(headers: HeaderSource, name: str) -> str | None:
    """The value of header `name` (any case); repeated headers joined with ", "; None when absent."""
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    values = [value for key, value in pairs if key.lower() == name]
    return ", ".join(values) if values else None


def body_fields(
    data: bytes | Sequence[bytes], headers: HeaderSource, *, defer_base64: bool = False
) -> dict[str, JsonValue]:
    """The record fields for a body (see capture/records.py): `body_bytes` plus exactly one of
    `body` (JSON), `body_text` (UTF-8 text that is not JSON) or `body_b64` (anything else); a body
    that would not content-decode is kept raw in `body_b64` beside its `decode_error`.

    `data` is the body whole or in the chunks it arrived in (they are never joined for binary
    bodies). With `defer_base64`, `body_b64` is a `Base64Body` holding the bytes, for a writer that
    encodes it slice by slice, instead of the text."""
    # A whole body is one chunk (bytes(b) is b itself, not a copy).
    chunks = [bytes(data)] if isinstance(data, bytes | bytearray | memoryview) else list(data)
    fields: dict[str, JsonValue] = {"body_bytes": sum(len(chunk) for chunk in chunks)}
    try:
        decoded = decode_chunks(chunks, header_value(headers, "content-encoding"))
    except ContentDecodingError as exc:
        fields["body_b64"] = base64_field(chunks, defer_base64)
        fields["decode_error"] = str(exc)
        return fields
    fields.update(classify_chunks(decoded, defer_base64))
    return fields


def decode_chunks(chunks: Iterable[bytes], content_encoding: str | None) -> list[bytes]:
    """The content-decoded body as chunks; identity hands back the very same bytes objects."""
    decoder = make_decoder(content_encoding)
    if isinstance(decoder, IdentityDecoder):  # the usual case, without a call per chunk
        return [chunk for chunk in chunks if chunk]
    decoded = [decoder.decode(chunk) for chunk in chunks]
    decoded.append(decoder.flush())
    return [chunk for chunk in decoded if chunk]


def classify_bytes(data: bytes) -> dict[str, JsonValue]:
    """{"body": JSON} when the bytes are JSON, {"body_text": str} when UTF-8, else {"body_b64": str}."""
    return classify_chunks([data])


def classify_chunks(chunks: Sequence[bytes], defer_base64: bool = False) -> dict[str, JsonValue]:
    """`classify_bytes` for a body in chunks (see `body_fields` for `defer_base64`)."""
    text = utf8_text(chunks)
    if text is None:
        return {"body_b64": base64_field(chunks, defer_base64)}
    try:
        return {"body": parse_json(text)}
    except (ValueError, RecursionError):  # RecursionError: nested deeper than Python's stack
        return {"body_text": text}


def utf8_text(chunks: Sequence[bytes]) -> str | None:
    """The chunks decoded as one UTF-8 text, or None when they are not UTF-8.

    Decoded in slices of at most UTF8_SLICE_BYTES: a failed decode copies its whole input into the
    UnicodeDecodeError, so a binary body is found out at its first bad byte for the price of one
    slice, and it is never joined."""
    if len(chunks) == 1 and len(chunks[0]) <= UTF8_SLICE_BYTES:  # the usual small body
        try:
            return chunks[0].decode("utf-8")
        except UnicodeDecodeError:
            return None
    decoder = codecs.getincrementaldecoder("utf-8")()
    pieces = []
    try:
        for chunk in chunks:
            view = memoryview(chunk)
            for start in range(0, len(view), UTF8_SLICE_BYTES):
                pieces.append(decoder.decode(view[start : start + UTF8_SLICE_BYTES]))
        pieces.append(decoder.decode(b"", final=True))
    except UnicodeDecodeError:
        return None
    return "".join(pieces)


def base64_field(chunks: Sequence[bytes], defer: bool) -> str | Base64Body:
    body = Base64Body(tuple(chunks))
    return body if defer else body.text()


@dataclass(frozen=True, slots=True)
class Base64Body:
    """Bytes bound for a record's `body_b64`, kept as bytes until the record is written.

    The text is a third larger than the bytes and making one str of it costs a second copy on
    the way; the trace writer instead encodes `pieces` one at a time, so a 20 MB upload is never
    held as text at all. Anything else that wants the record as plain JSON calls `text`."""

    chunks: tuple[bytes, ...]

    def text(self) -> str:
        return "".join(self.pieces())

    def pieces(self, max_chars: int = 1 << 20) -> Iterator[str]:
        """The base64 text in pieces of at most `max_chars` (at least 4) that join to `text()`.

        Base64 turns every 3 bytes into 4 characters, so the bytes are cut at multiples of 3;
        the 1 or 2 bytes left at the end of a chunk go on with the start of the next."""
        step = max(3, max_chars // 4 * 3)
        carry = b""
        for chunk in self.chunks:
            view = memoryview(chunk)
            if carry:
                take = 3 - len(carry)
                carry += view[:take]
                view = view[take:]
                if len(carry) < 3:
                    continue
                yield _b64(carry)
                carry = b""
            whole = len(view) - len(view) % 3
            for start in range(0, whole, step):
                yield _b64(view[start : min(start + step, whole)])
            carry = bytes(view[whole:])
        if carry:
            yield _b64(carry)


def _b64(data: bytes | memoryview) -> str:
    return base64.b64encode(data).decode("ascii")


def parse_json(text: str) -> JsonValue:
    """json.loads for strict JSON: raises ValueError (JSONDecodeError) for anything else, including
    the NaN and Infinity that json.loads accepts, which would make the trace invalid JSON."""
    return json.loads(text, parse_constant=_reject_constant)


def _reject_constant(name: str) -> JsonValue:
    raise ValueError(f"{name} is not JSON")
