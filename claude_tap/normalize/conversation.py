"""Links each turn to the previous turn of the same conversation (the viewer's diff target).

Turns arrive in session order; `ConversationLinker.link` sets `conversation`, `prev` and
`prev_is_guess` on each, using only the turns seen before it:

1. Explicit ids. A Responses turn naming `previous_response_id` continues the turn whose response had
   that id (prev_is_guess False). Cursor transcript entries continue the previous entry of the same
   transcript (also explicit: the transcript orders them).
2. Content. Clients resend the whole conversation each call, so a turn continues the latest earlier turn
   whose messages are a prefix of its own (the longest such prefix wins: that is the latest state of the
   conversation). Matching first looks among turns of the same API and system prompt, so a subagent
   (its own system prompt) forms its own conversation even when it shares an opening message; if none
   matches, any turn of the same API whose first two or more messages match (a system prompt that
   changed mid-conversation). prev_is_guess is True.

Cost: each distinct message is hashed once (a message repeated from the previous turn is the same
object, normalize/memo.py), each prefix costs one hash of two digests and one dict lookup, so linking
is O(total messages) in small steps; no turn is compared with another.

Raw turns are never linked. A conversation is named by the id of its first turn.
This module knows turns, not records or APIs.
"""

from __future__ import annotations

import hashlib

from claude_tap.normalize.blocks import as_dict, as_str
from claude_tap.normalize.cursor import conversation_key
from claude_tap.normalize.memo import IdentityMemo
from claude_tap.normalize.model import Api, JsonValue, Message, Turn

_MIN_MESSAGES_ACROSS_SYSTEMS = 2  # one shared opening message is a coincidence, two are a conversation


def _serialized(value: JsonValue) -> bytes:
    # repr of plain JSON values is deterministic (dicts keep insertion order), runs in C without a
    # per-call encoder (json.dumps per message dominated linking time on a 1,000-turn session) and,
    # unlike JSON text, cannot fail on a lone surrogate that json.loads let into a string.
    return repr(value).encode("utf-8", "surrogatepass")


def message_key(message: Message) -> str:
    """A digest of one normalized message: equal messages get equal keys (handy for storing each
    distinct message once)."""
    return _digest(_serialized(message)).hex()


def _digest(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=16).digest()


_value_digest = IdentityMemo(lambda value: _digest(_serialized(value)))


def _prefix_digests(messages: list[Message]) -> list[bytes]:
    """digests[k] identifies messages[:k + 1]; one chained hash per message."""
    digests: list[bytes] = []
    previous = b""
    for message in messages:
        previous = _digest(previous + _value_digest(message))
        digests.append(previous)
    return digests


class ConversationLinker:
    def __init__(self) -> None:
        self._conversation_of: dict[int, str] = {}
        self._by_response_id: dict[str, int] = {}
        self._by_family_prefix: dict[tuple[Api, bytes, bytes], int] = {}  # (api, system, messages) -> turn
        self._by_api_prefix: dict[tuple[Api, bytes], int] = {}
        self._last_transcript_turn: dict[str, int] = {}

    def link(self, turn: Turn, record: JsonValue = None) -> None:
        """Set the links of `turn` (whose `index` is already its place) and remember it for later turns.
        `record` is the trace record it came from, for the transcript a Cursor entry belongs to."""
        if turn["api"] == "cursor_transcript":
            self._link_transcript(turn, conversation_key(record))
            return
        if turn["api"] == "raw":  # token counts, telemetry, ...: not a conversation
            self._set(turn, None, False)
            return
        prev, is_guess = self._explicit_prev(turn), False
        digests = _prefix_digests(turn["messages"])
        system = _value_digest(turn["system"])
        if prev is None:
            prev, is_guess = self._guessed_prev(turn["api"], system, digests), True
        self._set(turn, prev, is_guess and prev is not None)
        if digests:
            self._by_family_prefix[(turn["api"], system, digests[-1])] = turn["index"]
            self._by_api_prefix[(turn["api"], digests[-1])] = turn["index"]
        response_id = as_str(as_dict(turn["response_body"]).get("id"))
        if turn["api"] == "openai_responses" and response_id:
            self._by_response_id[response_id] = turn["index"]

    def _explicit_prev(self, turn: Turn) -> int | None:
        if turn["api"] != "openai_responses":
            return None
        previous_id = as_str(as_dict(turn["request_body"]).get("previous_response_id"))
        return self._by_response_id.get(previous_id) if previous_id else None

    def _guessed_prev(self, api: Api, system: bytes, digests: list[bytes]) -> int | None:
        for length in range(len(digests), 0, -1):
            found = self._by_family_prefix.get((api, system, digests[length - 1]))
            if found is not None:
                return found
        for length in range(len(digests), _MIN_MESSAGES_ACROSS_SYSTEMS - 1, -1):
            found = self._by_api_prefix.get((api, digests[length - 1]))
            if found is not None:
                return found
        return None

    def _link_transcript(self, turn: Turn, key: str) -> None:
        self._set(turn, self._last_transcript_turn.get(key), False)
        self._last_transcript_turn[key] = turn["index"]

    def _set(self, turn: Turn, prev: int | None, is_guess: bool) -> None:
        conversation = self._conversation_of[prev] if prev is not None else turn["id"]
        turn["conversation"] = conversation
        turn["prev"] = prev
        turn["prev_is_guess"] = is_guess
        self._conversation_of[turn["index"]] = conversation
