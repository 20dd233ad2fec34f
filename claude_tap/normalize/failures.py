"""Which calls failed, in one place for the exit summary, the viewer's totals, the session index and
the OpenTelemetry spans.

A call failed when it broke off (a transport error, a stream cut short) or the server answered with
an HTTP error status, with one exception: a capability probe that the server does not offer. Clients
ask a server what it has before they use it (the model list, one model's details, Ollama's tags and
`show`, llama.cpp's props, a version); a server without that route answers 404 (or 405, 501), which
is the answer to the question, not a failed call. Hermes sends about thirty such probes per run, and
counting them as errors buried the one model call that really failed.

This module knows nothing about records, files or output.
"""

from __future__ import annotations

from claude_tap.normalize.model import Turn

PROBE_MISS_STATUSES = frozenset({404, 405, 501})
# The last segment of a probe's path. `show` is Ollama's POST /api/show; the others are reads.
_READ_PROBES = frozenset({"models", "tags", "props", "version", "health"})
_ANY_METHOD_PROBES = frozenset({"show"})
_READ_METHODS = frozenset({"GET", "HEAD"})


def is_probe(method: str, path: str) -> bool:
    """Whether a request asks what the server offers rather than for a model's answer."""
    segments = path.partition("?")[0].rstrip("/").split("/")
    last = segments[-1]
    if last in _ANY_METHOD_PROBES:
        return True
    if method.upper() not in _READ_METHODS:
        return False
    # GET .../models/<id> reads one model's details; a model call (Gemini's POST
    # .../models/<id>:generateContent) is not a read.
    return last in _READ_PROBES or (len(segments) >= 2 and segments[-2] == "models")


def is_probe_miss(method: str, path: str, status: int | None) -> bool:
    """A probe the server answered "not here"."""
    return status in PROBE_MISS_STATUSES and is_probe(method, path)


def is_failed(turn: Turn) -> bool:
    if is_probe_miss(turn["method"], turn["path"], turn["status"]):
        return False
    return turn["error"] is not None or (turn["status"] or 0) >= 400 or not turn["complete"]
