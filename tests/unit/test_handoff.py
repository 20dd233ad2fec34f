"""DeferredSink: exchanges reach the recorder a moment later, all of them, in order."""

from __future__ import annotations

import asyncio

from claude_tap.capture.exchange import Exchange
from claude_tap.proxy.handoff import DeferredSink


class ListSink:
    def __init__(self) -> None:
        self.got: list[int] = []

    def submit(self, exchange: Exchange) -> None:
        self.got.append(exchange.seq)


async def test_exchange_reaches_the_sink_after_the_delay_not_before() -> None:
    sink = ListSink()
    deferred = DeferredSink(sink, delay_s=0.05)
    deferred.submit(Exchange(seq=1, started_wall=0.0))
    await asyncio.sleep(0.01)
    assert sink.got == [] and deferred.waiting == 1
    await asyncio.sleep(0.1)
    assert sink.got == [1] and deferred.waiting == 0


async def test_flush_hands_over_everything_waiting_in_order_and_only_once() -> None:
    sink = ListSink()
    deferred = DeferredSink(sink, delay_s=10.0)
    for seq in (3, 1, 2):
        deferred.submit(Exchange(seq=seq, started_wall=0.0))
    deferred.flush()
    assert sink.got == [3, 1, 2]
    await asyncio.sleep(0.01)
    deferred.flush()
    assert sink.got == [3, 1, 2] and deferred.waiting == 0
