"""The turn model: every API format, normalized once, in the shape the viewer renders.

Python builds these (normalize/*); JavaScript only renders them; Markdown/JSON export reads them too.
Everything here is plain JSON (TypedDicts), so a turn goes to the browser with `json.dumps`.

A *turn* is one model call: one exchange record (or one response on a WebSocket, or one imported
Cursor transcript entry). Blocks are typed the same way whatever the API:

    text       {"type": "text", "text": str}
    thinking   {"type": "thinking", "text": str, "signature"?: str, "redacted"?: bool}
    tool_use   {"type": "tool_use", "id": str, "name": str, "input": JSON}
    tool_result{"type": "tool_result", "tool_use_id": str, "content": [Block], "is_error": bool}
    image      {"type": "image", "media_type": str, "data"?: base64 str, "url"?: str}
    other      {"type": "other", "label": str, "raw": JSON}   # anything we don't model, never dropped

Usage has one meaning everywhere (Anthropic's): `input_tokens` excludes cached tokens. For APIs that
count cached tokens inside their input (OpenAI, Gemini, DeepSeek) the normalizer subtracts them, so
`input_tokens + cache_read_tokens + cache_write_tokens` is always the whole prompt.
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict

JsonValue = Any  # a value json.loads can return; kept as one alias so Any does not spread

Api = Literal[
    "anthropic_messages", "openai_responses", "chat_completions", "gemini", "cursor_transcript", "raw"
]


class Block(TypedDict, total=False):
    type: Literal["text", "thinking", "tool_use", "tool_result", "image", "other"]
    text: str
    signature: str
    redacted: bool
    id: str
    name: str
    input: JsonValue
    tool_use_id: str
    content: list[Block]
    is_error: bool
    media_type: str
    data: str
    url: str
    label: str
    raw: JsonValue


class Message(TypedDict):
    role: str  # user, assistant, tool, developer, system, model, ...
    content: list[Block]


class Tool(TypedDict):
    name: str
    description: str
    input_schema: JsonValue  # JSON schema, or None when the API gave none


class Usage(TypedDict):
    input_tokens: int  # prompt tokens NOT read from or written to cache
    output_tokens: int  # includes reasoning tokens
    cache_read_tokens: int
    cache_write_tokens: int
    reasoning_tokens: int  # part of output_tokens, when the API says
    total_tokens: int  # input + cache_read + cache_write + output


class Timing(TypedDict):
    started_at: str  # ISO-8601 wall clock
    ttfb_ms: float | None  # response headers
    ttft_ms: float | None  # first content-bearing event (token)
    duration_ms: float | None
    tokens_per_s: float | None  # output tokens / (duration - ttft)


class RawEvent(TypedDict):
    offset_ms: float
    event: NotRequired[str]  # SSE event name
    data: str  # SSE data / WebSocket text (base64 for binary)
    direction: NotRequired[Literal["client", "server"]]  # WebSocket only


class Turn(TypedDict):
    index: int  # 0-based position in the session, in order of start
    id: str  # exchange id (a WebSocket response: "<exchange id>.<k>")
    api: Api
    provider: str  # anthropic, openai, google, moonshot, deepseek, cursor, ... or "unknown"
    model: str | None
    method: str
    path: str
    url: str  # upstream URL
    transport: Literal["http", "sse", "websocket", "transcript"]
    status: int | None
    complete: bool
    error: str | None
    system: list[Block]
    messages: list[Message]
    tools: list[Tool]
    output: list[Block]
    stop_reason: str | None
    usage: Usage | None
    cost_usd: float | None  # None: unknown model, never guessed
    params: dict[str, JsonValue]  # every other request parameter (temperature, max_tokens, stream, ...)
    timing: Timing
    request_headers: dict[str, str]
    response_headers: dict[str, str]
    events: list[RawEvent]
    conversation: str  # key shared by the turns of one conversation
    prev: int | None  # index of the previous turn of the same conversation (the diff target)
    prev_is_guess: bool  # True when `prev` was matched by content, not by an explicit id
    thread: str  # "main", "agent-N" (a subagent), "session-N", "side" (normalize/threads.py); "" unplaced
    parent_tool_use_id: str | None  # a subagent's turns: the id of the tool call that dispatched it
    request_body: JsonValue  # as recorded (redacted), for "copy as JSON" and "copy as curl"
    response_body: JsonValue


class SessionInfo(TypedDict):
    client: str | None
    mode: str | None
    target: str | None
    started_at: str | None
    claude_tap_version: str | None
    source_format: Literal["claude-tap", "legacy-jsonl"]
