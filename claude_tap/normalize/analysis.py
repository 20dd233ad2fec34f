"""A session's threads, context composition and cache diagnoses together, as exports and summaries use them.

    analyze(turns)          the three, computed once (threads.py, context.py, cache.py)
    Analysis.turn_json(i)   {"context": Composition | None, "cache": Diagnosis | None} of one turn
    Analysis.summary()      one line for the report header; summary_line(turns) the same line for
                            the exit summary, without measuring messages

Turns must be placed (session.py): in order of start, with `thread` set.
This module knows those three modules, not records, files or output formats.
"""

from __future__ import annotations

from dataclasses import dataclass

from claude_tap.normalize.cache import Diagnosis, diagnose_session
from claude_tap.normalize.context import Composition, compositions, window_of, windows_as_of
from claude_tap.normalize.model import Turn
from claude_tap.normalize.threads import Thread, find_threads, thread_as_json


@dataclass(frozen=True, slots=True)
class Analysis:
    turns: list[Turn]
    threads: list[Thread]
    context: dict[int, Composition]
    cache: dict[int, Diagnosis]

    def turn_json(self, index: int) -> dict[str, object]:
        composition, diagnosis = self.context.get(index), self.cache.get(index)
        return {
            "context": composition.as_json() if composition is not None else None,
            "cache": diagnosis.as_json() if diagnosis is not None else None,
        }

    def threads_json(self) -> list[dict[str, object]]:
        return [thread_as_json(thread, self.turns) for thread in self.threads]

    def session_json(self) -> dict[str, object]:
        return {
            "threads": self.threads_json(),
            "windows_as_of": windows_as_of(),
            "peak_window_share": self.peak_window_share(),
            "cache_misses": len(self.cache),
        }

    def peak_window_share(self) -> float | None:
        shares = [c.window_share for c in self.context.values() if c.window_share is not None]
        return max(shares) if shares else None

    def summary(self) -> str:
        return _summary(self.threads, self.cache, self.peak_window_share())


def summary_line(turns: list[Turn]) -> str:
    """The same line as `Analysis.summary`, without measuring every message: the fullest window is
    read from the prompt sizes the providers reported (what the exit summary can afford)."""
    shares = []
    for turn in turns:
        window = window_of(turn)
        if window and turn["usage"] is not None and turn["api"] != "raw":
            usage = turn["usage"]
            prompt = usage["input_tokens"] + usage["cache_read_tokens"] + usage["cache_write_tokens"]
            shares.append(round(prompt / window, 4))
    return _summary(find_threads(turns), diagnose_session(turns), max(shares) if shares else None)


def _summary(threads: list[Thread], cache: dict[int, Diagnosis], peak: float | None) -> str:
    """threads, cache misses and their causes, and the fullest context window, on one line."""
    kinds = [thread.kind for thread in threads]
    parts = ["main agent" if "main" in kinds else "no main agent"]
    for kind, word in (("subagent", "subagent"), ("session", "other session")):
        count = kinds.count(kind)  # type: ignore[arg-type]
        if count:
            parts.append(f"{count} {word}{'s' if count != 1 else ''}")
    side = next((thread for thread in threads if thread.kind == "side"), None)
    if side is not None:
        parts.append(f"{len(side.turns)} side request{'s' if len(side.turns) != 1 else ''}")
    line = "threads: " + ", ".join(parts) + f"; cache misses: {len(cache)}"
    if cache:
        causes: dict[str, int] = {}
        for diagnosis in cache.values():
            for cause in diagnosis.causes:
                causes[cause.kind] = causes.get(cause.kind, 0) + 1
        line += " (" + ", ".join(f"{kind} {n}" for kind, n in causes.items()) + ")"
    if peak is not None:
        line += f"; fullest context: {peak:.0%} of the window"
    return line


def page_analysis(turns: list[Turn]) -> dict[str, object]:
    """What the viewer page shows of it: {"threads": [...], "turns": {"<index>": turn_json}} (only the
    turns that have a composition or a diagnosis)."""
    analysis = analyze(turns)
    per_turn = {
        str(index): analysis.turn_json(index)
        for index in sorted(analysis.context.keys() | analysis.cache.keys())
    }
    return {"threads": analysis.threads_json(), "turns": per_turn}


def analyze(turns: list[Turn]) -> Analysis:
    return Analysis(turns, find_threads(turns), compositions(turns), diagnose_session(turns))
