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


def test_map_reuses_the_results_of_a_list_that_begins_with_the_same_objects() -> None:
    calls: list[object] = []
    memo = IdentityMemo(lambda raw: calls.append(raw) or {"n": len(calls)})
    history = [{"m": n} for n in range(300)]
    first = memo.map(history[:299])
    assert len(calls) == 299
    memo._entries.clear()  # results come from the list, not from a lookup per message
    second = memo.map(history)  # the next turn: the same 299 objects, then one new message
    assert calls[-1] is history[299] and len(calls) == 300
    assert second[:299] == first and all(a is b for a, b in zip(second, first, strict=False))
    second.append("the caller's own list")  # what map returns is the caller's to change
    assert memo.map(history) == first + [{"n": 300}]


def test_map_of_a_rewritten_history_reuses_only_what_is_still_the_same() -> None:
    calls: list[object] = []
    memo = IdentityMemo(lambda raw: calls.append(raw) or len(calls))
    history = [{"m": n} for n in range(10)]
    memo.map(history)
    memo._entries.clear()
    compacted = [*history[:4], {"summary": True}, *history[4:6]]  # a summary replaces the middle
    assert memo.map(compacted) == [1, 2, 3, 4, 11, 12, 13]
    assert calls[10:] == compacted[4:]
    other = [{"m": "another conversation"}]  # interleaved conversations keep their own lists
    memo.map(other)
    memo._entries.clear()
    assert memo.map([*history, {"m": 10}])[:10] == list(range(1, 11))
