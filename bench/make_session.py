"""Synthetic trace of a long Claude Code session, in our record format, for the viewer benchmark.

    python bench/make_session.py --turns 200 --target-mb 120 -o /tmp/s200/trace.jsonl.zst
    python bench/make_session.py --turns 1000 -o /tmp/s1000/trace.jsonl.zst

What it looks like, turn by turn (one turn = one exchange record = one model call):
- the main agent: a ~15 KB system prompt, 25 tools with JSON schemas, and a conversation that grows:
  every request repeats all earlier messages plus the newest user text or tool result (file
  contents, command output, grep hits: a few KB each). Responses stream as the Anthropic Messages
  API does (message_start, thinking / text / tool_use blocks in deltas, message_delta with usage,
  message_stop), usage reads the previous prefix from cache and writes the new part;
- subagents (a `Task` call): a conversation of their own, another system prompt, fewer tools, whose
  final report becomes the Task result in the main conversation;
- now and then a small non-streamed Haiku call (Claude Code's topic check);
- when the main conversation passes `compact_at_bytes` of JSON (default 1.5 MB, about 400k tokens)
  it is summarized and restarts from the summary, as Claude Code's auto-compact does: long sessions
  grow linearly, not quadratically. 200 turns stay below it; 1,000 turns compact a few times.

Records are written exactly as store/writer.py writes them (one zstd stream, same level and window,
flushed after every record), bodies already redacted. The response body of each stream is rebuilt
by the real capture reassembler. Everything is drawn from one seeded generator: the same arguments
give the same bytes. Text comes from a fixed vocabulary, so it compresses like code and prose do.

`raw size` is the sum of the uncompressed record lines. With `--target-mb` the size of the tool
outputs is scaled until the raw size is within about 1 % of the target (two or three dry runs).
"""

from __future__ import annotations

import argparse
import base64
import json
import random
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import zstandard

# Run as a script from anywhere: the package is imported from this checkout, not an installed copy.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from session_parts import (
    SUBAGENT_TOOLS,
    TOOL_NAMES,
    Stream,
    Text,
    compact_json,
    make_tool,
    system_prompt,
    tool_input,
    tool_output,
)

from claude_tap.capture.formats import reassemble
from claude_tap.store.writer import ZSTD_LEVEL, ZSTD_WINDOW_LOG

Record = dict[str, Any]

MAIN_MODEL = "claude-sonnet-4-5-20250929"
SMALL_MODEL = "claude-haiku-4-5-20251001"
UPSTREAM = "https://api.anthropic.com"
START_WALL = datetime(2025, 9, 30, 9, 12, 0, tzinfo=UTC).timestamp()
# Tool output sizes are multiplied by this (a few KB each); 5.5 puts 200 turns at about 120 MB of raw JSONL.
DEFAULT_SCALE = 5.5
DEFAULT_COMPACT_AT_BYTES = 1_500_000
BYTES_PER_TOKEN = 3.6  # JSON of code and prose, roughly

# -- one conversation -----------------------------------------------------------------------------


@dataclass
class Conversation:
    system: list[dict[str, Any]]
    tools: list[dict[str, Any]]
    messages: list[dict[str, Any]]
    json_bytes: int = 0  # of the messages, as they are repeated in every request

    def append(self, message: dict[str, Any]) -> None:
        self.messages.append(message)
        self.json_bytes += len(json.dumps(message, ensure_ascii=False, separators=(",", ":")))

    def restart(self, first: dict[str, Any]) -> None:
        self.messages, self.json_bytes = [], 0
        self.append(first)


def _with_cache_marker(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Claude Code marks the last block of the last message for caching, so a message's JSON in
    the request that introduces it differs from its JSON in every later request."""
    last = messages[-1]
    content = list(last["content"])
    content[-1] = {**content[-1], "cache_control": {"type": "ephemeral"}}
    return [*messages[:-1], {"role": last["role"], "content": content}]


# -- the session ------------------------------------------------------------------------------------


class SessionGenerator:
    """Yields the records of one session: `session`, `turns` exchanges, `end`."""

    def __init__(
        self,
        turns: int,
        *,
        scale: float = DEFAULT_SCALE,
        seed: int = 7,
        compact_at_bytes: int = DEFAULT_COMPACT_AT_BYTES,
    ) -> None:
        self.turns = turns
        self.scale = scale
        self.compact_at_bytes = compact_at_bytes
        self.rng = random.Random(seed)
        self.text = Text(self.rng)
        self.clock_s = START_WALL
        self.seq = 0
        self.compactions = 0
        self.subagent_turns = 0
        tools = [make_tool(self.text, name) for name in TOOL_NAMES]
        intro = "You are Claude Code, Anthropic's official CLI for Claude."
        self.main = Conversation(system_prompt(self.text, intro, 15_000), tools, [])
        self.sub_system = system_prompt(self.text, "You are an agent for Claude Code.", 4_000)
        self.sub_tools = [tool for tool in tools if tool["name"] in SUBAGENT_TOOLS]

    # -- the flow of the session ------------------------------------------------------------------

    def records(self) -> Iterator[Record]:
        yield self._session_record()
        self.main.restart(self._user_prompt(first=True))
        while self.seq < self.turns:
            if self.main.json_bytes > self.compact_at_bytes:
                yield self._compaction()
                continue
            if self.seq % 37 == 36:
                yield self._topic_check()
                continue
            yield from self._main_step()
        yield {
            "type": "end",
            "ended_at": self._iso(self.clock_s),
            "exit_code": 0,
            "exchanges": self.seq,
            "dropped": 0,
            "failed": 0,
        }

    def _main_step(self) -> Iterator[Record]:
        rng = self.rng
        roll = rng.random()
        if roll < 0.06:  # the agent answers and waits for the person
            yield self._call(self.main, self._assistant(tool=None))
            self.main.append(self._user_prompt())
            return
        name = "Task" if roll < 0.09 else self._pick_tool()
        assistant = self._assistant(tool=name)
        yield self._call(self.main, assistant)
        tool_use = assistant["content"][-1]
        if name == "Task":
            result = yield from self._subagent(tool_use["input"]["prompt"])
        else:
            result = tool_output(self.text, name, self.scale)
        self.main.append(self._tool_result(tool_use["id"], result))

    def _subagent(self, prompt: str) -> Iterator[Record]:
        """A Task: its own conversation for a few turns; returns the report for the main agent."""
        sub = Conversation(self.sub_system, self.sub_tools, [])
        sub.append({"role": "user", "content": [{"type": "text", "text": prompt}]})
        for _ in range(self.rng.randrange(3, 9)):
            if self.seq >= self.turns - 1:
                break
            assistant = self._assistant(tool=self.rng.choice(("Read", "Grep", "Glob", "Bash")))
            yield self._call(sub, assistant)
            self.subagent_turns += 1
            tool_use = assistant["content"][-1]
            sub.append(
                self._tool_result(tool_use["id"], tool_output(self.text, tool_use["name"], self.scale))
            )
        final = self._assistant(tool=None, text_chars=2500)
        if self.seq < self.turns:  # the session may end while the subagent works
            yield self._call(sub, final)
            self.subagent_turns += 1
        return final["content"][-1]["text"]

    def _compaction(self) -> Record:
        """Auto-compact: the whole conversation plus a request to summarize, then a fresh start."""
        self.compactions += 1
        ask = "Your task is to create a detailed summary of the conversation so far. " + self.text.prose(1200)
        self.main.append({"role": "user", "content": [{"type": "text", "text": ask}]})
        answer = self._assistant(tool=None, text_chars=9000)
        record = self._call(self.main, answer)
        summary = answer["content"][-1]["text"]
        intro = "This session is being continued from a previous conversation that ran out of context. "
        self.main.restart({"role": "user", "content": [{"type": "text", "text": intro + summary}]})
        return record

    def _topic_check(self) -> Record:
        """Claude Code's small side call: non-streamed, a cheap model, no tools."""
        question = self._user_prompt()["content"][-1]["text"][:400]
        body = {
            "model": SMALL_MODEL,
            "max_tokens": 512,
            "messages": [{"role": "user", "content": question}],
            "system": [{"type": "text", "text": "Analyze if this message starts a new conversation topic."}],
            "temperature": 0,
            "metadata": {"user_id": "user_[REDACTED:5e0c2a11]"},
            "stream": False,
        }
        reply = {
            "id": self.text.ident("msg_01"),
            "type": "message",
            "role": "assistant",
            "model": SMALL_MODEL,
            "content": [{"type": "text", "text": '{"isNewTopic": false, "title": null}'}],
            "stop_reason": "end_turn",
            "stop_sequence": None,
            "usage": {
                "input_tokens": 140,
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 0,
                "output_tokens": 14,
                "service_tier": "standard",
            },
        }
        return self._exchange(body, reply, events=None, ttfb_ms=420.0, duration_ms=610.0)

    # -- content ----------------------------------------------------------------------------------

    def _pick_tool(self) -> str:
        names = ("Read", "Bash", "Grep", "Glob", "Edit", "Write", "TodoWrite", "mcp__ide__getDiagnostics")
        return self.rng.choices(names, weights=(30, 20, 10, 5, 15, 3, 5, 2))[0]

    def _user_prompt(self, first: bool = False) -> dict[str, Any]:
        reminder = "<system-reminder>\n" + self.text.prose(1800 if first else 300) + "\n</system-reminder>"
        ask = self.text.prose(self.rng.randrange(80, 600))
        return {
            "role": "user",
            "content": [{"type": "text", "text": reminder}, {"type": "text", "text": ask}],
        }

    def _assistant(self, tool: str | None, text_chars: int | None = None) -> dict[str, Any]:
        rng, text = self.rng, self.text
        content: list[dict[str, Any]] = []
        if rng.random() < 0.6:
            signature = base64.b64encode(rng.randbytes(rng.randrange(200, 450))).decode("ascii")
            content.append(
                {"type": "thinking", "thinking": text.prose(rng.randrange(150, 1500)), "signature": signature}
            )
        content.append({"type": "text", "text": text.prose(text_chars or rng.randrange(60, 700))})
        if tool is not None:
            content.append(
                {
                    "type": "tool_use",
                    "id": text.ident("toolu_01"),
                    "name": tool,
                    "input": tool_input(self.text, tool, self.scale),
                }
            )
        return {"role": "assistant", "content": content}

    @staticmethod
    def _tool_result(tool_use_id: str, output: str) -> dict[str, Any]:
        block = {"type": "tool_result", "tool_use_id": tool_use_id, "content": output}
        return {"role": "user", "content": [block]}

    # -- records ----------------------------------------------------------------------------------

    def _call(self, conversation: Conversation, assistant: dict[str, Any]) -> Record:
        """One streamed request with the conversation so far; the answer joins the conversation."""
        rng = self.rng
        body = {
            "model": MAIN_MODEL,
            "messages": _with_cache_marker(conversation.messages),
            "system": conversation.system,
            "tools": conversation.tools,
            "metadata": {"user_id": "user_[REDACTED:5e0c2a11]_account__session_3f1d0c9e"},
            "max_tokens": 32000,
            "thinking": {"type": "enabled", "budget_tokens": 31999},
            "stream": True,
        }
        new_tokens = int(len(compact_json(conversation.messages[-1])) / BYTES_PER_TOKEN)
        prompt_tokens = int(conversation.json_bytes / BYTES_PER_TOKEN) + 6000
        output_tokens = int(len(compact_json(assistant)) / BYTES_PER_TOKEN)
        usage = {
            "input_tokens": rng.randrange(3, 12),
            "cache_creation_input_tokens": new_tokens,
            "cache_read_input_tokens": max(0, prompt_tokens - new_tokens),
            "output_tokens": 1,
            "service_tier": "standard",
        }
        ttfb_ms = rng.uniform(900, 3500)
        stream = Stream(rng, ttfb_ms)
        message = {
            "id": self.text.ident("msg_01"),
            "type": "message",
            "role": "assistant",
            "model": MAIN_MODEL,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": usage,
        }
        stream.emit("message_start", {"type": "message_start", "message": message})
        stream.emit("ping", {"type": "ping"}, 2.0)
        for index, block in enumerate(assistant["content"]):
            stream.block(index, block)
        stop = "tool_use" if assistant["content"][-1]["type"] == "tool_use" else "end_turn"
        final_usage = {**usage, "output_tokens": output_tokens}
        delta = {
            "type": "message_delta",
            "delta": {"stop_reason": stop, "stop_sequence": None},
            "usage": final_usage,
        }
        stream.emit("message_delta", delta, 3.0)
        stream.emit("message_stop", {"type": "message_stop"}, 0.5)
        conversation.append(assistant)
        return self._exchange(body, None, stream.events, ttfb_ms, stream.clock_ms + 2.0)

    def _exchange(
        self,
        body: dict[str, Any],
        reply: dict[str, Any] | None,
        events: list[dict[str, Any]] | None,
        ttfb_ms: float,
        duration_ms: float,
    ) -> Record:
        self.seq += 1
        request_bytes = len(compact_json(body))
        if events is not None:
            reply = reassemble("/v1/messages", events)
        response: dict[str, Any] = {
            "status": 200,
            "headers": self._response_headers(streamed=events is not None),
            "body_bytes": sum(len(e["data"]) + len(e["event"]) + 16 for e in events or [])
            or len(compact_json(reply)),
            "body": reply,
            "complete": True,
        }
        if events is not None:
            response["events"] = events
        record = {
            "type": "exchange",
            "id": f"ex-{self.seq:06d}",
            "seq": self.seq,
            "transport": "sse" if events is not None else "http",
            "started_at": self._iso(self.clock_s),
            "ttfb_ms": round(ttfb_ms, 3),
            "duration_ms": round(duration_ms, 3),
            "request": {
                "method": "POST",
                "url": f"{UPSTREAM}/v1/messages?beta=true",
                "path": "/v1/messages?beta=true",
                "headers": self._request_headers(request_bytes),
                "body_bytes": request_bytes,
                "body": body,
            },
            "response": response,
            "upstream": UPSTREAM,
            "error": None,
        }
        # The next call starts after this one ended, the tool ran and (sometimes) a person typed.
        self.clock_s += duration_ms / 1000 + self.rng.uniform(0.2, 6.0)
        return record

    def _request_headers(self, content_length: int) -> dict[str, str]:
        return {
            "host": "api.anthropic.com",
            "accept": "application/json",
            "anthropic-beta": "claude-code-20250219,interleaved-thinking-2025-05-14",
            "anthropic-dangerous-direct-browser-access": "true",
            "anthropic-version": "2023-06-01",
            "content-type": "application/json",
            "content-length": str(content_length),
            "user-agent": "claude-cli/2.0.1 (external, cli)",
            "x-api-key": "[REDACTED:9c1f4e27]",
            "x-app": "cli",
            "x-stainless-lang": "js",
            "x-stainless-package-version": "0.60.0",
            "x-stainless-runtime": "node",
            "x-stainless-runtime-version": "v22.19.0",
            "x-stainless-retry-count": "0",
            "x-stainless-timeout": "600",
        }

    def _response_headers(self, streamed: bool) -> dict[str, str]:
        return {
            "date": datetime.fromtimestamp(self.clock_s, UTC).strftime("%a, %d %b %Y %H:%M:%S GMT"),
            "content-type": "text/event-stream; charset=utf-8" if streamed else "application/json",
            "cache-control": "no-cache",
            "request-id": self.text.ident("req_011C"),
            "anthropic-organization-id": "3c9e2b1a-0000-4000-8000-5a1b2c3d4e5f",
            "anthropic-ratelimit-unified-status": "allowed",
            "anthropic-ratelimit-unified-reset": "1759240800",
            "via": "1.1 google",
            "cf-cache-status": "DYNAMIC",
            "server": "cloudflare",
            "cf-ray": f"{self.rng.getrandbits(64):016x}-FRA",
        }

    def _session_record(self) -> Record:
        return {
            "type": "session",
            "format_version": 1,
            "claude_tap_version": "0.2.0",
            "client": "claude",
            "mode": "reverse",
            "target": UPSTREAM,
            "argv": ["claude"],
            "started_at": self._iso(self.clock_s),
            "id": "bench-session",
        }

    @staticmethod
    def _iso(seconds: float) -> str:
        return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="milliseconds")


# -- writing ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TraceStats:
    path: Path
    records: int
    raw_bytes: int  # the uncompressed record lines, newlines included
    file_bytes: int
    largest_record_bytes: int
    compactions: int
    subagent_turns: int
    seconds: float


def record_line(record: Record) -> bytes:
    """One line as store/writer.py serializes it."""
    return json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"


def write_trace(path: Path, generator: SessionGenerator) -> TraceStats:
    """Write every record through one zstd stream, flushed per record, as the real writer does."""
    started = time.perf_counter()
    params = zstandard.ZstdCompressionParameters.from_level(
        ZSTD_LEVEL, window_log=ZSTD_WINDOW_LOG, write_checksum=True
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    records = raw = largest = 0
    with open(path, "wb") as file:
        stream = zstandard.ZstdCompressor(compression_params=params).stream_writer(file, closefd=False)
        for record in generator.records():
            line = record_line(record)
            stream.write(line)
            stream.flush(zstandard.FLUSH_BLOCK)
            records, raw, largest = records + 1, raw + len(line), max(largest, len(line))
        stream.flush(zstandard.FLUSH_FRAME)
    return TraceStats(
        path,
        records,
        raw,
        path.stat().st_size,
        largest,
        generator.compactions,
        generator.subagent_turns,
        time.perf_counter() - started,
    )


def raw_size(turns: int, scale: float, seed: int) -> int:
    return sum(len(record_line(r)) for r in SessionGenerator(turns, scale=scale, seed=seed).records())


def scale_for(turns: int, target_bytes: int, seed: int) -> float:
    """The tool-output scale that gives `target_bytes` of raw JSONL: secant steps on dry runs
    (the size is close to linear in the scale while no compaction happens)."""
    low, high = 1.0, DEFAULT_SCALE
    size_low, size_high = raw_size(turns, low, seed), raw_size(turns, high, seed)
    for _ in range(4):
        if abs(size_high - target_bytes) <= target_bytes * 0.01 or size_high == size_low:
            break
        guess = high + (target_bytes - size_high) * (high - low) / (size_high - size_low)
        low, size_low = high, size_high
        high, size_high = max(0.05, guess), raw_size(turns, max(0.05, guess), seed)
    return high


def make_session(
    path: Path,
    turns: int,
    *,
    target_mb: float | None = None,
    seed: int = 7,
    compact_at_bytes: int = DEFAULT_COMPACT_AT_BYTES,
) -> TraceStats:
    """Write a synthetic session to `path` (a .jsonl.zst file); see the module docstring."""
    scale = DEFAULT_SCALE if target_mb is None else scale_for(turns, int(target_mb * 1e6), seed)
    return write_trace(
        path, SessionGenerator(turns, scale=scale, seed=seed, compact_at_bytes=compact_at_bytes)
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--turns", type=int, default=200, help="exchange records (model calls); default 200")
    parser.add_argument(
        "--target-mb", type=float, default=None, help="scale tool outputs to this raw size (MB)"
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--compact-at-bytes", type=int, default=DEFAULT_COMPACT_AT_BYTES)
    parser.add_argument("-o", "--output", type=Path, required=True, help="the trace file to write")
    args = parser.parse_args(argv)
    stats = make_session(
        args.output,
        args.turns,
        target_mb=args.target_mb,
        seed=args.seed,
        compact_at_bytes=args.compact_at_bytes,
    )
    print(
        f"{stats.path}: {stats.records} records, raw {stats.raw_bytes / 1e6:.1f} MB, "
        f"zst {stats.file_bytes / 1e6:.2f} MB, largest record {stats.largest_record_bytes / 1e6:.2f} MB, "
        f"{stats.subagent_turns} subagent turns, {stats.compactions} compactions, {stats.seconds:.1f} s",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
