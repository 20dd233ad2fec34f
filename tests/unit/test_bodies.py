"""capture/bodies.py: content decoding (whole and chunk by chunk) and the record's body fields."""

from __future__ import annotations

import base64
import gzip
import io
import random
import zlib

import brotli
import pytest
import zstandard

from claude_tap.capture.bodies import (
    MAX_DECODED_BYTES,
    UTF8_SLICE_BYTES,
    Base64Body,
    ContentDecodingError,
    DecodedTooLarge,
    body_fields,
    classify_bytes,
    decode_content,
    header_value,
    make_decoder,
)

PLAIN = b'{"model": "claude-sonnet-4-5", "messages": [{"role": "user", "content": "hi"}]}' * 20


def raw_deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


def zstd_streamed(data: bytes) -> bytes:
    """A zstd frame written by a streaming writer: it declares no content size."""
    out = io.BytesIO()
    with zstandard.ZstdCompressor().stream_writer(out, closefd=False) as writer:
        writer.write(data)
    return out.getvalue()


ENCODED = {
    "gzip": (gzip.compress(PLAIN), "gzip"),
    "x-gzip": (gzip.compress(PLAIN), "x-gzip"),
    "upper-case name": (gzip.compress(PLAIN), "GZIP"),
    "gzip, two members": (gzip.compress(PLAIN[:100]) + gzip.compress(PLAIN[100:]), "gzip"),
    "deflate (zlib)": (zlib.compress(PLAIN), "deflate"),
    "deflate (raw)": (raw_deflate(PLAIN), "deflate"),
    "br": (brotli.compress(PLAIN), "br"),
    "zstd": (zstandard.ZstdCompressor().compress(PLAIN), "zstd"),
    "zstd, two frames": (
        zstandard.ZstdCompressor().compress(PLAIN[:100]) + zstandard.ZstdCompressor().compress(PLAIN[100:]),
        "zstd",
    ),
    "zstd without content size": (zstd_streamed(PLAIN), "zstd"),
    "identity": (PLAIN, "identity"),
    "none": (PLAIN, None),
    "empty header": (PLAIN, ""),
    "gzip then br": (brotli.compress(gzip.compress(PLAIN)), "gzip, br"),
    "br then gzip, no space": (gzip.compress(brotli.compress(PLAIN)), "br,gzip"),
    "identity then zstd": (zstandard.ZstdCompressor().compress(PLAIN), "identity, zstd"),
}


@pytest.mark.parametrize("data, encoding", ENCODED.values(), ids=ENCODED.keys())
def test_decode_content_whole(data: bytes, encoding: str | None) -> None:
    assert decode_content(data, encoding) == PLAIN


@pytest.mark.parametrize("data, encoding", ENCODED.values(), ids=ENCODED.keys())
def test_decoder_byte_by_byte_and_in_random_splits(data: bytes, encoding: str | None) -> None:
    decoder = make_decoder(encoding)
    assert b"".join(decoder.decode(data[i : i + 1]) for i in range(len(data))) + decoder.flush() == PLAIN
    for seed in range(10):
        rng = random.Random(seed)
        cuts = sorted(rng.sample(range(1, len(data)), k=5))
        pieces = [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]
        decoder = make_decoder(encoding)
        assert b"".join(decoder.decode(piece) for piece in pieces) + decoder.flush() == PLAIN, seed


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "br", "zstd", "gzip, br"])
def test_empty_body_decodes_to_nothing(encoding: str) -> None:
    assert decode_content(b"", encoding) == b""


BROKEN = {
    "gzip garbage": (b"not gzip at all", "gzip", zlib.error),
    "gzip truncated": (gzip.compress(PLAIN)[:-12], "gzip", None),
    "gzip with junk after": (gzip.compress(PLAIN) + b"junk!", "gzip", zlib.error),
    "deflate garbage": (b"\x00\xff\xfe\xfd" * 4, "deflate", zlib.error),
    "deflate truncated": (zlib.compress(PLAIN)[:20], "deflate", None),
    "raw deflate broken after output": (raw_deflate(PLAIN)[:40] + b"\xff" * 64, "deflate", zlib.error),
    "br garbage": (b"\xff\xff\xff\xff not brotli", "br", brotli.error),
    "br truncated": (brotli.compress(PLAIN)[:10], "br", None),
    "zstd garbage": (b"\x28\xb5\x2f\xfd garbage here", "zstd", zstandard.ZstdError),
    "zstd truncated": (zstandard.ZstdCompressor().compress(PLAIN)[:-5], "zstd", None),
}


@pytest.mark.parametrize("data, encoding, cause", BROKEN.values(), ids=BROKEN.keys())
def test_broken_content_raises_content_decoding_error_chained_to_the_cause(
    data: bytes, encoding: str, cause: type[BaseException] | None
) -> None:
    with pytest.raises(ContentDecodingError) as caught:
        decode_content(data, encoding)
    if cause is None:
        assert "truncated" in str(caught.value)
    else:
        assert isinstance(caught.value.__cause__, cause)


# The cap on a decoded body (issue 15): a small compressed body must not inflate without bound.

CAP = 1 << 20
BOMB_PLAIN = b"\0" * (CAP * 16)  # compresses to almost nothing, as a decompression bomb does
BOMBS = {
    "gzip": (gzip.compress(BOMB_PLAIN), "gzip"),
    "deflate (zlib)": (zlib.compress(BOMB_PLAIN, 9), "deflate"),
    "deflate (raw)": (raw_deflate(BOMB_PLAIN), "deflate"),
    "br": (brotli.compress(BOMB_PLAIN), "br"),
    "zstd": (zstandard.ZstdCompressor().compress(BOMB_PLAIN), "zstd"),
    "zstd without content size": (zstd_streamed(BOMB_PLAIN), "zstd"),
    "gzip inside br": (brotli.compress(gzip.compress(BOMB_PLAIN)), "gzip, br"),
    "gzip, many members": (gzip.compress(b"\0" * (CAP // 2)) * 8, "gzip"),
}


@pytest.mark.parametrize("data, encoding", BOMBS.values(), ids=BOMBS.keys())
def test_a_body_decoding_past_the_cap_stops_having_held_about_the_cap(data: bytes, encoding: str) -> None:
    decoder = make_decoder(encoding, max_decoded_bytes=CAP)
    produced = 0
    with pytest.raises(DecodedTooLarge, match="more than 1 MiB"):
        for start in range(0, len(data), 4096):  # in chunks, as an event stream is decoded
            produced += len(decoder.decode(data[start : start + 4096]))
        decoder.flush()
    assert produced <= CAP


@pytest.mark.parametrize("data, encoding", BOMBS.values(), ids=BOMBS.keys())
def test_a_body_decoding_past_the_cap_is_kept_as_received_with_the_reason(data: bytes, encoding: str) -> None:
    decoder = make_decoder(encoding, max_decoded_bytes=CAP)
    with pytest.raises(DecodedTooLarge) as caught:
        decoder.decode(data)
    assert isinstance(caught.value, ContentDecodingError)  # so body_fields keeps the raw bytes


def test_body_fields_keeps_a_bomb_raw_and_names_the_cap() -> None:
    bomb = gzip.compress(b"\0" * (MAX_DECODED_BYTES + 1))
    fields = body_fields([bomb[:1000], bomb[1000:]], {"Content-Encoding": "gzip"})
    assert fields["decode_error"] == "gzip: decodes to more than 64 MiB (the cap); kept as received"
    assert fields["body_b64"] == base64.b64encode(bomb).decode()
    assert fields["body_bytes"] == len(bomb)


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "br", "zstd"])
def test_a_body_exactly_at_the_cap_still_decodes(encoding: str) -> None:
    plain = bytes(range(256)) * (CAP // 256)
    assert len(plain) == CAP
    data = {"gzip": gzip.compress, "deflate": zlib.compress, "br": brotli.compress}.get(
        encoding, zstandard.ZstdCompressor().compress
    )(plain)
    decoder = make_decoder(encoding, max_decoded_bytes=CAP)
    assert decoder.decode(data) + decoder.flush() == plain


def test_unknown_encoding_is_named_in_the_error() -> None:
    with pytest.raises(ContentDecodingError, match="unsupported content-encoding 'compress'"):
        make_decoder("gzip, compress")


def test_header_value_is_case_insensitive_and_joins_repeats() -> None:
    headers = (("Content-Encoding", "gzip"), ("x-other", "1"), ("content-encoding", "br"))
    assert header_value(headers, "content-encoding") == "gzip, br"
    assert header_value({"Content-Type": "text/plain"}, "content-type") == "text/plain"
    assert header_value((), "content-encoding") is None


# body_fields: exactly the record fields of capture/records.py


def test_json_body_is_decoded() -> None:
    assert body_fields(b'{"a": [1, 2.5, null]}', ()) == {"body": {"a": [1, 2.5, None]}, "body_bytes": 21}


def test_json_scalar_is_json() -> None:
    assert body_fields(b"42", ()) == {"body": 42, "body_bytes": 2}


def test_compressed_json_counts_wire_bytes() -> None:
    wire = gzip.compress(b'{"ok": true}')
    assert body_fields(wire, (("Content-Encoding", "gzip"),)) == {
        "body": {"ok": True},
        "body_bytes": len(wire),
    }


def test_repeated_content_encoding_headers_are_stacked() -> None:
    wire = brotli.compress(gzip.compress(b'"x"'))
    headers = (("content-encoding", "gzip"), ("content-encoding", "br"))
    assert body_fields(wire, headers) == {"body": "x", "body_bytes": len(wire)}


def test_mapping_headers_are_accepted() -> None:
    wire = zstandard.ZstdCompressor().compress(b"[]")
    assert body_fields(wire, {"Content-Encoding": "zstd"}) == {"body": [], "body_bytes": len(wire)}


def test_utf8_text_that_is_not_json_is_body_text() -> None:
    assert body_fields("héllo".encode(), ()) == {"body_text": "héllo", "body_bytes": 6}


def test_invalid_json_is_kept_as_text() -> None:
    assert body_fields(b'{"model": "x",', ()) == {"body_text": '{"model": "x",', "body_bytes": 14}


@pytest.mark.parametrize("text", ["NaN", "Infinity", '{"x": -Infinity}'])
def test_json_constants_that_are_not_json_stay_text(text: str) -> None:
    assert body_fields(text.encode(), ()) == {"body_text": text, "body_bytes": len(text)}


def test_empty_body_is_empty_text() -> None:
    assert body_fields(b"", ()) == {"body_text": "", "body_bytes": 0}


def test_binary_body_is_base64() -> None:
    data = b"\x08\x96\x01\xff\x00"  # protobuf-ish
    assert body_fields(data, (("content-type", "application/proto"),)) == {
        "body_b64": base64.b64encode(data).decode(),
        "body_bytes": 5,
    }


def test_binary_after_decoding_is_base64_of_the_decoded_bytes() -> None:
    wire = gzip.compress(b"\xff\xfe")
    assert body_fields(wire, {"content-encoding": "gzip"}) == {"body_b64": "//4=", "body_bytes": len(wire)}


def test_undecodable_body_is_kept_raw_with_the_reason() -> None:
    wire = b"definitely not gzip"
    fields = body_fields(wire, (("content-encoding", "gzip"),))
    assert fields == {
        "body_b64": base64.b64encode(wire).decode(),
        "body_bytes": len(wire),
        "decode_error": fields["decode_error"],
    }
    assert fields["decode_error"].startswith("gzip: ")


def test_unknown_encoding_is_kept_raw_with_the_reason() -> None:
    assert body_fields(b"abc", {"content-encoding": "compress"}) == {
        "body_b64": "YWJj",
        "body_bytes": 3,
        "decode_error": "unsupported content-encoding 'compress'",
    }


def test_classify_bytes_picks_one_field() -> None:
    assert classify_bytes(b"{}") == {"body": {}}
    assert classify_bytes(b"{") == {"body_text": "{"}
    assert classify_bytes(b"\x80") == {"body_b64": "gA=="}


# -- bodies in the chunks they arrived in ------------------------------------------------------


def random_splits(data: bytes, seed: int, pieces: int = 6) -> list[bytes]:
    rng = random.Random(seed)
    cuts = sorted(rng.choices(range(len(data) + 1), k=pieces - 1))  # empty chunks too
    return [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]


CHUNKED_BODIES = {
    "json": (PLAIN, ()),
    "text with a split character": ("caf\u00e9 \u2192 \U0001f600 ok".encode(), ()),
    "binary": (bytes(range(256)) * 3, ()),
    "gzip json": (gzip.compress(PLAIN), (("content-encoding", "gzip"),)),
    "gzip binary": (gzip.compress(b"\xff\xfe" * 100), (("content-encoding", "gzip"),)),
    "broken gzip": (b"definitely not gzip", (("content-encoding", "gzip"),)),
    "empty": (b"", ()),
}


@pytest.mark.parametrize("data, headers", CHUNKED_BODIES.values(), ids=CHUNKED_BODIES.keys())
def test_body_fields_are_the_same_whole_byte_by_byte_and_in_random_splits(
    data: bytes, headers: tuple
) -> None:
    whole = body_fields(data, headers)
    assert body_fields([data[i : i + 1] for i in range(len(data))], headers) == whole
    for seed in range(10):
        assert body_fields(random_splits(data, seed), headers) == whole, seed


def test_deferred_base64_keeps_the_chunks_and_writes_the_same_text() -> None:
    chunks = [b"\xff\xfe\x00", b"\x01", b"", b"\x80\x81\x82\x83"]
    fields = body_fields(chunks, (), defer_base64=True)
    assert fields == {
        "body_b64": Base64Body((b"\xff\xfe\x00", b"\x01", b"\x80\x81\x82\x83")),
        "body_bytes": 8,
    }
    assert fields["body_b64"].text() == base64.b64encode(b"".join(chunks)).decode() == "//4AAYCBgoM="


def test_a_body_that_would_not_decode_defers_its_raw_bytes_too() -> None:
    fields = body_fields([b"not ", b"gzip"], {"content-encoding": "gzip"}, defer_base64=True)
    assert fields["body_b64"] == Base64Body((b"not ", b"gzip"))
    assert fields["decode_error"].startswith("gzip: ")


def test_text_and_json_are_never_deferred() -> None:
    assert body_fields([b'{"a":', b"1}"], (), defer_base64=True) == {"body": {"a": 1}, "body_bytes": 7}
    assert body_fields([b"caf\xc3", b"\xa9"], (), defer_base64=True) == {
        "body_text": "caf\u00e9",
        "body_bytes": 5,
    }


@pytest.mark.parametrize("max_chars", [1, 4, 5, 8, 12, 100])
def test_base64_pieces_join_to_the_base64_of_all_the_bytes(max_chars: int) -> None:
    data = bytes(range(256)) * 2
    for seed in range(20):
        chunks = random_splits(data, seed, pieces=8)
        pieces = list(Base64Body(tuple(chunks)).pieces(max_chars))
        assert "".join(pieces) == base64.b64encode(data).decode(), seed
        assert all(0 < len(piece) <= max(4, max_chars) for piece in pieces), seed
    assert list(Base64Body((b"abcd",)).pieces(4)) == ["YWJj", "ZA=="]
    assert list(Base64Body(()).pieces()) == []


def test_a_large_single_chunk_is_decoded_in_slices_without_splitting_a_character() -> None:
    # "é" is two bytes: put it across the first slice boundary.
    text = "a" * (UTF8_SLICE_BYTES - 1) + "\u00e9" + "b" * 10
    assert body_fields(text.encode(), ()) == {"body_text": text, "body_bytes": UTF8_SLICE_BYTES + 11}
    binary = text.encode() + b"\xff"
    assert body_fields(binary, ())["body_b64"] == base64.b64encode(binary).decode()
