"""A playbook for exchanges: feed events as the proxy would, then check the record that falls out.

In the spirit of mitmproxy's Playbook, sized for us and kept literal: nothing is inserted that the
test did not write. Each step is one exchange event; chunks go in exactly as given. Times are
seconds since the request started (`at=`); a step without `at` comes 10 ms after the previous one.

    (
        Playbook()
        .request("POST", "/v1/messages", body=b'{"stream": true}')
        .response(200, [("content-type", "text/event-stream")])
        .chunk(b"data: {}\\n\\n")
        .finish()
        .expect_record({"transport": "sse", "response": {"events": [{"data": "{}"}]}})
    )

`expect_record` compares only the keys the expected dict names (recursively; lists must have the
same length) and prints a diff on mismatch. A playbook that is never checked fails its test: its
`__del__` raises, which pytest reports as an unraisable-exception warning, an error under
`filterwarnings = error`.
"""

from __future__ import annotations

import difflib
import json
import traceback
from collections.abc import Iterable
from typing import Any, Literal

from claude_tap.capture.exchange import (
    Exchange,
    ExchangeEvent,
    Failed,
    Finished,
    RequestChunk,
    RequestEnded,
    RequestStarted,
    ResponseChunk,
    ResponseStarted,
    WebSocketMessage,
)
from claude_tap.capture.record import build_record
from claude_tap.capture.records import ExchangeRecord

STEP_S = 0.010
START_AT = 500.0  # the monotonic clock at the request start; any value works, offsets subtract it
START_WALL = 1_700_000_000.0  # 2023-11-14T22:13:20+00:00


class _Missing:
    def __repr__(self) -> str:
        return "<missing>"


MISSING = _Missing()


class Playbook:
    def __init__(self, *, seq: int = 1, exchange_id: str = "ex-000001", started_wall: float = START_WALL):
        self.exchange = Exchange(seq=seq, started_wall=started_wall)
        self.exchange_id = exchange_id
        self._at = 0.0
        self._is_checked = False
        caller = traceback.extract_stack(limit=2)[0]
        self._created_at = f"{caller.filename}:{caller.lineno}"

    # Steps: each feeds one (or, for `request` with a body, a few) exchange events.

    def feed(self, *events: ExchangeEvent) -> Playbook:
        for event in events:
            self._at = event.at - START_AT
            self.exchange.feed(event)
        return self

    def request(
        self,
        method: str,
        path: str,
        *,
        upstream: str = "https://api.anthropic.com",
        headers: Iterable[tuple[str, str]] = (),
        body: bytes | Iterable[bytes] | None = None,
        websocket: bool = False,
        at: float | None = None,
    ) -> Playbook:
        """RequestStarted (upstream URL = upstream + path); with `body`, its chunks and RequestEnded
        at the same moment."""
        at = 0.0 if at is None else at
        self.feed(RequestStarted(START_AT + at, method, path, tuple(headers), upstream + path, websocket))
        if body is not None:
            for data in [body] if isinstance(body, bytes) else body:
                self.feed(RequestChunk(START_AT + at, data))
            self.feed(RequestEnded(START_AT + at))
        return self

    def response(
        self, status: int, headers: Iterable[tuple[str, str]] = (), *, at: float | None = None
    ) -> Playbook:
        return self.feed(ResponseStarted(self._next(at), status, tuple(headers)))

    def chunk(self, data: bytes, *, at: float | None = None) -> Playbook:
        return self.feed(ResponseChunk(self._next(at), data))

    def chunks(self, *chunks: bytes) -> Playbook:
        for data in chunks:
            self.chunk(data)
        return self

    def ws(
        self,
        direction: Literal["client", "server"],
        kind: Literal["text", "binary", "close"],
        data: bytes,
        *,
        at: float | None = None,
    ) -> Playbook:
        return self.feed(WebSocketMessage(self._next(at), direction, kind, data))

    def finish(self, *, at: float | None = None) -> Playbook:
        return self.feed(Finished(self._next(at)))

    def fail(
        self, reason: str, *, by_client: bool = False, by_stop: bool = False, at: float | None = None
    ) -> Playbook:
        return self.feed(Failed(self._next(at), reason, by_client, by_stop))

    def _next(self, at: float | None) -> float:
        return START_AT + (self._at + STEP_S if at is None else at)

    # Checks.

    def record(self) -> ExchangeRecord:
        """The whole record (counts as checking the playbook: the test asserts on it itself)."""
        self._is_checked = True
        return build_record(self.exchange, self.exchange_id)

    def expect_record(self, expected: dict[str, Any]) -> ExchangeRecord:
        """Assert that the record matches `expected` where `expected` has keys; return the record."""
        record = self.record()
        assert_matches(record, expected)
        return record

    def __del__(self) -> None:
        if not self._is_checked:
            raise AssertionError(f"Playbook created at {self._created_at} was never checked")


def assert_matches(actual: Any, expected: Any) -> None:
    """Assert `actual` equals `expected` on every key `expected` names; the message is a diff."""
    seen = project(actual, expected)
    if seen != expected:
        diff = difflib.unified_diff(
            _pretty(expected).splitlines(),
            _pretty(seen).splitlines(),
            "expected",
            "actual (only the keys expected names)",
            lineterm="",
        )
        raise AssertionError("record does not match:\n" + "\n".join(diff))


def project(actual: Any, expected: Any) -> Any:
    """`actual` cut down to the shape of `expected`: dicts keep only expected's keys (absent ones
    become MISSING), lists of the same length are projected item by item, other values stay."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        return {
            key: project(actual[key], value) if key in actual else MISSING for key, value in expected.items()
        }
    if isinstance(expected, list) and isinstance(actual, list) and len(expected) == len(actual):
        return [project(item, pattern) for item, pattern in zip(actual, expected, strict=True)]
    return actual


def _pretty(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, default=repr)
