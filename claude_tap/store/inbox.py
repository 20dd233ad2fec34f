"""Bytes taken off a pipe as soon as they arrive, held for a reader that may lag far behind.

The recorder process reads its pipe from the tap in one thread and does the recording in another, at
idle priority (store/recorder_main.py). Left in the pipe, a backlog would stay in the tap's process,
on the agent's path (the pipe holds 1 MB; the rest waits in the tap's queue); taken out at once, it
waits here, as the raw frames it came in, bounded by `max_bytes` (past it the pipe fills and the tap's
own bounded queue takes over), except that a read larger than the bound is always let through: one
frame bigger than the bound must still arrive, as the tap lets one exchange past its own.

`read(n)` is a blocking file's: exactly n bytes, fewer only at the end. The pieces are taken as they
came, with an offset into the first, so a frame's 16-byte head does not copy the megabyte behind it.

This module knows nothing about frames, pipes or records.
"""

from __future__ import annotations

import threading
from collections import deque


class Inbox:
    def __init__(self, max_bytes: int) -> None:
        self._max_bytes = max_bytes
        self._pieces: deque[bytes] = deque()
        self._offset = 0  # of the first piece, already read
        self._size = 0  # bytes held and not yet read
        self._ended = False  # no more bytes will come
        self._abandoned = False  # the reader is gone: bytes put now are thrown away
        self._wanted = 0  # bytes a waiting read asks for (it may ask for more than max_bytes)
        self._changed = threading.Condition()

    def put(self, data: bytes) -> bool:
        """Hold `data` for the reader; waits while `max_bytes` are held. False once the reader is gone."""
        with self._changed:
            while self._size >= max(self._max_bytes, self._wanted) and not self._abandoned:
                self._changed.wait()
            if self._abandoned:
                return False
            self._pieces.append(data)
            self._size += len(data)
            self._changed.notify_all()
            return True

    def end(self) -> None:
        """No more bytes: a reader waiting for more gets what is left."""
        with self._changed:
            self._ended = True
            self._changed.notify_all()

    def abandon(self) -> None:
        """The reader stops reading: a waiting `put` returns False, and every later one."""
        with self._changed:
            self._abandoned = True
            self._pieces.clear()
            self._size = 0
            self._changed.notify_all()

    def read(self, n: int) -> bytes:
        """The next n bytes, waiting for them; fewer only when the bytes have ended."""
        with self._changed:
            while self._size < n and not self._ended:
                self._wanted = n
                self._changed.notify_all()  # a writer held back by the bound may go on
                self._changed.wait()
            self._wanted = 0
            wanted = min(n, self._size)
            taken: list[bytes] = []
            while wanted:
                piece, start = self._pieces[0], self._offset
                left = len(piece) - start
                if left <= wanted:
                    taken.append(piece[start:] if start else piece)
                    self._pieces.popleft()
                    self._offset = 0
                else:
                    taken.append(piece[start : start + wanted])
                    self._offset += wanted
                    left = wanted
                self._size -= left
                wanted -= left
            self._changed.notify_all()  # a full inbox has room again
        return taken[0] if len(taken) == 1 else b"".join(taken)
