"""viewer/export.py: a trace file in, an export file out, in every format.

The trace is written by hand (the record shapes of capture/records.py), once through zstd as
trace.jsonl.zst and once as plain JSONL; the real reader, normalizer and renderers do the rest.
One request header carries an API key in the clear, as a trace from elsewhere might: no export
may contain it.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
import zstandard

from claude_tap.viewer.export import export_trace
from tests.factories import json_exchange_record, session_record, write_trace

SECRET = "sk-ant-api03-abcdefghijklmnopqrstuvwxyz"


def exchange_record(seq: int, question: str, reply: str) -> dict[str, Any]:
    request_body = {
        "model": "claude-sonnet-4-5",
        "max_tokens": 64,
        "messages": [{"role": "user", "content": question}],
    }
    response_body = {
        "id": f"msg_{seq}",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5",
        "content": [{"type": "text", "text": reply}],
        "stop_reason": "end_turn",
        "usage": {"input_tokens": 11, "output_tokens": 7},
    }
    headers = {"content-type": "application/json", "x-api-key": SECRET}
    return json_exchange_record(seq, request_body, response_body, request_headers=headers, duration_ms=1500.0)


RECORDS = [
    session_record(),
    exchange_record(1, "What is 2+2?", "4"),
    exchange_record(2, "Show a fence", "Here:\n```\ncode\n```"),
    {
        "type": "end",
        "ended_at": "2025-01-02T03:05:00+00:00",
        "exit_code": 0,
        "exchanges": 2,
        "dropped": 0,
        "failed": 0,
    },
]


@pytest.fixture(params=["trace.jsonl.zst", "trace.jsonl"])
def trace(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    return write_trace(tmp_path / request.param, RECORDS)


def _decompress(data: bytes) -> bytes:
    return zstandard.ZstdDecompressor().stream_reader(io.BytesIO(data)).read()


def test_json_export_holds_the_normalized_session(trace: Path, tmp_path: Path) -> None:
    out = export_trace(trace, tmp_path / "out" / "session.json")

    exported = json.loads(out.read_text())
    assert out == tmp_path / "out" / "session.json"
    assert exported["session"]["client"] == "claude"
    assert exported["session"]["source_format"] == "claude-tap"
    assert [turn["model"] for turn in exported["turns"]] == ["claude-sonnet-4-5", "claude-sonnet-4-5"]
    assert [turn["output"] for turn in exported["turns"]] == [
        [{"type": "text", "text": "4"}],
        [{"type": "text", "text": "Here:\n```\ncode\n```"}],
    ]
    assert exported["turns"][0]["usage"]["input_tokens"] == 11
    assert SECRET not in out.read_text()


def test_jsonl_export_rewrites_our_records_with_secrets_redacted(trace: Path, tmp_path: Path) -> None:
    out = export_trace(trace, tmp_path / "records.jsonl")

    lines = out.read_bytes().splitlines()
    records = [json.loads(line) for line in lines]
    assert [record["type"] for record in records] == ["session", "exchange", "exchange", "end"]
    assert SECRET not in out.read_text()
    assert records[1]["request"]["headers"]["x-api-key"].startswith("[REDACTED:")
    unredacted = {**records[1]["request"], "headers": RECORDS[1]["request"]["headers"]}
    assert {**records[1], "request": unredacted} == RECORDS[1]


def test_jsonl_zst_export_is_the_same_records_compressed(trace: Path, tmp_path: Path) -> None:
    plain = export_trace(trace, tmp_path / "a.jsonl")
    packed = export_trace(trace, tmp_path / "b.jsonl.zst")

    assert _decompress(packed.read_bytes()) == plain.read_bytes()


def test_markdown_export_has_a_section_per_turn(trace: Path, tmp_path: Path) -> None:
    out = export_trace(trace, tmp_path / "report.md")

    report = out.read_text()
    assert report.startswith("# claude-tap session\n")
    assert [line for line in report.splitlines() if line.startswith("## Turn")] == [
        "## Turn 1 · claude-sonnet-4-5 · 18 tokens · 1.5 s",
        "## Turn 2 · claude-sonnet-4-5 · 18 tokens · 1.5 s",
    ]
    assert "What is 2+2?" in report and SECRET not in report


def test_html_export_is_the_viewer_page(trace: Path, tmp_path: Path) -> None:
    out = export_trace(trace, tmp_path / "trace.html")

    page = out.read_text()
    assert page.lstrip().lower().startswith("<!doctype html>")
    assert SECRET not in page


def test_an_explicit_format_wins_over_the_suffix(trace: Path, tmp_path: Path) -> None:
    out = export_trace(trace, tmp_path / "report.txt", fmt="markdown")

    assert out.read_text().startswith("# claude-tap session\n")


def test_an_unknown_suffix_is_refused_with_the_valid_ones(trace: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError) as refused:
        export_trace(trace, tmp_path / "out.pdf")

    message = str(refused.value)
    assert "out.pdf" in message and ".pdf" in message
    for suffix in (".html", ".md", ".json", ".jsonl", ".jsonl.zst"):
        assert suffix in message
    assert not (tmp_path / "out.pdf").exists()


def test_an_unknown_explicit_format_is_refused(trace: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"unknown export format 'pdf': choose one of html, md, json, jsonl"):
        export_trace(trace, tmp_path / "out.md", fmt="pdf")


def test_a_failed_export_leaves_no_file_behind(tmp_path: Path) -> None:
    out_dir = tmp_path / "out"
    out_dir.mkdir()

    with pytest.raises(FileNotFoundError):
        export_trace(tmp_path / "missing.jsonl.zst", out_dir / "records.jsonl")

    assert list(out_dir.iterdir()) == []


def legacy_line(turn: int, reply: str) -> dict[str, Any]:
    """One line of the earlier claude-tap's JSONL (DESIGN section 7), auth partly masked as it did."""
    return {
        "timestamp": f"2025-01-02T03:04:0{turn}.500000+00:00",
        "request_id": f"req_{turn:04x}abcd",
        "turn": turn,
        "duration_ms": 900,
        "request": {
            "method": "POST",
            "path": "/v1/messages",
            "headers": {"content-type": "application/json", "x-api-key": "sk-ant-api...wxyz"},
            "body": {"model": "claude-sonnet-4-5", "messages": [{"role": "user", "content": "hi"}]},
        },
        "response": {
            "status": 200,
            "headers": {"content-type": "application/json"},
            "body": {
                "type": "message",
                "role": "assistant",
                "model": "claude-sonnet-4-5",
                "content": [{"type": "text", "text": reply}],
                "stop_reason": "end_turn",
                "usage": {"input_tokens": 3, "output_tokens": 1},
            },
        },
        "upstream_base_url": "https://api.anthropic.com",
        "capture": {"client": "claude", "proxy_mode": "reverse"},
    }


def test_jsonl_export_converts_a_legacy_trace_to_our_records(tmp_path: Path) -> None:
    legacy = write_trace(tmp_path / "old.jsonl", [legacy_line(1, "first"), legacy_line(2, "second")])

    records = [
        json.loads(line) for line in export_trace(legacy, tmp_path / "new.jsonl").read_bytes().splitlines()
    ]

    assert [record["type"] for record in records] == ["session", "exchange", "exchange"]
    assert records[0]["client"] == "claude"
    assert [record["response"]["body"]["content"][0]["text"] for record in records[1:]] == ["first", "second"]
    assert [record["request"]["url"] for record in records[1:]] == [
        "https://api.anthropic.com/v1/messages"
    ] * 2
    assert all(record["request"]["headers"]["x-api-key"].startswith("[REDACTED:") for record in records[1:])


def test_a_legacy_trace_exports_as_a_session_marked_legacy(tmp_path: Path) -> None:
    legacy = write_trace(tmp_path / "old.jsonl", [legacy_line(1, "first")])

    exported = json.loads(export_trace(legacy, tmp_path / "old.json").read_text())

    assert exported["session"]["source_format"] == "legacy-jsonl"
    assert [turn["output"] for turn in exported["turns"]] == [[{"type": "text", "text": "first"}]]


def test_markdown_export_links_a_tool_result_to_its_call(tmp_path: Path) -> None:
    call = {"type": "tool_use", "id": "toolu_01", "name": "Bash", "input": {"command": "ls"}}
    result = {"type": "tool_result", "tool_use_id": "toolu_01", "content": "a.txt"}
    asking = exchange_record(1, "list files", "")
    asking["response"]["body"]["content"] = [call]
    answering = exchange_record(2, "list files", "One file.")
    answering["request"]["body"]["messages"] += [
        {"role": "assistant", "content": [call]},
        {"role": "user", "content": [result]},
    ]
    trace = write_trace(tmp_path / "trace.jsonl", [session_record(), asking, answering])

    report = export_trace(trace, tmp_path / "report.md").read_text()

    assert '<a id="tool-toolu_01"></a>**Tool call** `Bash` · id `toolu_01`' in report
    assert "**Tool result** for [`toolu_01`](#tool-toolu_01)\n\n```text\na.txt\n```" in report
    assert "_1 earlier message as in Turn 1._" in report


API_SAMPLES = {
    "chat_completions": (
        "/v1/chat/completions",
        {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]},
        {
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "model": "gpt-4o",
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": "hello"}, "finish_reason": "stop"}
            ],
            "usage": {"prompt_tokens": 5, "completion_tokens": 1, "total_tokens": 6},
        },
        "gpt-4o",
    ),
    "openai_responses": (
        "/v1/responses",
        {"model": "gpt-5", "input": "hi"},
        {
            "id": "resp_1",
            "object": "response",
            "model": "gpt-5",
            "status": "completed",
            "output": [
                {
                    "type": "message",
                    "role": "assistant",
                    "content": [{"type": "output_text", "text": "hello"}],
                }
            ],
            "usage": {"input_tokens": 5, "output_tokens": 1, "total_tokens": 6},
        },
        "gpt-5",
    ),
    "gemini": (
        "/v1beta/models/gemini-2.5-pro:generateContent",
        {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]},
        {
            "candidates": [
                {"content": {"role": "model", "parts": [{"text": "hello"}]}, "finishReason": "STOP"}
            ],
            "usageMetadata": {"promptTokenCount": 5, "candidatesTokenCount": 1, "totalTokenCount": 6},
            "modelVersion": "gemini-2.5-pro",
        },
        "gemini-2.5-pro",
    ),
}


@pytest.mark.parametrize("api", sorted(API_SAMPLES))
def test_markdown_export_reads_the_same_for_every_api(api: str, tmp_path: Path) -> None:
    path, request_body, response_body, model = API_SAMPLES[api]
    record = json_exchange_record(
        1, request_body, response_body, path=path, upstream="https://upstream.test", duration_ms=1500.0
    )
    trace = write_trace(tmp_path / "trace.jsonl", [session_record(), record])

    report = export_trace(trace, tmp_path / "report.md").read_text()

    assert f"## Turn 1 · {model} · 6 tokens · 1.5 s" in report
    assert "### Messages\n\n**user**\n\nhi\n" in report
    assert "### Response\n\nhello\n" in report


def test_jsonl_export_of_a_lone_surrogate_stays_valid_utf8(tmp_path: Path) -> None:
    record = exchange_record(1, "half an emoji: \ud83d", "ok")
    # json.dumps writes it as the escape \ud83d
    trace = write_trace(tmp_path / "trace.jsonl", [session_record(), record])

    out = export_trace(trace, tmp_path / "out.jsonl")

    lines = out.read_bytes().decode("utf-8").splitlines()
    assert json.loads(lines[1])["request"]["body"]["messages"][0]["content"] == "half an emoji: \ud83d"


@pytest.mark.parametrize("name", ["out.md", "out.json", "out.html"])
def test_every_export_of_a_lone_surrogate_is_written(name: str, tmp_path: Path) -> None:
    record = exchange_record(1, "half an emoji: \ud83d", "ok")
    trace = write_trace(tmp_path / "trace.jsonl", [session_record(), record])

    out = export_trace(trace, tmp_path / name)

    text = out.read_bytes().decode("utf-8")
    if name == "out.json":
        assert json.loads(text)["turns"][0]["messages"][0]["content"][0]["text"] == "half an emoji: \ud83d"
    if name == "out.md":
        assert "half an emoji: ?" in text
