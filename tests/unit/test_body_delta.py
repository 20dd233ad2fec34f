"""capture/body_delta: a request body that repeats an earlier one is parsed and stored as what is new,
and read back whole, equal to parsing it from scratch, whatever the text holds."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from claude_tap.capture.body_delta import (
    MIN_SAVED_BYTES,
    BodyHistory,
    BodyResolver,
    common_prefix_length,
    index_body,
)
from claude_tap.capture.body_sharing import BodySharer

SYSTEM = [{"type": "text", "text": "You are a coding agent. " * 40}]
TOOLS = [{"name": f"tool{n}", "description": "does a thing " * 30, "input_schema": {}} for n in range(3)]


def claude_body(turns: int) -> dict[str, Any]:
    """Claude Code's shape: the last message carries the cache breakpoint, which moves every turn."""
    messages: list[dict[str, Any]] = [
        {
            "role": "user" if n % 2 == 0 else "assistant",
            "content": [{"type": "text", "text": f"step {n} " * 60}],
        }
        for n in range(turns)
    ]
    messages[-1] = {
        **messages[-1],
        "content": [{**messages[-1]["content"][0], "cache_control": {"type": "x"}}],
    }
    return {"model": "claude-x", "messages": messages, "system": SYSTEM, "tools": TOOLS, "max_tokens": 8}


def stored_record(record_id: str, encoded: Any) -> dict[str, Any]:
    """The record as the trace holds it (through JSON text, as the reader gets it)."""
    request: dict[str, Any] = {"body": encoded.stored}
    if encoded.ref is not None:
        request["body_ref"] = encoded.ref
    return json.loads(json.dumps({"type": "exchange", "id": record_id, "request": request}))


def replay(texts: list[str], path: str = "/v1/messages") -> list[tuple[Any, dict[str, Any]]]:
    """Each text through a history (committed as written) and back through a resolver."""
    history, resolver = BodyHistory(), BodyResolver()
    out = []
    for n, text in enumerate(texts):
        encoded = history.encode(text.encode(), path, f"ex-{n}")
        history.commit(f"ex-{n}")
        out.append((encoded, resolver.resolve(stored_record(f"ex-{n}", encoded))))
    return out


def test_a_growing_conversation_is_stored_as_its_new_messages_and_read_back_whole() -> None:
    texts = [json.dumps(claude_body(turns)) for turns in range(1, 8)]
    results = replay(texts)
    for text, (encoded, resolved) in zip(texts, results, strict=True):
        assert encoded.value == json.loads(text)
        assert resolved["request"]["body"] == json.loads(text)
        assert "body_ref" not in resolved["request"]
    last, _ = results[-1]
    # The message that lost its cache breakpoint is stored again, with the new one: two messages.
    assert last.ref == {"base": "ex-5", "same": ["system", "tools"], "prefix": {"messages": 5}}
    assert len(last.stored["messages"]) == 2
    assert last.stored["system"] is None and last.stored["tools"] is None
    assert last.stored["model"] == "claude-x" and last.stored["max_tokens"] == 8  # small values stay readable


def test_repeated_values_are_the_very_objects_of_the_earlier_body() -> None:
    history = BodyHistory()
    first = history.encode(json.dumps(claude_body(3)).encode(), "/v1/messages", "ex-1")
    history.commit("ex-1")
    second = history.encode(json.dumps(claude_body(4)).encode(), "/v1/messages", "ex-2")
    assert second.value["system"] is first.value["system"]
    assert second.value["messages"][0] is first.value["messages"][0]
    assert second.value["messages"][1] is first.value["messages"][1]


def test_resolved_bodies_share_the_objects_of_their_base() -> None:
    results = replay([json.dumps(claude_body(turns)) for turns in (2, 3)])
    first, second = (resolved["request"]["body"] for _, resolved in results)
    assert second["tools"] is first["tools"]
    assert second["messages"][0] is first["messages"][0]


def test_a_body_that_saves_little_is_stored_whole() -> None:
    small = [json.dumps({"model": "m", "messages": [{"role": "user", "content": "hi " * n}]}) for n in (1, 2)]
    for encoded, _ in replay(small):
        assert encoded.ref is None and encoded.stored == encoded.value
    assert len(small[1]) < MIN_SAVED_BYTES


def test_a_body_that_was_never_written_is_never_a_base() -> None:
    history = BodyHistory()
    history.encode(json.dumps(claude_body(5)).encode(), "/v1/messages", "ex-1")
    history.discard("ex-1")  # its record failed to write: nothing may refer to it
    assert history.encode(json.dumps(claude_body(6)).encode(), "/v1/messages", "ex-2").ref is None


def test_bodies_on_other_paths_are_not_bases() -> None:
    history = BodyHistory()
    history.encode(json.dumps(claude_body(5)).encode(), "/v1/messages/count_tokens", "ex-1")
    history.commit("ex-1")
    assert history.encode(json.dumps(claude_body(6)).encode(), "/v1/messages", "ex-2").ref is None


def test_the_subagent_continues_its_own_conversation_not_the_latest_body() -> None:
    main = [json.dumps(claude_body(turns)) for turns in (4, 5)]
    sub = json.dumps({**claude_body(3), "system": [{"type": "text", "text": "subagent " * 50}]})
    history = BodyHistory()
    for n, text in enumerate([main[0], sub]):
        history.encode(text.encode(), "/v1/messages", f"ex-{n}")
        history.commit(f"ex-{n}")
    encoded = history.encode(main[1].encode(), "/v1/messages", "ex-2")
    assert encoded.ref is not None and encoded.ref["base"] == "ex-0"


@pytest.mark.parametrize(
    ("earlier", "later"),
    [
        ('{"n": [12, "x"], "pad": "%s"}', '{"n": [123, "x"], "pad": "%s"}'),  # 12 is a prefix of 123
        ('{"t": true, "pad": "%s"}', '{"t": true , "pad": "%s"}'),
        ('{"s": ["a\\"]", "b"], "pad": "%s"}', '{"s": ["a\\"],\\"b\\"]"], "pad": "%s"}'),
    ],
)
def test_a_value_is_reused_only_where_the_new_text_has_exactly_it(earlier: str, later: str) -> None:
    pad = "p" * MIN_SAVED_BYTES
    texts = [earlier % pad, later % pad]
    for text, (encoded, resolved) in zip(texts, replay(texts), strict=True):
        assert encoded.value == json.loads(text)
        assert resolved["request"]["body"] == json.loads(text)


def test_values_longer_than_the_decoding_window_and_multibyte_text_read_back_exactly() -> None:
    long_text = "é日🙂 " * 3000  # several windows of multi-byte characters
    texts = [
        json.dumps(
            {"messages": [{"content": long_text}], "n": 10**30, "pad": "p" * 3000}, ensure_ascii=False
        ),
        json.dumps(
            {
                "messages": [{"content": long_text}, {"content": long_text[:5]}],
                "n": 10**30,
                "pad": "p" * 3000,
            },
            ensure_ascii=False,
        ),
    ]
    for text, (encoded, resolved) in zip(texts, replay(texts), strict=True):
        assert encoded.value == json.loads(text)
        assert resolved["request"]["body"] == json.loads(text)


def test_invalid_utf8_is_refused_like_json_loads_refuses_it() -> None:
    with pytest.raises(ValueError):
        index_body(b'{"a": "\xff\xfe"}')


@pytest.mark.parametrize(
    "text",
    ["[1, 2]", '"text"', "{", '{"a": 1} tail', '{"a": 1, "a": 2}', '{"a": NaN}', '{"a": [1, }', ""],
)
def test_what_is_not_a_json_object_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        index_body(text.encode())


@pytest.mark.parametrize("text", ["[1, 2]", '"text"', "{", '{"a": 1} tail', '{"a": NaN}', '{"a": [1, }', ""])
def test_small_bodies_are_refused_like_large_ones(text: str) -> None:
    # Bodies under MIN_SAVED_BYTES take a shorter path (parsed whole, never a base): same refusals.
    with pytest.raises(ValueError):
        BodyHistory().encode(text.encode(), "/v1/messages", "ex-1")


def test_small_bodies_read_back_as_parsed_and_stay_whole() -> None:
    bodies = [{"model": "m", "messages": [{"role": "user", "content": "h\u00e9 " * n}]} for n in (1, 3, 5)]
    texts = [json.dumps(body) for body in bodies]
    assert all(len(text.encode()) < MIN_SAVED_BYTES for text in texts)
    for text, (encoded, resolved) in zip(texts, replay(texts), strict=True):
        assert encoded.ref is None and encoded.value == json.loads(text)
        assert resolved["request"]["body"] == json.loads(text)


def test_a_reference_to_a_missing_base_keeps_the_stored_part_and_says_why() -> None:
    record = {
        "type": "exchange",
        "id": "ex-9",
        "request": {
            "body": {"messages": [1]},
            "body_ref": {"base": "ex-1", "same": [], "prefix": {"messages": 2}},
        },
    }
    resolved = BodyResolver().resolve(record)
    assert resolved["request"]["body"] == {"messages": [1]}
    assert "ex-1" in resolved["request"]["body_ref_error"]


@pytest.mark.parametrize("ref", [None, {"base": 1}, {"base": "ex-1", "same": "system", "prefix": {}}])
def test_a_damaged_reference_never_raises(ref: Any) -> None:
    record = {"type": "exchange", "id": "ex-2", "request": {"body": {}, "body_ref": ref}}
    assert BodyResolver().resolve(record)["request"]["body_ref_error"]


# -- property: any sequence of edits reads back exactly --------------------------------------------

json_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(alphabet=st.sampled_from('ab"\\],}{[: \n\u00e9'), max_size=12),
)
json_value = st.recursive(
    json_leaf,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from("xyz"), inner, max_size=3),
    max_leaves=8,
)
edit = st.tuples(st.sampled_from(["append", "change", "drop", "respace", "newkey"]), json_value)


@settings(max_examples=150, deadline=None)
@given(
    st.dictionaries(st.sampled_from(["a", "b", "c"]), st.lists(json_value, max_size=5), min_size=1),
    st.lists(edit, max_size=8),
)
def test_every_body_of_an_edited_sequence_reads_back_as_parsed(
    start: dict[str, Any], edits: list[Any]
) -> None:
    body = {key: list(items) for key, items in start.items()}
    body["pad"] = "p" * MIN_SAVED_BYTES  # big enough to be shared
    texts = [json.dumps(body)]
    for kind, value in edits:
        key = sorted(k for k in body if k != "pad")[0]
        items = body[key]
        if kind == "append":
            items.append(value)
        elif kind == "change" and items:
            items[-1] = value
        elif kind == "drop" and items:
            items.pop(0)
        elif kind == "newkey":
            body["d"] = value
        spacing = (", ", ": ") if kind == "respace" else (",", ":")
        texts.append(json.dumps(body, separators=spacing))
    for text, (encoded, resolved) in zip(texts, replay(texts), strict=True):
        assert encoded.value == json.loads(text)
        assert resolved["request"]["body"] == json.loads(text)


@given(
    st.integers(min_value=0, max_value=70_000),
    st.binary(max_size=40),
    st.binary(max_size=40),
)
def test_common_prefix_length_is_the_shared_opening(shared: int, tail_a: bytes, tail_b: bytes) -> None:
    # Openings long enough to cross the gallop's 4 KB, 8 KB, ... blocks and the bisection after them.
    opening = bytes(range(256)) * (shared // 256) + bytes(shared % 256)
    a, b = opening + tail_a, opening + tail_b
    expected = 0
    while expected < min(len(a), len(b)) and a[expected] == b[expected]:
        expected += 1
    assert common_prefix_length(a, b) == expected


# -- whole bodies shared by value (the earlier claude-tap's traces) ---------------------------------


def whole_record(record_id: str, body: dict[str, Any], path: str = "/v1/messages") -> dict[str, Any]:
    return {"type": "exchange", "id": record_id, "request": {"path": path, "body": body}}


def test_whole_bodies_are_shared_by_value_and_read_back_equal() -> None:
    sharer, resolver = BodySharer(), BodyResolver()
    bodies = [json.loads(json.dumps(claude_body(turns))) for turns in range(1, 6)]  # distinct objects
    wholes = []
    for n, body in enumerate(bodies):
        shared, whole = sharer.share(whole_record(f"ex-{n}", body))
        wholes.append(whole)
        assert whole == body
        assert resolver.resolve(json.loads(json.dumps(shared)))["request"]["body"] == body
    last, _ = sharer.share(whole_record("ex-9", json.loads(json.dumps(claude_body(6)))))
    assert last["request"]["body_ref"] == {
        "base": "ex-4",
        "same": ["system", "tools"],
        "prefix": {"messages": 4},
    }
    assert len(last["request"]["body"]["messages"]) == 2
    # What repeats is the earlier body's very object, so the next comparison is an identity check.
    assert wholes[4]["messages"][0] is wholes[3]["messages"][0]


def test_a_body_that_repeats_nothing_stays_whole() -> None:
    sharer = BodySharer()
    sharer.share(whole_record("ex-1", {"messages": [{"role": "user", "content": "a"}]}))
    record = whole_record("ex-2", {"messages": [{"role": "user", "content": "b"}]})
    assert sharer.share(record)[0] is record


def test_records_that_are_not_whole_object_bodies_pass_through() -> None:
    sharer = BodySharer()
    for record in ({"type": "session"}, whole_record("ex-1", {}) | {"request": {"body": "text"}}):
        assert sharer.share(record) == (record, None)
