"""The pieces of a synthetic Claude Code session: seeded text, tools, system prompts, tool calls and
their outputs, and the SSE events of a streamed Messages API response (bench/make_session.py puts
them together into records).

Text comes from a fixed vocabulary drawn by one seeded generator, so it compresses like code and
prose do (about 3x), not like repeated filler, and the same seed gives the same text.
Knows nothing about records, trace files or the viewer.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from typing import Any

_WORDS = (  # noqa: SIM905 (a sentence reads better than a hundred quoted words)
    "the a to of and in is for that with on as it be this are by from or not when then each "
    "config value return def class import self test file path error data function string list dict "
    "None True False if else while try except raise yield async await lambda module package request "
    "response stream token model cache message tool result input output user assistant system prompt "
    "thinking usage cost time duration index key name type schema object array number integer boolean "
    "required description properties read write edit bash grep glob todo task agent session trace "
    "proxy upstream header body event json yaml toml http https socket buffer chunk frame parse decode "
    "encode compress zstd gzip viewer render sidebar payload record writer reader normalize turn"
).split()
_DIRS = ("claude_tap/capture", "claude_tap/proxy", "claude_tap/store", "claude_tap/viewer", "tests/unit")
_COMMANDS = ("python -m pytest tests/unit -q", "ruff check .", "git status", "git diff --stat", "ls -la")


class Text:
    """Seeded text of the kinds an agent session is made of."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def word(self) -> str:
        rng = self.rng
        return rng.choice(_WORDS) if rng.random() < 0.9 else f"{rng.choice(_WORDS)}_{rng.randrange(10_000)}"

    def prose(self, n_chars: int) -> str:
        words, size = [], 0
        while size < n_chars:
            word = self.word()
            words.append(word + (".\n" if self.rng.random() < 0.06 else ""))
            size += len(word) + 1
        return " ".join(words)[:n_chars]

    def code_line(self) -> str:
        rng = self.rng
        indent = "    " * rng.randrange(4)
        args = ", ".join(self.word() for _ in range(rng.randrange(4)))
        return f"{indent}{self.word()} = {self.word()}.{self.word()}({args})"

    def code(self, n_chars: int, first_line: int = 1) -> str:
        """`cat -n` style, as Claude Code's Read tool returns a file."""
        lines, size, number = [], 0, first_line
        while size < n_chars:
            line = f"{number:>6}\u2192{self.code_line()}"
            lines.append(line)
            size += len(line) + 1
            number += 1
        return "\n".join(lines)

    def command_output(self, n_chars: int) -> str:
        rng = self.rng
        lines, size = [], 0
        while size < n_chars:
            kind = rng.random()
            if kind < 0.5:
                line = f"{self.path()}::{self.word()}_{self.word()} PASSED [{rng.randrange(100):>3}%]"
            elif kind < 0.8:
                line = f"{self.path()}:{rng.randrange(1, 400)}:{rng.randrange(1, 80)}: {self.prose(60)}"
            else:
                line = self.prose(rng.randrange(20, 100))
            lines.append(line)
            size += len(line) + 1
        return "\n".join(lines)

    def path(self) -> str:
        return f"{self.rng.choice(_DIRS)}/{self.word()}.py"

    def ident(self, prefix: str) -> str:
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
        return prefix + "".join(self.rng.choice(alphabet) for _ in range(24))


# -- the agents' static parts ---------------------------------------------------------------------

TOOL_NAMES = (
    "Task",
    "Bash",
    "Glob",
    "Grep",
    "ExitPlanMode",
    "Read",
    "Edit",
    "MultiEdit",
    "Write",
    "NotebookEdit",
    "WebFetch",
    "TodoWrite",
    "WebSearch",
    "BashOutput",
    "KillShell",
    "SlashCommand",
    "ListMcpResources",
    "ReadMcpResource",
    "mcp__ide__getDiagnostics",
    "mcp__ide__executeCode",
    "mcp__github__create_issue",
    "mcp__github__get_pull_request",
    "mcp__github__list_commits",
    "mcp__github__search_code",
    "mcp__context7__get_library_docs",
)
SUBAGENT_TOOLS = ("Bash", "Glob", "Grep", "Read", "WebFetch", "WebSearch", "BashOutput", "KillShell")


def make_tool(text: Text, name: str) -> dict[str, Any]:
    rng = text.rng
    properties: dict[str, Any] = {}
    for n in range(rng.randrange(1, 7)):
        kind = rng.choice(("string", "string", "integer", "boolean", "array"))
        prop: dict[str, Any] = {"type": kind, "description": text.prose(rng.randrange(40, 300))}
        if kind == "array":
            prop["items"] = {"type": "object", "properties": {"content": {"type": "string"}}}
        properties[f"{text.word()}_{n}"] = prop
    return {
        "name": name,
        # Claude Code's own tools carry long descriptions (Bash and TodoWrite are several KB).
        "description": text.prose(rng.choice((300, 800, 1500, 2500, 5000))),
        "input_schema": {
            "type": "object",
            "properties": properties,
            "required": list(properties)[:1],
            "additionalProperties": False,
            "$schema": "http://json-schema.org/draft-07/schema#",
        },
    }


def system_prompt(text: Text, intro: str, n_chars: int) -> list[dict[str, Any]]:
    sections = []
    while sum(map(len, sections)) < n_chars:
        sections.append(f"# {text.word().title()} {text.word()}\n\n{text.prose(900)}\n")
    return [
        {"type": "text", "text": intro, "cache_control": {"type": "ephemeral"}},
        {"type": "text", "text": "\n".join(sections), "cache_control": {"type": "ephemeral"}},
    ]


def tool_input(text: Text, name: str, scale: float) -> dict[str, Any]:
    """The input of a tool call, shaped like Claude Code's tools take it."""
    rng = text.rng
    if name == "Bash":
        return {"command": rng.choice(_COMMANDS), "description": text.prose(40)}
    if name in ("Grep", "Glob"):
        return {"pattern": text.word(), "path": rng.choice(_DIRS), "output_mode": "content"}
    if name == "Edit":
        return {
            "file_path": "/work/" + text.path(),
            "old_string": text.code_line(),
            "new_string": text.code(rng.randrange(100, 900)),
        }
    if name == "Write":
        return {
            "file_path": "/work/" + text.path(),
            "content": text.code(int(rng.randrange(1500, 5000) * scale / 2)),
        }
    if name == "TodoWrite":
        todos = [
            {
                "content": text.prose(60),
                "status": rng.choice(("pending", "in_progress", "completed")),
                "activeForm": text.prose(50),
            }
            for _ in range(rng.randrange(3, 9))
        ]
        return {"todos": todos}
    if name == "Task":
        return {
            "description": text.prose(30),
            "prompt": text.prose(rng.randrange(300, 1200)),
            "subagent_type": "general-purpose",
        }
    return {"file_path": "/work/" + text.path()}


def tool_output(text: Text, name: str, scale: float) -> str:
    """What a tool returns: a file (`cat -n`), command output, search hits, a short note."""
    rng = text.rng
    size = int(rng.randrange(600, 2200) * scale)
    if name == "Read":
        return text.code(size, first_line=rng.randrange(1, 300))
    if name in ("Bash", "mcp__ide__getDiagnostics"):
        return text.command_output(size)
    if name in ("Grep", "Glob"):
        return text.command_output(size // 2)
    if name == "Edit":
        return (
            f"The file {text.path()} has been updated. Here's the result of running `cat -n`:\n"
            + text.code(size // 3)
        )
    if name == "TodoWrite":
        return "Todos have been modified successfully. Ensure that you continue to use the todo list."
    return f"File created successfully at: /work/{text.path()}"


# -- SSE -------------------------------------------------------------------------------------------


def compact_json(payload: dict[str, Any]) -> str:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


class Stream:
    """The events of one streamed Messages API response, with arrival offsets."""

    def __init__(self, rng: random.Random, ttfb_ms: float) -> None:
        self.rng = rng
        self.clock_ms = ttfb_ms
        self.events: list[dict[str, Any]] = []

    def emit(self, name: str, payload: dict[str, Any], gap_ms: float = 0.0) -> None:
        self.clock_ms += gap_ms
        self.events.append(
            {"offset_ms": round(self.clock_ms, 3), "event": name, "data": compact_json(payload)}
        )

    def pieces(self, whole: str, low: int, high: int) -> Iterator[str]:
        at = 0
        while at < len(whole):
            size = self.rng.randrange(low, high)
            yield whole[at : at + size]
            at += size

    def block(self, index: int, block: dict[str, Any]) -> None:
        kind = block["type"]
        start = {"tool_use": {**block, "input": {}}, "text": {"type": "text", "text": ""}}.get(
            kind, {"type": "thinking", "thinking": "", "signature": ""}
        )
        self.emit(
            "content_block_start", {"type": "content_block_start", "index": index, "content_block": start}
        )
        if kind == "thinking":
            deltas = [
                {"type": "thinking_delta", "thinking": p} for p in self.pieces(block["thinking"], 20, 90)
            ]
            deltas.append({"type": "signature_delta", "signature": block["signature"]})
        elif kind == "text":
            deltas = [{"type": "text_delta", "text": p} for p in self.pieces(block["text"], 4, 60)]
        else:
            partial = compact_json(block["input"])
            deltas = [{"type": "input_json_delta", "partial_json": p} for p in self.pieces(partial, 10, 90)]
        for delta in deltas:
            gap = self.rng.uniform(5, 45)
            self.emit(
                "content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta}, gap
            )
        self.emit("content_block_stop", {"type": "content_block_stop", "index": index}, 1.0)
