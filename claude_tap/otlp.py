"""A recorded session sent to an OpenTelemetry collector: `claude-tap export TRACE --otlp URL`.

One trace per session: a root span for the session, and under it one CLIENT span per turn (model call)
named `chat <model>`, timed as the call was, with the OpenTelemetry GenAI semantic conventions:

    gen_ai.operation.name             "chat"
    gen_ai.provider.name, gen_ai.system   anthropic, openai, google, ... (the turn's provider)
    gen_ai.request.model / response.model
    gen_ai.usage.input_tokens         every prompt token, cached ones included (the conventions' meaning)
    gen_ai.usage.cache_read.input_tokens, gen_ai.usage.cache_creation.input_tokens
    gen_ai.usage.output_tokens
    gen_ai.response.finish_reasons    [stop reason]
    gen_ai.response.time_to_first_chunk   seconds, when the stream says
    gen_ai.request.max_tokens / temperature / top_p, when the request set them
    http.response.status_code, server.address, error.type (and an ERROR status) for a failed call

Prompts and completions leave the machine only when asked (`content=True`, `--tap-otlp-content`): then
each turn carries a `gen_ai.content.prompt` event (the system prompt at the first turn that has it,
and the messages this turn added to its conversation) and a `gen_ai.content.completion` event (the
answer), as JSON. Headers are never sent; the content is the trace's, redacted, and scrubbed of key
shapes once more.

Spans go out with the official SDK's OTLP/HTTP (protobuf) exporter, in batches, synchronously; a
collector that does not answer fails the export after `timeout_s`, and nothing else waits on it.
`SessionSpans` builds them turn by turn, so the live export (otlp_live.py, `--tap-otlp-endpoint`)
makes the very same spans while the agent runs.
This module knows the turn model and OpenTelemetry; `send_trace` reads the trace through the export
path (viewer/export.py: redacted, normalized) and is the command's whole job.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

from claude_tap.capture.secret_shapes import scrub_shapes
from claude_tap.normalize.failures import is_failed
from claude_tap.normalize.model import Block, SessionInfo, Turn
from claude_tap.store.index_entry import new_messages, parse_time

TRACES_PATH = "/v1/traces"
BATCH_SPANS = 512
_PARAMS = {
    "max_tokens": "gen_ai.request.max_tokens",
    "temperature": "gen_ai.request.temperature",
    "top_p": "gen_ai.request.top_p",
}


class OtlpUnavailableError(RuntimeError):
    """The OpenTelemetry packages are not installed."""


@dataclass(frozen=True, slots=True)
class OtlpReport:
    spans: int
    batches_failed: int


def traces_endpoint(url: str) -> str:
    """The collector's traces URL: `http://host:4318` gets OTLP/HTTP's `/v1/traces`; a URL with a path
    is used as it is. Raises ValueError for anything but an http(s) URL."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{url!r} is not an http(s) URL; e.g. http://127.0.0.1:4318")
    return url.strip() if parts.path not in ("", "/") else url.strip().rstrip("/") + TRACES_PATH


def send_trace(trace: Path, url: str, content: bool, say: Callable[[str], None]) -> int:
    """`claude-tap export TRACE --otlp URL`: returns the exit code (0 sent, 1 not sent, 2 bad URL)."""
    from claude_tap.viewer.export import load_session

    try:
        endpoint = traces_endpoint(url)
    except ValueError as error:
        say(f"claude-tap: error: --otlp: {error}")
        return 2
    try:
        info, turns = load_session(trace)
        report = export_session(info, turns, endpoint, content=content, session_name=trace.name)
    except OtlpUnavailableError as error:
        say(f"claude-tap: error: {error}")
        return 1
    except OSError as error:
        say(f"claude-tap: error: cannot read {trace}: {error}")
        return 1
    if report.batches_failed:
        say(f"claude-tap: error: the collector at {endpoint} did not take the spans (see the message above)")
        return 1
    what = "with prompts and completions" if content else "without prompt text (--tap-otlp-content adds it)"
    say(f"claude-tap: sent {report.spans} spans ({len(turns)} calls) to {endpoint}, {what}")
    return 0


def export_session(
    info: SessionInfo,
    turns: Sequence[Turn],
    endpoint: str,
    *,
    content: bool = False,
    session_name: str = "",
    timeout_s: float = 10.0,
) -> OtlpReport:
    """Send the session's spans to `endpoint` (see traces_endpoint). Raises OtlpUnavailableError."""
    sdk = load_sdk()
    collected = sdk.InMemorySpanExporter()
    provider = sdk.TracerProvider(resource=claude_tap_resource(sdk))
    provider.add_span_processor(sdk.SimpleSpanProcessor(collected))
    times = [span_times(turn) for turn in turns]
    start = _ns(parse_time(info["started_at"])) or min((t[0] for t in times), default=0)
    spans = SessionSpans(tracer_of(provider), info, session_name, content, start)
    for turn in turns:
        spans.add_turn(turn, turns)
    spans.end(max((t[1] for t in times), default=start))
    provider.shutdown()
    finished = collected.get_finished_spans()
    exporter = sdk.OTLPSpanExporter(endpoint=traces_endpoint(endpoint), timeout=timeout_s)
    failed = 0
    for first in range(0, len(finished), BATCH_SPANS):
        if exporter.export(finished[first : first + BATCH_SPANS]) is not sdk.SpanExportResult.SUCCESS:
            failed += 1
    close: Callable[[], None] = exporter.shutdown  # untyped in the SDK
    close()
    return OtlpReport(len(finished), failed)


def load_sdk() -> Any:
    """The OpenTelemetry SDK pieces this module uses, as one namespace. Raises OtlpUnavailableError."""
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import (
            BatchSpanProcessor,
            SimpleSpanProcessor,
            SpanExporter,
            SpanExportResult,
        )
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    except ImportError as error:
        raise OtlpUnavailableError(
            f"OpenTelemetry export needs the opentelemetry packages ({error.name} is missing): "
            "pip install 'claude-tap[otlp]'"
        ) from error
    return SimpleNamespace(
        OTLPSpanExporter=OTLPSpanExporter,
        Resource=Resource,
        TracerProvider=TracerProvider,
        BatchSpanProcessor=BatchSpanProcessor,
        SimpleSpanProcessor=SimpleSpanProcessor,
        SpanExporter=SpanExporter,
        SpanExportResult=SpanExportResult,
        InMemorySpanExporter=InMemorySpanExporter,
    )


def claude_tap_resource(sdk: Any) -> Any:
    from claude_tap import __version__

    return sdk.Resource.create({"service.name": "claude-tap", "service.version": __version__})


def tracer_of(provider: Any) -> Any:
    from claude_tap import __version__

    return provider.get_tracer("claude_tap", __version__)


class SessionSpans:
    """The spans of one session: a root span opened at `start_ns`, a CLIENT span per turn under it
    (ended as it is added, so a batching processor sends it at once), and the root's end."""

    def __init__(self, tracer: Any, info: SessionInfo, name: str, content: bool, start_ns: int) -> None:
        from opentelemetry import trace

        self._tracer = tracer
        self._content = content
        self._seen_system: set[str] = set()
        self._root = tracer.start_span(
            "claude-tap session",
            start_time=start_ns,
            attributes=_clean(
                {
                    "claude_tap.client": info["client"],
                    "claude_tap.mode": info["mode"],
                    "claude_tap.target": info["target"],
                    "claude_tap.session": name,
                }
            ),
        )
        self._start_ns = start_ns
        self._context = trace.set_span_in_context(self._root)
        self.calls = 0

    def add_turn(self, turn: Turn, turns: Sequence[Turn]) -> None:
        """One turn's span; `turns` holds the session's turns (those before it at least), for what
        the turn added to its conversation."""
        from opentelemetry.trace import SpanKind, Status, StatusCode

        start, end = span_times(turn)
        span = self._tracer.start_span(
            f"chat {turn['model'] or 'unknown'}",
            context=self._context,
            kind=SpanKind.CLIENT,
            start_time=start,
            attributes=_clean(turn_attributes(turn)),
        )
        if self._content:
            _add_content(span, turn, turns, self._seen_system, start, end)
        if is_failed(turn):
            span.set_status(Status(StatusCode.ERROR, turn["error"] or f"HTTP {turn['status']}"))
        span.end(end_time=end)
        self.calls += 1

    def end(self, end_ns: int) -> None:
        self._root.set_attribute("claude_tap.calls", self.calls)
        self._root.end(end_time=max(end_ns, self._start_ns))


def turn_attributes(turn: Turn) -> dict[str, Any]:
    """The GenAI attributes of one turn (see the module docstring); None values are left out."""
    usage = turn["usage"]
    attributes: dict[str, Any] = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": turn["provider"],
        "gen_ai.system": turn["provider"],
        "gen_ai.request.model": turn["model"],
        "gen_ai.response.model": turn["model"],
        "gen_ai.response.finish_reasons": [turn["stop_reason"]] if turn["stop_reason"] else None,
        "http.response.status_code": turn["status"],
        "server.address": urlsplit(turn["url"]).hostname,
        "claude_tap.turn": turn["index"] + 1,
        "claude_tap.api": turn["api"],
        "claude_tap.cost_usd": turn["cost_usd"],
    }
    if usage is not None:
        attributes["gen_ai.usage.input_tokens"] = (
            usage["input_tokens"] + usage["cache_read_tokens"] + usage["cache_write_tokens"]
        )
        attributes["gen_ai.usage.cache_read.input_tokens"] = usage["cache_read_tokens"]
        attributes["gen_ai.usage.cache_creation.input_tokens"] = usage["cache_write_tokens"]
        attributes["gen_ai.usage.output_tokens"] = usage["output_tokens"]
    ttft_ms = turn["timing"]["ttft_ms"]
    if ttft_ms is not None:
        attributes["gen_ai.response.time_to_first_chunk"] = ttft_ms / 1000
    for param, key in _PARAMS.items():
        value = turn["params"].get(param)
        if isinstance(value, int | float) and not isinstance(value, bool):
            attributes[key] = value
    if is_failed(turn):
        attributes["error.type"] = str(turn["status"]) if (turn["status"] or 0) >= 400 else "incomplete"
    return attributes


def _add_content(
    span: Any, turn: Turn, turns: Sequence[Turn], seen_system: set[str], start: int, end: int
) -> None:
    prompt: list[dict[str, Any]] = []
    system = [_plain(block) for block in turn["system"]]
    system_text = json.dumps(system, ensure_ascii=False)
    if system and system_text not in seen_system:
        seen_system.add(system_text)
        prompt.append({"role": "system", "content": system})
    for message in new_messages(turn, turns):
        prompt.append({"role": message["role"], "content": [_plain(block) for block in message["content"]]})
    completion = [{"role": "assistant", "content": [_plain(block) for block in turn["output"]]}]
    # The trace writer scrubbed key shapes from what it stored, but a trace imported from the earlier
    # claude-tap never went through it: text that leaves the machine is scrubbed once more.
    span.add_event("gen_ai.content.prompt", {"gen_ai.prompt": _scrubbed_json(prompt)}, timestamp=start)
    span.add_event(
        "gen_ai.content.completion", {"gen_ai.completion": _scrubbed_json(completion)}, timestamp=end
    )


def _scrubbed_json(value: object) -> str:
    return scrub_shapes(json.dumps(value, ensure_ascii=False))


def _plain(block: Block) -> dict[str, Any]:
    """A block without image data (bytes a tracing backend cannot show)."""
    if block.get("type") == "image":
        return {"type": "image", "media_type": block.get("media_type", "")}
    if block.get("type") == "tool_result":
        return {**block, "content": [_plain(inner) for inner in block.get("content", [])]}
    return dict(block)


def span_times(turn: Turn) -> tuple[int, int]:
    start = _ns(parse_time(turn["timing"]["started_at"])) or 0
    duration_ms = turn["timing"]["duration_ms"] or 0.0
    return start, start + int(duration_ms * 1_000_000)


def _ns(seconds: float | None) -> int | None:
    return None if seconds is None else int(seconds * 1_000_000_000)


def _clean(attributes: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in attributes.items() if value is not None and value != ""}
