"""Qoder's (and Cursor's) encoded bodies: each documented decoding is found, in order, and bad
input never raises."""

from __future__ import annotations

import base64
import gzip
import json
import random
import zlib

import brotli
import zstandard

from claude_tap.capture.encoded_body import decode_body, protobuf_fields

# field 1 "hello", field 2 varint 150, field 3 a message holding field 1 "inner"
MESSAGE = b"\x0a\x05hello\x10\x96\x01\x1a\x07\x0a\x05inner"
MESSAGE_FIELDS = [
    {"field": 1, "wire": 2, "value": "hello"},
    {"field": 2, "wire": 0, "value": 150},
    {"field": 3, "wire": 2, "value": [{"field": 1, "wire": 2, "value": "inner"}]},
]


def connect_frame(payload: bytes, flag: int = 0) -> bytes:
    return bytes([flag]) + len(payload).to_bytes(4, "big") + payload


def test_protobuf_without_schema_reads_strings_varints_and_nested_messages() -> None:
    decoded = decode_body(MESSAGE)
    assert decoded.steps == ["protobuf"]
    assert decoded.value == MESSAGE_FIELDS


def test_fixed_width_fields_are_integers() -> None:
    assert protobuf_fields(b"\x0d\x01\x00\x00\x00\x11" + (2).to_bytes(8, "little")) == [
        {"field": 1, "wire": 5, "value": 1},
        {"field": 2, "wire": 1, "value": 2},
    ]


def test_connect_frames_then_gzip_then_protobuf() -> None:
    compressed = decode_body(connect_frame(gzip.compress(MESSAGE), flag=1))
    assert compressed.steps == ["connect", "gzip", "protobuf"]
    assert compressed.value == MESSAGE_FIELDS
    # the messages of a stream are read as one: field 4 comes from the second frame
    stream = decode_body(connect_frame(MESSAGE) + connect_frame(b"\x20\x07"))
    assert stream.steps == ["connect", "protobuf"]
    assert stream.value == [*MESSAGE_FIELDS, {"field": 4, "wire": 0, "value": 7}]


def test_each_compression_is_found() -> None:
    text = b"the model call, readable at last"
    for name, packed in [
        ("gzip", gzip.compress(text)),
        ("deflate", zlib.compress(text)),
        ("zstd", zstandard.ZstdCompressor().compress(text)),
        ("br", brotli.compress(text)),
    ]:
        decoded = decode_body(packed)
        assert decoded.steps == [name, "text"], name
        assert decoded.value == text.decode()


def test_base64_and_json_inside_a_json_string() -> None:
    inner = zstandard.ZstdCompressor().compress(json.dumps({"messages": [{"role": "user"}]}).encode())
    body = json.dumps(base64.b64encode(inner).decode()).encode()
    decoded = decode_body(body)
    assert decoded.steps == ["json-string", "base64", "zstd", "json"]
    assert decoded.value == {"messages": [{"role": "user"}]}
    assert decode_body(base64.urlsafe_b64encode(MESSAGE).rstrip(b"=")).steps == ["base64", "protobuf"]


def test_plain_words_are_not_mistaken_for_base64_or_protobuf() -> None:
    for word in (b"helloworld", b"agent_chat_generation", b"abcdefgh"):
        assert decode_body(word).steps == ["text"], word
    assert decode_body(b'{"a": 1}').steps == ["json"]


def test_undecodable_bytes_never_raise_and_show_hex() -> None:
    rng = random.Random(12)
    for _ in range(2000):
        decode_body(rng.randbytes(rng.randint(0, 300)))
    junk = b"\xff\xfe\x07\x00" * 4
    decoded = decode_body(junk)
    assert decoded.steps == ["bytes"]
    assert decoded.value == {"bytes": 16, "hex": junk.hex()}
    # a truncated Connect frame or gzip stream is not a layer; the bytes are still answered
    assert decode_body(connect_frame(MESSAGE)[:-3]).steps[-1] in ("protobuf", "bytes")
    assert decode_body(gzip.compress(MESSAGE)[:-6]).steps[-1] in ("protobuf", "bytes")
