"""What claude-tap tells the person at the keyboard about a run: the start banner and the exit summary.

Both go to stderr (stdout is the client's) and to proxy.log. The summary is counted from the records
on disk, with the one usage definition of normalize/usage.py, so it agrees with the viewer.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from claude_tap import __version__
from claude_tap.options import PROG
from claude_tap.proxy.upstream import build_upstream_url
from claude_tap.store.paths import TRACE_FILE
from claude_tap.store.writer import WriterStats

if TYPE_CHECKING:
    from claude_tap.cli import Environment
    from claude_tap.normalize.session import SessionCollector
    from claude_tap.run import Plan

log = logging.getLogger("claude_tap")

# A request path per API dialect, only to show the URL rule in the banner (spec: "Verify log shows
# correct upstream URL"). Keyed by the client's error_style, the one API fact a ClientConfig carries.
EXAMPLE_PATHS = {
    "anthropic": "/v1/messages",
    "openai": "/v1/responses",
    "gemini": "/v1beta/models/gemini-2.5-pro:streamGenerateContent",
}


@dataclass
class Summary:
    """The exit summary, counted from the records on disk."""

    calls: int = 0
    errors: int | None = 0  # None: unknown (the trace could not be read back)
    tokens: dict[str, int] | None = field(
        default_factory=lambda: dict.fromkeys(
            ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens"), 0
        )
    )
    tunnels: int = 0  # forward mode: connections passed on undecrypted
    tunnel_hosts: set[str] = field(default_factory=set)
    notices: dict[str, int] = field(default_factory=dict)  # watchdog findings by kind
    probe_misses: dict[str, int] = field(default_factory=dict)  # by path: not errors (normalize/failures.py)
    insight: str | None = None  # threads, cache misses, fullest context (normalize/analysis.py)


def print_banner(environment: Environment, plan: Plan, proxy_url: str, session_dir: Path) -> None:
    strip = plan.client.reverse_strip_path_prefix(plan.target)
    example = EXAMPLE_PATHS.get(plan.client.error_style, "/v1/messages")
    rule = f"POST {example} -> {build_upstream_url(plan.target, example, strip)}"
    if strip:
        rule += f"  (strips {strip})"
    why = f" ({plan.mode_source})" if plan.mode_source else ""
    lines = [f"{PROG} {__version__}: recording {plan.label} through a {plan.mode} proxy{why}"]
    if plan.mode == "forward":
        from claude_tap.proxy.ca import CA_CERT_FILE, ca_dir
        from claude_tap.serve import intercept_hosts

        hosts = ", ".join(sorted(intercept_hosts(plan.client, plan.target)))
        decrypts = (
            "every host (--tap-intercept-all)" if plan.intercept_all else f"{hosts}; others are tunnelled"
        )
        lines += [
            f"  listening  {proxy_url}  (the client's HTTPS_PROXY)",
            f"  decrypts   {decrypts}",
            f"  target     {plan.target}  ({plan.target_source}; for requests sent to the proxy itself)",
            f"  CA         {ca_dir(environment.environ) / CA_CERT_FILE}  (trusted by the client through its "
            "environment; see `claude-tap ca`)",
        ]
    else:
        lines += [
            f"  listening  {proxy_url}",
            f"  target     {plan.target}  ({plan.target_source})",
            f"  upstream   {rule}",
        ]
    lines.append(f"  trace      {session_dir}")
    environment.say("\n".join(lines))
    for line in lines:
        log.info("%s", line)


def host_warning(host: str) -> str:
    return (
        f"{PROG}: warning: listening on {host}, not loopback: anyone who can reach this machine can send "
        "requests through the proxy with your credentials and read the answers. Use --tap-host 127.0.0.1 "
        "unless you mean it."
    )


def summarize(trace_path: Path) -> Summary:
    from claude_tap.capture.body_delta import BodyResolver
    from claude_tap.normalize.failures import is_probe_miss
    from claude_tap.normalize.session import SessionCollector
    from claude_tap.normalize.usage import usage_of
    from claude_tap.store.reader import read_records

    bodies = BodyResolver()  # a request stored as a delta is made whole before it is read
    turns = SessionCollector()  # for the threads and cache line (issue 14)
    calls = errors = 0
    tokens = dict.fromkeys(("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens"), 0)
    seen = Summary()
    for record in read_records(trace_path):
        turns.add(record)
        if record.get("type") == "tunnel":
            seen.tunnels += 1
            seen.tunnel_hosts.add(str(record.get("host")))
            continue
        if record.get("type") == "notice":
            kind = str(record.get("kind"))
            seen.notices[kind] = seen.notices.get(kind, 0) + 1
            continue
        if record.get("type") != "exchange":
            continue
        calls += 1
        request = record.get("request") or {}
        status = (record.get("response") or {}).get("status")
        if not record.get("error") and is_probe_miss(
            str(request.get("method")), str(request.get("path")), status
        ):
            path = str(request.get("path")).partition("?")[0]
            seen.probe_misses[path] = seen.probe_misses.get(path, 0) + 1
        elif record.get("error") or status is None or status >= 400:
            errors += 1
        usage = usage_of(bodies.resolve(record))
        if usage is not None:
            for key in tokens:
                tokens[key] += int(usage[key])  # type: ignore[literal-required]
    insight = _insight(turns) if calls else None
    return Summary(
        calls, errors, tokens, seen.tunnels, seen.tunnel_hosts, seen.notices, seen.probe_misses, insight
    )


def _insight(turns: SessionCollector) -> str | None:
    """The threads and cache line; a bug in it must not cost the rest of the summary."""
    from claude_tap.normalize.analysis import summary_line

    try:
        return summary_line(turns.finish()[1])
    except Exception:
        log.exception("the threads and cache line failed")
        return None


def summary_lines(summary: Summary, stats: WriterStats) -> list[str]:
    calls = f"{summary.calls} call{'s' if summary.calls != 1 else ''}"
    if summary.errors is not None:
        calls += f", {summary.errors} error{'s' if summary.errors != 1 else ''}"
    if summary.tokens is not None:
        t = summary.tokens
        calls += (
            f"; tokens: {t['input_tokens']:,} input, {t['output_tokens']:,} output, "
            f"{t['cache_read_tokens']:,} cache read, {t['cache_write_tokens']:,} cache write"
        )
    lines = [f"{PROG}: {calls}"]
    if summary.insight:
        lines.append(f"{PROG}: {summary.insight}")
    if summary.probe_misses:
        lines.append(f"{PROG}: {_probe_misses_line(summary.probe_misses)}")
    if summary.tunnels:
        hosts = sorted(summary.tunnel_hosts)
        shown = ", ".join(hosts[:5]) + (f" and {len(hosts) - 5} more" if len(hosts) > 5 else "")
        lines.append(f"{PROG}: {summary.tunnels} connection(s) tunnelled undecrypted: {shown}")
    notices = summary.notices
    rejected = notices.get("certificate_rejected", 0)
    if rejected:
        lines.append(
            f"{PROG}: warning: the client rejected claude-tap's certificate {rejected} time(s); those calls "
            "were not recorded (see `claude-tap ca`)"
        )
    if notices.get("no_requests"):
        lines.append(f"{PROG}: warning: the watchdog saw no request for a while after the client started")
    if stats.dropped or stats.failed:
        lines.append(
            f"{PROG}: warning: {stats.dropped} call(s) not recorded (queue full), {stats.failed} record(s) "
            "failed to write" + (f": {stats.errors[0]}" if stats.errors else "")
        )
    return lines


def otlp_line(otlp: dict[str, Any]) -> str:
    """What live OpenTelemetry export did (spans include the session's root span)."""
    line = f"OpenTelemetry: {otlp['sent']} span{'s' if otlp['sent'] != 1 else ''} sent to {otlp['endpoint']}"
    if otlp["not_sent"]:
        line += (
            f"; warning: {otlp['not_sent']} not delivered "
            "(the collector was unreachable, refused them or fell behind)"
        )
    return line


def _probe_misses_line(misses: dict[str, int]) -> str:
    """How many capability probes the server answered "not here", and which: the client's questions,
    counted apart from errors so that a real failure is not lost among them."""
    total = sum(misses.values())
    paths = sorted(misses, key=lambda path: (-misses[path], path))
    shown = ", ".join(paths[:5]) + (f" and {len(paths) - 5} more" if len(paths) > 5 else "")
    return f"{total} probe{'s' if total != 1 else ''} answered not found (not counted as errors): {shown}"


def print_summary(
    environment: Environment,
    session_dir: Path,
    html_path: Path | None,
    stats: WriterStats,
    otlp: dict[str, Any] | None = None,
) -> None:
    trace_path = session_dir / TRACE_FILE
    try:
        summary = summarize(trace_path)
    except Exception as error:  # reading back our own trace failed: say so, keep the exit code
        log.exception("reading %s back failed", trace_path)
        environment.say(f"{PROG}: could not read the trace back for the summary: {error}")
        summary = Summary(calls=stats.written, errors=None, tokens=None)
    lines = summary_lines(summary, stats)
    if otlp is not None:
        lines.append(f"{PROG}: {otlp_line(otlp)}")
    lines.append(f"  trace   {trace_path}")
    if html_path is not None:
        lines.append(f"  viewer  {html_path}")
    environment.say("\n".join(lines))
    for line in lines:
        log.info("%s", line)
