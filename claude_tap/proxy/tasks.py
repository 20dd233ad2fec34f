"""The one place that starts background tasks.

The event loop holds tasks weakly, so a task nobody references can be garbage-collected mid-flight.
`spawn` names each task (it shows up in debug output and in `asyncio.all_tasks()`), keeps a strong
reference until the task is done, and logs an exception nobody else will see. Bare
`asyncio.create_task` is banned elsewhere by ruff (banned-api) so every task goes through here.

This module knows nothing about proxies, exchanges or clients.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

_log = logging.getLogger("claude_tap.tasks")
_running: set[asyncio.Task[Any]] = set()


def spawn(coro: Coroutine[Any, Any, T], name: str) -> asyncio.Task[T]:
    """Start `coro` as a task called `name` on the running loop and hold it until it is done."""
    task = asyncio.create_task(coro, name=name)  # noqa: TID251 - this is the sanctioned wrapper
    _running.add(task)
    task.add_done_callback(_forget)
    return task


def _forget(task: asyncio.Task[Any]) -> None:
    _running.discard(task)
    if task.cancelled():
        return
    exc = task.exception()  # also marks it retrieved, so asyncio does not warn at exit
    if exc is not None:
        _log.error("task %s failed", task.get_name(), exc_info=exc)


def running() -> list[asyncio.Task[Any]]:
    """Tasks started by `spawn` on the running loop that have not finished yet."""
    loop = asyncio.get_running_loop()
    return [task for task in _running if task.get_loop() is loop]


async def cancel_all() -> None:
    """Cancel every spawned task of the running loop and wait until they have all stopped."""
    tasks = running()
    for task in tasks:
        task.cancel()
    if tasks:
        await asyncio.gather(*tasks, return_exceptions=True)
