"""A child process for the crash test, and the small record builder the writer tests share.

    python -m tests.unit.writer_child TRACE_PATH N

writes a session and N exchange records through a TraceWriter, prints "written N" once they are
on disk, then waits to be killed (the test sends SIGKILL, so the zstd frame is never finished).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from claude_tap.capture.exchange import (
    Exchange,
    Finished,
    RequestChunk,
    RequestStarted,
    ResponseChunk,
    ResponseStarted,
)
from claude_tap.capture.redact import Redactor
from claude_tap.store.writer import TraceWriter
from tests.factories import session_record

SESSION = session_record(argv=["-p", "hello"], started_at="2025-03-01T10:00:00.000+00:00", id="abc123")


def make_exchange(seq: int, body: bytes = b'{"model":"m"}', headers: tuple = ()) -> Exchange:
    exchange = Exchange(seq=seq, started_wall=1_740_000_000.0 + seq)
    exchange.feed(
        RequestStarted(
            at=10.0,
            method="POST",
            path="/v1/messages",
            headers=(("content-type", "application/json"), *headers),
            upstream_url="https://api.anthropic.com/v1/messages",
        )
    )
    exchange.feed(RequestChunk(at=10.001, data=body))
    exchange.feed(ResponseStarted(at=10.2, status=200, headers=(("content-type", "application/json"),)))
    exchange.feed(ResponseChunk(at=10.3, data=b'{"ok":true}'))
    exchange.feed(Finished(at=10.5))
    return exchange


def build_simple_record(exchange: Exchange, record_id: str) -> dict[str, Any]:
    """A small, honest stand-in for capture.record.build_record: the request body kept as text."""
    request = exchange.request
    assert request is not None and exchange.response is not None
    body = b"".join(chunk.data for chunk in exchange.request_chunks)
    return {
        "type": "exchange",
        "id": record_id,
        "seq": exchange.seq,
        "transport": exchange.transport.value,
        "started_at": "2025-03-01T10:00:00.000+00:00",
        "ttfb_ms": exchange.offset_ms(exchange.response.at),
        "duration_ms": exchange.offset_ms(exchange.finished_at or 0.0),
        "request": {
            "method": request.method,
            "url": request.upstream_url,
            "path": request.path,
            "headers": dict(request.headers),
            "body_text": body.decode(),
            "body_bytes": len(body),
        },
        "response": {
            "status": exchange.response.status,
            "headers": dict(exchange.response.headers),
            "body_bytes": 11,
            "body": {"ok": True},
            "complete": True,
        },
        "upstream": "https://api.anthropic.com",
        "error": None,
    }


def main(path: str, count: int) -> None:
    writer = TraceWriter(Path(path), SESSION, Redactor(), build=build_simple_record)
    for seq in range(1, count + 1):
        writer.submit(make_exchange(seq, body=f'{{"turn":{seq}}}'.encode()))
    while writer.stats.written < count:
        time.sleep(0.005)
    print(f"written {count}", flush=True)
    time.sleep(60)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
