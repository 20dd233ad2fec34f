"""Spans sent while the agent runs: `--tap-otlp-endpoint URL` (and `--tap-otlp-content`).

The recorder process (store/recorder_main.py) hands each record here as it is written, so the proxy
never does this work. Each exchange becomes its turn's span (otlp.py's `SessionSpans`: the same
attributes and content rules as `claude-tap export --otlp`), ended at once and sent by the SDK's
BatchSpanProcessor from a thread of its own: a slow or dead collector costs the recording nothing.
Its queue is bounded (MAX_QUEUED_SPANS); what does not reach the collector (queue full, refused,
unreachable) is counted, and the exit summary says so. At the stop the session's root span ends and
what is queued gets FLUSH_TIMEOUT_S to leave, then it is given up.

This module knows records and OpenTelemetry, not pipes or sockets.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from typing import Any

from claude_tap.normalize.model import JsonValue, Turn
from claude_tap.normalize.session import SessionNormalizer
from claude_tap.otlp import (
    SessionSpans,
    claude_tap_resource,
    load_sdk,
    span_times,
    tracer_of,
    traces_endpoint,
)

logger = logging.getLogger("claude_tap")

MAX_QUEUED_SPANS = 2048
EXPORT_TIMEOUT_S = 1.0  # one batch's POST, retries included: a dead collector fails fast
FLUSH_TIMEOUT_S = 1.5  # at the stop, for what is still queued
SCHEDULE_DELAY_MS = 200  # how long a finished span may wait to be batched with others


class LiveSpans:
    """Records in (`add`), spans out; `close` at the stop returns the tally for the summary."""

    def __init__(self, endpoint: str, content: bool, session_name: str) -> None:
        sdk = load_sdk()  # raises OtlpUnavailableError; the tap checks before it starts
        self.endpoint = traces_endpoint(endpoint)
        self._exporter = _CountingExporter(
            sdk, sdk.OTLPSpanExporter(endpoint=self.endpoint, timeout=EXPORT_TIMEOUT_S)
        )
        self._provider = sdk.TracerProvider(resource=claude_tap_resource(sdk))
        self._provider.add_span_processor(
            sdk.BatchSpanProcessor(
                self._exporter,
                max_queue_size=MAX_QUEUED_SPANS,
                schedule_delay_millis=SCHEDULE_DELAY_MS,
                export_timeout_millis=int(EXPORT_TIMEOUT_S * 1000),
            )
        )
        self._tracer = tracer_of(self._provider)
        self._content = content
        self._session_name = session_name
        self._normalizer = SessionNormalizer()
        self._spans: SessionSpans | None = None
        self._last_end_ns = 0
        self.made = 0
        self.failed = 0  # records no span could be made of

    def add(self, record: JsonValue) -> None:
        """One stored record (redacted): the session record opens the root span, an exchange adds
        its turns' spans. Never raises: a record the spans cannot be made of is counted and logged,
        and the recording (and the live viewer after this hook) go on."""
        try:
            turns = self._normalizer.add(record, threads=False)
            if self._spans is None and self._normalizer.info["started_at"] is not None:
                self._open(time.time_ns())
            for turn in turns:
                self._add(turn, self._normalizer.turns)
        except Exception as error:
            self.failed += 1
            if self.failed == 1:
                logger.warning(
                    "OpenTelemetry: a record could not become a span: %s: %s", type(error).__name__, error
                )

    def close(self) -> dict[str, Any]:
        """End the root span, send what is queued (bounded), and say what was sent and what was not."""
        if self._spans is not None:
            self._spans.end(max(self._last_end_ns, time.time_ns()))
            self.made += 1
        flushed = self._provider.force_flush(int(FLUSH_TIMEOUT_S * 1000))
        stopper = threading.Thread(target=self._provider.shutdown, name="otlp-shutdown", daemon=True)
        stopper.start()  # the SDK's shutdown may wait on an export in flight: not the stop's problem
        stopper.join(timeout=0.2)
        sent = self._exporter.sent
        return {
            "endpoint": self.endpoint,
            "sent": sent,
            "not_sent": max(0, self.made - sent),
            "flushed": flushed,
        }

    def _open(self, start_ns: int) -> None:
        self._spans = SessionSpans(
            self._tracer, self._normalizer.info, self._session_name, self._content, start_ns
        )

    def _add(self, turn: Turn, turns: Sequence[Turn]) -> None:
        if self._spans is None:  # a trace without its session record (never from the writer)
            self._open(span_times(turn)[0])
        assert self._spans is not None
        self._spans.add_turn(turn, turns)
        self._last_end_ns = max(self._last_end_ns, span_times(turn)[1])
        self.made += 1


class _CountingExporter:
    """The OTLP exporter, counting the spans the collector took."""

    def __init__(self, sdk: Any, exporter: Any) -> None:
        self._sdk = sdk
        self._exporter = exporter
        self.sent = 0

    def export(self, spans: Sequence[Any]) -> Any:
        try:
            result = self._exporter.export(spans)
        except Exception:  # a collector's failure must not reach the SDK's worker as anything else
            return self._sdk.SpanExportResult.FAILURE
        if result is self._sdk.SpanExportResult.SUCCESS:
            self.sent += len(spans)
        return result

    def shutdown(self) -> None:
        self._exporter.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True
