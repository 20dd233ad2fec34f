"""Writes the golden traces of tests/unit/test_threads_golden.py (run it after changing a scenario).

    python tests/golden/threads/make_records.py

Each scenario is a list of trace records in the shapes Claude Code and Codex send (paths, headers,
system prompts, the Task tool's input, a subagent's first user message with its system-reminder,
cache_control marks on the system prompt and the last message), with usage a real API would report.
"""

from __future__ import annotations

import json
from copy import deepcopy
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
T0 = datetime(2026, 3, 2, 10, 0, 0, tzinfo=UTC)
SONNET = "claude-sonnet-4-5-20250929"
HAIKU = "claude-haiku-4-5-20251001"
OPUS = "claude-opus-4-5-20251101"
EPHEMERAL = {"type": "ephemeral"}
HEADERS = {
    "content-type": "application/json",
    "x-api-key": "[redacted:4f1c]",
    "anthropic-version": "2023-06-01",
    "anthropic-beta": "claude-code-20250219,interleaved-thinking-2025-05-14",
    "user-agent": "claude-cli/2.0.31 (external, cli)",
}
METADATA = {"user_id": "user_5e1f_account__session_0b7c2a51-1a8e-4f4e-9d0c-3f0a3c1d2e4f"}

MAIN_SYSTEM = [
    {
        "type": "text",
        "text": "You are Claude Code, Anthropic's official CLI for Claude.",
        "cache_control": EPHEMERAL,
    },
    {
        "type": "text",
        "text": "You are an interactive CLI tool that helps users with software engineering tasks. "
        "Use the instructions below and the tools available to you to assist the user.\n\n"
        + "# Tone and style\nBe concise. "
        * 40
        + "\n<env>\nWorking directory: /home/dev/shop\nIs directory a git repo: Yes\nPlatform: linux\n"
        "Today's date: 2026-03-02\n</env>",
        "cache_control": EPHEMERAL,
    },
]
AGENT_SYSTEM = [
    {
        "type": "text",
        "text": "You are Claude Code, Anthropic's official CLI for Claude.",
        "cache_control": EPHEMERAL,
    },
    {
        "type": "text",
        "text": "You are an agent for Claude Code, Anthropic's official CLI for Claude. Given the user's "
        "message, you should use the tools available to complete the task. Do what has been asked; nothing "
        "more, nothing less. When you complete the task simply respond with a detailed writeup.",
        "cache_control": EPHEMERAL,
    },
]
TOPIC_SYSTEM = [
    {
        "type": "text",
        "text": "Analyze if this message indicates a new conversation topic. If it does, extract a 2-3 word "
        "title that captures the new topic. Format your response as a JSON object with two fields: "
        "'isNewTopic' (boolean) and 'title' (string, or null if isNewTopic is false).",
    }
]


def tool(name: str, description: str, properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    schema = {"type": "object", "properties": properties, "required": required, "additionalProperties": False}
    schema["$schema"] = "http://json-schema.org/draft-07/schema#"
    return {"name": name, "description": description, "input_schema": schema}


TASK = tool(
    "Task",
    "Launch a new agent to handle complex, multi-step tasks autonomously. Available agent types: "
    "general-purpose, Explore (fast agent specialized for exploring codebases).",
    {
        "description": {"type": "string", "description": "A short (3-5 word) description of the task"},
        "prompt": {"type": "string", "description": "The task for the agent to perform"},
        "subagent_type": {"type": "string", "description": "The type of specialized agent to use"},
    },
    ["description", "prompt", "subagent_type"],
)
BASH = tool(
    "Bash",
    "Executes a given bash command in a persistent shell session with optional timeout.",
    {"command": {"type": "string"}, "timeout": {"type": "number"}, "description": {"type": "string"}},
    ["command"],
)
READ = tool(
    "Read",
    "Reads a file from the local filesystem.",
    {"file_path": {"type": "string"}, "offset": {"type": "number"}, "limit": {"type": "number"}},
    ["file_path"],
)
GREP = tool(
    "Grep",
    "A powerful search tool built on ripgrep.",
    {"pattern": {"type": "string"}, "path": {"type": "string"}, "glob": {"type": "string"}},
    ["pattern"],
)
MAIN_TOOLS = [TASK, BASH, READ, GREP]
AGENT_TOOLS = [BASH, READ, GREP]


class Trace:
    def __init__(self, client: str = "claude", target: str = "https://api.anthropic.com") -> None:
        self.records: list[dict[str, Any]] = [
            {
                "type": "session",
                "format_version": 1,
                "claude_tap_version": "0.2.0",
                "client": client,
                "mode": "reverse",
                "target": target,
                "argv": [],
                "started_at": T0.isoformat(timespec="milliseconds"),
                "id": "s1",
            }
        ]

    def exchange(
        self,
        at_s: float,
        duration_s: float,
        path: str,
        body: Any,
        response: Any,
        *,
        method: str = "POST",
        status: int = 200,
        headers: dict[str, str] | None = None,
        upstream: str = "https://api.anthropic.com",
    ) -> None:
        seq = len(self.records)
        self.records.append(
            {
                "type": "exchange",
                "id": f"ex-{seq:06d}",
                "seq": seq,
                "transport": "sse" if isinstance(body, dict) and body.get("stream") else "http",
                "started_at": (T0 + timedelta(seconds=at_s)).isoformat(timespec="milliseconds"),
                "ttfb_ms": 600.0,
                "duration_ms": duration_s * 1000,
                "request": {
                    "method": method,
                    "url": upstream + path,
                    "path": path,
                    "headers": dict(HEADERS if headers is None else headers),
                    "body_bytes": len(json.dumps(body)) if body is not None else 0,
                    **({"body": body} if body is not None else {}),
                },
                "response": {
                    "status": status,
                    "headers": {"content-type": "application/json"},
                    "body_bytes": len(json.dumps(response)),
                    "body": response,
                    "complete": True,
                },
                "upstream": upstream,
                "error": None,
            }
        )

    def messages_call(
        self,
        at_s: float,
        duration_s: float,
        *,
        model: str = SONNET,
        system: list[dict[str, Any]],
        tools: list[dict[str, Any]],
        messages: list[dict[str, Any]],
        output: list[dict[str, Any]],
        usage: tuple[int, int, int, int],  # input, cache write, cache read, output
        marks: bool = True,
        max_tokens: int = 32000,
        stop_reason: str | None = None,
    ) -> None:
        sent = deepcopy(messages)
        if marks and sent:
            content = sent[-1]["content"]
            if isinstance(content, str):
                sent[-1]["content"] = content = [{"type": "text", "text": content}]
            content[-1]["cache_control"] = EPHEMERAL
        body: dict[str, Any] = {
            "model": model,
            "max_tokens": max_tokens,
            "stream": True,
            "metadata": METADATA,
        }
        body["system"] = deepcopy(system) if marks else [strip_marks(b) for b in system]
        body["messages"] = sent
        if tools:
            body["tools"] = tools
        inp, write, read, out = usage
        reply = {
            "id": f"msg_{len(self.records):04d}",
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": output,
            "stop_reason": stop_reason
            or ("tool_use" if any(b["type"] == "tool_use" for b in output) else "end_turn"),
            "stop_sequence": None,
            "usage": {
                "input_tokens": inp,
                "cache_creation_input_tokens": write,
                "cache_read_input_tokens": read,
                "output_tokens": out,
            },
        }
        self.exchange(at_s, duration_s, "/v1/messages?beta=true", body, reply)

    def write(self, name: str) -> None:
        path = HERE / f"{name}.records.json"
        path.write_text(json.dumps(self.records, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def strip_marks(block: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in block.items() if key != "cache_control"}


def text(value: str) -> dict[str, Any]:
    return {"type": "text", "text": value}


def use(tool_id: str, name: str, **arguments: Any) -> dict[str, Any]:
    return {"type": "tool_use", "id": tool_id, "name": name, "input": arguments}


def result(tool_id: str, content: str) -> dict[str, Any]:
    return {"type": "tool_result", "tool_use_id": tool_id, "content": [text(content)]}


def user(*blocks: dict[str, Any]) -> dict[str, Any]:
    return {"role": "user", "content": list(blocks)}


def assistant(*blocks: dict[str, Any]) -> dict[str, Any]:
    return {"role": "assistant", "content": list(blocks)}


REMINDER = (
    "<system-reminder>\nAs you answer the user's questions, you can use the following context:\n"
    "# claudeMd\nUse pytest for tests.\n</system-reminder>"
)
PROMPT_A = "Find where authentication is handled in this repo. Report the files and the functions involved."
PROMPT_B = "Run the test suite with pytest -q and report which tests fail, if any."
ANSWER_A = (
    "Authentication lives in src/shop/auth.py: "
    "login() checks the password hash and issue_token() signs a JWT."
)
ANSWER_B = "All 42 tests pass (pytest -q, 3.1 s)."


def subagents() -> Trace:
    """Claude Code: side requests, then the main agent dispatches two subagents in parallel (Task)."""
    trace = Trace()
    ask = "Where is auth handled, and do the tests pass?"
    quota = {
        "model": HAIKU,
        "max_tokens": 1,
        "messages": [{"role": "user", "content": "quota"}],
        "metadata": METADATA,
    }
    quota_reply = {
        "id": "msg_q",
        "type": "message",
        "role": "assistant",
        "model": HAIKU,
        "content": [text("#")],
        "stop_reason": "max_tokens",
        "usage": {"input_tokens": 8, "output_tokens": 1},
    }
    trace.exchange(0.0, 0.4, "/v1/messages?beta=true", quota, quota_reply)
    topic = {
        "model": HAIKU,
        "max_tokens": 512,
        "temperature": 0,
        "system": TOPIC_SYSTEM,
        "messages": [{"role": "user", "content": ask}],
        "metadata": METADATA,
    }
    topic_reply = {
        "id": "msg_t",
        "type": "message",
        "role": "assistant",
        "model": HAIKU,
        "content": [text('{"isNewTopic": true, "title": "Auth and tests"}')],
        "stop_reason": "end_turn",
        "usage": {"input_tokens": 96, "output_tokens": 14},
    }
    trace.exchange(0.5, 0.6, "/v1/messages?beta=true", topic, topic_reply)
    count = {"model": SONNET, "messages": [{"role": "user", "content": "Use pytest for tests."}]}
    trace.exchange(0.6, 0.2, "/v1/messages/count_tokens?beta=true", count, {"input_tokens": 14})
    opening = [user(text(ask))]
    dispatch = [
        text("I'll look at the auth code and run the tests in parallel."),
        use("toolu_01A", "Task", description="Find auth code", prompt=PROMPT_A, subagent_type="Explore"),
        use(
            "toolu_01B", "Task", description="Run the tests", prompt=PROMPT_B, subagent_type="general-purpose"
        ),
    ]
    trace.messages_call(
        1.0,
        4.0,
        system=MAIN_SYSTEM,
        tools=MAIN_TOOLS,
        messages=opening,
        output=dispatch,
        usage=(12, 2100, 0, 190),
    )
    first_a = [user(text(REMINDER), text(PROMPT_A))]
    first_b = [user(text(REMINDER), text(PROMPT_B))]
    grep = [use("toolu_02A", "Grep", pattern="def login|def issue_token", path="src")]
    run = [use("toolu_02B", "Bash", command="pytest -q", description="Run the tests")]
    trace.messages_call(
        5.2,
        2.0,
        system=AGENT_SYSTEM,
        tools=AGENT_TOOLS,
        messages=first_a,
        output=grep,
        usage=(4, 1400, 0, 60),
    )
    trace.messages_call(
        5.3, 2.5, system=AGENT_SYSTEM, tools=AGENT_TOOLS, messages=first_b, output=run, usage=(4, 1410, 0, 55)
    )
    trace.exchange(6.0, 0.1, "/v1/models?beta=true", None, {"data": [{"id": SONNET}]}, method="GET")
    grep_out = "src/shop/auth.py:12:def login(user, password):\nsrc/shop/auth.py:40:def issue_token(user):"
    trace.messages_call(
        8.0,
        3.0,
        system=AGENT_SYSTEM,
        tools=AGENT_TOOLS,
        messages=[*first_a, assistant(*grep), user(result("toolu_02A", grep_out))],
        output=[text(ANSWER_A)],
        usage=(3, 120, 1400, 80),
    )
    trace.messages_call(
        9.0,
        2.0,
        system=AGENT_SYSTEM,
        tools=AGENT_TOOLS,
        messages=[*first_b, assistant(*run), user(result("toolu_02B", "42 passed in 3.10s"))],
        output=[text(ANSWER_B)],
        usage=(3, 90, 1410, 30),
    )
    trace.messages_call(
        11.5,
        2.5,
        system=MAIN_SYSTEM,
        tools=MAIN_TOOLS,
        messages=[
            *opening,
            assistant(*dispatch),
            user(result("toolu_01A", ANSWER_A), result("toolu_01B", ANSWER_B)),
        ],
        output=[text("Auth is in src/shop/auth.py (login, issue_token), and all 42 tests pass.")],
        usage=(3, 150, 2100, 40),
    )
    return trace


def cache_misses() -> Trace:
    """Claude Code's main agent, one cache-miss cause after another, each followed by a normal turn."""
    trace = Trace()
    system, tools, model = deepcopy(MAIN_SYSTEM), list(MAIN_TOOLS), SONNET
    history = [user(text("Tidy up the shop package."))]
    clock = 0.0
    step = 0

    def call(usage: tuple[int, int, int, int], *, gap: float = 10.0, marks: bool = True) -> None:
        nonlocal clock, step, history
        step += 1
        tool_id = f"toolu_{step:02d}"
        output = [text(f"Step {step}."), use(tool_id, "Bash", command=f"ruff check src/shop/m{step}.py")]
        trace.messages_call(
            clock,
            3.0,
            model=model,
            system=system,
            tools=tools,
            messages=history,
            output=output,
            usage=usage,
            marks=marks,
        )
        history = [*history, assistant(*output), user(result(tool_id, f"m{step}.py: All checks passed!"))]
        clock += 3.0 + gap

    call((10, 4000, 0, 50))  # cold start
    call((3, 300, 4000, 50))
    system[1] = {**system[1], "text": system[1]["text"].replace("2026-03-02", "2026-03-03")}
    call((3, 4600, 0, 50))  # the date in the system prompt changed
    call((3, 300, 4600, 50))
    tools = [
        *tools,
        tool("mcp__github__create_issue", "Create a GitHub issue.", {"title": {"type": "string"}}, ["title"]),
    ]
    call((3, 5200, 0, 50))  # an MCP server added a tool
    call((3, 300, 5200, 50))
    model = OPUS
    call((3, 5800, 0, 50), gap=7 * 60)  # /model opus
    call((3, 6100, 0, 50))  # 7 minutes later: the 5-minute cache expired
    call((3, 300, 6100, 50))
    history = [
        user(text("This session is being continued from a previous conversation. Summary: tidied m1-m9."))
    ]
    call((3, 1200, 3000, 50))  # /compact: the history was replaced by a summary
    call((3, 300, 4200, 50))
    call((4500, 0, 0, 50), marks=False)  # a request without cache_control marks
    call((3, 4800, 0, 50))  # marks are back: written again
    call((3, 300, 4800, 50))
    call((3, 5100, 0, 50))  # same prefix, a few seconds later, nothing read: unexplained
    return trace


def codex_sessions() -> Trace:
    """Codex: two sessions through one tap, told apart by prompt_cache_key, each with its own turns."""
    trace = Trace(client="codex", target="https://api.openai.com")
    instructions = "You are Codex, based on GPT-5. You are running as a coding agent in the Codex CLI."
    shell = {
        "type": "function",
        "name": "shell",
        "description": "Runs a shell command.",
        "parameters": {"type": "object"},
    }

    def call(
        at: float, key: str, inputs: list[dict[str, Any]], output: list[dict[str, Any]], cached: int
    ) -> None:
        body = {
            "model": "gpt-5-codex",
            "instructions": instructions,
            "input": inputs,
            "tools": [shell],
            "tool_choice": "auto",
            "parallel_tool_calls": False,
            "store": False,
            "stream": True,
            "prompt_cache_key": key,
        }
        reply = {
            "id": f"resp_{len(trace.records):03d}",
            "object": "response",
            "status": "completed",
            "model": "gpt-5-codex",
            "output": output,
            "usage": {
                "input_tokens": 3000,
                "input_tokens_details": {"cached_tokens": cached},
                "output_tokens": 40,
                "output_tokens_details": {"reasoning_tokens": 0},
                "total_tokens": 3040,
            },
        }
        headers = {"content-type": "application/json", "authorization": "[redacted:9a0b]", "session_id": key}
        trace.exchange(
            at, 2.0, "/v1/responses", body, reply, headers=headers, upstream="https://api.openai.com"
        )

    def message(role: str, value: str) -> dict[str, Any]:
        kind = "output_text" if role == "assistant" else "input_text"
        return {"type": "message", "role": role, "content": [{"type": kind, "text": value}]}

    env = message("user", "<environment_context>\n  <cwd>/home/dev/shop</cwd>\n</environment_context>")
    first = [env, message("user", "Add type hints to cart.py")]
    second = [env, message("user", "Write a changelog entry")]
    call_a = {
        "type": "function_call",
        "name": "shell",
        "arguments": '{"command":["cat","cart.py"]}',
        "call_id": "call_A",
    }
    call(0.0, "0199a1b2-aaaa", first, [call_a], 0)
    call(0.5, "0199a1b2-bbbb", second, [message("assistant", "Added an entry for 1.4.0.")], 0)
    out = {"type": "function_call_output", "call_id": "call_A", "output": "def total(items): ..."}
    call(3.0, "0199a1b2-aaaa", [*first, call_a, out], [message("assistant", "Done.")], 2944)
    return trace


if __name__ == "__main__":
    subagents().write("claude_subagents")
    cache_misses().write("claude_cache_misses")
    codex_sessions().write("codex_sessions")
