"""Whole request bodies turned into the delta form by comparing parsed values, on the way in.

Our own writer stores each request as what it adds to an earlier one (capture/body_delta.py), so
reading a long session costs its new content. Traces whose every line holds its whole body (the
earlier claude-tap's JSONL) would cost the whole history again on every line: redaction and
normalization walk it all. `BodySharer` gives them the same form: each body is compared with the
recent bodies of its path by value (C-speed `==`), and what repeats becomes the earlier body's very
object and a `body_ref`, exactly as the writer would have stored it.

This module knows JSON values and trace records; nothing of files, sockets or API formats.
"""

from __future__ import annotations

from typing import Any

from claude_tap.capture.body_delta import CHANGING_TAIL_ITEMS, MAX_BASES, MIN_SHARED_BYTES

JsonValue = Any

# An object with this many keys is worth a reference when a whole body is shared by value.
LARGE_OBJECT_KEYS = 8


class BodySharer:
    """Turns whole request bodies into the delta form, comparing parsed values: for traces whose
    every line holds its whole body (the earlier claude-tap's JSONL), so that redacting and
    normalizing them costs the new content too, as for our own traces.

    Each body is compared with the recent bodies of its path (C-speed `==`, which stops at the first
    `is` it meets, and every shared value is made the earlier body's very object, so the next
    comparison costs only what is new)."""

    def __init__(self, max_bases: int = MAX_BASES) -> None:
        self._max_bases = max_bases
        self._recent: dict[str, list[tuple[str, dict[str, JsonValue]]]] = {}  # path -> (id, body)

    def share(self, record: JsonValue) -> tuple[JsonValue, dict[str, JsonValue] | None]:
        """(`record` with its request body as a delta (a new record) when it repeats an earlier one,
        else `record` itself; the whole body made of shared objects, None when not an object)."""
        if not isinstance(record, dict) or record.get("type") != "exchange":
            return record, None
        request = record.get("request")
        record_id = record.get("id")
        if not isinstance(request, dict) or not isinstance(record_id, str) or "body_ref" in request:
            return record, None
        body = request.get("body")
        if not isinstance(body, dict):
            return record, None
        path = str(request.get("path", "")).partition("?")[0]
        recent = self._recent.setdefault(path, [])
        best = max(recent, key=lambda entry: _shared_count(body, entry[1]), default=None)
        whole, stored, ref = body, body, None
        if best is not None:
            whole, stored, same, prefix = _share_values(body, best[1])
            if same or prefix:
                ref = {"base": best[0], "same": same, "prefix": prefix}
        recent.insert(0, (record_id, whole))
        del recent[self._max_bases :]
        if ref is None:
            return record, whole
        return {**record, "request": {**request, "body": stored, "body_ref": ref}}, whole


def _shared_count(body: dict[str, JsonValue], earlier: dict[str, JsonValue]) -> int:
    """A cheap score of how much `body` continues `earlier`: matching first items of their lists."""
    score = 0
    for key, value in body.items():
        other = earlier.get(key)
        if isinstance(value, list) and isinstance(other, list) and value and other and value[0] == other[0]:
            score += 1 + (len(value) > 1 and len(other) > 1 and value[1] == other[1])
    return score


def _share_values(
    body: dict[str, JsonValue], earlier: dict[str, JsonValue]
) -> tuple[dict[str, JsonValue], dict[str, JsonValue], list[str], dict[str, int]]:
    """(whole body made of the earlier one's objects where equal, stored form, same keys, prefixes)."""
    whole: dict[str, JsonValue] = {}
    stored: dict[str, JsonValue] = {}
    same: list[str] = []
    prefix: dict[str, int] = {}
    for key, value in body.items():
        other = earlier.get(key, _MISSING)
        if isinstance(value, list) and isinstance(other, list):
            count = _equal_prefix(value, other)
            if count and count == len(value) == len(other):
                whole[key], stored[key] = other, None
                same.append(key)
            elif count:
                whole[key], stored[key] = other[:count] + value[count:], value[count:]
                prefix[key] = count
            else:
                whole[key] = stored[key] = value
        elif _is_large(value) and value == other:
            whole[key], stored[key] = other, None
            same.append(key)
        else:
            whole[key] = stored[key] = value
    return whole, stored, same, prefix


_MISSING = object()


def _equal_prefix(items: list[JsonValue], earlier: list[JsonValue]) -> int:
    """How many leading items of `items` equal `earlier`'s: a conversation keeps all but its last
    few, so the longest candidates are tried first, each one C-speed comparison."""
    longest = min(len(items), len(earlier))
    for count in range(longest, max(0, longest - CHANGING_TAIL_ITEMS - 2), -1):
        if items[:count] == earlier[:count]:
            return count
    count = 0
    while count < longest and items[count] == earlier[count]:
        count += 1
    return count


def _is_large(value: JsonValue) -> bool:
    # A rough size without serializing: small values are written out, as the writer does.
    if isinstance(value, str):
        return len(value) >= MIN_SHARED_BYTES
    return isinstance(value, dict) and len(value) >= LARGE_OBJECT_KEYS
