"""Which thread each turn belongs to: the main agent, each subagent, other sessions, side requests.

A run is rarely one conversation. Claude Code's Task/Agent tool starts a subagent: a conversation of
its own (its own system prompt, its first user message the dispatch's prompt) whose final answer
comes back as the tool's result; Codex keeps one `prompt_cache_key` per session and sub-task; and
clients send side requests (a title, a quota check, a token count, a model list) between model calls.
`find_threads` sorts the turns of a session into these threads:

1. Side requests form one quiet thread, "side": raw turns (token counts, model lists, telemetry),
   quota checks (`max_tokens` 1), and, when other turns of the session offer tools, one-off calls
   offering none (titles, topic checks, summaries of a command).
2. The other turns are grouped by conversation (conversation.py), or by the session key the client
   sends (Codex's `prompt_cache_key`, a `session_id` header) when it has one, in order of start.
3. A group whose first turn answers a dispatch becomes a subagent thread, "agent-N". A dispatch is a
   tool call in an earlier turn's output with a prompt in its input (Task/Agent/spawn_agent, or any
   tool whose input has a `prompt`). Evidence, each named in the thread's `match`:
       prompt   the dispatch's prompt is (in) a text of the group's first user message(s)
       timing   the group starts after the dispatching response ended, and before the turn that
                carried the call's result back (when there is one)
       result   that tool result holds the start of the subagent's last answer
   confidence: high = prompt with timing or result; medium = prompt alone, or timing with result
   (an agent tool only); low = timing alone, for an agent tool that is the only one open then.
4. The first group nothing dispatched is "main"; a later one with the system prompt and tools of the
   latest turn of main (or of a session) continues it (history compacted or rewritten); any other is
   a parallel session, "session-N".

Each turn gets `thread` and `parent_tool_use_id` (the dispatch of its subagent, else None).
Cost: each group's first user message(s), each turn's output and last three messages are read once;
no turn is compared with another, so a 1,000-turn session sorts in milliseconds.

This module knows turns and the shapes of agent dispatches, not records or API formats.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from claude_tap.normalize.blocks import as_dict, as_str
from claude_tap.normalize.model import Block, Turn

ThreadKind = Literal["main", "subagent", "session", "side"]
Confidence = Literal["high", "medium", "low"]

AGENT_TOOLS = frozenset({"Task", "Agent", "spawn_agent", "dispatch_agent", "delegate", "subagent"})
_PROMPT_FIELDS = ("prompt", "message", "task", "instructions")
_LABEL_FIELDS = ("description", "subagent_type", "agent_type", "name")
_SIDE_PATHS = (("/count_tokens", "token count"), ("/input_tokens", "token count"), ("/models", "model list"))
_SIDE_MARKERS = (  # phrases of one-off prompts that Claude Code, Gemini CLI and others send beside the agent
    ("title", "title"),
    ("new conversation topic", "topic check"),
    ("summarize", "summary"),
    ("next speaker", "next-speaker check"),
)
_RESULT_PROBE_CHARS = 120  # a subagent's answer is found in the tool result by its first characters
_CLOCK_SLACK_S = 1.0  # records' start times and durations come from one clock, rounded to the ms
_TAIL_MESSAGES = 3  # a tool result comes back in one of the last messages of the next request


@dataclass(frozen=True, slots=True)
class Thread:
    id: str  # "main", "agent-1", "session-2", "side"
    kind: ThreadKind
    label: str
    turns: tuple[int, ...]  # turn indexes, in order of start
    parent: str | None = None  # the thread whose turn dispatched this one
    parent_turn: int | None = None  # index of the dispatching turn (its output holds the call)
    parent_tool_use_id: str | None = None
    result_turn: int | None = None  # index of the parent's turn that carried the result back
    match: tuple[str, ...] = ()  # evidence: "prompt", "timing", "result"
    confidence: Confidence | None = None
    reasons: tuple[str, ...] = ()  # side requests: why each turn is one ("quota check", ...), as turns


@dataclass(frozen=True, slots=True)
class Dispatch:
    turn: int
    thread: str
    tool_use_id: str
    name: str
    prompt: str
    label: str
    ended_at: float | None  # epoch seconds the dispatching response ended


def assign_threads(turns: list[Turn]) -> list[Thread]:
    """Set `thread` and `parent_tool_use_id` on every turn (placed, in order of start); the threads."""
    threads = find_threads(turns)
    by_index = {turn["index"]: turn for turn in turns}
    for thread in threads:
        for index in thread.turns:
            by_index[index]["thread"] = thread.id
            by_index[index]["parent_tool_use_id"] = thread.parent_tool_use_id
    return threads


def find_threads(turns: list[Turn]) -> list[Thread]:
    """The threads of a session, main first, then in order of their first turn; side requests last."""
    offers_tools = any(turn["tools"] for turn in turns)
    side: list[tuple[int, str]] = []
    groups: dict[str, list[Turn]] = {}
    for turn in turns:
        reason = side_reason(turn, offers_tools)
        if reason is not None:
            side.append((turn["index"], reason))
        else:
            groups.setdefault(_group_key(turn), []).append(turn)
    result_turn = _result_turns(turns)
    threads: dict[str, Thread] = {}
    setups: dict[str, object] = {}  # thread id -> system prompt and tools of its latest turn
    dispatches: list[Dispatch] = []
    claimed: set[str] = set()
    agents = 0
    for group in groups.values():
        thread = _subagent_thread(group, dispatches, claimed, result_turn, agents + 1)
        if thread is None:
            thread = _joined_or_new(group, threads, setups)
        else:
            agents += 1
        threads[thread.id] = thread
        setups[thread.id] = _setup_of(group[-1])  # a compacted history continues the latest setup
        for turn in group:
            dispatches += _dispatches_of(turn, thread.id)
    ordered = sorted(threads.values(), key=lambda t: (t.kind != "main", t.turns[0]))
    if side:
        indexes, reasons = zip(*side, strict=True)
        ordered.append(Thread("side", "side", "side requests", indexes, reasons=reasons))
    return ordered


def side_reason(turn: Turn, session_offers_tools: bool) -> str | None:
    """Why a turn is a side request ("token count", "quota check", "title", ...), or None."""
    route = turn["path"].split("?", 1)[0].rstrip("/")
    if turn["api"] == "raw":
        return next((why for suffix, why in _SIDE_PATHS if route.endswith(suffix)), "other request")
    if turn["api"] == "cursor_transcript":
        return None
    max_tokens = turn["params"].get("max_tokens") or turn["params"].get("max_output_tokens")
    if isinstance(max_tokens, int) and not isinstance(max_tokens, bool) and max_tokens <= 1:
        return "quota check"
    if turn["tools"] or not session_offers_tools or len(turn["messages"]) > 2:
        return None
    system = " ".join(block.get("text", "") for block in turn["system"]).lower()
    return next((why for marker, why in _SIDE_MARKERS if marker in system), "one-off request")


def thread_totals(thread: Thread, turns: list[Turn]) -> dict[str, float | int | None]:
    """turns, tokens (every token once), cost_usd (priced turns), duration_s (first start to last end)."""
    by_index = {turn["index"]: turn for turn in turns}
    members = [by_index[index] for index in thread.turns if index in by_index]
    tokens = sum(turn["usage"]["total_tokens"] for turn in members if turn["usage"])
    cost = sum(turn["cost_usd"] for turn in members if turn["cost_usd"] is not None)
    starts = [t for t in (_started(turn) for turn in members) if t is not None]
    ends = [t for t in (_ended(turn) for turn in members) if t is not None]
    duration = round(max(ends) - min(starts), 3) if starts and ends else None
    return {"turns": len(members), "tokens": tokens, "cost_usd": round(cost, 10), "duration_s": duration}


def thread_as_json(thread: Thread, turns: list[Turn]) -> dict[str, object]:
    return {
        "id": thread.id,
        "kind": thread.kind,
        "label": thread.label,
        "turns": list(thread.turns),
        "parent": thread.parent,
        "parent_turn": thread.parent_turn,
        "parent_tool_use_id": thread.parent_tool_use_id,
        "result_turn": thread.result_turn,
        "match": list(thread.match),
        "confidence": thread.confidence,
        "reasons": list(thread.reasons),
        "totals": thread_totals(thread, turns),
    }


# -- grouping ------------------------------------------------------------------------------------


def _group_key(turn: Turn) -> str:
    key = _session_key(turn)
    return f"key:{key}" if key else f"conversation:{turn['conversation']}"


def _session_key(turn: Turn) -> str | None:
    body = as_dict(turn["request_body"])
    return as_str(body.get("prompt_cache_key")) or turn["request_headers"].get("session_id")


def _has_key(turn: Turn) -> bool:
    return _session_key(turn) is not None


def _joined_or_new(group: list[Turn], threads: dict[str, Thread], setups: dict[str, object]) -> Thread:
    indexes = tuple(turn["index"] for turn in group)
    if "main" not in threads:
        return Thread("main", "main", "main agent", indexes)
    setup = _setup_of(group[0])
    for thread in threads.values():
        # A session key the client sent is its word that this is another session: never joined.
        if thread.kind in ("main", "session") and setups.get(thread.id) == setup and not _has_key(group[0]):
            return Thread(thread.id, thread.kind, thread.label, tuple(sorted(thread.turns + indexes)))
    number = sum(1 for thread in threads.values() if thread.kind == "session") + 2  # main is 1
    return Thread(f"session-{number}", "session", f"conversation {number}", indexes)


def _setup_of(turn: Turn) -> object:
    # Compared only between a few groups' first turns: repr is cheap enough and never fails.
    return (turn["api"], repr(turn["system"]), tuple(tool["name"] for tool in turn["tools"]))


# -- subagents -----------------------------------------------------------------------------------


def _subagent_thread(
    group: list[Turn],
    dispatches: list[Dispatch],
    claimed: set[str],
    result_turn: dict[str, Turn],
    number: int,
) -> Thread | None:
    first = group[0]
    texts = _opening_texts(first)
    started = _started(first)
    answer = _answer_probe(group[-1])
    best: tuple[int, Dispatch, tuple[str, ...]] | None = None
    for dispatch in dispatches:
        if dispatch.tool_use_id in claimed:
            continue
        evidence = _evidence(dispatch, texts, started, result_turn.get(dispatch.tool_use_id), answer)
        if "prompt" not in evidence and not (dispatch.name in AGENT_TOOLS and "timing" in evidence):
            continue
        score = len(evidence) + (2 if "prompt" in evidence else 0)
        if best is None or score > best[0]:  # ties: the earliest dispatch, as parallel calls start in order
            best = (score, dispatch, evidence)
    if best is None:
        return None
    _, dispatch, evidence = best
    if evidence == ("timing",) and _open_agent_calls(dispatches, claimed, started, result_turn) != 1:
        return None
    claimed.add(dispatch.tool_use_id)
    back = result_turn.get(dispatch.tool_use_id)
    return Thread(
        id=f"agent-{number}",
        kind="subagent",
        label=dispatch.label,
        turns=tuple(turn["index"] for turn in group),
        parent=dispatch.thread,
        parent_turn=dispatch.turn,
        parent_tool_use_id=dispatch.tool_use_id,
        result_turn=back["index"] if back is not None else None,
        match=evidence,
        confidence=_confidence(evidence),
    )


def _evidence(
    dispatch: Dispatch,
    texts: list[str],
    started: float | None,
    back: Turn | None,
    answer: str,
) -> tuple[str, ...]:
    evidence: list[str] = []
    prompt = dispatch.prompt.strip()
    if prompt and any(prompt in text for text in texts):
        evidence.append("prompt")
    if started is not None and dispatch.ended_at is not None:
        before_result = back is None or (_started(back) or float("inf")) + _CLOCK_SLACK_S >= started
        if dispatch.ended_at - _CLOCK_SLACK_S <= started and before_result:
            evidence.append("timing")
    if back is not None and answer and answer in _result_text(back, dispatch.tool_use_id):
        evidence.append("result")
    return tuple(evidence)


def _confidence(evidence: tuple[str, ...]) -> Confidence:
    if "prompt" in evidence:
        return "high" if len(evidence) > 1 else "medium"
    return "medium" if "result" in evidence else "low"


def _open_agent_calls(
    dispatches: list[Dispatch], claimed: set[str], started: float | None, result_turn: dict[str, Turn]
) -> int:
    """Agent calls not yet matched whose time window holds `started`: a timing-only match needs one."""
    open_calls = 0
    for dispatch in dispatches:
        if dispatch.tool_use_id in claimed or dispatch.name not in AGENT_TOOLS:
            continue
        if "timing" in _evidence(dispatch, [], started, result_turn.get(dispatch.tool_use_id), ""):
            open_calls += 1
    return open_calls


def _dispatches_of(turn: Turn, thread: str) -> list[Dispatch]:
    found = []
    for block in turn["output"]:
        if block.get("type") != "tool_use":
            continue
        arguments = as_dict(block.get("input"))
        prompt = next((as_str(arguments.get(k)) for k in _PROMPT_FIELDS if as_str(arguments.get(k))), None)
        name = block.get("name", "")
        if prompt is None or (name not in AGENT_TOOLS and "prompt" not in arguments):
            continue
        label = next((as_str(arguments.get(k)) for k in _LABEL_FIELDS if as_str(arguments.get(k))), None)
        kind = as_str(arguments.get("subagent_type"))
        title = f"{kind}: {label}" if kind and label and kind != label else (label or name)
        found.append(Dispatch(turn["index"], thread, block.get("id", ""), name, prompt, title, _ended(turn)))
    return found


def _opening_texts(turn: Turn) -> list[str]:
    """The texts of the messages before the first answer: where a subagent's prompt arrives."""
    texts = []
    for message in turn["messages"]:
        if message["role"] in ("assistant", "model"):
            break
        texts += [block.get("text", "") for block in message["content"] if block.get("type") == "text"]
    return texts


def _answer_probe(turn: Turn) -> str:
    text = " ".join(block.get("text", "") for block in turn["output"] if block.get("type") == "text")
    return text.strip()[:_RESULT_PROBE_CHARS]


def _result_turns(turns: list[Turn]) -> dict[str, Turn]:
    """tool_use id -> the first turn whose newest messages carry its result."""
    found: dict[str, Turn] = {}
    for turn in turns:
        for message in turn["messages"][-_TAIL_MESSAGES:]:
            for block in message["content"]:
                if block.get("type") == "tool_result":
                    found.setdefault(block.get("tool_use_id", ""), turn)
    return found


def _result_text(turn: Turn, tool_use_id: str) -> str:
    for message in turn["messages"][-_TAIL_MESSAGES:]:
        for block in message["content"]:
            if block.get("type") == "tool_result" and block.get("tool_use_id") == tool_use_id:
                return _plain_text(block.get("content", []))
    return ""


def _plain_text(blocks: list[Block]) -> str:
    return " ".join(block.get("text", "") for block in blocks if block.get("type") == "text")


# -- time ----------------------------------------------------------------------------------------


def _started(turn: Turn) -> float | None:
    text = turn["timing"]["started_at"]
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.timestamp()


def _ended(turn: Turn) -> float | None:
    started = _started(turn)
    duration = turn["timing"]["duration_ms"]
    if started is None:
        return None
    return started + (duration or 0) / 1000
