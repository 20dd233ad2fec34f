"""A scripted coding agent for `claude-tap demo`, run as a real child process behind the proxy.

It behaves like a small Claude Code: it reads ANTHROPIC_BASE_URL (set by claude-tap, exactly as Claude
Code would get it), sends a system prompt, tools with JSON schemas and the user's task to
`POST /v1/messages?beta=true` as a stream, runs each tool call for real in a scratch workspace
(read a file, edit it, run its test) and sends the tool_result back, until the model answers in text.
It prints the conversation to stdout. No API key is needed; a placeholder one is sent.

    python -m claude_tap.demo.agent      (ANTHROPIC_BASE_URL must be set)

It uses only the standard library and knows nothing about claude-tap's internals: to the proxy it is
just another client.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from claude_tap import __version__

Json = dict[str, Any]

MODEL = "claude-sonnet-4-5"
TITLE_MODEL = "claude-haiku-4-5"
PLACEHOLDER_KEY = "sk-ant-demo-placeholder-not-a-real-key"
MAX_TURNS = 8  # a guard: the scripted model finishes in four

TASK = "test_calc.py fails: add(2, 3) should be 5. Please find the bug in calc.py and fix it."

SYSTEM = [
    {
        "type": "text",
        "text": "You are a careful coding agent working in the user's repository. Read code before you "
        "change it, make the smallest fix, and run the tests before you say you are done.",
        "cache_control": {"type": "ephemeral"},
    }
]

TOOLS = [
    {
        "name": "read_file",
        "description": "Read a text file in the workspace and return its contents.",
        "input_schema": {
            "type": "object",
            "properties": {"path": {"type": "string", "description": "path relative to the workspace"}},
            "required": ["path"],
        },
    },
    {
        "name": "edit_file",
        "description": "Replace one exact occurrence of old_string with new_string in a file.",
        "input_schema": {
            "type": "object",
            "properties": {
                "path": {"type": "string"},
                "old_string": {"type": "string", "description": "text to replace; must occur exactly once"},
                "new_string": {"type": "string"},
            },
            "required": ["path", "old_string", "new_string"],
        },
    },
    {
        "name": "run_tests",
        "description": "Run the workspace's tests and return their output.",
        "input_schema": {"type": "object", "properties": {}},
    },
]

WORKSPACE_FILES = {
    "calc.py": "def add(a, b):\n    return a - b\n\n\ndef mul(a, b):\n    return a * b\n",
    "test_calc.py": (
        "from calc import add, mul\n\n"
        "assert add(2, 3) == 5, f'add(2, 3) returned {add(2, 3)}'\n"
        "assert mul(2, 3) == 6\n"
        "print('test_calc.py: 2 passed')\n"
    ),
}


class Agent:
    def __init__(self, base_url: str, api_key: str, workspace: Path) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.workspace = workspace

    # --- HTTP ---

    def _post(self, path: str, body: Json) -> urllib.request.Request:
        return urllib.request.Request(
            self.base_url + path,
            data=json.dumps(body).encode(),
            method="POST",
            headers={
                "content-type": "application/json",
                "accept": "application/json",
                "x-api-key": self.api_key,
                "anthropic-version": "2023-06-01",
                "anthropic-beta": "interleaved-thinking-2025-05-14",
                "user-agent": f"claude-tap-demo-agent/{__version__}",
                "x-app": "cli",
            },
        )

    def call_json(self, path: str, body: Json) -> Json:
        with urllib.request.urlopen(self._post(path, body), timeout=30) as response:
            result: Json = json.load(response)
            return result

    def call_stream(self, body: Json) -> Json:
        """POST a streamed request and rebuild the assistant message from its SSE events."""
        with urllib.request.urlopen(self._post("/v1/messages?beta=true", body), timeout=30) as response:
            return assemble_message(parse_sse(response))

    # --- the loop ---

    def run(self) -> None:
        say("you", TASK)
        title = self.call_json(
            "/v1/messages",
            {
                "model": TITLE_MODEL,
                "max_tokens": 32,
                "system": "Summarize the user's request as a title of at most six words.",
                "messages": [{"role": "user", "content": TASK}],
            },
        )
        say("title", text_of(title["content"]))
        messages: list[Json] = [{"role": "user", "content": [{"type": "text", "text": TASK}]}]
        request = {"model": MODEL, "max_tokens": 4096, "system": SYSTEM, "tools": TOOLS, "stream": True}
        counted = self.call_json(
            "/v1/messages/count_tokens",
            {"model": MODEL, "system": SYSTEM, "tools": TOOLS, "messages": messages},
        )
        say("tokens", f"{counted['input_tokens']} input tokens in the first request")
        for _ in range(MAX_TURNS):
            message = self.call_stream({**request, "messages": messages})
            messages.append({"role": "assistant", "content": message["content"]})
            for block in message["content"]:
                show_block(block)
            if message["stop_reason"] != "tool_use":
                return
            calls = [block for block in message["content"] if block["type"] == "tool_use"]
            messages.append({"role": "user", "content": [self.use_tool(call) for call in calls]})
        raise RuntimeError(f"the model was still calling tools after {MAX_TURNS} turns")

    def use_tool(self, block: Json) -> Json:
        output, is_error = run_tool(self.workspace, block["name"], block["input"])
        say("result", output)
        return {"type": "tool_result", "tool_use_id": block["id"], "content": output, "is_error": is_error}


# --- tools, run for real in the scratch workspace ---


def run_tool(workspace: Path, name: str, tool_input: Json) -> tuple[str, bool]:
    """Returns (output, is_error)."""
    try:
        if name == "read_file":
            return (workspace / tool_input["path"]).read_text(), False
        if name == "edit_file":
            path = workspace / tool_input["path"]
            text = path.read_text()
            if text.count(tool_input["old_string"]) != 1:
                return f"old_string must occur exactly once in {tool_input['path']}", True
            path.write_text(text.replace(tool_input["old_string"], tool_input["new_string"]))
            return f"Edited {tool_input['path']}", False
        if name == "run_tests":
            done = subprocess.run(
                [sys.executable, "test_calc.py"], cwd=workspace, capture_output=True, text=True, timeout=60
            )
            output = (done.stdout + done.stderr).strip()
            return output, done.returncode != 0
        return f"unknown tool {name!r}", True
    except (OSError, KeyError, subprocess.SubprocessError) as error:
        return f"{name} failed: {error}", True


# --- wire format ---


def parse_sse(lines: Iterator[bytes]) -> Iterator[tuple[str, Json]]:
    """(event, data) pairs from an SSE byte stream; enough of the format for the Messages API."""
    event = "message"
    data: list[str] = []
    for raw in lines:
        line = raw.decode().rstrip("\r\n")
        if not line:
            if data:
                yield event, json.loads("\n".join(data))
            event, data = "message", []
        elif line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].lstrip(" "))


def assemble_message(events: Iterator[tuple[str, Json]]) -> Json:
    """Rebuild the final message from message_start, content_block_* and message_delta events."""
    message: Json = {}
    partial_json: dict[int, str] = {}
    for name, data in events:
        if name == "message_start":
            message = data["message"]
        elif name == "content_block_start":
            message["content"].append(data["content_block"])
        elif name == "content_block_delta":
            block, delta = message["content"][data["index"]], data["delta"]
            if delta["type"] == "text_delta":
                block["text"] += delta["text"]
            elif delta["type"] == "thinking_delta":
                block["thinking"] += delta["thinking"]
            elif delta["type"] == "signature_delta":
                block["signature"] = delta["signature"]
            elif delta["type"] == "input_json_delta":
                partial_json[data["index"]] = partial_json.get(data["index"], "") + delta["partial_json"]
        elif name == "content_block_stop" and data["index"] in partial_json:
            message["content"][data["index"]]["input"] = json.loads(partial_json.pop(data["index"]))
        elif name == "message_delta":
            message.update(data["delta"])
            message["usage"] = {**message.get("usage", {}), **data["usage"]}
        elif name == "error":
            raise RuntimeError(f"the model stream failed: {data}")
    return message


def text_of(content: list[Json]) -> str:
    return "".join(block.get("text", "") for block in content if block.get("type") == "text")


def show_block(block: Json) -> None:
    if block["type"] == "thinking":
        say("thinking", block["thinking"])
    elif block["type"] == "text":
        say("claude", block["text"])
    elif block["type"] == "tool_use":
        say("tool", f"{block['name']} {json.dumps(block['input'])}")


def say(who: str, text: str) -> None:
    lines = text.splitlines() or [""]
    print(f"{who + '>':<10} {lines[0]}")
    for line in lines[1:]:
        print(f"{'':<10} {line}")
    sys.stdout.flush()


def main() -> int:
    base_url = os.environ.get("ANTHROPIC_BASE_URL")
    if not base_url:
        print("demo agent: ANTHROPIC_BASE_URL is not set; run it through `claude-tap demo`", file=sys.stderr)
        return 2
    api_key = os.environ.get("ANTHROPIC_API_KEY") or PLACEHOLDER_KEY
    with tempfile.TemporaryDirectory(prefix="claude-tap-demo-") as scratch:
        workspace = Path(scratch)
        for name, text in WORKSPACE_FILES.items():
            (workspace / name).write_text(text)
        try:
            Agent(base_url, api_key, workspace).run()
        except urllib.error.HTTPError as error:
            detail = error.read().decode(errors="replace")
            print(f"demo agent: the API answered {error.code}: {detail}", file=sys.stderr)
            return 1
        except (urllib.error.URLError, OSError, RuntimeError, ValueError) as error:
            print(f"demo agent: {error}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
