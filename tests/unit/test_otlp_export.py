"""`claude-tap export TRACE --otlp URL`: the spans a real OTLP/HTTP collector receives.

The collector is an aiohttp server on 127.0.0.1 that decodes each request with the official protobuf
definitions (opentelemetry-proto), as a collector does; the export runs the real CLI, in-process in a
thread and once as its own process.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from claude_tap.cli import Environment, main
from claude_tap.otlp import traces_endpoint
from claude_tap.store.reader import read_trace
from tests.factories import write_trace
from tests.unit.session_traces import make_session

SECRET = "sk-ant-api03-" + "Q" * 40


@dataclass
class Collector:
    url: str
    requests: list[ExportTraceServiceRequest] = field(default_factory=list)
    bodies: list[bytes] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)

    def spans(self) -> list[dict[str, Any]]:
        out = []
        for request in self.requests:
            for resource_spans in request.resource_spans:
                resource = {kv.key: _value(kv.value) for kv in resource_spans.resource.attributes}
                for scope in resource_spans.scope_spans:
                    for span in scope.spans:
                        out.append(
                            {
                                "name": span.name,
                                "trace_id": span.trace_id.hex(),
                                "span_id": span.span_id.hex(),
                                "parent": span.parent_span_id.hex(),
                                "kind": span.kind,
                                "start": span.start_time_unix_nano,
                                "end": span.end_time_unix_nano,
                                "status": span.status.code,
                                "attributes": {kv.key: _value(kv.value) for kv in span.attributes},
                                "events": {
                                    event.name: {kv.key: _value(kv.value) for kv in event.attributes}
                                    for event in span.events
                                },
                                "resource": resource,
                            }
                        )
        return out


def _value(value: Any) -> Any:
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [_value(item) for item in value.array_value.values]
    return getattr(value, kind) if kind else None


@pytest.fixture
async def collector() -> AsyncIterator[Collector]:
    received = Collector("")

    async def traces(request: web.Request) -> web.Response:
        body = await request.read()
        assert request.content_type == "application/x-protobuf"
        message = ExportTraceServiceRequest()
        message.ParseFromString(body)
        received.requests.append(message)
        received.bodies.append(body)
        received.headers.append(dict(request.headers))
        return web.Response(
            body=ExportTraceServiceResponse().SerializeToString(), content_type="application/x-protobuf"
        )

    app = web.Application()
    app.router.add_post("/v1/traces", traces)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    received.url = f"http://127.0.0.1:{port}"
    yield received
    await runner.cleanup()


def _session(tmp_path: Path) -> Path:
    session_dir = make_session(
        tmp_path / "traces",
        prompt="why does test_parse fail? the secret prompt text",
        # A key a tool printed, as a trace the writer did not scrub (an imported one) would hold it.
        tool_results=(f"def parse(): return 41  # ANTHROPIC_API_KEY={SECRET}",),
        status=500,
    )
    trace = session_dir / "trace.jsonl.zst"
    records, _ = read_trace(trace)
    records[1]["request"]["headers"]["x-api-key"] = SECRET  # never sent: headers stay home
    write_trace(trace, records)
    return session_dir


async def _export(tmp_path: Path, *args: str) -> tuple[int, str]:
    stderr = io.StringIO()
    env = Environment(
        stdin=io.StringIO(),
        stdout=io.StringIO(),
        stderr=stderr,
        environ={"HOME": str(tmp_path), "CLAUDE_TAP_HOME": str(tmp_path / "tap")},
        home=tmp_path,
        cwd=tmp_path,
    )
    code = await asyncio.to_thread(main, ["export", *args], env)
    return code, stderr.getvalue()


async def test_each_call_is_a_genai_span_under_one_session_span(tmp_path: Path, collector: Collector) -> None:
    session_dir = _session(tmp_path)

    code, stderr = await _export(tmp_path, str(session_dir), "--otlp", collector.url)

    assert code == 0, stderr
    assert "sent 3 spans (2 calls)" in stderr and "without prompt text" in stderr
    spans = collector.spans()
    [root] = [span for span in spans if span["name"] == "claude-tap session"]
    calls = [span for span in spans if span is not root]
    assert [span["name"] for span in calls] == ["chat claude-sonnet-4-5"] * 2
    assert {span["trace_id"] for span in spans} == {root["trace_id"]}  # one trace per session
    assert {span["parent"] for span in calls} == {root["span_id"]}
    assert root["resource"]["service.name"] == "claude-tap"
    first, second = calls
    assert first["kind"] == 3  # SPAN_KIND_CLIENT
    attributes = first["attributes"]
    assert attributes["gen_ai.operation.name"] == "chat"
    assert attributes["gen_ai.system"] == attributes["gen_ai.provider.name"] == "anthropic"
    assert attributes["gen_ai.request.model"] == "claude-sonnet-4-5"
    # 10 input + 100 read from cache: the conventions count cached tokens as input too
    assert attributes["gen_ai.usage.input_tokens"] == 110
    assert attributes["gen_ai.usage.cache_read.input_tokens"] == 100
    assert attributes["gen_ai.usage.output_tokens"] == 5
    assert attributes["gen_ai.response.finish_reasons"] == ["tool_use"]
    assert attributes["gen_ai.request.max_tokens"] == 1000
    assert attributes["claude_tap.turn"] == 1
    assert first["end"] - first["start"] == 120_000_000  # the call's 120 ms
    assert first["start"] >= root["start"] and second["end"] <= root["end"]
    # the second call answered 500
    assert second["status"] == 2  # STATUS_CODE_ERROR
    assert second["attributes"]["error.type"] == "500"
    assert second["attributes"]["http.response.status_code"] == 500


async def test_no_prompt_text_and_no_secret_leave_without_the_content_flag(
    tmp_path: Path, collector: Collector
) -> None:
    session_dir = _session(tmp_path)

    code, _ = await _export(tmp_path, str(session_dir), "--otlp", collector.url)

    assert code == 0
    sent = b"".join(collector.bodies)
    assert sent and b"secret prompt text" not in sent and b"return 41" not in sent
    assert SECRET.encode() not in sent and b"QQQQQQQQ" not in sent
    assert all(span["events"] == {} for span in collector.spans())


async def test_the_content_flag_adds_prompts_and_completions_as_events(
    tmp_path: Path, collector: Collector
) -> None:
    session_dir = _session(tmp_path)

    code, stderr = await _export(tmp_path, str(session_dir), "--otlp", collector.url, "--tap-otlp-content")

    assert code == 0 and "with prompts and completions" in stderr
    calls = [span for span in collector.spans() if span["name"].startswith("chat")]
    first_prompt = json.loads(calls[0]["events"]["gen_ai.content.prompt"]["gen_ai.prompt"])
    assert first_prompt[0]["role"] == "system"
    assert "the secret prompt text" in json.dumps(first_prompt)
    second_prompt = json.loads(calls[1]["events"]["gen_ai.content.prompt"]["gen_ai.prompt"])
    # the second call sends only what it added: the tool result, not the first prompt again
    assert "return 41" in json.dumps(second_prompt) and "secret prompt text" not in json.dumps(second_prompt)
    completion = json.loads(calls[1]["events"]["gen_ai.content.completion"]["gen_ai.completion"])
    assert completion[0]["content"][0]["text"] == "It returns the wrong value."
    assert SECRET.encode() not in b"".join(collector.bodies)


@pytest.mark.slow  # the exporter retries until its 10 s timeout
async def test_an_unreachable_collector_fails_the_export_quickly(
    tmp_path: Path, unused_tcp_port: int
) -> None:
    session_dir = _session(tmp_path)
    started = asyncio.get_running_loop().time()

    code, stderr = await _export(tmp_path, str(session_dir), "--otlp", f"http://127.0.0.1:{unused_tcp_port}")

    assert code == 1
    assert "did not take the spans" in stderr
    assert asyncio.get_running_loop().time() - started < 30


def test_the_collector_url_gets_the_traces_path_unless_it_has_one() -> None:
    assert traces_endpoint("http://127.0.0.1:4318") == "http://127.0.0.1:4318/v1/traces"
    assert traces_endpoint("http://127.0.0.1:4318/") == "http://127.0.0.1:4318/v1/traces"
    assert traces_endpoint("https://h/api/public/otel/v1/traces") == "https://h/api/public/otel/v1/traces"
    with pytest.raises(ValueError, match="not an http"):
        traces_endpoint("127.0.0.1:4318")


async def test_export_needs_a_file_or_a_collector(tmp_path: Path) -> None:
    session_dir = _session(tmp_path)
    code, stderr = await _export(tmp_path, str(session_dir))
    assert code == 2 and "-o/--output OUT (a file) or --otlp URL" in stderr
    assert "claude-tap export --help" in stderr


async def test_export_to_a_collector_through_the_real_entry_point(
    tmp_path: Path, collector: Collector
) -> None:
    session_dir = _session(tmp_path)
    env = {**os.environ, "HOME": str(tmp_path), "CLAUDE_TAP_HOME": str(tmp_path / "tap")}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "claude_tap", "export", str(session_dir), "--otlp", collector.url,
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 0, stderr.decode()
    assert len(collector.spans()) == 3
