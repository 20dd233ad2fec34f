"""normalize/threads.py: the main agent, subagents matched to their dispatch, sessions and side requests."""

from __future__ import annotations

from typing import Any

from claude_tap.normalize.model import Block, Turn
from claude_tap.normalize.threads import assign_threads, find_threads, side_reason, thread_totals
from tests.factories import assistant, make_turn, text, usage, user

TOOLS: list[Any] = [{"name": "Task", "description": "", "input_schema": None}]
AGENT_SYSTEM: list[Block] = [text("You are an agent for Claude Code.")]
MAIN_SYSTEM: list[Block] = [text("You are Claude Code.")]


def at(second: float, duration_ms: float = 2000.0) -> dict[str, Any]:
    return {
        "started_at": f"2026-03-02T10:00:{second:06.3f}+00:00",
        "ttfb_ms": 100.0,
        "ttft_ms": None,
        "duration_ms": duration_ms,
        "tokens_per_s": None,
    }


def task(tool_id: str, prompt: str, name: str = "Task") -> Block:
    return {
        "type": "tool_use",
        "id": tool_id,
        "name": name,
        "input": {"description": f"do {tool_id}", "prompt": prompt, "subagent_type": "Explore"},
    }


def result(tool_id: str, value: str) -> Block:
    return {"type": "tool_result", "tool_use_id": tool_id, "content": [text(value)], "is_error": False}


def main_turn(index: int, second: float, output: list[Block], *history: Any) -> Turn:
    return make_turn(
        index,
        id=f"m{index}",
        conversation="main",
        system=MAIN_SYSTEM,
        tools=TOOLS,
        messages=[user(text("go")), *history],
        output=output,
        timing=at(second),
    )


def agent_turn(
    index: int, second: float, conversation: str, first: str, answer: str = "", **fields: Any
) -> Turn:
    return make_turn(
        index,
        id=f"a{index}",
        conversation=conversation,
        system=AGENT_SYSTEM,
        tools=TOOLS,
        messages=[user(text("<system-reminder>ctx</system-reminder>"), text(first))],
        output=[text(answer)] if answer else [],
        timing=at(second),
        **fields,
    )


def by_id(turns: list[Turn]) -> dict[str, tuple[str, str | None]]:
    return {turn["id"]: (turn["thread"], turn["parent_tool_use_id"]) for turn in turns}


def test_a_subagent_is_matched_to_its_dispatch_by_prompt_timing_and_result() -> None:
    dispatch = [task("toolu_A", "Find the auth code.")]
    turns = [
        main_turn(0, 1, dispatch),
        agent_turn(1, 4, "a", "Find the auth code.", answer="Auth is in auth.py."),
        main_turn(2, 8, [text("done")], assistant(*dispatch), user(result("toolu_A", "Auth is in auth.py."))),
    ]
    threads = assign_threads(turns)
    assert by_id(turns) == {"m0": ("main", None), "a1": ("agent-1", "toolu_A"), "m2": ("main", None)}
    agent = threads[1]
    assert (agent.parent, agent.parent_turn, agent.result_turn) == ("main", 0, 2)
    assert agent.match == ("prompt", "timing", "result")
    assert agent.confidence == "high"
    assert agent.label == "Explore: do toolu_A"


def test_parallel_dispatches_go_to_the_subagent_whose_prompt_they_carry() -> None:
    dispatch = [task("toolu_A", "Run the tests."), task("toolu_B", "Read the docs.")]
    turns = [
        main_turn(0, 1, dispatch),
        agent_turn(1, 4, "b", "Read the docs."),  # started first, but carries the second prompt
        agent_turn(2, 4.1, "a", "Run the tests."),
    ]
    assign_threads(turns)
    assert by_id(turns)["a1"] == ("agent-1", "toolu_B")
    assert by_id(turns)["a2"] == ("agent-2", "toolu_A")


def test_an_agent_started_before_its_dispatch_ended_is_matched_by_prompt_alone_with_medium_confidence() -> (
    None
):
    turns = [main_turn(0, 1, [task("toolu_A", "Find it.")]), agent_turn(1, 1.5, "a", "Find it.")]
    agent = find_threads(turns)[1]
    assert (agent.match, agent.confidence) == (("prompt",), "medium")


def test_an_agent_whose_prompt_was_rewritten_is_matched_by_timing_when_one_agent_call_is_open() -> None:
    turns = [main_turn(0, 1, [task("toolu_A", "Find it.")]), agent_turn(1, 4, "a", "Something else.")]
    agent = find_threads(turns)[1]
    assert (agent.kind, agent.match, agent.confidence) == ("subagent", ("timing",), "low")


def test_timing_alone_matches_nothing_when_two_agent_calls_are_open() -> None:
    dispatch = [task("toolu_A", "One."), task("toolu_B", "Two.")]
    turns = [main_turn(0, 1, dispatch), agent_turn(1, 4, "a", "Three.")]
    assert [thread.kind for thread in find_threads(turns)] == ["main", "session"]


def test_a_compacted_history_continues_the_main_thread() -> None:
    turns = [
        main_turn(0, 1, [text("a")]),
        make_turn(1, conversation="other", system=MAIN_SYSTEM, tools=TOOLS),
    ]
    turns[1]["messages"] = [user(text("Summary of the conversation so far."))]
    assign_threads(turns)
    assert [turn["thread"] for turn in turns] == ["main", "main"]


def test_sessions_with_their_own_key_stay_apart_even_with_the_same_setup() -> None:
    def codex(index: int, key: str) -> Turn:
        return make_turn(
            index,
            api="openai_responses",
            conversation=f"c{index}",
            tools=TOOLS,
            request_body={"prompt_cache_key": key},
        )

    turns = [codex(0, "k1"), codex(1, "k2"), codex(2, "k1")]
    assign_threads(turns)
    assert [turn["thread"] for turn in turns] == ["main", "session-2", "main"]


def test_side_requests_say_why() -> None:
    tools_turn = make_turn(0, tools=TOOLS)
    assert (
        side_reason(make_turn(1, api="raw", path="/v1/messages/count_tokens?beta=true"), True)
        == "token count"
    )
    assert side_reason(make_turn(1, api="raw", path="/v1/models"), True) == "model list"
    assert side_reason(make_turn(1, api="raw", path="/api/event_logging/batch"), True) == "other request"
    assert side_reason(make_turn(1, params={"max_tokens": 1}), True) == "quota check"
    topic = make_turn(
        1, system=[text("Analyze if this message indicates a new conversation topic ... title")]
    )
    assert side_reason(topic, True) == "title"
    assert side_reason(make_turn(1, messages=[user(text("hi"))]), True) == "one-off request"
    assert side_reason(make_turn(1, messages=[user(text("hi"))]), False) is None  # a session without tools
    assert side_reason(tools_turn, True) is None


def test_side_requests_form_one_quiet_thread_after_the_others() -> None:
    turns = [make_turn(0, params={"max_tokens": 1}), main_turn(1, 2, [text("hi")])]
    threads = assign_threads(turns)
    assert [(t.id, t.turns, t.reasons) for t in threads] == [
        ("main", (1,), ()),
        ("side", (0,), ("quota check",)),
    ]


def test_thread_totals_add_up_its_turns() -> None:
    dispatch = [task("toolu_A", "Go.")]
    turns = [
        main_turn(0, 1, dispatch),
        agent_turn(1, 4, "a", "Go.", usage=usage(10, 5, read=100), cost_usd=0.5),
        agent_turn(2, 7, "a", "Go.", usage=usage(1, 5), cost_usd=0.25),
    ]
    turns[2]["messages"] = [*turns[1]["messages"], assistant(text("x"))]
    agent = find_threads(turns)[1]
    assert thread_totals(agent, turns) == {"turns": 2, "tokens": 121, "cost_usd": 0.75, "duration_s": 5.0}


def test_a_subagent_started_by_a_subagent_hangs_under_it() -> None:
    outer = agent_turn(1, 4, "a", "Plan the refactor.")
    outer["output"] = [task("toolu_inner", "Read every module.")]
    turns = [
        main_turn(0, 1, [task("toolu_outer", "Plan the refactor.")]),
        outer,
        agent_turn(2, 8, "b", "Read every module."),
    ]
    threads = {thread.id: thread for thread in assign_threads(turns)}
    assert threads["agent-2"].parent == "agent-1"
    assert threads["agent-2"].parent_turn == 1
    assert by_id(turns)["a2"] == ("agent-2", "toolu_inner")


def test_a_non_agent_tool_with_a_prompt_can_dispatch_but_timing_alone_never_matches_it() -> None:
    turns = [main_turn(0, 1, [task("toolu_A", "Summarize the diff.", name="delegate_review")])]
    turns.append(agent_turn(1, 4, "a", "Something unrelated."))
    assert [thread.kind for thread in find_threads(turns)] == ["main", "session"]
    turns[1] = agent_turn(1, 4, "a", "Summarize the diff.")
    assert [thread.kind for thread in find_threads(turns)] == ["main", "subagent"]
