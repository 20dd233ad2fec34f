"""One run of claude-tap, from parsed options to the exit summary.

    plan  ->  session dir + proxy.log  ->  trace writer  ->  reverse proxy  ->  banner
          ->  the child (or, with --tap-no-launch, wait for Ctrl+C)
          ->  stop proxy, close trace, write trace.html, print the summary

`plan_client_run` decides what to run and where requests go (client, mode, argv rewrite, target);
`run_session` does the rest for any plan, so `claude-tap demo` is the same run with a built-in
upstream and a scripted agent. claude-tap speaks on stderr only; the child owns stdout. The exit
code is the child's; a failure to write the viewer is reported and never changes it.

This module wires the others together and holds no protocol knowledge: the proxy moves bytes, the
writer records, the client adapter knows the client, the viewer renders.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shlex
import signal
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from claude_tap import __version__, serve
from claude_tap.capture.records import FORMAT_VERSION, SessionRecord
from claude_tap.capture.redact import Redactor, ScrubFilter, secrets_from_env
from claude_tap.cli import CommandError
from claude_tap.clients import get_client
from claude_tap.clients.base import ClientConfig, ProxyMode
from claude_tap.clients.home import launched_executable
from claude_tap.launch import ExitCode, LaunchError, resolve_executable, run_child
from claude_tap.options import PROG, TapOptions, is_loopback
from claude_tap.proxy.handoff import DeferredSink
from claude_tap.proxy.upstream import Target
from claude_tap.report import host_warning, print_banner, print_summary
from claude_tap.store.index import index_path
from claude_tap.store.paths import (
    HTML_FILE,
    LOG_FILE,
    TRACE_FILE,
    SessionDirError,
    create_private_file,
    new_session_dir,
)
from claude_tap.store.recorder import RecorderProcess, RecorderResult
from claude_tap.transcript_watch import TranscriptWatch
from claude_tap.viewer.opener import open_in_background

if TYPE_CHECKING:
    from claude_tap.cli import Environment
    from claude_tap.viewer.live import LiveServer

log = logging.getLogger("claude_tap")

# Past this, closing the recorder is worth a word: it normally takes well under a second.
SLOW_CLOSE_S = 2.0


@dataclass(frozen=True, slots=True)
class Plan:
    """What one run records: which client, how, where its requests really go, what to launch."""

    label: str  # the client's name in the session record and directory name
    client: ClientConfig
    mode: ProxyMode
    target: str
    target_source: str  # for the banner: "--tap-target", "ANTHROPIC_BASE_URL in ~/.claude/settings.json", ...
    client_args: tuple[str, ...]
    command: tuple[str, ...] | None = None  # launch exactly this (the demo agent) instead of the client
    notes: tuple[str, ...] = ()  # things the user must see before the client starts
    mode_source: str = ""  # for the banner: "--tap-proxy-mode", "Gemini CLI's default", ...
    intercept_all: bool = False  # forward mode: decrypt every host (--tap-intercept-all)


@dataclass(frozen=True, slots=True)
class RunResult:
    exit_code: int
    session_dir: Path
    html_path: Path | None  # None when the viewer could not be written


# --- planning ---


def plan_client_run(options: TapOptions, environment: Environment) -> Plan:
    client = get_client(options.client)
    mode = options.proxy_mode or client.default_proxy_mode
    mode_source = (
        options.from_env.get("proxy_mode", "--tap-proxy-mode")
        if options.proxy_mode is not None
        else f"{client.display_name}'s default"
    )
    serve.check_setup(mode, options, environment)  # the CA and --tap-upstream-ca, before anything starts
    refusal = None if options.no_launch else client.refuse_launch(environment.environ)
    if refusal is not None:  # whatever the target: the client itself must not run (kimi's 1.52.0 stub)
        raise CommandError(refusal)
    rewrite = client.rewrite_argv(options.client_args)
    notes = [rewrite.note] if rewrite.note else []
    detected = client.detect_target(environment.environ, environment.home, environment.cwd, rewrite.argv)
    client_args = rewrite.argv if detected.client_args is None else detected.client_args
    if options.target is not None:
        source = options.from_env.get("target", "--tap-target")
        target = checked_target(options.target, source)
    else:
        if detected.reverse_refusal is not None and mode == "reverse":  # forward mode is unaffected by it
            raise CommandError(detected.reverse_refusal)
        notes.extend(detected.notes)
        source = detected.source
        target = checked_target(detected.url, source)
    return Plan(
        client.name,
        client,
        mode,
        target,
        source,
        client_args,
        notes=tuple(notes),
        mode_source=mode_source,
        intercept_all=options.intercept_all,
    )


def checked_target(target: str, source: str) -> str:
    """`target` if the proxy can forward to it; else a usage error naming `source`, raised before
    anything is created (the message never quotes credentials or a query: see Target.parse)."""
    try:
        Target.parse(target)
    except ValueError as error:
        raise CommandError(f"{error} (from {source})", ExitCode.USAGE) from error
    return target


# --- one session ---


async def run_client(options: TapOptions, environment: Environment) -> int:
    plan = plan_client_run(options, environment)
    if not options.no_launch:
        check_client_installed(plan, environment)
    result = await run_session(plan, options, environment)
    return result.exit_code


def check_client_installed(plan: Plan, environment: Environment) -> None:
    """A missing agent is said before anything starts: no proxy, no empty session directory."""
    argv = plan.client.launch_argv(list(plan.client_args), "http://127.0.0.1:0", plan.mode)
    try:
        resolve_executable(launched_executable(argv), environment.environ, plan.client.install_hint)
    except LaunchError as error:
        raise CommandError(launch_failure(error, plan), error.exit_code) from error


def launch_failure(error: LaunchError, plan: Plan) -> str:
    who = plan.client.display_name
    return f"{error}\n  Or start only the proxy with --tap-no-launch and run {who} yourself."


async def run_session(plan: Plan, options: TapOptions, environment: Environment) -> RunResult:
    started = datetime.now().astimezone()
    try:
        session_dir = new_session_dir(options.output_dir, plan.label, started, environment.environ)
    except SessionDirError as error:  # the fix is a flag or variable (the message names it): a usage error
        raise CommandError(str(error), ExitCode.USAGE) from error
    redactor = Redactor(secrets_from_env(environment.environ))
    with proxy_log(session_dir / LOG_FILE, redactor, debug=options.debug, stderr=environment.stderr):
        for note in plan.notes:
            environment.say(f"{PROG}: note: {note}")
            log.warning("%s", note)
        if not is_loopback(options.host):
            environment.say(host_warning(options.host))
        exit_code, recorded = await record(plan, options, environment, session_dir, started, redactor)
        with ctrl_c_finishes_the_trace(environment):
            html_path = recorded.html_path
            if html_path is None:  # the recorder could not write it: try again from the trace file
                if recorded.html_error:
                    log.warning("the recorder did not write the viewer: %s", recorded.html_error)
                # In a thread, so the loop stays free to answer a Ctrl+C while a long session renders.
                html_path = await asyncio.to_thread(write_viewer, session_dir, environment)
            print_summary(
                environment, session_dir, html_path, recorded.stats, recorded.otlp, recorded.summary
            )
    return RunResult(exit_code, session_dir, html_path)


@contextlib.contextmanager
def ctrl_c_finishes_the_trace(environment: Environment) -> Iterator[None]:
    """Once the client is gone, a Ctrl+C (often a second press meant for the agent) must not cost the
    trace its end record, the viewer or the client's exit code: say so, and finish."""
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGINT, environment.say, f"{PROG}: finishing the trace; one moment")
    try:
        yield
    finally:
        loop.remove_signal_handler(signal.SIGINT)


async def record(
    plan: Plan,
    options: TapOptions,
    environment: Environment,
    session_dir: Path,
    started: datetime,
    redactor: Redactor,
) -> tuple[int, RecorderResult]:
    """Proxy, trace and child, from start to the last record. Returns (exit code, what the recorder
    wrote: its counts and, normally, trace.html)."""
    live = _live_server() if options.live else None
    otlp = live_otlp(options)
    session = session_record(plan, session_dir, started, redactor)
    # Recording runs in a process of its own (store/recorder.py): it never holds this loop's GIL.
    recorder = RecorderProcess(
        session_dir / TRACE_FILE,
        dict(session),
        redactor,
        html_path=session_dir / HTML_FILE,
        index_file=index_path(environment.environ),
        on_record=live.publish_record if live else None,
        # In the recorder's reader thread, so a slow terminal never holds up the proxy's event loop.
        on_stopped=lambda reason: environment.say(
            f"claude-tap: recording stopped: {reason}; the agent keeps working"
        ),
        otlp=otlp,
    )
    handoff = DeferredSink(recorder)  # keeps even the hand-off's pickling off the agent's next request
    proxy = serve.build_proxy(plan, options, environment, handoff, recorder, log)
    exit_code: int | None = None
    transcripts: TranscriptWatch | None = None
    try:
        try:
            proxy_url = await proxy.start()
        except OSError as error:
            raise CommandError(
                f"cannot listen on {options.host}:{options.port}: {error.strerror or error}. "
                "Choose another --tap-port (0 picks a free one) or --tap-host.",
                ExitCode.FAILURE,
            ) from error
        print_banner(environment, plan, proxy_url, session_dir)
        proxy_url = client_facing_url(proxy_url, options.host)
        if live is not None:
            await start_live(live, options, environment)
        transcripts = watch_transcripts(plan, environment, started, recorder)
        if options.no_launch:
            exit_code = await serve_until_interrupted(plan, proxy_url, environment)
        else:
            exit_code = await launch(plan, proxy_url, environment)
    finally:
        with ctrl_c_finishes_the_trace(environment):
            if transcripts is not None:
                imported = await transcripts.stop()
                log.info("imported %d transcript entries", imported)
            await proxy.stop()
            log.debug("proxy stopped; the recorder finishes the trace and the viewer")
            handoff.flush()
            # An exit code of None in the end record says the run was cut short.
            recorded = await close_recorder(recorder, exit_code, environment)
            log.debug("recorder done: %s", recorded.html_path or recorded.html_error)
            if live is not None:
                await live.stop()
    return exit_code, recorded


async def close_recorder(
    recorder: RecorderProcess, exit_code: int | None, environment: Environment
) -> RecorderResult:
    """The recorder's result once it has finished the trace and the viewer. That is quick, unless it
    has a backlog to catch up on a machine that was busy (it records at idle priority): then the
    person at the keyboard is told why the tap has not exited yet."""
    closing = asyncio.ensure_future(asyncio.to_thread(recorder.close, exit_code))
    done, _ = await asyncio.wait({closing}, timeout=SLOW_CLOSE_S)
    if not done:
        environment.say(f"{PROG}: still writing the trace and the viewer (the recording is catching up)")
    return await closing


def watch_transcripts(
    plan: Plan, environment: Environment, started: datetime, recorder: RecorderProcess
) -> TranscriptWatch | None:
    """For a client whose readable turns are its own transcripts (Cursor), import them as they come."""
    if plan.client.transcripts is None:
        return None
    watch = TranscriptWatch(
        plan.client.transcripts,
        environment.home,
        started.timestamp() - 1.0,  # the client's first write may carry a coarse mtime
        lambda record: recorder.submit_record(record, block=False),
    )
    watch.start()
    return watch


def live_otlp(options: TapOptions) -> dict[str, Any] | None:
    """What the recorder needs to send spans live (`--tap-otlp-endpoint`); refused before anything
    starts when the OpenTelemetry packages are missing, rather than found out at the first call."""
    if options.otlp_endpoint is None:
        return None
    from claude_tap.otlp import OtlpUnavailableError, load_sdk, traces_endpoint

    try:
        load_sdk()
    except OtlpUnavailableError as error:
        raise CommandError(f"--tap-otlp-endpoint: {error}", ExitCode.USAGE) from error
    return {"endpoint": traces_endpoint(options.otlp_endpoint), "content": options.otlp_content}


def session_record(plan: Plan, session_dir: Path, started: datetime, redactor: Redactor) -> SessionRecord:
    argv = list(plan.command) if plan.command is not None else [plan.client.executable, *plan.client_args]
    return {
        "type": "session",
        "format_version": FORMAT_VERSION,
        "claude_tap_version": __version__,
        "client": plan.label,
        "mode": plan.mode,
        "target": plan.target,
        "argv": redactor.redact_argv(argv),
        "started_at": started.isoformat(timespec="milliseconds"),
        "id": session_dir.name,
    }


@contextlib.contextmanager
def proxy_log(path: Path, redactor: Redactor, *, debug: bool, stderr: TextIO) -> Iterator[None]:
    """Send claude-tap's log to proxy.log (and stderr with --tap-debug), secrets scrubbed, for one run."""
    create_private_file(path)  # 0600 whatever the umask: the log names hosts, paths and errors
    handlers: list[logging.Handler] = [logging.FileHandler(path, encoding="utf-8")]
    if debug:
        handlers.append(logging.StreamHandler(stderr))
    # aiohttp and asyncio log what escapes a handler or a task; with no handler of their own, Python's
    # last-resort handler would print it, unscrubbed, on the agent's terminal.
    loggers = (log, logging.getLogger("aiohttp"), logging.getLogger("asyncio"))
    for handler in handlers:
        handler.addFilter(ScrubFilter(redactor))
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        for logger in loggers:
            logger.addHandler(handler)
    previous_level = log.level
    log.setLevel(logging.DEBUG if debug else logging.INFO)
    try:
        yield
    finally:
        log.setLevel(previous_level)
        for handler in handlers:
            for logger in loggers:
                logger.removeHandler(handler)
            handler.close()


# --- the child, or no child ---


async def launch(plan: Plan, proxy_url: str, environment: Environment) -> int:
    env = serve.child_env(plan, proxy_url, environment)
    if plan.command is not None:
        argv = list(plan.command)
    else:
        argv = plan.client.launch_argv(plan.client_args, proxy_url, plan.mode)
    log.info("launching %s (its arguments, redacted, are in the session record)", argv[0])
    try:
        return await run_child(argv, env, log=log.info, install_hint=plan.client.install_hint)
    except LaunchError as error:
        raise CommandError(launch_failure(error, plan), error.exit_code) from error


async def serve_until_interrupted(plan: Plan, proxy_url: str, environment: Environment) -> int:
    """--tap-no-launch: say how to point the client at us, then record until Ctrl+C (or SIGTERM)."""
    child_env = serve.child_env(plan, proxy_url, environment)
    setup = shell_lines_for(environment.environ, child_env)
    # The banner stays on screen, in scrollback and in pasted logs: its secrets are redacted too.
    shown = Redactor(secrets_from_env(environment.environ))
    argv = shown.redact_argv(plan.client.launch_argv(list(plan.client_args), proxy_url, plan.mode))
    lines = [
        f"{PROG}: proxy only (--tap-no-launch). In another terminal:",
        *(f"  {shown.scrub(line)}" for line in setup),
        # The command as we would launch it: some clients take the base URL as an argument (codex -c).
        f"  {shlex.join(argv)}",
        f"{PROG}: recording until Ctrl+C.",
    ]
    environment.say("\n".join(lines))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
    environment.say(f"{PROG}: stopping")
    return ExitCode.OK


def shell_lines_for(current: Mapping[str, str], wanted: Mapping[str, str]) -> list[str]:
    """The `export`/`unset` lines that turn the environment `current` into `wanted`."""
    exports = [
        f"export {name}={shlex.quote(value)}" for name, value in wanted.items() if current.get(name) != value
    ]
    unsets = [f"unset {name}" for name in current if name not in wanted]
    return exports + unsets


# --- what the user sees ---


def client_facing_url(proxy_url: str, host: str) -> str:
    """The URL a local client should use: a wildcard bind (0.0.0.0, ::) is reached through loopback."""
    wildcard = {"0.0.0.0": "127.0.0.1", "::": "[::1]", "[::]": "[::1]"}
    shown = f"[{host}]" if ":" in host and not host.startswith("[") else host
    if host in wildcard:
        return proxy_url.replace(f"//{shown}:", f"//{wildcard[host]}:", 1)
    return proxy_url


def _live_server() -> LiveServer:
    from claude_tap.viewer.live import LiveServer

    return LiveServer()


async def start_live(live: LiveServer, options: TapOptions, environment: Environment) -> None:
    await live.start()
    environment.say(f"  live       {live.url}")
    if not options.no_open and environment.can_open_browser:
        # A one-time address (the token stays off the browser's command line), opened without
        # waiting: a slow $BROWSER must not hold up the launch or a Ctrl+C.
        open_in_background(live.open_url())


def write_viewer(session_dir: Path, environment: Environment) -> Path | None:
    """Write trace.html from the trace on disk. A failure is reported and logged, never raised:
    the trace is already safe, and the viewer can be made later with `claude-tap export`."""
    html_path = session_dir / HTML_FILE
    try:
        from claude_tap.normalize.session import normalize_records
        from claude_tap.store.reader import read_records
        from claude_tap.viewer.html import write_html

        info, turns = normalize_records(list(read_records(session_dir / TRACE_FILE)))
        write_html(html_path, info, turns)
    except Exception as error:  # the viewer is a by-product: its bug must not cost the user their exit code
        log.exception("writing %s failed", html_path)
        environment.say(
            f"{PROG}: could not write the viewer ({type(error).__name__}: {error}); the trace is safe. "
            f"Try: {PROG} export {session_dir / TRACE_FILE} -o trace.html"
        )
        return None
    return html_path


# --- the demo ---


async def run_demo(options: TapOptions, environment: Environment) -> int:
    """`claude-tap demo`: the scripted agent through the real proxy to the built-in upstream."""
    from claude_tap.demo.upstream import DemoUpstream

    upstream = DemoUpstream()
    upstream_url = await upstream.start()
    plan = Plan(
        label="demo",
        client=get_client("claude"),  # the agent gets ANTHROPIC_BASE_URL exactly as Claude Code would
        mode="reverse",
        target=upstream_url,
        target_source="the built-in demo upstream, on loopback",
        client_args=(),
        command=(sys.executable, "-m", "claude_tap.demo.agent"),
    )
    environment.say(
        f"{PROG} demo: a scripted agent fixes a bug, talking to a built-in model; no key, no network."
    )
    try:
        result = await run_session(plan, options, environment)
    finally:
        await upstream.stop()
    if result.html_path is not None:
        open_viewer(result.html_path, options, environment)
    return result.exit_code


def open_viewer(html_path: Path, options: TapOptions, environment: Environment) -> None:
    if options.no_open or not environment.can_open_browser:
        environment.say(f"{PROG}: open {html_path.as_uri()} in a browser to see the session.")
        return
    environment.say(f"{PROG}: opening {html_path.as_uri()}")
    # We exit next: give the browser command a moment to start, never more (a slow $BROWSER).
    open_in_background(html_path.as_uri()).join(timeout=5.0)
