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


class BatchSink(ListSink):
    """Also groups what arrives within one callback of the loop: one group per hand-over."""

    def __init__(self) -> None:
        super().__init__()
        self.batches: list[list[int]] = []
        self._in_batch = False

    def submit(self, exchange: Exchange) -> None:
        if not self._in_batch:
            self._in_batch = True
            self.batches.append([])
            asyncio.get_running_loop().call_soon(self._end_batch)
        self.batches[-1].append(exchange.seq)
        super().submit(exchange)

    def _end_batch(self) -> None:
        self._in_batch = False


async def test_exchanges_ending_close_together_go_over_together_in_order() -> None:
    sink = BatchSink()
    deferred = DeferredSink(sink, delay_s=0.05)
    for seq in (1, 2, 3):
        deferred.submit(Exchange(seq=seq, started_wall=0.0))
        await asyncio.sleep(0.005)
    await asyncio.sleep(0.1)
    deferred.submit(Exchange(seq=4, started_wall=0.0))
    await asyncio.sleep(0.1)
    assert sink.batches == [[1, 2, 3], [4]] and deferred.waiting == 0
