"""Request bodies that repeat an earlier one: parsed and stored as what is new, read back whole.

An agent resends its whole conversation on every call: turn 400 of a Claude Code session carries the
same 1 MB of messages, system prompt and tools as turn 399, plus one tool result. Parsing, redacting,
normalizing and storing all of it again on every turn makes a session cost the square of its length.
This module makes the work follow the new content, on both sides of the trace file:

Writer side, `BodyHistory.encode(data, path, record_id)`: the body (a JSON object, as UTF-8 bytes) is
walked at its top level and, for each top-level list (`messages`, `input`, `contents`, `tools`), item by
item. A value whose bytes equal those of the same key (or the same list position) in an earlier body
is taken from that body without being decoded or parsed again (one memcmp); only what differs is
decoded and parsed, by the C scanner. The result is the parsed body, sharing every repeated value
with the earlier one, and its stored form: the earlier body named once, what is new written out.

    "request": {..., "body": {"model": "...", "messages": [<items after the first 57>], "system": null, ...},
                "body_ref": {"base": "ex-000041", "same": ["system", "tools"], "prefix": {"messages": 57}}}

`same` keys hold null in `body` (the base's value is meant), `prefix` lists hold only the items after
the first n of the base's list, every other key is written out. Small values are always written out,
so `model` and `max_tokens` read as they are. The base is itself resolved first, so references chain.

Reader side, `BodyResolver.resolve(record)`: the whole body back, sharing the base's objects (no copy
of the history), so everything downstream can recognize repeated values by identity.

Sound by construction: a value is reused only when its bytes start at a value boundary of the new body
(the walk knows where it stands) and equal the earlier value's bytes followed by a JSON delimiter. Any
surprise (not an object, a duplicate key, invalid JSON) gives up, and the caller parses the body whole.

This module knows JSON text and trace records; nothing of sockets, API formats or the trace file.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

JsonValue = Any

# Values shorter than this are written out even when they repeat: a reference would save nothing
# worth the loss of readability (`"model": null`).
MIN_SHARED_BYTES = 256
# A body is stored as a delta only when it saves at least this much; small requests stay whole.
MIN_SAVED_BYTES = 2048
# Earlier bodies kept as candidate bases: the main agent, a few subagents, side requests.
MAX_BASES = 8
# Trailing list items a conversation's next turn may change (the cache breakpoint moves off the last one).
CHANGING_TAIL_ITEMS = 2

_WHITESPACE = re.compile(rb"[ \t\n\r]*")
_SPACE = frozenset(b" \t\n\r")
_AFTER_VALUE = frozenset(b" \t\n\r,]}")
_QUOTE, _BACKSLASH, _COLON, _COMMA = ord('"'), ord("\\"), ord(":"), ord(",")
_OPEN_OBJECT, _CLOSE_OBJECT, _OPEN_LIST, _CLOSE_LIST = ord("{"), ord("}"), ord("["), ord("]")
# New values are decoded from UTF-8 in a window that starts this big and grows fourfold until the
# value ends inside it: only what is parsed is ever decoded, never the repeated history.
FIRST_WINDOW_BYTES = 4096


def _reject_constant(name: str) -> JsonValue:
    raise ValueError(f"{name} is not JSON")


_DECODER = json.JSONDecoder(parse_constant=_reject_constant)


class _NotIndexable(Exception):
    """The body is not a JSON object this walk can index; parse it whole instead."""


@dataclass(frozen=True, slots=True)
class _Span:
    """A parsed value and where its bytes lie: absolute for top-level values, relative to the
    start of its list for list items (so a list that moved keeps its items' spans)."""

    start: int
    end: int
    value: JsonValue


@dataclass(slots=True)
class IndexedBody:
    """A parsed JSON object body (UTF-8 bytes) with the spans of its top-level values and list items."""

    data: bytes
    value: dict[str, JsonValue]
    values: dict[str, _Span] = field(default_factory=dict)
    items: dict[str, list[_Span]] = field(default_factory=dict)


@dataclass(slots=True)
class _Reuse:
    same: list[str] = field(default_factory=list)  # keys whose whole value repeats the base's
    prefix: dict[str, int] = field(default_factory=dict)  # list keys -> leading items shared
    saved_bytes: int = 0


def index_body(data: bytes, base: IndexedBody | None = None) -> IndexedBody:
    """Parse `data`, a JSON object in UTF-8, reusing the values it repeats from `base`.

    Raises ValueError when it is not a JSON object or not valid JSON or UTF-8 (as json.loads would),
    or when it holds a duplicate top-level key (which json.loads resolves silently)."""
    try:
        indexed, _ = _walk(data, base)
    except _NotIndexable as error:
        raise ValueError(f"not an indexable JSON object: {error}") from None
    except IndexError:
        raise ValueError("the JSON text ends early") from None
    return indexed


def _skip(data: bytes, pos: int) -> int:
    if pos < len(data) and data[pos] in _SPACE:
        return _WHITESPACE.match(data, pos).end()  # type: ignore[union-attr]
    return pos


def _repeats(data: bytes, pos: int, base_data: bytes, start: int, end: int) -> bool:
    """Whether `data` holds, at the value boundary `pos`, exactly the value base_data[start:end].

    The delimiter check matters for numbers and literals only (12 is a prefix of 123); strings,
    objects and arrays end themselves. Compared through a memoryview: a slice of the base would be a
    copy of it, as long again as the comparison (1 MB and more for a long conversation's messages)."""
    if not data.startswith(memoryview(base_data)[start:end], pos):
        return False
    after = pos + end - start
    return after == len(data) or data[after] in _AFTER_VALUE


def _key(data: bytes, pos: int) -> tuple[str, int]:
    """The object key (a JSON string) at `pos`, and where it ends."""
    end = pos
    while True:
        end = data.index(b'"', end + 1)  # ValueError when it never ends
        backslashes = 0
        while data[end - 1 - backslashes] == _BACKSLASH:
            backslashes += 1
        if backslashes % 2 == 0:
            break
    key = json.loads(data[pos : end + 1])
    if not isinstance(key, str):
        raise _NotIndexable(f"a key was expected at {pos}")
    return key, end + 1


def _value(data: bytes, pos: int) -> tuple[JsonValue, int]:
    """Parse the JSON value at `pos`, decoding only the bytes it spans (and a little more): the
    window grows until the value ends inside it. Raises ValueError for invalid JSON or UTF-8."""
    size = FIRST_WINDOW_BYTES
    while True:
        stop = min(len(data), pos + size)
        window = _decoded(data, pos, stop)
        is_whole = stop == len(data)
        try:
            value, end = _DECODER.raw_decode(window)
        except ValueError:
            if is_whole:
                raise
            size *= 4  # the value (or a string in it) runs past the window
            continue
        if end < len(window) or is_whole:  # a number must not end merely where the window did
            return value, pos + len(window[:end].encode("utf-8"))
        size *= 4


def _decoded(data: bytes, start: int, stop: int) -> str:
    """data[start:stop] as text; a window cut inside a multi-byte character is cut before it."""
    for cut in range(4):
        try:
            return data[start : stop - cut].decode("utf-8")
        except UnicodeDecodeError:
            if stop == len(data) or cut == 3:
                raise
    raise AssertionError("unreachable")


def _walk(data: bytes, base: IndexedBody | None) -> tuple[IndexedBody, _Reuse]:
    pos = _skip(data, 0)
    if pos >= len(data) or data[pos] != _OPEN_OBJECT:
        raise _NotIndexable("the body is not a JSON object")
    indexed = IndexedBody(data, {})
    reuse = _Reuse()
    pos = _skip(data, pos + 1)
    if data[pos] == _CLOSE_OBJECT:
        pos += 1
    else:
        while True:
            if data[pos] != _QUOTE:
                raise _NotIndexable(f"a key was expected at {pos}")
            key, pos = _key(data, pos)
            if key in indexed.value:
                raise _NotIndexable(f"duplicate key {key!r}")
            pos = _skip(data, pos)
            if data[pos] != _COLON:
                raise _NotIndexable(f"':' was expected at {pos}")
            pos = _top_level_value(data, _skip(data, pos + 1), key, base, indexed, reuse)
            pos = _skip(data, pos)
            if data[pos] == _COMMA:
                pos = _skip(data, pos + 1)
                continue
            if data[pos] == _CLOSE_OBJECT:
                pos += 1
                break
            raise _NotIndexable(f"',' or '}}' was expected at {pos}")
    if _skip(data, pos) != len(data):
        raise _NotIndexable(f"extra data at {pos}")
    return indexed, reuse


def _top_level_value(
    data: bytes, pos: int, key: str, base: IndexedBody | None, indexed: IndexedBody, reuse: _Reuse
) -> int:
    """Parse (or reuse) the value of `key` at `pos`; record it in `indexed`; return where it ends."""
    earlier = base.values.get(key) if base is not None else None
    base_data = base.data if base is not None else b""
    is_repeat = earlier is not None and _repeats(data, pos, base_data, earlier.start, earlier.end)
    if base is not None and earlier is not None and is_repeat:
        end = pos + earlier.end - earlier.start
        indexed.value[key] = earlier.value
        indexed.values[key] = _Span(pos, end, earlier.value)
        if key in base.items:
            indexed.items[key] = base.items[key]  # relative spans: still right where the list moved
        if end - pos >= MIN_SHARED_BYTES:
            reuse.same.append(key)
            reuse.saved_bytes += end - pos
        return end
    if data[pos] == _OPEN_LIST:
        earlier_items = base.items.get(key) if base is not None and earlier is not None else None
        earlier_start = earlier.start if earlier is not None else 0
        items, spans, shared, end = _walk_list(data, pos, base_data, earlier_start, earlier_items or [])
        indexed.value[key] = items
        indexed.values[key] = _Span(pos, end, items)
        indexed.items[key] = spans
        if shared:
            saved = spans[shared - 1].end
            if saved >= MIN_SHARED_BYTES:
                reuse.prefix[key] = shared
                reuse.saved_bytes += saved
        return end
    value, end = _value(data, pos)
    indexed.value[key] = value
    indexed.values[key] = _Span(pos, end, value)
    return end


def _shared_items(data: bytes, pos: int, base_data: bytes, base_start: int, base_items: list[_Span]) -> int:
    """How many leading items of the list at `pos` repeat the base list's, found in a memcmp of the
    run of items (not a step per item): a conversation keeps all but its last few messages. A run
    whose last item differs (Claude Code moves its cache breakpoint off the last message or two) is
    ruled out by that item alone, so the whole run is compared once, not once per candidate."""
    if not base_items or data[pos] != base_data[base_start]:
        return 0
    for count in range(len(base_items), max(0, len(base_items) - 4), -1):
        last = base_items[count - 1]  # relative: the run of the first `count` items ends here
        if _repeats(data, pos + last.start, base_data, base_start + last.start, base_start + last.end) and (
            _repeats(data, pos, base_data, base_start, base_start + last.end)
        ):
            return count
    return 0


def _walk_list(
    data: bytes, pos: int, base_data: bytes, base_start: int, base_items: list[_Span]
) -> tuple[list[JsonValue], list[_Span], int, int]:
    """(items, their spans relative to `pos`, how many leading items repeat the base's, end)."""
    start = pos
    shared = _shared_items(data, pos, base_data, base_start, base_items)
    items: list[JsonValue] = [span.value for span in base_items[:shared]]
    spans: list[_Span] = base_items[:shared]  # relative to the list's start: the same here
    if shared:  # go on after the shared run, as after any item
        pos = _skip(data, start + spans[-1].end)
        if data[pos] == _CLOSE_LIST:
            return items, spans, shared, pos + 1
        if data[pos] != _COMMA:
            raise _NotIndexable(f"',' or ']' was expected at {pos}")
    pos = _skip(data, pos + 1)
    if not items and data[pos] == _CLOSE_LIST:
        return items, spans, 0, pos + 1
    while True:
        index = len(items)
        earlier = base_items[index] if index < len(base_items) else None
        if earlier is not None and _repeats(
            data, pos, base_data, base_start + earlier.start, base_start + earlier.end
        ):
            item = earlier.value
            end = pos + earlier.end - earlier.start
            if shared == index:
                shared += 1
        else:
            item, end = _value(data, pos)
        items.append(item)
        spans.append(_Span(pos - start, end - start, item))
        pos = _skip(data, end)
        if data[pos] == _COMMA:
            pos = _skip(data, pos + 1)
            continue
        if data[pos] == _CLOSE_LIST:
            return items, spans, shared, pos + 1
        raise _NotIndexable(f"',' or ']' was expected at {pos}")


# -- writer side ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EncodedBody:
    """A request body as the trace stores it: `stored` goes in `body`; `ref` (None for a whole body)
    in `body_ref`. `value` is the whole parsed body."""

    value: dict[str, JsonValue]
    stored: dict[str, JsonValue]
    ref: dict[str, JsonValue] | None


@dataclass(slots=True)
class _Entry:
    record_id: str
    path: str
    body: IndexedBody
    base_id: str | None  # the entry it continues, which it supersedes as a base once written
    saved_bytes: int = 0  # of its text, left out of the stored form (0 when stored whole)


class BodyHistory:
    """The recent request bodies of one session, as bases for the next ones.

    `encode` stages the new body under its record id; the trace writer `commit`s it once the record
    is safely written (only a written record may be referred to) or `discard`s it."""

    def __init__(self, max_bases: int = MAX_BASES) -> None:
        self._max_bases = max_bases
        self._recent: list[_Entry] = []  # most recently written or used first
        self._staged: dict[str, _Entry] = {}

    def encode(self, data: bytes, path: str, record_id: str) -> EncodedBody:
        """The body (JSON in UTF-8), parsed with what it repeats from the best earlier body and
        stored as a delta against it when that saves enough. Raises ValueError as `index_body` does."""
        if len(data) < MIN_SAVED_BYTES:
            # Too small to be stored as a delta, or to spare a later body more than it would save as
            # its base: parsed whole and forgotten (most side requests, a benchmark's small calls).
            value = _DECODER.decode(data.decode("utf-8"))
            if not isinstance(value, dict):
                raise ValueError("not a JSON object")
            return EncodedBody(value, value, None)
        base = self._best_base(data, path)
        try:
            indexed, reuse = _walk(data, base.body if base is not None else None)
        except _NotIndexable as error:
            raise ValueError(f"not an indexable JSON object: {error}") from None
        except IndexError:
            raise ValueError("the JSON text ends early") from None
        base_id = base.record_id if base is not None and _continues(base.body, reuse) else None
        entry = self._staged[record_id] = _Entry(record_id, path, indexed, base_id)
        if base is None or reuse.saved_bytes < MIN_SAVED_BYTES:
            return EncodedBody(indexed.value, indexed.value, None)
        entry.saved_bytes = reuse.saved_bytes
        stored: dict[str, JsonValue] = {}
        for key, value in indexed.value.items():
            if key in reuse.same:
                stored[key] = None
            elif key in reuse.prefix:
                stored[key] = value[reuse.prefix[key] :]
            else:
                stored[key] = value
        ref: dict[str, JsonValue] = {"base": base.record_id, "same": reuse.same, "prefix": reuse.prefix}
        return EncodedBody(indexed.value, stored, ref)

    def saved_bytes(self, record_id: str) -> int:
        """How much of the staged body's text its stored form leaves out (0 if none, or not staged)."""
        entry = self._staged.get(record_id)
        return entry.saved_bytes if entry is not None else 0

    def commit(self, record_id: str) -> None:
        entry = self._staged.pop(record_id, None)
        if entry is not None:
            # A conversation's next turn continues the newest body of it, never an older one: keep
            # one body per conversation, so choosing a base costs one comparison per conversation.
            self._recent = [earlier for earlier in self._recent if earlier.record_id != entry.base_id]
            self._recent.insert(0, entry)
            del self._recent[self._max_bases :]

    def discard(self, record_id: str) -> None:
        self._staged.pop(record_id, None)

    def _best_base(self, data: bytes, path: str) -> _Entry | None:
        """The earlier body on the same path that shares the longest opening with `data` (a
        conversation's previous turn opens like it; a subagent's or a side request's does not)."""
        candidates = [entry for entry in self._recent if entry.path == path]
        if len(candidates) == 1:  # nothing to choose between: the walk finds what it shares
            return candidates[0]
        best: _Entry | None = None
        best_length = 0
        for entry in candidates:
            length = common_prefix_length(data, entry.body.data)
            if length > best_length:
                best, best_length = entry, length
                if length >= len(entry.body.data) * 0.9:  # a continuation: no better base will come
                    break
        if best is not None:  # the base of the next turn is likely this one or the new body
            self._recent.remove(best)
            self._recent.insert(0, best)
        return best


def _continues(base: IndexedBody, reuse: _Reuse) -> bool:
    """Whether the new body is the next turn of the base's conversation, not a branch off it: it
    keeps every large value of the base (a list may change its last couple of items: Claude Code
    moves its cache breakpoint). A subagent with its own system prompt is a branch."""
    for key, span in base.values.items():
        if key in reuse.same or span.end - span.start < MIN_SHARED_BYTES:
            continue
        items, kept = base.items.get(key), reuse.prefix.get(key, 0)
        if items is None or kept == 0 or kept < len(items) - CHANGING_TAIL_ITEMS:
            return False
    return True


def common_prefix_length(a: bytes, b: bytes) -> int:
    """How many leading characters `a` and `b` share; costs about the shared length, not the total."""
    limit = min(len(a), len(b))
    view = memoryview(b)  # compared in place: slices of bytes would be copies
    low, step = 0, 4096
    while low < limit:  # gallop to the first block that differs
        high = min(limit, low + step)
        if not a.startswith(view[low:high], low):
            break
        low, step = high, step * 2
    else:
        return limit
    while high - low > 1:  # a[:low] == b[:low], and a[:high] != b[:high]
        middle = (low + high) // 2
        if a.startswith(view[low:middle], low):
            low = middle
        else:
            high = middle
    return low


# -- reader side ---------------------------------------------------------------------------------


class BodyResolver:
    """Rebuilds whole request bodies from `body_ref`s, record by record in file order.

    Keeps every exchange's whole body (its top-level dict and lists; the values inside are shared
    with the records they came from), since any earlier record may be a base."""

    def __init__(self) -> None:
        self._bodies: dict[str, dict[str, JsonValue]] = {}

    def resolve(self, record: JsonValue) -> JsonValue:
        """`record` with its request body whole: a new record (its request a new dict, `body_ref`
        gone) when it had a `body_ref`, else `record` itself. Never raises: a reference that cannot
        be followed leaves the stored body and says why in `request.body_ref_error`."""
        if not isinstance(record, dict) or record.get("type") != "exchange":
            return record
        request = record.get("request")
        if not isinstance(request, dict):
            return record
        if "body_ref" in request:
            request = self._resolved_request(request)
            record = {**record, "request": request}
        body = request.get("body")
        record_id = record.get("id")
        if isinstance(body, dict) and isinstance(record_id, str):
            self._bodies[record_id] = body
        return record

    def _resolved_request(self, request: dict[str, JsonValue]) -> dict[str, JsonValue]:
        out = {key: value for key, value in request.items() if key != "body_ref"}
        ref, body = request["body_ref"], request.get("body")
        problem = _ref_problem(ref, body)
        base = self._bodies.get(ref["base"]) if problem is None else None
        if problem is None and base is None:
            problem = f"the body continues {ref['base']!r}, which is not in this trace"
        if problem is not None or base is None or not isinstance(body, dict):
            out["body_ref_error"] = problem
            return out
        same, prefix = ref["same"], ref["prefix"]
        whole: dict[str, JsonValue] = {}
        for key, value in body.items():
            if key in same:
                whole[key] = base.get(key)
            elif key in prefix and isinstance(value, list):
                earlier = base.get(key)
                whole[key] = (earlier[: prefix[key]] if isinstance(earlier, list) else []) + value
            else:
                whole[key] = value
        out["body"] = whole
        return out


def _ref_problem(ref: JsonValue, body: JsonValue) -> str | None:
    """Why a `body_ref` cannot be followed (a hand-edited or damaged trace), or None."""
    if not isinstance(body, dict):
        return "the body has a body_ref but is not a JSON object"
    if not isinstance(ref, dict) or not isinstance(ref.get("base"), str):
        return "the body_ref names no base record"
    same, prefix = ref.get("same"), ref.get("prefix")
    if not isinstance(same, list) or not all(isinstance(key, str) for key in same):
        return "the body_ref's `same` is not a list of keys"
    if not isinstance(prefix, dict) or not all(
        isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in prefix.values()
    ):
        return "the body_ref's `prefix` is not a map of keys to counts"
    return None
