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
