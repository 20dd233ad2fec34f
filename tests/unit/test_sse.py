"""capture/sse.py: the WHATWG "Interpreting an event stream" rules, whatever the chunking.

Every case runs whole, one byte at a time, in seeded random splits and (for streams that end at an
event boundary) with junk after the end; Hypothesis then cuts streams into arbitrary chunks.
"""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from claude_tap.capture.sse import SseEvent, SseLineTooLong, SseParser, parse_sse


def ev(data: str, event: str = "message", id: str | None = None, retry: int | None = None) -> SseEvent:
    return SseEvent(event=event, data=data, id=id, retry=retry)


def feed_in(chunks: list[bytes], max_line_bytes: int = 1 << 20) -> list[SseEvent]:
    parser = SseParser(max_line_bytes)
    events: list[SseEvent] = []
    for chunk in chunks:
        events += parser.feed(chunk)
    return events + parser.close()


def random_split(data: bytes, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    cuts = (
        sorted(rng.sample(range(1, len(data)), k=min(len(data) - 1, rng.randint(1, 8))))
        if len(data) > 1
        else []
    )
    bounds = [0, *cuts, len(data)]
    return [data[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]


def assert_all_ways(data: bytes, expected: list[SseEvent]) -> None:
    assert feed_in([data]) == expected, "whole"
    assert feed_in([data[i : i + 1] for i in range(len(data))]) == expected, "byte by byte"
    for seed in range(20):
        assert feed_in(random_split(data, seed)) == expected, f"split with seed {seed}"


# Streams that end at an event boundary: (bytes, events)
COMPLETE_CASES = {
    "simple": (b"data: hello\n\n", [ev("hello")]),
    "named event": (b"event: ping\ndata: {}\n\n", [ev("{}", event="ping")]),
    "multi-line data joined with LF": (b"data: a\ndata: b\n\n", [ev("a\nb")]),
    "CRLF line ends": (b"data: a\r\ndata: b\r\n\r\n", [ev("a\nb")]),
    "CR line ends": (b"data: a\rdata: b\r\r", [ev("a\nb")]),
    "mixed line ends": (b"data: a\r\n\ndata: b\r\rdata: c\n\r\n", [ev("a"), ev("b"), ev("c")]),
    "comments ignored": (b": keep-alive\ndata: x\n:another\n\n", [ev("x")]),
    "only one leading space removed": (b"data:  two\n\n", [ev(" two")]),
    "no space after colon": (b"data:tight\n\n", [ev("tight")]),
    "tab is not removed": (b"data:\ttab\n\n", [ev("\ttab")]),
    "trailing whitespace kept": (b"data: x  \n\n", [ev("x  ")]),
    "colons in value kept": (b"data: a:b: c\n\n", [ev("a:b: c")]),
    "leading BOM ignored": (b"\xef\xbb\xbfdata: x\n\n", [ev("x")]),
    "only one BOM ignored": (b"\xef\xbb\xbf\xef\xbb\xbfdata: x\n\ndata: y\n\n", [ev("y")]),
    "BOM later is not ignored": (b"data: a\n\n\xef\xbb\xbfdata: b\n\n", [ev("a")]),
    "retry of digits": (b"retry: 3000\ndata: x\n\n", [ev("x", retry=3000)]),
    "retry not digits ignored": (b"retry: 30a\ndata: x\n\nretry: -1\ndata: y\n\n", [ev("x"), ev("y")]),
    "retry empty ignored": (b"retry:\ndata: x\n\n", [ev("x")]),
    "retry non-ASCII digit ignored": ("retry: ３\ndata: x\n\n".encode(), [ev("x")]),
    "retry belongs to its event only": (b"retry: 5\ndata: a\n\ndata: b\n\n", [ev("a", retry=5), ev("b")]),
    "id persists across events": (b"id: 1\ndata: a\n\ndata: b\n\n", [ev("a", id="1"), ev("b", id="1")]),
    "id with NUL ignored": (b"id: 1\ndata: a\n\nid: 2\x00x\ndata: b\n\n", [ev("a", id="1"), ev("b", id="1")]),
    "id without value resets to empty": (
        b"id: 7\ndata: a\n\nid\ndata: b\n\n",
        [ev("a", id="7"), ev("b", id="")],
    ),
    "no data, no event, type reset": (b"event: foo\n\ndata: x\n\n", [ev("x")]),
    "blank lines alone dispatch nothing": (b"\n\n\r\n\r", []),
    "data without colon is empty data": (b"data\n\n", [ev("")]),
    "empty data value dispatches": (b"data:\n\n", [ev("")]),
    "two empty data lines": (b"data\ndata\n\n", [ev("\n")]),
    "field names are case-sensitive": (b"Data: x\nEVENT: y\n\n", []),
    "space before colon makes another field": (b"event : foo\ndata: x\n\n", [ev("x")]),
    "unknown field ignored": (b"foo: bar\ndata: x\n\n", [ev("x")]),
    "multibyte UTF-8": ("data: 你好 ✓\n\n".encode(), [ev("你好 ✓")]),
    "invalid UTF-8 replaced": (b"data: a\xffb\n\n", [ev("a\ufffdb")]),
    "truncated UTF-8 at line end replaced": (b"data: \xe4\xbd\n\n", [ev("\ufffd")]),
    "openai done sentinel": (b'data: {"a":1}\n\ndata: [DONE]\n\n', [ev('{"a":1}'), ev("[DONE]")]),
}


@pytest.mark.parametrize("data, expected", COMPLETE_CASES.values(), ids=COMPLETE_CASES.keys())
def test_complete_stream_every_chunking(data: bytes, expected: list[SseEvent]) -> None:
    assert_all_ways(data, expected)


@pytest.mark.parametrize("data, expected", COMPLETE_CASES.values(), ids=COMPLETE_CASES.keys())
def test_junk_after_the_end_changes_no_earlier_event(data: bytes, expected: list[SseEvent]) -> None:
    parser = SseParser()
    assert parser.feed(data + b"data: junk") == expected
    [junk] = parser.close()
    assert (junk.data, junk.incomplete) == ("junk", True)


CUT_CASES = {
    "event cut after a data line": (b"data: a\n\ndata: b\n", [ev("a"), SseEvent(data="b", incomplete=True)]),
    "event cut inside a data line": (
        b"event: x\ndata: a\ndata: par",
        [SseEvent(event="x", data="a\npar", incomplete=True)],
    ),
    "cut with CR pending": (b"data: b\r", [SseEvent(data="b", incomplete=True)]),
    "cut block without data dispatches nothing": (b"data: a\n\nid: 3\nevent: x\n", [ev("a")]),
    "cut comment dispatches nothing": (b": partial comm", []),
}


@pytest.mark.parametrize("data, expected", CUT_CASES.values(), ids=CUT_CASES.keys())
def test_event_cut_off_by_the_end_is_returned_incomplete(data: bytes, expected: list[SseEvent]) -> None:
    assert_all_ways(data, expected)


def test_cr_at_chunk_end_then_lf_is_one_line_end() -> None:
    parser = SseParser()
    assert parser.feed(b"data: a\r") == []
    assert parser.feed(b"\n") == []  # the LF completes the CRLF; it is not a blank line
    assert parser.feed(b"data: b\n") == []
    assert parser.feed(b"\n") == [ev("a\nb")]


def test_pending_cr_survives_an_empty_chunk() -> None:
    parser = SseParser()
    assert parser.feed(b"data: a\r") == []
    assert parser.feed(b"") == []
    assert parser.feed(b"\ndata: b\n\n") == [ev("a\nb")]


def test_cr_cr_across_chunks_dispatches_on_the_second_cr() -> None:
    parser = SseParser()
    assert parser.feed(b"data: a\r") == []
    assert parser.feed(b"\r") == [ev("a")]


def test_event_is_returned_by_the_chunk_that_completes_it() -> None:
    parser = SseParser()
    assert parser.feed(b"data: a\n") == []
    assert parser.feed(b"\ndata: b\n") == [ev("a")]
    assert parser.feed(b"\r\n") == [ev("b")]
    assert parser.close() == []


def test_trailing_cr_dispatches_without_waiting_for_the_next_chunk() -> None:
    assert SseParser().feed(b"data: a\r\r") == [ev("a")]


def test_multibyte_character_split_across_chunks_survives() -> None:
    encoded = "data: 你\n\n".encode()
    assert feed_in([encoded[:7], encoded[7:8], encoded[8:]]) == [ev("你")]


def test_bom_split_across_chunks_is_ignored() -> None:
    assert feed_in([b"\xef", b"\xbb", b"\xbfdata: x\n\n"]) == [ev("x")]


def test_pending_line_longer_than_the_cap_raises() -> None:
    parser = SseParser(max_line_bytes=10)
    parser.feed(b"data: 1234")  # 10 bytes pending: at the cap, allowed
    with pytest.raises(SseLineTooLong, match="longer than 10 bytes") as caught:
        parser.feed(b"5")
    assert caught.value.max_line_bytes == 10


def test_complete_line_longer_than_the_cap_raises_as_when_fed_bytewise() -> None:
    with pytest.raises(SseLineTooLong):
        SseParser(max_line_bytes=10).feed(b"data: 12345\n\n")
    with pytest.raises(SseLineTooLong):
        feed_in([bytes([b]) for b in b"data: 12345\n\n"], max_line_bytes=10)


def test_line_at_the_cap_is_accepted() -> None:
    assert feed_in([b"data: 1234\n\n"], max_line_bytes=10) == [ev("1234")]


def test_default_cap_is_64_mib() -> None:
    assert SseParser().max_line_bytes == 64 * 1024 * 1024


def test_close_is_idempotent_and_feed_after_close_raises() -> None:
    parser = SseParser()
    assert parser.feed(b"data: a") == []
    assert parser.close() == [SseEvent(data="a", incomplete=True)]
    assert parser.close() == []
    with pytest.raises(RuntimeError):
        parser.feed(b"\n\n")


def test_parse_sse_parses_a_whole_stream() -> None:
    assert parse_sse(b"data: a\n\ndata: b") == [ev("a"), SseEvent(data="b", incomplete=True)]


def test_event_is_a_frozen_value_with_defaults() -> None:
    event = SseEvent(data="x")
    assert (event.event, event.id, event.retry, event.incomplete) == ("message", None, None, False)
    with pytest.raises(AttributeError):
        event.data = "y"  # type: ignore[misc]


# Hypothesis: well-formed streams come back as written, however they are cut.

_names = st.text(
    st.characters(blacklist_characters="\r\n:", blacklist_categories=["Cs"]), min_size=1, max_size=8
)
_lines = st.text(st.characters(blacklist_characters="\r\n", blacklist_categories=["Cs"]), max_size=12)
_ends = st.sampled_from(["\n", "\r\n", "\r"])


@st.composite
def _streams(draw: st.DrawFn) -> tuple[bytes, list[SseEvent]]:
    text, expected = "", []
    for _ in range(draw(st.integers(0, 5))):
        name = draw(st.none() | _names.filter(lambda n: n.strip() == n))
        data_lines = draw(st.lists(_lines, min_size=1, max_size=3))
        if draw(st.booleans()):
            text += ":" + draw(_lines) + draw(_ends)
        if name is not None:
            text += f"event: {name}" + draw(_ends)
        for line in data_lines:
            text += f"data: {line}" + draw(_ends)
        # The blank line: after a CR, an LF would only complete that CRLF.
        text += draw(st.sampled_from(["\r", "\r\n"])) if text.endswith("\r") else draw(_ends)
        expected.append(SseEvent(event=name or "message", data="\n".join(data_lines)))
    return text.encode(), expected


def _cut(data: bytes, cuts: list[int]) -> list[bytes]:
    bounds = [0, *sorted({c % (len(data) + 1) for c in cuts}), len(data)]
    return [data[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]


@given(_streams(), st.lists(st.integers(0, 10_000), max_size=12))
def test_hypothesis_streams_survive_any_chunking(
    stream: tuple[bytes, list[SseEvent]], cuts: list[int]
) -> None:
    data, expected = stream
    assert feed_in(_cut(data, cuts)) == expected


@given(st.binary(max_size=200), st.lists(st.integers(0, 10_000), max_size=12))
def test_hypothesis_chunking_never_changes_the_events_of_any_bytes(data: bytes, cuts: list[int]) -> None:
    assert feed_in(_cut(data, cuts)) == feed_in([data])
