"""normalize/memo: a result per distinct object, the oldest forgotten first, never a stale one."""

from __future__ import annotations

import time

from claude_tap.normalize.memo import IdentityMemo


def test_the_same_object_is_computed_once_an_equal_one_again() -> None:
    calls: list[object] = []
    memo = IdentityMemo(lambda raw: calls.append(raw) or len(calls))
    message = {"role": "user"}
    assert memo(message) == memo(message) == 1
    assert memo({"role": "user"}) == 2  # equal but not the same object: its own result
    assert memo("text") == 3 and memo("text") == 4  # not a container: never memoized


def test_past_its_size_the_oldest_is_forgotten_in_constant_time() -> None:
    memo = IdentityMemo(lambda raw: id(raw), max_entries=1000)
    kept = [[n] for n in range(200_000)]  # alive, so no id is reused
    began = time.perf_counter()
    results = [memo(item) for item in kept]
    elapsed = time.perf_counter() - began
    assert results == [id(item) for item in kept]
    # Evicting from the front of a plain dict rescans its deleted slots: this took minutes that way.
    assert elapsed < 5.0, f"{elapsed:.1f} s for 200k calls"
    first = kept[0]
    assert memo(first) == id(first)  # forgotten and computed again, still right
