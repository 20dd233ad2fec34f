"""Incremental server-sent events parser, exact to the WHATWG HTML Standard.

The rules followed are those of HTML Living Standard section 9.2.6 "Interpreting an event stream"
(https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation);
each step below names the part of that section it implements.

One deliberate difference: at the end of the stream the spec discards a pending event; `close()`
returns it marked `incomplete` instead, because a recorder must never drop what it saw.

Shape (as h11 and httpx decoders): `feed(data)` takes bytes exactly as they arrived and returns the
events that chunk completed; `close()` flushes. The parser knows nothing about HTTP, API formats,
sockets or clocks. A caller that needs to know *when* each event arrived feeds one received chunk
per call and stamps what comes back with that chunk's arrival time (as `capture.record` does).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DEFAULT_MAX_LINE_BYTES = 64 * 1024 * 1024

_LINE_END = re.compile(rb"[\r\n]")
_BOM = b"\xef\xbb\xbf"
_ASCII_DIGITS = re.compile(r"[0-9]+")


class SseLineTooLong(ValueError):
    """A line grew past `max_line_bytes` without ending; the stream is not a sane event stream."""

    def __init__(self, max_line_bytes: int) -> None:
        super().__init__(f"SSE line longer than {max_line_bytes} bytes")
        self.max_line_bytes = max_line_bytes


@dataclass(frozen=True, slots=True, kw_only=True)
class SseEvent:
    """One dispatched event.

    `id` is the stream's last event ID when the event was dispatched (the spec's lastEventId: it
    persists across events until the stream sets another), or None when the stream never set one.
    `retry` is the reconnection time set by a `retry` field inside this event's block, if any.
    """

    event: str = "message"
    data: str
    id: str | None = None
    retry: int | None = None
    incomplete: bool = False


class SseParser:
    """Feed bytes in arrival order; each call returns the events completed by those bytes."""

    def __init__(self, max_line_bytes: int = DEFAULT_MAX_LINE_BYTES) -> None:
        self.max_line_bytes = max_line_bytes
        self._pending = bytearray()  # bytes of the current, unfinished line
        self._skip_lf = False  # the last chunk ended in CR: an LF opening the next one ends no line
        self._at_stream_start = True
        self._closed = False
        # The spec's three buffers, plus what we report about the event being built.
        self._data: list[str] = []
        self._event_type = ""
        self._last_event_id: str | None = None
        self._retry: int | None = None

    def feed(self, data: bytes) -> list[SseEvent]:
        if self._closed:
            raise RuntimeError("SseParser.feed() after close()")
        events: list[SseEvent] = []
        pos = 0
        if self._skip_lf and data:
            # 9.2.6: "a single CR not followed by LF" ends a line, and so does CRLF; a CR that ended
            # the previous chunk already ended its line, so an LF here is the rest of that CRLF.
            self._skip_lf = False
            if data[0] == 0x0A:
                pos = 1
        while (match := _LINE_END.search(data, pos)) is not None:
            end = match.start()
            self._check_length(len(self._pending) + end - pos)
            line = bytes(self._pending) + data[pos:end]
            self._pending.clear()
            pos = end + 1
            if data[end] == 0x0D:
                if pos == len(data):
                    self._skip_lf = True
                elif data[pos] == 0x0A:
                    pos += 1
            self._process_line(line, events)
        self._check_length(len(self._pending) + len(data) - pos)
        self._pending += data[pos:]
        return events

    def close(self) -> list[SseEvent]:
        """End of stream: return the event cut off by it (marked incomplete), if there is one."""
        if self._closed:
            return []
        events: list[SseEvent] = []
        if self._pending:
            line = bytes(self._pending)
            self._pending.clear()
            self._process_line(line, events)
        self._closed = True
        if self._data:
            events.append(self._build_event(incomplete=True))
        return events

    def _check_length(self, size: int) -> None:
        if size > self.max_line_bytes:
            raise SseLineTooLong(self.max_line_bytes)

    def _process_line(self, raw: bytes, events: list[SseEvent]) -> None:
        if self._at_stream_start:
            # 9.2.6: streams are decoded with "UTF-8 decode", which strips one leading BOM.
            self._at_stream_start = False
            raw = raw.removeprefix(_BOM)
        # Decoding per line is the same as decoding the stream: CR and LF never occur inside a
        # UTF-8 sequence, and a multibyte character split across chunks is whole again here.
        line = raw.decode("utf-8", errors="replace")
        # 9.2.6 "Lines must be processed, in the order they are received, as follows:"
        if not line:  # "If the line is empty (a blank line): Dispatch the event"
            self._dispatch(events)
            return
        if line.startswith(":"):  # "If the line starts with a U+003A COLON character (:): Ignore"
            return
        name, colon, value = line.partition(":")
        if colon and value.startswith(" "):  # "If value starts with a U+0020 SPACE, remove it"
            value = value[1:]
        self._process_field(name, value)  # without a colon: the whole line is the name, value ""

    def _process_field(self, name: str, value: str) -> None:
        # 9.2.6 "the steps to process the field": names compared literally, no case folding.
        match name:
            case "event":
                self._event_type = value
            case "data":
                self._data.append(value)
            case "id" if "\x00" not in value:  # "If the field value does not contain U+0000 NULL"
                self._last_event_id = value
            case "retry" if _ASCII_DIGITS.fullmatch(value):  # "consists of only ASCII digits"
                self._retry = int(value)
            # "Otherwise: The field is ignored." (so is an id with NUL, a retry that is not digits)

    def _dispatch(self, events: list[SseEvent]) -> None:
        # 9.2.6 "dispatch the event", step 2: "If the data buffer is an empty string, set the data
        # buffer and the event type buffer to the empty string and return." Our data buffer is a
        # list of data lines; the spec's buffer is those lines each followed by LF (step 3 then
        # removes the last LF), so an empty list is the spec's empty buffer.
        if self._data:
            events.append(self._build_event(incomplete=False))
        self._data = []
        self._event_type = ""
        self._retry = None

    def _build_event(self, *, incomplete: bool) -> SseEvent:
        return SseEvent(
            data="\n".join(self._data),
            # step 6: the type is the event type buffer unless that is empty
            event=self._event_type or "message",
            id=self._last_event_id,
            retry=self._retry,
            incomplete=incomplete,
        )


def parse_sse(data: bytes, max_line_bytes: int = DEFAULT_MAX_LINE_BYTES) -> list[SseEvent]:
    """Parse a whole stream at once (events cut off by its end come back marked incomplete)."""
    parser = SseParser(max_line_bytes)
    return parser.feed(data) + parser.close()
