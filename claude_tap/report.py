"""What claude-tap tells the person at the keyboard about a run: the start banner and the exit summary.

Both go to stderr (stdout is the client's) and to proxy.log. The summary's figures are the recorder's,
counted as it wrote each record (normalize/summary.py); when it could not send them, they are counted
again from the trace file.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from claude_tap import __version__
from claude_tap.options import PROG
from claude_tap.proxy.upstream import build_upstream_url
from claude_tap.store.paths import TRACE_FILE
from claude_tap.store.writer import WriterStats

if TYPE_CHECKING:
    from claude_tap.cli import Environment
    from claude_tap.normalize.summary import Summary
    from claude_tap.run import Plan

log = logging.getLogger("claude_tap")

# A request path per API dialect, only to show the URL rule in the banner (spec: "Verify log shows
# correct upstream URL"). Keyed by the client's error_style, the one API fact a ClientConfig carries.
EXAMPLE_PATHS = {
    "anthropic": "/v1/messages",
    "openai": "/v1/responses",
    "gemini": "/v1beta/models/gemini-2.5-pro:streamGenerateContent",
}


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


def _summary_from_file(environment: Environment, trace_path: Path, stats: WriterStats) -> Summary:
    from claude_tap.normalize.summary import Summary, summarize

    try:
        return summarize(trace_path)
    except Exception as error:  # reading back our own trace failed: say so, keep the exit code
        log.exception("reading %s back failed", trace_path)
        environment.say(f"{PROG}: could not read the trace back for the summary: {error}")
        return Summary(calls=stats.written, errors=None, tokens=None)


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
    summary: Summary | None = None,
) -> None:
    """The exit summary: `summary` as the recorder counted it, or counted here from the trace."""
    trace_path = session_dir / TRACE_FILE
    if summary is None:
        summary = _summary_from_file(environment, trace_path, stats)
    lines = summary_lines(summary, stats)
    if otlp is not None:
        lines.append(f"{PROG}: {otlp_line(otlp)}")
    lines.append(f"  trace   {trace_path}")
    if html_path is not None:
        lines.append(f"  viewer  {html_path}")
    environment.say("\n".join(lines))
    for line in lines:
        log.info("%s", line)
