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
from typing import Protocol

import brotli  # ships no type information
import zstandard

from claude_tap.capture.records import JsonValue

HeaderSource = Iterable[tuple[str, str]] | Mapping[str, str]
Bytes = bytes | memoryview
UTF8_SLICE_BYTES = 1 << 20


class ContentDecodingError(ValueError):
    """The bytes do not decode with the content-encoding their headers name."""


class DecodedTooLarge(ContentDecodingError):
    """The body decodes to more than the cap allows (a decompression bomb, or just a huge body)."""


# What one body may decode to for the record. A 1 MB gzip body can inflate to 1 GiB (issue 15): past
# this the record keeps the bytes as received instead. 64 MiB is far above any real API body (a long
# conversation with images is a few MB), so only hostile or pathological bodies lose their decoding.
MAX_DECODED_BYTES = 64 << 20
# zstd can turn 4 bytes into a 128 KiB block (ratio 32768) and its decompressobj has no output limit,
# so it is fed slices small enough that one call cannot overshoot the room left by much.
_ZSTD_RATIO_BOUND_SHIFT = 15
_ZSTD_MIN_SLICE_BYTES = 64


class Decoder(Protocol):
    def decode(self, data: bytes) -> bytes: ...

    def flush(self) -> bytes: ...


class IdentityDecoder:
    def decode(self, data: bytes) -> bytes:
        return data

    def flush(self) -> bytes:
        return b""


class _Budget:
    """Counts decoded bytes against the cap; `room` is what the next step may produce (one more than
    is left, so reaching past the cap is seen)."""

    def __init__(self, name: str, max_bytes: int) -> None:
        self._name = name
        self._max_bytes = max_bytes
        self._spent = 0

    @property
    def room(self) -> int:
        return self._max_bytes - self._spent + 1

    def spend(self, out: bytes) -> bytes:
        self._spent += len(out)
        if self._spent > self._max_bytes:
            cap = _size_text(self._max_bytes)
            raise DecodedTooLarge(f"{self._name}: decodes to more than {cap} (the cap); kept as received")
        return out


def _size_text(size: int) -> str:
    return f"{size >> 20} MiB" if size >= 1 << 20 and size % (1 << 20) == 0 else f"{size} bytes"


class _Member(Protocol):
    """One gzip member or zstd frame being decompressed."""

    eof: bool

    def step(self, data: Bytes, max_length: int) -> tuple[bytes, Bytes]:
        """(output of at most about `max_length` bytes, input not consumed yet)."""
        ...


class _ZlibMember:
    def __init__(self, wbits: int) -> None:
        self._obj = zlib.decompressobj(wbits)
        self.eof = False

    def step(self, data: Bytes, max_length: int) -> tuple[bytes, Bytes]:
        out = self._obj.decompress(data, max_length)
        self.eof = self._obj.eof
        return out, self._obj.unused_data if self.eof else self._obj.unconsumed_tail


class _ZstdMember:
    def __init__(self) -> None:
        # decompressobj copes with frames that do not declare their content size.
        self._obj = zstandard.ZstdDecompressor().decompressobj()
        self.eof = False

    def step(self, data: Bytes, max_length: int) -> tuple[bytes, Bytes]:
        view = memoryview(data)  # slices of a view are not copies: a large body takes many steps
        size = max(_ZSTD_MIN_SLICE_BYTES, max_length >> _ZSTD_RATIO_BOUND_SHIFT)
        out = self._obj.decompress(view[:size])
        self.eof = self._obj.eof
        rest = view[size:]
        return out, (self._obj.unused_data + rest if self.eof else rest)


class MemberDecoder:
    """A format made of back-to-back members (gzip members, zstd frames): a new one starts where the
    previous one ends. `flush` raises when the input stopped inside a member (a truncated body)."""

    def __init__(self, name: str, new_member: Callable[[], _Member], max_bytes: int) -> None:
        self._name = name
        self._new_member = new_member
        self._member = new_member()
        self._inside_member = False
        self._budget = _Budget(name, max_bytes)

    def decode(self, data: bytes) -> bytes:
        pieces = []
        rest: Bytes = data
        try:
            while rest:
                self._inside_member = True
                piece, rest = self._member.step(rest, self._budget.room)
                pieces.append(self._budget.spend(piece))
                if self._member.eof:
                    self._inside_member = False
                    self._member = self._new_member()
        except (zlib.error, zstandard.ZstdError) as exc:
            raise ContentDecodingError(f"{self._name}: {exc}") from exc
        return pieces[0] if len(pieces) == 1 else b"".join(pieces)  # one piece: no copy

    def flush(self) -> bytes:
        if self._inside_member:
            raise ContentDecodingError(f"{self._name}: truncated (the body ends inside compressed data)")
        return b""


def gzip_decoder(max_bytes: int = MAX_DECODED_BYTES) -> Decoder:
    return MemberDecoder("gzip", lambda: _ZlibMember(16 + zlib.MAX_WBITS), max_bytes)  # 16+: gzip wrapper


def zstd_decoder(max_bytes: int = MAX_DECODED_BYTES) -> Decoder:
    return MemberDecoder("zstd", _ZstdMember, max_bytes)


class DeflateDecoder:
    """HTTP "deflate" is meant to be zlib-wrapped (RFC 9110 8.4.1.2), but some servers send raw deflate.

    Try zlib first; if it fails before producing any output, start over as raw deflate with the
    bytes seen so far (kept only until the first output)."""

    def __init__(self, max_bytes: int = MAX_DECODED_BYTES) -> None:
        self._zlib = zlib.decompressobj(zlib.MAX_WBITS)
        self._seen: bytearray | None = bytearray()  # None once output proved the format right
        self._has_input = False
        self._budget = _Budget("deflate", max_bytes)

    def decode(self, data: bytes) -> bytes:
        self._has_input = self._has_input or bool(data)
        try:
            if self._seen is None:
                return self._drain(data)
            self._seen += data
            try:
                out = self._drain(data)
            except zlib.error:  # not zlib after all (or not raw either: then this raises again)
                self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
                out = self._drain(bytes(self._seen))
            if out:
                self._seen = None
            return out
        except zlib.error as exc:
            raise ContentDecodingError(f"deflate: {exc}") from exc

    def _drain(self, data: bytes) -> bytes:
        out = bytearray()
        while data and not self._zlib.eof:
            out += self._budget.spend(self._zlib.decompress(data, self._budget.room))
            data = self._zlib.unconsumed_tail
        return bytes(out)

    def flush(self) -> bytes:
        if self._has_input and not self._zlib.eof:
            raise ContentDecodingError("deflate: truncated (the body ends inside compressed data)")
        return b""


class BrotliDecoder:
    def __init__(self, max_bytes: int = MAX_DECODED_BYTES) -> None:
        self._brotli = brotli.Decompressor()
        self._has_input = False
        self._budget = _Budget("br", max_bytes)

    def decode(self, data: bytes) -> bytes:
        if not data:
            return b""
        self._has_input = True
        try:
            out = bytearray(self._budget.spend(self._process(data)))
            while not self._brotli.can_accept_more_data():  # output held back by the limit
                out += self._budget.spend(self._process(b""))
            return bytes(out)
        except brotli.error as exc:
            raise ContentDecodingError(f"br: {exc}") from exc

    def _process(self, data: bytes) -> bytes:
        return bytes(self._brotli.process(data, output_buffer_limit=self._budget.room))

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


DECODERS: dict[str, Callable[[int], Decoder]] = {
    "gzip": gzip_decoder,
    "x-gzip": gzip_decoder,
    "deflate": DeflateDecoder,
    "br": BrotliDecoder,
    "zstd": zstd_decoder,
}


def make_decoder(content_encoding: str | None, max_decoded_bytes: int = MAX_DECODED_BYTES) -> Decoder:
    """An incremental decoder for a Content-Encoding header value (None or "" means identity).

    Each compressed layer stops with `DecodedTooLarge` once it has produced more than
    `max_decoded_bytes`, having held at most about that much."""
    names = [name.strip().lower() for name in (content_encoding or "").split(",")]
    names = [name for name in names if name and name != "identity"]
    unknown = [name for name in names if name not in DECODERS]
    if unknown:
        raise ContentDecodingError(f"unsupported content-encoding {unknown[0]!r}")
    if not names:
        return IdentityDecoder()
    if len(names) == 1:
        return DECODERS[names[0]](max_decoded_bytes)
    return StackedDecoder([DECODERS[name](max_decoded_bytes) for name in reversed(names)])


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
