"""`--tap-otlp-endpoint` before the run starts: what the recorder is told, and a clear refusal when
the OpenTelemetry packages are missing (the run itself: tests/e2e/test_otlp_live.py)."""

from __future__ import annotations

import pytest

import claude_tap.otlp
from claude_tap.cli import CommandError
from claude_tap.options import TapOptions
from claude_tap.run import live_otlp


def test_the_recorder_gets_the_collectors_traces_url_and_the_content_switch() -> None:
    assert live_otlp(TapOptions()) is None
    options = TapOptions(otlp_endpoint="http://127.0.0.1:4318", otlp_content=True)
    assert live_otlp(options) == {"endpoint": "http://127.0.0.1:4318/v1/traces", "content": True}
    full = TapOptions(otlp_endpoint="https://cloud.langfuse.com/api/public/otel/v1/traces")
    assert live_otlp(full) == {
        "endpoint": "https://cloud.langfuse.com/api/public/otel/v1/traces",
        "content": False,
    }


def test_without_the_opentelemetry_packages_the_run_does_not_start(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing() -> None:
        raise claude_tap.otlp.OtlpUnavailableError("OpenTelemetry export needs the opentelemetry packages")

    monkeypatch.setattr(claude_tap.otlp, "load_sdk", missing)
    with pytest.raises(CommandError, match="--tap-otlp-endpoint: OpenTelemetry export needs") as raised:
        live_otlp(TapOptions(otlp_endpoint="http://127.0.0.1:4318"))
    assert raised.value.exit_code == 2


def test_a_record_that_cannot_become_a_span_is_counted_and_the_next_one_still_does(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from claude_tap.normalize.session import SessionNormalizer
    from claude_tap.otlp_live import LiveSpans
    from tests.e2e.tap_process import free_port
    from tests.factories import json_exchange_record, session_record

    spans = LiveSpans(f"http://127.0.0.1:{free_port()}", content=False, session_name="s")  # nobody listens
    spans.add(session_record())
    normalize = SessionNormalizer.add

    def broken_once(self: SessionNormalizer, record: object, *args: object, **kwargs: object) -> object:
        if isinstance(record, dict) and record.get("id") == "broken":
            raise RecursionError("a record nested too deep")  # the normalizer's own input is never this bad
        return normalize(self, record, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(SessionNormalizer, "add", broken_once)
    spans.add({"type": "exchange", "id": "broken"})  # counted, not raised into the recorder
    body = {"model": "claude-sonnet-4-5", "messages": [{"role": "user", "content": "hi"}]}
    reply = {"type": "message", "content": [{"type": "text", "text": "hello"}], "usage": {"input_tokens": 3}}
    spans.add(json_exchange_record(2, body, reply))
    assert (spans.failed, spans.made) == (1, 1)
    tally = spans.close()
    assert (tally["sent"], tally["not_sent"]) == (0, 2)  # the call's span and the session's root span
