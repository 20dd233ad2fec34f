"""A whole trace into SessionInfo and turns: in one go, or record by record for the live viewer.

`normalize_records` reads every record, orders the turns by when they started (records are written
when an exchange *completes*, so the file order is completion order), and numbers them;
`SessionCollector` does the same record by record, for a writer that builds the viewer as it records.
A request body stored as a delta (`body_ref`, capture/body_delta.py) is made whole first, sharing the
objects of the record it continues, so repeated history is normalized once (normalize/memo.py).
`SessionNormalizer.add` takes records as they are written (the live server) and returns the turns each
one produced; since it cannot reorder turns it has already handed out, live indices follow completion
order. A turn's `id` is the same either way: use it, not the index, to keep a selection across reloads.

Never raises on a malformed record (turns.py turns it into a raw turn with an error note).
This module knows record types and the session; the per-API work is in the format modules.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Literal

from claude_tap.capture.body_delta import BodyResolver
from claude_tap.normalize.blocks import as_dict, as_str
from claude_tap.normalize.conversation import ConversationLinker
from claude_tap.normalize.failures import is_failed
from claude_tap.normalize.model import JsonValue, SessionInfo, Turn, Usage
from claude_tap.normalize.threads import assign_threads
from claude_tap.normalize.turns import turns_of_record
from claude_tap.normalize.usage import add_usage, make_usage


def _empty_info() -> SessionInfo:
    return {
        "client": None,
        "mode": None,
        "target": None,
        "started_at": None,
        "claude_tap_version": None,
        "source_format": "claude-tap",
    }


class SessionNormalizer:
    def __init__(self) -> None:
        self.info: SessionInfo = _empty_info()
        self.end: dict[str, JsonValue] | None = None  # the `end` record, once seen
        self.turns: list[Turn] = []
        self._linker = ConversationLinker()
        self._bodies = BodyResolver()
        self._records_seen = 0

    def add(self, record: JsonValue, position: int | None = None, *, threads: bool = True) -> list[Turn]:
        """The turns this record produced, indexed and linked ([] for session/end/unknown records).
        `position` is the record's line in the trace (default: records are added in file order); it
        names records that carry no id, so the names do not depend on the order turns are placed in.
        `threads=False` leaves `thread` unassigned (it is redone over all turns at each call)."""
        produced = self._turns_of(record, position)
        for turn in produced:
            self._place(turn, record)
        if produced and threads:  # a later turn can change what an earlier one was (a title call first)
            assign_threads(self.turns)
        return produced

    def _turns_of(self, record: JsonValue, position: int | None) -> list[Turn]:
        if position is None:
            position = self._records_seen
        self._records_seen += 1
        record = self._bodies.resolve(record)
        kind = as_dict(record).get("type")
        if kind == "session":
            self._read_session(as_dict(record))
            return []
        if kind == "end":
            self.end = as_dict(record)
            return []
        return turns_of_record(record, position)

    def _place(self, turn: Turn, record: JsonValue) -> None:
        turn["index"] = len(self.turns)
        self._linker.link(turn, record)
        self.turns.append(turn)

    def _read_session(self, record: dict[str, JsonValue]) -> None:
        self.info = {
            "client": as_str(record.get("client")),
            "mode": as_str(record.get("mode")),
            "target": as_str(record.get("target")),
            "started_at": as_str(record.get("started_at")),
            "claude_tap_version": as_str(record.get("claude_tap_version")),
            "source_format": _source_format(record),
        }

    def summary(self) -> dict[str, JsonValue]:
        """Totals for the exit summary and the viewer header.

        turns, errors (turns with an error, an HTTP status >= 400 or cut short; not probes answered 404:
        normalize/failures.py), usage (summed, every
        field zero when no turn reported usage), cost_usd (the priced turns), unpriced_turns (turns with
        usage but an unknown model: cost_usd leaves them out), models (turns per model).
        """
        usage: Usage | None = None
        cost = 0.0
        unpriced = 0
        models: dict[str, int] = {}
        for turn in self.turns:
            usage = add_usage(usage, turn["usage"])
            if turn["cost_usd"] is not None:
                cost += turn["cost_usd"]
            elif turn["usage"] is not None:
                unpriced += 1
            if turn["model"]:
                models[turn["model"]] = models.get(turn["model"], 0) + 1
        return {
            "turns": len(self.turns),
            "errors": sum(1 for turn in self.turns if is_failed(turn)),
            "usage": usage or make_usage(input_tokens=0, output_tokens=0),
            "cost_usd": round(cost, 10),
            "unpriced_turns": unpriced,
            "models": models,
        }


def _source_format(record: dict[str, JsonValue]) -> Literal["claude-tap", "legacy-jsonl"]:
    # A reader importing a legacy JSONL trace says so in the session record it synthesizes.
    return "legacy-jsonl" if record.get("source_format") == "legacy-jsonl" else "claude-tap"


class SessionCollector:
    """Records in, one at a time; the session's turns in order of start out, once, from `finish`.

    The costly part (resolving and normalizing each record) happens in `add`, as records arrive;
    `finish` only sorts and links."""

    def __init__(self) -> None:
        self._normalizer = SessionNormalizer()
        self._pending: list[tuple[datetime, int, int, Turn, JsonValue]] = []
        self._position = 0

    def add(self, record: JsonValue) -> None:
        position = self._position
        self._position += 1
        for k, turn in enumerate(self._normalizer._turns_of(record, position)):
            # Only a transcript entry's record is needed later (to link it); keeping every record
            # would hold every body until the end.
            kept = record if turn["api"] == "cursor_transcript" else None
            self._pending.append((_parse_time(turn["timing"]["started_at"]), position, k, turn, kept))

    def finish(self) -> tuple[SessionInfo, list[Turn]]:
        """The session and its turns; call once, after the last `add`."""
        self._pending.sort(key=lambda item: item[:3])
        for _, _, _, turn, record in self._pending:
            self._normalizer._place(turn, record)
        self._pending = []
        assign_threads(self._normalizer.turns)  # main agent, subagents, side requests (issue 14)
        return self._normalizer.info, self._normalizer.turns


def normalize_records(records: Iterable[JsonValue]) -> tuple[SessionInfo, list[Turn]]:
    """Every record of a trace; turns in order of start (a WebSocket's responses each at their own
    start). Ties, and turns without a readable start time (which go last), keep their file order."""
    collector = SessionCollector()
    for record in records:
        collector.add(record)
    return collector.finish()


_NEVER = datetime.max.replace(tzinfo=UTC)


def _parse_time(text: str | None) -> datetime:
    if not text:
        return _NEVER
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return _NEVER
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
