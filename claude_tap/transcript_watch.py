"""A client's own transcripts, imported into the trace while the run goes on (Cursor: its model traffic
is Connect/protobuf, its transcripts are the readable turns; clients/cursor_transcripts.py).

Every POLL_S the client's transcript files written since the run began are read from where the last
read stopped, off the event loop, and each new entry is handed to the recorder as a `transcript`
record (redacted there like everything else). A last read at the stop catches what the client wrote
as it exited. The recorder's queue never blocks the loop: what it refuses is counted as dropped.

This module knows neither file formats nor the proxy: the client config names the files.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from claude_tap.clients.base import TranscriptFiles
from claude_tap.clients.cursor_transcripts import TranscriptReader

POLL_S = 1.0
log = logging.getLogger("claude_tap")


class TranscriptWatch:
    def __init__(
        self, files: TranscriptFiles, home: Path, since: float, submit: Callable[[dict[str, Any]], object]
    ) -> None:
        self._files = files
        self._home = home
        self._since = since
        self._submit = submit
        self._reader = TranscriptReader()
        self._task: asyncio.Task[None] | None = None
        self.imported = 0

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._watch())

    async def stop(self) -> int:
        """Stop watching, read what was written last; the number of entries imported in all."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._poll()
        if self._reader.skipped:
            log.warning("%d transcript line(s) were not JSON objects and were skipped", self._reader.skipped)
        return self.imported

    async def _watch(self) -> None:
        while True:
            await self._poll()
            await asyncio.sleep(POLL_S)

    async def _poll(self) -> None:
        records = await asyncio.to_thread(lambda: self._reader.read_new(self._files(self._home, self._since)))
        for record in records:
            self._submit(record)
        self.imported += len(records)
