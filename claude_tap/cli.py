"""The `claude-tap` command: parse the command line, pick what to do, turn errors into exit codes.

    main(argv, env) -> exit code

`Environment` is the world the command sees (streams, their TTY flags, environment variables, home,
working directory), injected so tests run the whole CLI in-process. stdout belongs to the client: during
a run claude-tap writes only to stderr. Only `--help`, `--version` and other output that is the answer
to a command of ours (no client running) goes to stdout.

Exit codes: the client's own (128+N when it died of signal N); 2 for a usage error (bad flag or value,
a target we refuse), the codes in `claude_tap.launch.ExitCode` for our own failures.
Tracebacks are shown only with --tap-debug.

This module knows the flags (options.py) and which module does each job; it does no job itself.
"""

from __future__ import annotations

import asyncio
import os
import sys
import traceback
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from claude_tap.launch import ExitCode
from claude_tap.options import PROG, Command, UsageError, help_text, parse_command, version_text


@dataclass(frozen=True, slots=True)
class Environment:
    """What a command reads from and writes to. `from_process()` gives the real one."""

    stdin: TextIO
    stdout: TextIO
    stderr: TextIO
    environ: Mapping[str, str]
    home: Path
    cwd: Path
    stdin_isatty: bool = False
    stdout_isatty: bool = False
    stderr_isatty: bool = False

    @classmethod
    def from_process(cls) -> Environment:
        return cls(
            stdin=sys.stdin,
            stdout=sys.stdout,
            stderr=sys.stderr,
            environ=dict(os.environ),
            home=Path.home(),
            cwd=Path.cwd(),
            stdin_isatty=_isatty(sys.stdin),
            stdout_isatty=_isatty(sys.stdout),
            stderr_isatty=_isatty(sys.stderr),
        )

    def say(self, message: str) -> None:
        """One line for the person at the keyboard, on stderr."""
        print(message, file=self.stderr, flush=True)

    @property
    def can_open_browser(self) -> bool:
        """False in CI and on a machine with no display, where a browser would hang or fail."""
        if self.environ.get("CI"):
            return False
        if sys.platform in ("darwin", "win32"):
            return True
        return bool(self.environ.get("DISPLAY") or self.environ.get("WAYLAND_DISPLAY"))


def _isatty(stream: TextIO | None) -> bool:
    try:
        return stream is not None and stream.isatty()
    except (AttributeError, ValueError):  # replaced or closed streams
        return False


class CommandError(Exception):
    """A command failed in a way we expected; the message says what happened and what to do."""

    def __init__(self, message: str, exit_code: int = ExitCode.USAGE) -> None:
        super().__init__(message)
        self.exit_code = int(exit_code)


def main(argv: Sequence[str] | None = None, env: Environment | None = None) -> int:
    """Run the command line `argv` (default: sys.argv[1:]) and return the exit code."""
    environment = env if env is not None else Environment.from_process()
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        command = parse_command(args, environment.environ)
    except UsageError as error:
        return usage_error(
            environment, str(error), subcommand=args[0] if args and not args[0].startswith("-") else None
        )
    if command.wants_help:
        environment.stdout.write(help_text(command.name))
        return ExitCode.OK
    if command.wants_version:
        environment.stdout.write(version_text())
        return ExitCode.OK
    try:
        return dispatch(command, environment)
    except UsageError as error:
        return usage_error(environment, str(error), subcommand=command.name)
    except CommandError as error:
        environment.say(f"{PROG}: error: {error}")
        return error.exit_code
    except KeyboardInterrupt:
        environment.say(f"{PROG}: interrupted")
        return ExitCode.INTERRUPTED
    except Exception as error:  # the last line of defence: a bug of ours, reported, not a raw traceback
        if command.options.debug:
            environment.stderr.write(traceback.format_exc())
        environment.say(
            f"{PROG}: internal error: {type(error).__name__}: {error}\n"
            f"  This is a bug in claude-tap. Run again with --tap-debug for the traceback and report it."
        )
        return ExitCode.FAILURE


def usage_error(environment: Environment, message: str, subcommand: str | None = None) -> int:
    has_own_help = subcommand in ("demo", "view", "export", "sessions", "search", "index")
    where = f"{PROG} {subcommand} --help" if has_own_help else f"{PROG} --help"
    environment.say(
        f"{PROG}: error: {message}\n  See `{where}` for the flags and their CLAUDE_TAP_* variables."
    )
    return ExitCode.USAGE


def dispatch(command: Command, environment: Environment) -> int:
    """Do what `command` asks; each branch is one job, done by the module that owns it."""
    # Each branch imports what it needs: the proxy (aiohttp, cryptography) costs 0.4 s to import,
    # which `claude-tap sessions` and `search` would otherwise pay on every call.
    match command.name:
        case "run":
            from claude_tap import run

            return asyncio.run(run.run_client(command.options, environment))
        case "demo":
            from claude_tap import run

            return asyncio.run(run.run_demo(command.options, environment))
        case "view":
            return view(command, environment)
        case "export":
            return export(command, environment)
        case "ca":
            from claude_tap.trust import ca_command

            args = command.args
            return ca_command(environment, trust=bool(args["trust"]), regenerate=bool(args["regenerate"]))
        case "sessions" | "search" | "index":
            from claude_tap.sessions_cli import SessionsUsageError, run_sessions_command

            try:
                return run_sessions_command(command, environment)
            except SessionsUsageError as error:
                raise UsageError(str(error)) from error
        case "doctor":
            return doctor(command, environment)
        case "dashboard":
            from claude_tap.dashboard.server import serve_dashboard
            from claude_tap.store.paths import traces_root

            options = command.options
            return serve_dashboard(
                environment.environ,
                options.output_dir or traces_root(environment.environ),
                host=options.host,
                port=options.port,
                open_browser=not options.no_open,
                stderr=environment.stderr,
            )
        case _:
            raise AssertionError(f"no handler for command {command.name!r}")


def doctor(command: Command, environment: Environment) -> int:
    from claude_tap.clients import CLIENT_CONFIGS
    from claude_tap.doctor import Overrides, as_json, render, run_doctor

    given = command.args.get("clients")
    names = [str(name) for name in given] if isinstance(given, list) else []
    unknown = [name for name in names if name not in CLIENT_CONFIGS]
    if unknown:
        raise UsageError(f"unknown client {unknown[0]!r}; choose from: {', '.join(CLIENT_CONFIGS)}")
    options = command.options
    overrides = Overrides(options.target, options.proxy_mode, options.upstream_ca)
    reports = run_doctor(names, environment.environ, environment.home, environment.cwd, overrides)
    environment.stdout.write((as_json(reports) if command.args.get("json") else render(reports)) + "\n")
    return ExitCode.FAILURE if any(report.failed for report in reports) else ExitCode.OK


def view(command: Command, environment: Environment) -> int:
    trace = _existing_path(command.args["trace"], environment)
    from claude_tap.viewer.live import serve_trace

    options = command.options
    try:
        return serve_trace(
            trace,
            host=options.host,
            port=options.port,
            open_browser=not options.no_open and environment.can_open_browser,
            stderr=environment.stderr,
        )
    except (OSError, ValueError) as error:
        raise CommandError(f"cannot read {trace}: {error}", ExitCode.FAILURE) from error


def export(command: Command, environment: Environment) -> int:
    if command.args.get("output") is None and not command.args.get("otlp"):
        raise UsageError(
            "say where to export: -o/--output OUT (a file) or --otlp URL (an OpenTelemetry collector)"
        )
    trace = _existing_path(command.args["trace"], environment)
    if command.args.get("otlp"):
        from claude_tap.otlp import send_trace

        return send_trace(trace, str(command.args["otlp"]), command.options.otlp_content, environment.say)
    from claude_tap.viewer.export import export_trace

    out = environment.cwd / Path(str(command.args["output"])).expanduser()
    fmt = command.args.get("format")
    try:
        written = export_trace(trace, out, str(fmt) if fmt else None)
    except ValueError as error:
        raise UsageError(str(error)) from error
    except OSError as error:
        raise CommandError(f"cannot export {trace} to {out}: {error}", ExitCode.FAILURE) from error
    environment.say(f"{PROG}: wrote {written}")
    return ExitCode.OK


def _existing_path(value: object, environment: Environment) -> Path:
    path = environment.cwd / Path(str(value)).expanduser()
    if not path.exists():
        raise CommandError(f"no such trace: {path}. Session directories are under ~/.claude-tap/traces/.")
    return path


if __name__ == "__main__":
    sys.exit(main())
