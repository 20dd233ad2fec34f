"""normalize/raw: bodies nobody models are shown as they are, and a huge one is cut for the page."""

from __future__ import annotations

import base64

from claude_tap.normalize.raw import PAGE_BODY_CHARS, body_of


def test_each_body_field_is_read() -> None:
    assert body_of({"body": {"a": 1}, "body_bytes": 7}) == {"a": 1}
    assert body_of({"body_text": "plain"}) == "plain"
    assert body_of({"body_b64": "AAEC", "decode_error": "gzip: bad"}) == {
        "body_b64": "AAEC",
        "decode_error": "gzip: bad",
    }
    assert body_of({"body_bytes": 0}) is None


def test_a_huge_text_body_is_cut_for_the_page_and_says_so() -> None:
    text = "x" * (PAGE_BODY_CHARS * 3)
    shown = body_of({"body_text": text})
    assert shown.startswith("x" * PAGE_BODY_CHARS)
    assert len(shown) < PAGE_BODY_CHARS + 100
    assert f"{len(text):,} characters" in shown


def test_a_huge_binary_body_is_cut_for_the_page_and_says_so() -> None:
    encoded = base64.b64encode(bytes(3 * PAGE_BODY_CHARS)).decode()
    shown = body_of({"body_b64": encoded})
    assert shown["body_b64"] == encoded[:PAGE_BODY_CHARS]
    assert shown["cut"] == f"{3 * PAGE_BODY_CHARS:,} bytes in the trace"
