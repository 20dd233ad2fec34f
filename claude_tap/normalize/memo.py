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

from collections.abc import Callable
from itertools import islice
from typing import Generic, TypeVar

R = TypeVar("R")

# Enough for the distinct messages of a long session several times over; the oldest go first.
DEFAULT_MAX_ENTRIES = 200_000


class IdentityMemo(Generic[R]):
    """`fn(raw)`, computed once per distinct dict or list object `raw` (other values: every time)."""

    def __init__(self, fn: Callable[[object], R], max_entries: int = DEFAULT_MAX_ENTRIES) -> None:
        self._fn = fn
        self._max_entries = max_entries
        self._entries: dict[int, tuple[object, R]] = {}

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

    def _forget_oldest(self) -> None:
        # A quarter at a time (dicts keep insertion order): one eviction per call would walk the
        # slots freed before it each time, and a trace of distinct objects would pay that per call.
        for key in list(islice(self._entries, max(1, self._max_entries // 4))):
            del self._entries[key]
