"""The support matrix's own viewer checks, against the real pipeline: hand-built trace records ->
normalize_records -> trace.html -> Chromium.

- Pi (openai-codex OAuth, forward proxy): "Verify the generated viewer shows Tools, System Prompt,
  Messages, Response, SSE/WebSocket events, tool calls, tool outputs, and token usage." The records
  are two streamed OpenAI Responses exchanges with chatgpt.com/backend-api/codex/responses (the first
  answers with reasoning and a function_call, the second request carries its function_call_output)
  and one WebSocket exchange (a response.create from the client, response.* events back).
- Cursor CLI: "Verify the generated HTML contains cursor-transcript turns and tool_use blocks." The
  records are one raw protobuf exchange with api2.cursor.sh and the transcript entries Cursor writes
  to agent-transcripts/*.jsonl (`{"role", "message": {"content": [...]}}`, tool_use without output,
  a `turn_ended` marker), imported as `transcript` records with source "cursor".

Streamed bodies are reassembled by the capture layer, as the tap does when it writes the record.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect

from claude_tap.capture.formats import reassemble
from claude_tap.normalize.session import normalize_records
from claude_tap.viewer.payload import decode_payload, expand_turns
from tests.browser.conftest import OpenViewer

pytestmark = pytest.mark.browser

Record = dict[str, Any]

CODEX_URL = "https://chatgpt.com/backend-api/codex/responses"
CODEX_PATH = "/backend-api/codex/responses"
PI_MODEL = "gpt-5.3-codex-spark"
PI_INSTRUCTIONS = (
    "You are pi, a coding agent working in the user's terminal. Read files before you edit them and "
    "keep answers short."
)
PI_PROMPT = "Use bash to inspect the workspace and reply OK"
PI_FOLLOW_UP = "Now count the files in src"
LS_OUTPUT = (
    "total 16\ndrwxr-xr-x 4 pi pi 4096 .\n-rw-r--r-- 1 pi pi 1210 README.md\ndrwxr-xr-x 2 pi pi 4096 src\n"
)
REASONING_SUMMARY = "**Inspecting the workspace**\n\nI will list the files with bash first."
CALL_ID = "call_Q2mYl8sVtR4xWcN0pKe7Hd1b"
PI_TOOLS = [
    {
        "type": "function",
        "name": "bash",
        "description": "Execute a bash command in the current working directory. Returns stdout and stderr.",
        "parameters": {
            "type": "object",
            "properties": {
                "command": {"type": "string", "description": "Bash command to execute"},
                "timeout": {"type": "number", "description": "Timeout in seconds (optional)"},
            },
            "required": ["command"],
            "additionalProperties": False,
        },
        "strict": None,
    },
    {
        "type": "function",
        "name": "read",
        "description": "Read the contents of a file. Output is truncated to 2000 lines.",
        "parameters": {
            "type": "object",
            "properties": {"path": {"type": "string", "description": "Path to the file to read"}},
            "required": ["path"],
            "additionalProperties": False,
        },
        "strict": None,
    },
]


# -- record builders ---------------------------------------------------------------------------------


def session_record(client: str, mode: str, target: str | None) -> Record:
    return {
        "type": "session",
        "format_version": 1,
        "claude_tap_version": "0.2.0",
        "client": client,
        "mode": mode,
        "target": target,
        "argv": [client],
        "started_at": "2025-10-02T08:00:00.000+00:00",
        "id": f"spec-{client}",
    }


def end_record(exchanges: int) -> Record:
    return {
        "type": "end",
        "ended_at": "2025-10-02T08:05:00.000+00:00",
        "exit_code": 0,
        "exchanges": exchanges,
        "dropped": 0,
        "failed": 0,
    }


def compact(value: Any) -> str:
    """JSON as the APIs send it on the wire: no spaces."""
    return json.dumps(value, separators=(",", ":"))


def numbered(payloads: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Responses API stream payloads with their sequence_number, as the API sends them."""
    return [{**payload, "sequence_number": n} for n, payload in enumerate(payloads)]


def sse_events(payloads: list[dict[str, Any]], first_ms: float) -> list[Record]:
    """SseEventRecords: the event name is the payload's type (the Responses API names both)."""
    return [
        {"offset_ms": first_ms + 12.5 * n, "event": payload["type"], "data": compact(payload)}
        for n, payload in enumerate(numbered(payloads))
    ]


def codex_request_headers(content_type: str = "application/json") -> dict[str, str]:
    return {
        "host": "chatgpt.com",
        "authorization": "Bearer [REDACTED:5d41402a]",
        "chatgpt-account-id": "[REDACTED:7b52009b]",
        "openai-beta": "responses=experimental",
        "originator": "pi",
        "session_id": "0199a7f2-5c1e-7d3a-9f00-3b8c2e1d4a55",
        "accept": "text/event-stream",
        "content-type": content_type,
    }


def pi_request(items: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "model": PI_MODEL,
        "store": False,
        "stream": True,
        "instructions": PI_INSTRUCTIONS,
        "input": items,
        "tools": PI_TOOLS,
        "tool_choice": "auto",
        "parallel_tool_calls": True,
        "reasoning": {"effort": "medium", "summary": "auto"},
        "include": ["reasoning.encrypted_content"],
        "prompt_cache_key": "0199a7f2-5c1e-7d3a-9f00-3b8c2e1d4a55",
    }


def user_item(text: str) -> dict[str, Any]:
    return {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}


def response_object(response_id: str, status: str, output: list[Any], usage: Any) -> dict[str, Any]:
    return {
        "id": response_id,
        "object": "response",
        "created_at": 1759392000,
        "status": status,
        "model": PI_MODEL,
        "output": output,
        "usage": usage,
    }


def usage_object(input_tokens: int, cached: int, output_tokens: int, reasoning: int) -> dict[str, Any]:
    return {
        "input_tokens": input_tokens,
        "input_tokens_details": {"cached_tokens": cached},
        "output_tokens": output_tokens,
        "output_tokens_details": {"reasoning_tokens": reasoning},
        "total_tokens": input_tokens + output_tokens,
    }


REASONING_ITEM = {
    "id": "rs_68de3a1f0b2c8190",
    "type": "reasoning",
    "summary": [{"type": "summary_text", "text": REASONING_SUMMARY}],
    "encrypted_content": "gAAAAABo3joTq1XyZ0bV9w_encrypted_reasoning_blob",
}
CALL_ITEM = {
    "id": "fc_68de3a20c4d48190",
    "type": "function_call",
    "status": "completed",
    "arguments": '{"command":"ls -la"}',
    "call_id": CALL_ID,
    "name": "bash",
}
OUTPUT_ITEM = {"type": "function_call_output", "call_id": CALL_ID, "output": LS_OUTPUT}


def message_item(item_id: str, text: str) -> dict[str, Any]:
    return {
        "id": item_id,
        "type": "message",
        "status": "completed",
        "role": "assistant",
        "content": [{"type": "output_text", "annotations": [], "text": text}],
    }


def call_stream() -> list[dict[str, Any]]:
    """First answer: a reasoning summary, then a bash call whose arguments arrive in three pieces."""
    created = response_object("resp_68de3a1e", "in_progress", [], None)
    done = response_object(
        "resp_68de3a1e", "completed", [REASONING_ITEM, CALL_ITEM], usage_object(2345, 1024, 87, 64)
    )
    summary = {"item_id": REASONING_ITEM["id"], "output_index": 0, "summary_index": 0}
    part = {"type": "summary_text", "text": ""}
    call = {"item_id": CALL_ITEM["id"], "output_index": 1}
    call_started = {**CALL_ITEM, "status": "in_progress", "arguments": ""}
    return [
        {"type": "response.created", "response": created},
        {"type": "response.in_progress", "response": created},
        {"type": "response.output_item.added", "output_index": 0, "item": {**REASONING_ITEM, "summary": []}},
        {"type": "response.reasoning_summary_part.added", **summary, "part": part},
        {"type": "response.reasoning_summary_text.delta", **summary, "delta": REASONING_SUMMARY[:30]},
        {"type": "response.reasoning_summary_text.delta", **summary, "delta": REASONING_SUMMARY[30:]},
        {"type": "response.reasoning_summary_text.done", **summary, "text": REASONING_SUMMARY},
        {
            "type": "response.reasoning_summary_part.done",
            **summary,
            "part": {**part, "text": REASONING_SUMMARY},
        },
        {"type": "response.output_item.done", "output_index": 0, "item": REASONING_ITEM},
        {"type": "response.output_item.added", "output_index": 1, "item": call_started},
        {"type": "response.function_call_arguments.delta", **call, "delta": '{"command"'},
        {"type": "response.function_call_arguments.delta", **call, "delta": ':"ls -la'},
        {"type": "response.function_call_arguments.delta", **call, "delta": '"}'},
        {"type": "response.function_call_arguments.done", **call, "arguments": CALL_ITEM["arguments"]},
        {"type": "response.output_item.done", "output_index": 1, "item": CALL_ITEM},
        {"type": "response.completed", "response": done},
    ]


def text_stream(
    response_id: str, item_id: str, pieces: list[str], usage: dict[str, Any]
) -> list[dict[str, Any]]:
    """An answer in text, delta by delta."""
    text = "".join(pieces)
    message = message_item(item_id, text)
    created = response_object(response_id, "in_progress", [], None)
    completed = response_object(response_id, "completed", [message], usage)
    started = {**message, "status": "in_progress", "content": []}
    part = {"type": "output_text", "annotations": [], "text": ""}
    where = {"item_id": item_id, "output_index": 0, "content_index": 0}
    return [
        {"type": "response.created", "response": created},
        {"type": "response.in_progress", "response": created},
        {"type": "response.output_item.added", "output_index": 0, "item": started},
        {"type": "response.content_part.added", **where, "part": part},
        *({"type": "response.output_text.delta", **where, "delta": piece} for piece in pieces),
        {"type": "response.output_text.done", **where, "text": text},
        {"type": "response.content_part.done", **where, "part": {**part, "text": text}},
        {"type": "response.output_item.done", "output_index": 0, "item": message},
        {"type": "response.completed", "response": completed},
    ]


def sse_exchange(seq: int, started_at: str, body: dict[str, Any], payloads: list[dict[str, Any]]) -> Record:
    events = sse_events(payloads, first_ms=640.0)
    request_bytes = len(compact(body))
    return {
        "type": "exchange",
        "id": f"ex-{seq:06d}",
        "seq": seq,
        "transport": "sse",
        "started_at": started_at,
        "ttfb_ms": 610.0,
        "duration_ms": events[-1]["offset_ms"] + 4.0,
        "request": {
            "method": "POST",
            "url": CODEX_URL,
            "path": CODEX_PATH,
            "headers": {**codex_request_headers(), "content-length": str(request_bytes)},
            "body_bytes": request_bytes,
            "body": body,
        },
        "response": {
            "status": 200,
            "headers": {"content-type": "text/event-stream; charset=utf-8", "x-request-id": f"req-pi-{seq}"},
            "body_bytes": sum(len(e["data"]) for e in events),
            "body": reassemble(CODEX_PATH, events),
            "events": events,
            "complete": True,
        },
        "upstream": "https://chatgpt.com",
        "error": None,
    }


def websocket_exchange(
    seq: int, started_at: str, create: dict[str, Any], payloads: list[dict[str, Any]]
) -> Record:
    events: list[Record] = [
        {"offset_ms": 35.0, "direction": "client", "kind": "text", "data": compact(create)}
    ]
    events += [
        {"offset_ms": 420.0 + 9.0 * n, "direction": "server", "kind": "text", "data": compact(payload)}
        for n, payload in enumerate(numbered(payloads))
    ]
    return {
        "type": "exchange",
        "id": f"ex-{seq:06d}",
        "seq": seq,
        "transport": "websocket",
        "started_at": started_at,
        "ttfb_ms": 28.0,
        "duration_ms": events[-1]["offset_ms"] + 50.0,
        "request": {
            "method": "GET",
            "url": "wss://chatgpt.com" + CODEX_PATH,
            "path": CODEX_PATH,
            "headers": {**codex_request_headers(), "upgrade": "websocket", "connection": "Upgrade"},
            "body_bytes": 0,
        },
        "response": {
            "status": 101,
            "headers": {"upgrade": "websocket", "connection": "Upgrade"},
            "body_bytes": 0,
            "events": events,
            "complete": True,
        },
        "upstream": "https://chatgpt.com",
        "error": None,
    }


ANSWER_PIECES = ["OK. The workspace ", "holds README.md ", "and src/."]
WS_PIECES = ["src/ has ", "3 files."]


def pi_records() -> list[Record]:
    first_input = [user_item(PI_PROMPT)]
    second_input = [*first_input, REASONING_ITEM, CALL_ITEM, OUTPUT_ITEM]
    answer = message_item("msg_68de3a2a", "".join(ANSWER_PIECES))
    third_input = [*second_input, answer, user_item(PI_FOLLOW_UP)]
    create = {"type": "response.create", **pi_request(third_input)}
    return [
        session_record("pi", "forward", None),
        sse_exchange(1, "2025-10-02T08:00:05.000+00:00", pi_request(first_input), call_stream()),
        sse_exchange(
            2,
            "2025-10-02T08:00:09.000+00:00",
            pi_request(second_input),
            text_stream("resp_68de3a29", "msg_68de3a2a", ANSWER_PIECES, usage_object(2501, 2304, 19, 0)),
        ),
        websocket_exchange(
            3,
            "2025-10-02T08:00:30.000+00:00",
            create,
            text_stream("resp_68de3a40", "msg_68de3a41", WS_PIECES, usage_object(2600, 2432, 12, 0)),
        ),
        end_record(3),
    ]


CURSOR_QUERY = "Use tools to inspect the workspace and reply OK"
SHELL_INPUT = {"command": "ls -la", "description": "List the workspace"}
GLOB_INPUT = {"glob_pattern": "src/**/*.py"}


def cursor_line(role: str, *content: dict[str, Any]) -> dict[str, Any]:
    """One line of agent-transcripts/<id>.jsonl: Anthropic-style blocks; tool_use often has no id."""
    return {"role": role, "message": {"content": list(content)}}


CURSOR_ENTRIES: list[dict[str, Any]] = [
    cursor_line("user", {"type": "text", "text": f"<user_query>\n{CURSOR_QUERY}\n</user_query>"}),
    cursor_line(
        "assistant",
        {"type": "text", "text": "I'll look at the workspace first."},
        {"type": "tool_use", "name": "Shell", "input": SHELL_INPUT},
    ),
    cursor_line(
        "assistant", {"type": "tool_use", "id": "toolu_01GlobSrcFiles", "name": "Glob", "input": GLOB_INPUT}
    ),
    cursor_line("assistant", {"type": "text", "text": "OK"}),
    {"type": "turn_ended", "status": "success"},
]


def cursor_records() -> list[Record]:
    protobuf = {
        "type": "exchange",
        "id": "ex-000001",
        "seq": 1,
        "transport": "http",
        "started_at": "2025-10-02T09:00:01.000+00:00",
        "ttfb_ms": 180.0,
        "duration_ms": 2210.0,
        "request": {
            "method": "POST",
            "url": "https://api2.cursor.sh/agent.v1.AgentService/Run",
            "path": "/agent.v1.AgentService/Run",
            "headers": {
                "content-type": "application/connect+proto",
                "authorization": "Bearer [REDACTED:1f3870be]",
            },
            "body_bytes": 12,
            "body_b64": "AAAAAAcKBU9LIQ==",
        },
        "response": {
            "status": 200,
            "headers": {"content-type": "application/connect+proto"},
            "body_bytes": 9,
            "body_b64": "AAAAAAQKAk9L",
            "complete": True,
        },
        "upstream": "https://api2.cursor.sh",
        "error": None,
    }
    transcript = [
        {
            "type": "transcript",
            "source": "cursor",
            "at": f"2025-10-02T09:00:0{2 + n}.000+00:00",
            "entry": entry,
        }
        for n, entry in enumerate(CURSOR_ENTRIES)
    ]
    return [session_record("cursor", "forward", None), protobuf, *transcript, end_record(1)]


# -- helpers -------------------------------------------------------------------------------------------


def open_records(open_viewer: OpenViewer, records: list[Record]) -> Page:
    info, turns = normalize_records(records)
    return open_viewer(turns, info=info)


def select_turn(page: Page, index: int) -> None:
    page.click(f'#turn-list [data-turn="{index + 1}"]')
    expect(page.locator("#detail .detail-head h2")).to_have_text(f"Turn {index + 1}")


def open_tab(page: Page, name: str) -> None:
    page.click(f'#detail .tab[data-tab="{name}"]')
    expect(page.locator("#detail .panel")).to_have_attribute("data-tab", name)


def texts(page: Page, selector: str) -> list[str]:
    return [text.strip() for text in page.locator(selector).all_inner_texts()]


def usage_rows(page: Page) -> dict[str, str]:
    """The Usage tab's legend: label -> count as shown."""
    rows = {}
    for row in page.locator("#detail .legend tr").all():
        label, value = row.locator("th").inner_text(), row.locator("td.num").first.inner_text()
        rows[label.strip()] = value.strip()
    return rows


def key_values(definitions: Locator) -> dict[str, str]:
    """A <dl>: term -> description, as shown."""
    terms = [text.strip() for text in definitions.locator("dt").all_inner_texts()]
    return dict(
        zip(terms, [text.strip() for text in definitions.locator("dd").all_inner_texts()], strict=True)
    )


# -- Pi -----------------------------------------------------------------------------------------------


def test_pi_turns_are_listed_in_order_as_openai_responses_over_sse_and_websocket(
    open_viewer: OpenViewer,
) -> None:
    page = open_records(open_viewer, pi_records())

    assert page.locator("#turn-list [data-turn]").count() == 3
    assert texts(page, "#turn-list .row-model") == [PI_MODEL] * 3
    chips = []
    for index in range(3):
        select_turn(page, index)
        chips.append(texts(page, "#detail .chips .chip"))
    assert chips == [
        [PI_MODEL, "OpenAI Responses", "sse", "200"],
        [PI_MODEL, "OpenAI Responses", "sse", "200"],
        [PI_MODEL, "OpenAI Responses", "websocket", "101"],
    ]


def test_pi_first_turn_shows_system_prompt_and_messages(open_viewer: OpenViewer) -> None:
    page = open_records(open_viewer, pi_records())
    select_turn(page, 0)

    assert texts(page, "#detail .tab") == [
        "Messages1",
        "Tools2",
        "Response",
        "Events16",
        "Headers",
        "Usage",
        "Diff",
        "Raw",
    ]
    system = page.locator("#detail details.system")
    expect(system.locator("summary")).to_contain_text("system")
    system.locator("summary").click()
    expect(system.locator(".blocks")).to_have_text(PI_INSTRUCTIONS)
    expect(page.locator("#detail .msg.role-user .blocks")).to_have_text(PI_PROMPT)


def test_pi_tools_tab_shows_each_function_tool_with_its_schema(open_viewer: OpenViewer) -> None:
    page = open_records(open_viewer, pi_records())
    select_turn(page, 0)
    open_tab(page, "tools")

    assert texts(page, "#detail .tool-def-name") == ["bash", "read"]
    bash = page.locator('#detail .tool-def[data-tool="0"]')
    expect(bash).to_contain_text("Execute a bash command in the current working directory.")
    assert json.loads(bash.locator(".schema pre").inner_text()) == PI_TOOLS[0]["parameters"]


def test_pi_response_tab_shows_reasoning_and_the_function_call(open_viewer: OpenViewer) -> None:
    page = open_records(open_viewer, pi_records())
    select_turn(page, 0)
    open_tab(page, "response")

    call = page.locator("#detail .response .tool-call")
    expect(call.locator(".tool-name")).to_have_text("bash")
    expect(call.locator(".tool-id")).to_have_text(CALL_ID)
    assert json.loads(call.locator(".tool-input").inner_text()) == {"command": "ls -la"}
    thinking = page.locator("#detail .response details.thinking")
    thinking.locator("summary").click()
    expect(thinking.locator(".think-text")).to_have_text(REASONING_SUMMARY)
    assert "completed" in page.locator("#detail .response dl.kv").inner_text()


def test_pi_events_tab_lists_every_sse_event_in_order(open_viewer: OpenViewer) -> None:
    page = open_records(open_viewer, pi_records())
    select_turn(page, 0)
    open_tab(page, "events")

    assert texts(page, "#detail .events-table .ev-name") == [payload["type"] for payload in call_stream()]
    first_delta = page.locator("#detail .events-table tbody tr").nth(10)
    expect(first_delta.locator(".ev-data")).to_contain_text('"delta":"{\\"command\\""')


def test_pi_second_turn_links_the_tool_call_to_its_output(open_viewer: OpenViewer) -> None:
    page = open_records(open_viewer, pi_records())
    select_turn(page, 1)

    call = page.locator("#detail .messages .tool-call")
    result = page.locator("#detail .messages .tool-result")
    expect(call.locator(".tool-name")).to_have_text("bash")
    expect(result.locator(".tool-name")).to_have_text("bash")
    expect(result.locator(".tool-id")).to_have_text(CALL_ID)
    expect(result.locator(".tool-output")).to_have_text(LS_OUTPUT.rstrip("\n"))
    call_pair = re.search(r"pair-\d", call.get_attribute("class") or "")
    assert call_pair is not None and call_pair.group(0) in (result.get_attribute("class") or "")
    expect(page.locator("#detail .msg.is-response .blocks")).to_have_text("".join(ANSWER_PIECES))


def test_pi_websocket_turn_shows_both_directions_and_the_reply(open_viewer: OpenViewer) -> None:
    page = open_records(open_viewer, pi_records())
    select_turn(page, 2)

    expect(page.locator("#detail .msg.role-user").last).to_contain_text(PI_FOLLOW_UP)
    expect(page.locator("#detail .msg.is-response .blocks")).to_have_text("".join(WS_PIECES))
    open_tab(page, "events")
    names = texts(page, "#detail .events-table .ev-name")
    assert names[0] == "↑ response.create"
    assert names[1:] == ["↓ " + p["type"] for p in text_stream("r", "m", WS_PIECES, {})]
    assert page.locator("#detail .events-table tr.ev-client").count() == 1


@pytest.mark.parametrize(
    ("index", "legend", "facts"),
    [
        (
            0,
            {
                "Input (uncached)": "1,321",
                "Cache read": "1,024",
                "Cache write": "0",
                "Output": "87",
                "Total": "2,432",
            },
            {"Cache hit rate (of the prompt)": "43.7%", "Reasoning tokens (part of output)": "64"},
        ),
        (
            1,
            {
                "Input (uncached)": "197",
                "Cache read": "2,304",
                "Cache write": "0",
                "Output": "19",
                "Total": "2,520",
            },
            {"Cache hit rate (of the prompt)": "92.1%"},
        ),
        (
            2,
            {
                "Input (uncached)": "168",
                "Cache read": "2,432",
                "Cache write": "0",
                "Output": "12",
                "Total": "2,612",
            },
            {"Cache hit rate (of the prompt)": "93.5%"},
        ),
    ],
)
def test_pi_usage_tab_shows_token_counts_with_cached_tokens_apart(
    open_viewer: OpenViewer, index: int, legend: dict[str, str], facts: dict[str, str]
) -> None:
    page = open_records(open_viewer, pi_records())
    select_turn(page, index)
    open_tab(page, "usage")

    assert usage_rows(page) == legend
    assert key_values(page.locator("#detail .usage dl.kv").first) == facts


# -- Cursor -------------------------------------------------------------------------------------------


def test_cursor_html_holds_the_transcript_turns_and_tool_use_blocks(
    open_viewer: OpenViewer, tmp_path: Path
) -> None:
    page = open_records(open_viewer, cursor_records())

    written = next(tmp_path.glob("trace-*.html")).read_text(encoding="utf-8")
    encoded = re.search(r'<script type="application/octet-stream" id="tap-payload">([^<]*)</script>', written)
    assert encoded is not None
    turns = expand_turns(decode_payload(encoded.group(1)))
    transcript = [turn for turn in turns if turn["api"] == "cursor_transcript"]
    spoken = [
        (turn["messages"][0]["role"], turn["transport"])
        for turn in transcript
        if turn["messages"][0]["content"]
    ]
    assert spoken == [("user", "transcript")] + [("assistant", "transcript")] * 3
    tool_uses = [
        block
        for turn in transcript
        for message in turn["messages"]
        for block in message["content"]
        if block["type"] == "tool_use"
    ]
    assert [(block["name"], block["input"]) for block in tool_uses] == [
        ("Shell", SHELL_INPUT),
        ("Glob", GLOB_INPUT),
    ]
    rows = texts(page, "#turn-list .row-model")
    assert rows.count("Cursor transcript") == len(transcript)


def test_cursor_transcript_turns_render_their_text_and_tool_calls(open_viewer: OpenViewer) -> None:
    page = open_records(open_viewer, cursor_records())
    first = 1  # turn 0 is the raw protobuf exchange with api2.cursor.sh

    select_turn(page, 0)
    expect(page.locator("#detail .chips")).to_contain_text("Unparsed")
    select_turn(page, first)
    expect(page.locator("#detail .chips")).to_contain_text("Cursor transcript")
    expect(page.locator("#detail .msg.role-user")).to_contain_text(CURSOR_QUERY)
    select_turn(page, first + 1)
    expect(page.locator("#detail .msg.role-assistant .block-text")).to_contain_text(
        "I'll look at the workspace first."
    )
    shell = page.locator("#detail .tool-call")
    expect(shell.locator(".tool-name")).to_have_text("Shell")
    assert json.loads(shell.locator(".tool-input").inner_text()) == {
        "command": "ls -la",
        "description": "List the workspace",
    }
    select_turn(page, first + 2)
    glob = page.locator("#detail .tool-call")
    expect(glob.locator(".tool-name")).to_have_text("Glob")
    expect(glob.locator(".tool-id")).to_have_text("toolu_01GlobSrcFiles")
