"""The viewer's data: a session's turns with every repeated part stored once, compressed for the page.

Each request repeats the whole conversation so far, so a 200-turn session holds the same messages
thousands of times. `build_payload` interns by content: each distinct message, system prompt (block
list), tool list and top-level request-body value is stored once in a table, and a turn refers to it
by position. The page rebuilds a full turn from these references only when it shows that turn.

Payload shape (`version` 1):

    {"version": 1, "info": SessionInfo,
     "messages": [Message], "systems": [[Block]], "toolsets": [[Tool]], "values": [JSON],
     "turns": [PayloadTurn], "analysis": {"threads", "turns"}}

`analysis` is normalize/analysis.py's `page_analysis`: the threads, and each turn's context
composition and cache diagnosis.

A PayloadTurn is a Turn without `system`, `messages`, `tools`, `output` and `request_body`, plus:

    system_ref     index into systems
    message_refs   indexes into messages, in order
    tools_ref      index into toolsets
    output_ref     index into messages: {"role": "assistant", "content": output}, so a response is
                   stored once with the same message repeated in the next request
    request_parts  when request_body is an object: [[key, ref]] in key order, where ref is an index
                   into values, or a list of indexes (one per item) when the value is a list
    request_body   otherwise, as is

A long string (SHARED_STRING_MIN_CHARS and more) found in more than one place (a tool result in
its normalized message and again in the raw request value, a tool description in `toolsets` and in
the raw `tools`, an image in both) is stored once in `strings`. Where it was, the JSON holds "" and
`string_refs` says what goes back there, out of band, so no in-band marker can clash with trace data:

    "strings": [str], "string_refs": {table: [[entry index, path, string index]]}

where table is messages, systems, toolsets, values or turns (for a turn's `response_body`), and
path is the list of keys and list indexes from the entry down to the string.

`encode_payload` gives base64(gzip(json)); the page decodes it with DecompressionStream('gzip').
`expand_turns` is the Python mirror of the page's reassembly (tests and tools use it).

This module knows nothing about HTML, the browser, trace files or API formats.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import math
from collections.abc import Iterator
from typing import Any

from claude_tap.normalize.analysis import page_analysis
from claude_tap.normalize.model import JsonValue, SessionInfo, Turn

PAYLOAD_VERSION = 1
SHARED_STRING_MIN_CHARS = 256
_INTERNED_FIELDS = ("system", "messages", "tools", "output", "request_body")
_STRING_TABLES = ("messages", "systems", "toolsets", "values")


class _Table:
    """Values stored once each, found again by the hash of their JSON text (or, for the very object
    seen before, such as a tool list repeated turn after turn, by its identity: no serializing)."""

    def __init__(self) -> None:
        self.items: list[JsonValue] = []
        self._positions: dict[bytes, int] = {}
        self._by_identity: dict[int, tuple[JsonValue, int]] = {}

    def ref(self, value: JsonValue) -> int:
        seen = self._by_identity.get(id(value))
        if seen is not None and seen[0] is value:
            return seen[1]
        position = self._ref_by_content(value)
        if isinstance(value, dict | list):  # kept alive beside its position, so its id stays its own
            self._by_identity[id(value)] = (value, position)
        return position

    def _ref_by_content(self, value: JsonValue) -> int:
        text = _dumps(value, ensure_ascii=False)
        key = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()
        position = self._positions.get(key)
        if position is None:
            position = self._positions[key] = len(self.items)
            self.items.append(value)
        return position


class _ListInterner:
    """Interns the items of lists that grow turn by turn (messages, request `messages`/`input`/...).

    Serializing every message of every turn to hash it was most of the build time. Each turn repeats
    the previous turn of its conversation, so an item equal (==, a C-speed walk) to the item at the
    same position in that turn takes its ref without being serialized again.
    """

    def __init__(self, table: _Table) -> None:
        self.table = table
        self._last: dict[str, tuple[list[JsonValue], list[int]]] = {}  # by conversation + slot

    def refs(self, items: list[JsonValue], slot: str) -> list[int]:
        last_items, last_refs = self._last.get(slot, ([], []))
        shared = _shared_run(items, last_items)
        refs = last_refs[:shared]
        for position in range(shared, len(items)):
            item = items[position]
            is_repeat = position < len(last_items) and _same(item, last_items[position])
            refs.append(last_refs[position] if is_repeat else self.table.ref(item))
        self._last[slot] = (items, refs)
        return refs


def _shared_run(items: list[JsonValue], last: list[JsonValue]) -> int:
    """How many leading items `items` shares with `last` (by `_same`), when all but its last few do,
    as a turn's messages repeat the previous turn's: found by comparing whole runs in C (list == tries
    identity first), not by a Python step per item, which made a 400-turn page's build quadratic.
    0 when no such run is found; the caller then compares item by item."""
    longest = min(len(items), len(last))
    for count in range(longest, max(0, longest - 4), -1):
        run, last_run = items[:count], last[:count]
        if run == last_run and list(map(type, run)) == list(map(type, last_run)):
            return count
    return 0


def _same(a: JsonValue, b: JsonValue) -> bool:
    # The type check keeps 1 and true apart at the top; nested, == still equates them, which only
    # matters if a conversation re-sent an item changed in nothing but that, at the same position.
    return a is b or (type(a) is type(b) and a == b)


def _value_ref(values: _ListInterner, value: JsonValue, slot: str) -> int | list[int]:
    # A list (messages, input, contents, tools) grows by a few items per turn: intern item by item.
    if isinstance(value, list):
        return values.refs(value, slot)
    return values.table.ref(value)


def build_payload(info: SessionInfo, turns: list[Turn]) -> dict[str, Any]:
    """The session with each distinct part stored once (see the module docstring for the shape)."""
    systems, toolsets = _Table(), _Table()
    messages, values = _ListInterner(_Table()), _ListInterner(_Table())
    payload_turns = []
    for turn in turns:
        conversation = turn["conversation"]
        compact: dict[str, JsonValue] = {k: v for k, v in turn.items() if k not in _INTERNED_FIELDS}
        compact["system_ref"] = systems.ref(turn["system"])
        compact["message_refs"] = messages.refs(turn["messages"], conversation)
        compact["tools_ref"] = toolsets.ref(turn["tools"])
        compact["output_ref"] = messages.table.ref({"role": "assistant", "content": turn["output"]})
        body = turn["request_body"]
        if isinstance(body, dict):
            compact["request_parts"] = [
                [key, _value_ref(values, value, f"{conversation}\0{key}")] for key, value in body.items()
            ]
        else:
            compact["request_body"] = body
        payload_turns.append(compact)
    payload = {
        "version": PAYLOAD_VERSION,
        "info": info,
        "messages": messages.table.items,
        "systems": systems.items,
        "toolsets": toolsets.items,
        "values": values.table.items,
        "turns": payload_turns,
        "analysis": page_analysis(turns),  # issue 14
    }
    _share_long_strings(payload)
    return payload


# -- long strings --------------------------------------------------------------------------------

JsonPath = list[str | int]


def _share_long_strings(payload: dict[str, Any]) -> None:
    """Moves long strings that occur more than once into payload["strings"] (see the docstring).

    Entries are rebuilt along the changed paths only: the caller's turns are never modified.
    """
    places = [(table, n, entry) for table in _STRING_TABLES for n, entry in enumerate(payload[table])]
    places += [
        ("turns", n, {"response_body": t.get("response_body")}) for n, t in enumerate(payload["turns"])
    ]
    counts: dict[str, int] = {}
    for _, _, entry in places:
        for _, text in _long_strings(entry, []):
            counts[text] = counts.get(text, 0) + 1
    positions: dict[str, int] = {}
    refs: dict[str, list[list[Any]]] = {}
    for table, n, entry in places:
        for path, text in _long_strings(entry, []):
            if counts[text] < 2:
                continue
            position = positions.setdefault(text, len(positions))
            refs.setdefault(table, []).append([n, path, position])
            payload[table][n] = _with_value_at(payload[table][n], path, "")
    payload["strings"] = list(positions)
    payload["string_refs"] = refs


def _long_strings(value: JsonValue, path: JsonPath) -> list[tuple[JsonPath, str]]:
    if isinstance(value, str):
        return [(path, value)] if len(value) >= SHARED_STRING_MIN_CHARS else []
    found: list[tuple[JsonPath, str]] = []
    if isinstance(value, dict):
        for key, item in value.items():
            found += _long_strings(item, [*path, key])
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _long_strings(item, [*path, index])
    return found


def _with_value_at(value: JsonValue, path: JsonPath, new: JsonValue) -> JsonValue:
    """A copy of `value` with `new` at `path`, sharing everything off the path."""
    if not path:
        return new
    copy = dict(value) if isinstance(value, dict) else list(value)
    copy[path[0]] = _with_value_at(value[path[0]], path[1:], new)  # type: ignore[index]
    return copy


def _restore_strings(payload: dict[str, Any]) -> dict[str, Any]:
    restored = dict(payload)
    for table in [*_STRING_TABLES, "turns"]:
        restored[table] = list(payload[table])
    for table, refs in payload.get("string_refs", {}).items():
        for n, path, position in refs:
            restored[table][n] = _with_value_at(restored[table][n], path, payload["strings"][position])
    return restored


def expand_turns(payload: dict[str, Any]) -> list[Turn]:
    """The turns back from a payload, exactly as they were given to `build_payload`."""
    payload = _restore_strings(payload)
    messages, values = payload["messages"], payload["values"]
    turns = []
    for compact in payload["turns"]:
        turn = {k: v for k, v in compact.items() if not k.endswith(("_ref", "_refs", "_parts"))}
        turn["system"] = payload["systems"][compact["system_ref"]]
        turn["messages"] = [messages[ref] for ref in compact["message_refs"]]
        turn["tools"] = payload["toolsets"][compact["tools_ref"]]
        turn["output"] = messages[compact["output_ref"]]["content"]
        if "request_parts" in compact:
            turn["request_body"] = {
                key: [values[r] for r in ref] if isinstance(ref, list) else values[ref]
                for key, ref in compact["request_parts"]
            }
        turns.append(turn)
    return turns  # type: ignore[return-value]


def encode_payload(payload: dict[str, Any]) -> str:
    """base64 of gzip of the JSON text (UTF-8): ASCII that can sit inside an HTML element.

    The text is compressed as it is made, a table entry or a turn at a time: the whole of it (60 MB
    for 25,000 small turns, then as much again encoded) never sits in memory to make a page of 1 MB."""
    compressed = io.BytesIO()
    # mtime=0: the same session always gives the same bytes.
    # Level 6: within 2% of level 9 on traces, at a third of the time.
    with gzip.GzipFile(fileobj=compressed, mode="wb", compresslevel=6, mtime=0) as out:
        for piece in _json_pieces(payload, split_depth=2):
            out.write(piece)  # gathering pieces into larger writes saved 7 %: not worth the code
    return base64.b64encode(compressed.getvalue()).decode("ascii")


def _json_pieces(value: JsonValue, split_depth: int) -> Iterator[bytes]:
    """The compact JSON text of `value` as UTF-8, in pieces that join to it: objects down to
    `split_depth` levels are written key by key, and a list in them item by item."""
    if isinstance(value, dict) and split_depth > 0 and value and all(isinstance(k, str) for k in value):
        opening = b"{"
        for key, item in value.items():
            yield opening + _json_bytes(key) + b":"
            opening = b","
            yield from _json_pieces(item, split_depth - 1)
        yield b"}"
    elif isinstance(value, list) and value:
        opening = b"["
        for item in value:
            yield opening + _json_bytes(item)
            opening = b","
        yield b"]"
    else:
        yield _json_bytes(value)


def _json_bytes(value: JsonValue) -> bytes:
    try:
        return _dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate from the trace: \u escapes are always valid UTF-8
        return _dumps(value, ensure_ascii=True).encode("ascii")


def decode_payload(encoded: str) -> dict[str, Any]:
    """The inverse of `encode_payload`."""
    payload: dict[str, Any] = json.loads(gzip.decompress(base64.b64decode(encoded)))
    return payload


def _dumps(value: JsonValue, *, ensure_ascii: bool) -> str:
    try:
        return json.dumps(value, ensure_ascii=ensure_ascii, separators=(",", ":"), allow_nan=False)
    except ValueError:  # NaN or Infinity (json.loads accepts them) would break JSON.parse in the page
        return json.dumps(_finite(value), ensure_ascii=ensure_ascii, separators=(",", ":"))


def _finite(value: JsonValue) -> JsonValue:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # "nan", "inf": still visible, never silently null
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value
