"""Normalized values found again by the identity of the raw value they came from.

A session's requests repeat its history, and the trace reader hands out the repeated messages, system
prompts and tool lists as the very same objects turn after turn (capture/body_delta.py). Normalizing
is a pure function of a raw value, so each distinct object is normalized once: turn 400 then costs
its new messages, not its whole history, and equal parts of consecutive turns are the same objects,
which the conversation linker and the viewer payload recognize with an `is` test.

Rules for callers: the raw value must not be changed after it was normalized (trace records are
read-only here), and a memoized result is shared: copy it before changing it.
The memo keeps the raw object alive beside its result, so its id cannot be reused by another object.

This module knows nothing about API formats or records.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from itertools import islice
from typing import Generic, TypeVar

R = TypeVar("R")

# Enough for the distinct messages of a long session several times over; the oldest go first.
DEFAULT_MAX_ENTRIES = 200_000
# Lists `map` remembers: one per conversation that interleaves with others (main agent, subagents,
# side requests), several times over.
RECENT_LISTS = 8


class IdentityMemo(Generic[R]):
    """`fn(raw)`, computed once per distinct dict or list object `raw` (other values: every time)."""

    def __init__(self, fn: Callable[[object], R], max_entries: int = DEFAULT_MAX_ENTRIES) -> None:
        self._fn = fn
        self._max_entries = max_entries
        self._entries: dict[int, tuple[object, R]] = {}
        self._recent_lists: list[tuple[tuple[object, ...], tuple[R, ...]]] = []

    def __call__(self, raw: object) -> R:
        found = self._entries.get(id(raw))
        if found is not None and found[0] is raw:  # first: the common case in a long session
            return found[1]
        result = self._fn(raw)
        if isinstance(raw, dict | list):
            if len(self._entries) >= self._max_entries:
                self._forget_oldest()
            self._entries[id(raw)] = (raw, result)
        return result

    def map(self, items: Sequence[object]) -> list[R]:
        """`[self(item) for item in items]`, with the results of a recent list that begins with the very
        same objects reused: turn 400 of a conversation repeats turns 1-399's messages, and even a
        memo lookup per message, cold in the cache, costs more than everything new in the turn."""
        reused: tuple[R, ...] = ()
        for known_items, known_results in self._recent_lists:
            shared = _shared_prefix(known_items, items)
            if shared > len(reused):
                reused = known_results[:shared]
        results = [*reused, *(self(item) for item in items[len(reused) :])]
        if len(items) > len(reused) or not self._recent_lists:  # a list seen whole stays where it is
            self._recent_lists.insert(0, (tuple(items), tuple(results)))
            del self._recent_lists[RECENT_LISTS:]
        return results

    def _forget_oldest(self) -> None:
        # A quarter at a time (dicts keep insertion order): one eviction per call would walk the
        # slots freed before it each time, and a trace of distinct objects would pay that per call.
        for key in list(islice(self._entries, max(1, self._max_entries // 4))):
            del self._entries[key]


def _shared_prefix(known: tuple[object, ...], items: Sequence[object]) -> int:
    """How many leading items of `items` are the very objects that `known` begins with."""
    if len(known) <= len(items) and all(map(operator.is_, known, items)):  # the usual case, in C
        return len(known)
    shared = 0
    for old, new in zip(known, items, strict=False):
        if old is not new:
            break
        shared += 1
    return shared
