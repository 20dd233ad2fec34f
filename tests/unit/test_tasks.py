"""proxy/tasks.py: named tasks that are held until done, logged when they fail, cancelled together."""

from __future__ import annotations

import asyncio
import gc
import logging

import pytest

from claude_tap.proxy.tasks import cancel_all, running, spawn


async def test_a_spawned_task_is_named_and_survives_garbage_collection() -> None:
    finished = asyncio.Event()

    async def work() -> None:
        await asyncio.sleep(0.01)
        finished.set()

    spawn(work(), "background-work")  # no reference kept by the caller
    gc.collect()
    assert [task.get_name() for task in running()] == ["background-work"]
    await asyncio.wait_for(finished.wait(), 1)
    await asyncio.sleep(0)  # let the done callback run
    assert running() == []


async def test_the_result_is_still_available_to_whoever_awaits_it() -> None:
    async def answer() -> int:
        return 42

    assert await spawn(answer(), "answer") == 42


async def test_a_failure_nobody_awaits_is_logged_with_the_task_name(caplog: pytest.LogCaptureFixture) -> None:
    async def boom() -> None:
        raise RuntimeError("kaput")

    task = spawn(boom(), "doomed")
    await asyncio.wait({task})
    await asyncio.sleep(0)
    (record,) = [r for r in caplog.records if r.name == "claude_tap.tasks"]
    assert record.levelno == logging.ERROR
    assert record.getMessage() == "task doomed failed"
    assert record.exc_info is not None and str(record.exc_info[1]) == "kaput"


async def test_cancel_all_stops_every_running_task_and_waits_for_them() -> None:
    cleaned_up: list[str] = []

    async def forever(name: str) -> None:
        try:
            await asyncio.sleep(3600)
        finally:
            cleaned_up.append(name)

    for name in ("a", "b"):
        spawn(forever(name), name)
    await asyncio.sleep(0)
    await cancel_all()
    assert sorted(cleaned_up) == ["a", "b"]
    assert running() == []


async def test_cancel_all_with_nothing_running_returns_at_once() -> None:
    await asyncio.wait_for(cancel_all(), 0.1)
