"""Every claude-tap flag, defined once, and the parsing of a command line into frozen values.

The grammar (DESIGN section 1):

    claude-tap [--tap-* flags] [--] [client args]      run a client through the tap
    claude-tap demo | view TRACE | export TRACE -o OUT  own subcommands, only as the FIRST argument

- Every `--tap-*` flag is ours; every other argument goes to the client, unchanged and in order.
- A `--` that comes before any client argument is ours: it ends tap options and is dropped.
  A `--` after a client argument is the client's (passed on), and it also ends tap options.
- `-h`, `--help` and `--version` are ours only before the first client argument
  (`claude-tap -- --help` asks the client for its help).
- No abbreviations: `--tap-cli` is an error, never `--tap-client`.
- Each flag can also come from `CLAUDE_TAP_<NAME>` in the environment; a flag on the command line wins.

Bad input raises `UsageError` with a message for the person at the keyboard: what was wrong, the value,
what to do. This module knows nothing about proxies, processes or the trace; it only turns strings into
values. It asks the client registry which client names exist.
"""

from __future__ import annotations

import argparse
import difflib
import ipaddress
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from claude_tap import __version__
from claude_tap.clients.base import ProxyMode
from claude_tap.proxy.resolve import Resolve

PROG = "claude-tap"
SUBCOMMANDS = ("demo", "view", "export", "sessions", "search", "index", "dashboard", "ca", "doctor")
OWN_WORDS_BEFORE_CLIENT_ARGS = ("-h", "--help", "--version")
EXPORT_FORMATS = ("html", "md", "json", "jsonl")


class UsageError(Exception):
    """The command line (or a CLAUDE_TAP_* variable) asked for something we cannot do. Exit 2."""


class Group(StrEnum):
    CLIENT = "choosing the client"
    PROXY = "proxy"
    OUTPUT = "output"
    VIEWER = "viewer"
    GENERAL = "general"


# --- value parsers: each takes the raw string and returns a value or raises ValueError quoting it ---


def _client_names() -> list[str]:
    from claude_tap.clients import CLIENT_CONFIGS  # the registry is the one list of client names

    return list(CLIENT_CONFIGS)


def parse_client(value: str) -> str:
    name = value.strip().lower()
    if name not in _client_names():
        raise ValueError(f"unknown client {value!r}; known clients: {', '.join(_client_names())}")
    return name


def parse_target(value: str) -> str:
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(
            f"{value!r} is not an http(s) URL; give the upstream base, e.g. https://api.anthropic.com"
        )
    if parts.query or parts.fragment:  # not quoted: a query may hold a key
        raise ValueError("the URL has a query or fragment; give only scheme://host[:port][/path]")
    return value.strip().rstrip("/")


def parse_collector_url(value: str) -> str:
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(
            f"{value!r} is not an http(s) URL; give the OTLP/HTTP collector, e.g. http://127.0.0.1:4318"
        )
    return value.strip().rstrip("/")


def parse_mode(value: str) -> ProxyMode:
    mode = value.strip().lower()
    if mode == "reverse":
        return "reverse"
    if mode == "forward":
        return "forward"
    raise ValueError(f"{value!r} is not a proxy mode; choose reverse or forward")


def parse_port(value: str) -> int:
    try:
        port = int(value.strip())
    except ValueError:
        raise ValueError(f"{value!r} is not a port number; use 1-65535, or 0 for any free port") from None
    if not 0 <= port <= 65535:
        raise ValueError(f"{value!r} is out of range; use 1-65535, or 0 for any free port")
    return port


def parse_host(value: str) -> str:
    host = value.strip()
    if not host or any(c.isspace() for c in host):
        raise ValueError(f"{value!r} is not a host address; e.g. 127.0.0.1, ::1 or 0.0.0.0")
    return host


def parse_seconds(value: str) -> float:
    try:
        seconds = float(value.strip())
    except ValueError:
        raise ValueError(f"{value!r} is not a number of seconds, e.g. 30 or 2.5") from None
    if not seconds > 0 or seconds == float("inf"):
        raise ValueError(f"{value!r} must be a positive number of seconds")
    return seconds


def parse_seconds_or_off(value: str) -> float:
    """Seconds, where 0 turns the feature off."""
    if value.strip() in ("0", "0.0", "off"):
        return 0.0
    return parse_seconds(value)


def parse_resolve(value: str) -> Resolve:
    return Resolve.parse(value)


def parse_file(value: str) -> Path:
    path = Path(value.strip()).expanduser()
    if not path.is_file():
        raise ValueError(f"{value!r} is not a file")
    return path


def parse_proxy_url(value: str) -> str:
    """An http(s) proxy URL, or "direct" (also "none") for no proxy at all."""
    text = value.strip()
    if text.lower() in ("direct", "none"):
        return "direct"
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("the proxy must be an http(s) URL such as http://proxy.example:3128, or direct")
    return text.rstrip("/")


def parse_dir(value: str) -> Path:
    if not value.strip():
        raise ValueError("the directory is empty; give a path, e.g. ./traces")
    return Path(value).expanduser()


def parse_switch(value: str) -> bool:
    """A CLAUDE_TAP_* switch variable: 1/true/yes/on or 0/false/no/off (empty = off)."""
    word = value.strip().lower()
    if word in ("1", "true", "yes", "on"):
        return True
    if word in ("", "0", "false", "no", "off"):
        return False
    raise ValueError(f"{value!r} is not a switch value; use 1 or 0 (true/false, yes/no, on/off)")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


# --- the flags ---


@dataclass(frozen=True, slots=True)
class Flag:
    """One `--tap-*` flag. `name` gives the option (`--tap-<name>`), the variable and the field."""

    name: str
    group: Group
    help: str  # what it does; the default and variable are appended by `help_text`
    default: object
    parse: Callable[[str], object] | None  # None: a switch that takes no value
    metavar: str | None = None
    known_values: Callable[[], Iterable[str]] | None = None  # listed in the help, read when it is shown
    repeatable: bool = False  # may be given many times; its variable holds values separated by spaces

    @property
    def option(self) -> str:
        return "--tap-" + self.name.replace("_", "-")

    @property
    def env_var(self) -> str:
        return "CLAUDE_TAP_" + self.name.upper()

    @property
    def takes_value(self) -> bool:
        return self.parse is not None

    def help_text(self) -> str:
        if self.parse is None:
            default = "off"
        elif isinstance(self.default, float):
            default = f"{self.default:g}"
        else:
            default = "none" if self.default is None else str(self.default)
        known = f"; one of: {', '.join(self.known_values())}" if self.known_values else ""
        # argparse runs help through %-formatting
        return f"{self.help}{known} (default: {default}; env {self.env_var})".replace("%", "%%")


FLAGS: tuple[Flag, ...] = (
    Flag(
        "client",
        Group.CLIENT,
        "which agent to run",
        "claude",
        parse_client,
        "NAME",
        known_values=_client_names,
    ),
    Flag(
        "target",
        Group.CLIENT,
        "upstream base URL to forward to; without it, detected from the client's own settings",
        None,
        parse_target,
        "URL",
    ),
    Flag(
        "proxy_mode",
        Group.PROXY,
        "reverse (the client's base-URL variable points at the tap) or forward (the tap is the client's "
        "HTTPS proxy and decrypts its model hosts with a local CA, see `claude-tap ca`); without it, the "
        "client's default",
        None,
        parse_mode,
        "{reverse,forward}",
    ),
    Flag(
        "intercept_all",
        Group.PROXY,
        "forward mode: decrypt and record every host, not only the client's model hosts",
        False,
        None,
    ),
    Flag(
        "resolve",
        Group.PROXY,
        "forward mode: connect to ADDR:PORT whenever HOST:PORT is asked for (like curl's --connect-to; "
        "TLS still checks HOST); repeatable",
        None,
        parse_resolve,
        "HOST:PORT:ADDR:PORT",
        repeatable=True,
    ),
    Flag(
        "upstream_ca",
        Group.PROXY,
        "a PEM file of extra CAs to trust for upstream TLS (a corporate or test CA), besides the system's",
        None,
        parse_file,
        "FILE",
    ),
    Flag(
        "upstream_proxy",
        Group.PROXY,
        "the proxy the tap itself uses to reach upstreams, or direct; without it, the tap's own "
        "HTTPS_PROXY/HTTP_PROXY/NO_PROXY",
        None,
        parse_proxy_url,
        "URL",
    ),
    Flag(
        "watchdog",
        Group.PROXY,
        "forward mode: say on stderr when nothing was recorded this many seconds after the client started "
        "(0: never)",
        30.0,
        parse_seconds_or_off,
        "SECONDS",
    ),
    Flag(
        "port", Group.PROXY, "port to listen on; 0 picks any free port and prints it", 0, parse_port, "PORT"
    ),
    Flag(
        "host",
        Group.PROXY,
        "address to listen on; anything but loopback exposes your traffic to the network, with a warning",
        "127.0.0.1",
        parse_host,
        "ADDR",
    ),
    Flag(
        "no_launch",
        Group.PROXY,
        "start only the proxy and print the variable to point a client at it; stop with Ctrl+C",
        False,
        None,
    ),
    Flag(
        "connect_timeout",
        Group.PROXY,
        "seconds to wait for a connection to the upstream",
        30.0,
        parse_seconds,
        "SECONDS",
    ),
    Flag(
        "read_timeout",
        Group.PROXY,
        "seconds to wait for the upstream's next bytes before giving up on a response",
        600.0,
        parse_seconds,
        "SECONDS",
    ),
    Flag(
        "output_dir",
        Group.OUTPUT,
        "where session directories (DATE/TIME-client-id/ with trace.jsonl.zst, trace.html, proxy.log) "
        "are made; without it, ~/.claude-tap/traces",
        None,
        parse_dir,
        "DIR",
    ),
    Flag(
        "live",
        Group.VIEWER,
        "serve a live viewer on loopback that shows each call as it is recorded",
        False,
        None,
    ),
    Flag("no_open", Group.VIEWER, "never open a browser (live viewer, demo, view)", False, None),
    Flag(
        "otlp_endpoint",
        Group.OUTPUT,
        "send each call, as it completes, as an OpenTelemetry GenAI span to this OTLP/HTTP collector "
        "(http://host:4318, or a full .../v1/traces URL); one trace per session",
        None,
        parse_collector_url,
        "URL",
    ),
    Flag(
        "otlp_content",
        Group.OUTPUT,
        "OpenTelemetry (--tap-otlp-endpoint, or claude-tap export TRACE --otlp URL): also send prompts and "
        "completions, as span events; without it only models, token counts, timings and errors leave the "
        "machine",
        False,
        None,
    ),
    Flag("debug", Group.GENERAL, "log debug detail to proxy.log and stderr, show tracebacks", False, None),
)
FLAGS_BY_OPTION: dict[str, Flag] = {flag.option: flag for flag in FLAGS}

# Which tap flags each subcommand accepts (besides its own arguments).
SUBCOMMAND_FLAGS: dict[str, tuple[str, ...]] = {
    "demo": ("port", "host", "output_dir", "live", "no_open", "debug"),
    "view": ("port", "host", "no_open", "debug"),
    "export": ("otlp_content", "debug"),
    "sessions": ("output_dir", "debug"),  # and their own arguments: sessions_cli.add_arguments
    "search": ("output_dir", "no_open", "debug"),
    "index": ("output_dir", "debug"),
    "dashboard": ("port", "host", "output_dir", "no_open", "debug"),
    "ca": ("debug",),  # and its own --trust, --regenerate
    "doctor": ("target", "proxy_mode", "upstream_ca", "debug"),  # and its own CLIENT ... and --json
}


@dataclass(frozen=True, slots=True)
class TapOptions:
    """The parsed tap flags (the env applied, flags winning) and the client's arguments."""

    client: str = "claude"
    target: str | None = None
    proxy_mode: ProxyMode | None = None  # None: the client's default_proxy_mode
    intercept_all: bool = False
    resolve: tuple[Resolve, ...] = ()
    upstream_ca: Path | None = None
    upstream_proxy: str | None = None  # None: the tap's own environment; "direct": none
    watchdog: float = 30.0  # 0: off
    port: int = 0
    host: str = "127.0.0.1"
    no_launch: bool = False
    connect_timeout: float = 30.0
    read_timeout: float = 600.0
    output_dir: Path | None = None
    live: bool = False
    no_open: bool = False
    otlp_endpoint: str | None = None
    otlp_content: bool = False
    debug: bool = False
    client_args: tuple[str, ...] = ()
    # for the banner: which values came from CLAUDE_TAP_* variables, e.g. {"target": "CLAUDE_TAP_TARGET"}
    from_env: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Command:
    """What the command line asks for. `name` is "run" or a subcommand; `args` holds its own arguments."""

    name: str
    options: TapOptions
    args: Mapping[str, object] = field(default_factory=dict)
    wants_help: bool = False
    wants_version: bool = False


# --- splitting argv ---


@dataclass(frozen=True, slots=True)
class SplitArgv:
    tap: tuple[str, ...]  # our flags, values attached, in order
    client: tuple[str, ...]  # the client's arguments, unchanged and in order


def split_argv(argv: Sequence[str]) -> SplitArgv:
    """Separate claude-tap's own arguments from the client's (rules in the module docstring)."""
    tap: list[str] = []
    client: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            client.extend(argv[i:] if client else argv[i + 1 :])
            break
        if arg.startswith("--tap-"):
            option, has_value, _ = arg.partition("=")
            flag = _known_flag(option, FLAGS_BY_OPTION)
            if flag.takes_value and not has_value:
                if i + 1 == len(argv):
                    raise UsageError(
                        f"{option} needs a value, e.g. {option} {flag.metavar}. {_help_for(flag)}"
                    )
                tap.append(f"{arg}={argv[i + 1]}")  # joined, so a value starting with '-' stays a value
                i += 2
                continue
            if has_value and not flag.takes_value:
                raise UsageError(f"{option} is a switch and takes no value; got {arg!r}. {_help_for(flag)}")
            tap.append(arg)
        elif not client and arg in OWN_WORDS_BEFORE_CLIENT_ARGS:
            tap.append(arg)
        else:
            client.append(arg)
        i += 1
    return SplitArgv(tuple(tap), tuple(client))


def _known_flag(option: str, known: Mapping[str, Flag]) -> Flag:
    flag = known.get(option)
    if flag is not None:
        return flag
    close = difflib.get_close_matches(option, list(known), n=1, cutoff=0.6)
    hint = f" Did you mean {close[0]}?" if close else ""
    raise UsageError(f"unknown flag {option!r} (flags are never abbreviated).{hint}")


def _help_for(flag: Flag) -> str:
    return f"{flag.option}: {flag.help}."


# --- parsing ---


class _Parser(argparse.ArgumentParser):
    """argparse that raises UsageError instead of printing and exiting, so main() decides the output."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message)


def parse_command(argv: Sequence[str], environ: Mapping[str, str]) -> Command:
    """Turn a command line and the environment into a Command, or raise UsageError."""
    if argv and argv[0] in SUBCOMMANDS:
        return _parse_subcommand(argv[0], argv[1:], environ)
    split = split_argv(argv)
    parser = build_run_parser()
    namespace = parser.parse_args(split.tap)
    options, from_env = _options_from(namespace, FLAGS, environ)
    return Command(
        "run",
        TapOptions(**options, client_args=split.client, from_env=from_env),
        wants_help=namespace.help,
        wants_version=namespace.version,
    )


def _options_from(
    namespace: argparse.Namespace, flags: Sequence[Flag], environ: Mapping[str, str]
) -> tuple[dict[str, Any], dict[str, str]]:
    """Values for `flags`: the command line first, then CLAUDE_TAP_* variables, then defaults.

    Keys are TapOptions field names; each value has the type its flag's parser returns (Any here,
    because that link is by name, checked by the tests that build TapOptions from every flag)."""
    values: dict[str, Any] = {}
    from_env: dict[str, str] = {}
    for flag in flags:
        given = getattr(namespace, flag.name)
        if given is not None and given is not False:
            values[flag.name] = tuple(given) if flag.repeatable else given
        elif flag.env_var in environ:
            values[flag.name] = _from_env(flag, environ[flag.env_var])
            from_env[flag.name] = flag.env_var
        else:
            values[flag.name] = () if flag.repeatable else flag.default
    return values, from_env


def _from_env(flag: Flag, raw: str) -> object:
    try:
        if flag.repeatable and flag.parse is not None:
            return tuple(flag.parse(item) for item in raw.split())
        return (flag.parse or parse_switch)(raw)
    except ValueError as error:
        raise UsageError(f"{flag.env_var}={raw!r}: {error}. Fix or unset the variable.") from None


def _argparse_type(flag: Flag) -> Callable[[str], object]:
    assert flag.parse is not None
    parse = flag.parse

    def convert(raw: str) -> object:
        try:
            return parse(raw)
        except ValueError as error:
            raise UsageError(f"{flag.option}: {error}") from None

    return convert


def _add_flags(parser: argparse.ArgumentParser, flags: Sequence[Flag]) -> None:
    groups = {group: parser.add_argument_group(group.value) for group in Group}
    for flag in flags:
        target = groups[flag.group]
        if flag.takes_value:
            target.add_argument(
                flag.option,
                dest=flag.name,
                type=_argparse_type(flag),
                metavar=flag.metavar,
                help=flag.help_text(),
                action="append" if flag.repeatable else "store",
            )
        else:
            target.add_argument(flag.option, dest=flag.name, action="store_true", help=flag.help_text())
    for group in groups.values():  # argparse prints empty groups as a bare heading
        if not group._group_actions:
            parser._action_groups.remove(group)


RUN_USAGE = f"""\
{PROG} [--tap-* flags] [--] [client args ...]
       {PROG} demo | view TRACE | export TRACE -o OUT"""

RUN_DESCRIPTION = """\
Run an AI coding agent behind a local proxy that records every call to its model.

Every --tap-* flag is claude-tap's; every other argument goes to the client unchanged and in
order. A leading -- ends tap options (claude-tap -- --help shows the client's help).
claude-tap writes only to stderr: stdout belongs to the client. The exit code is the client's.
"""

RUN_EPILOG = """\
commands (first argument only):
  demo                      a real trace from a built-in loopback model and a scripted agent; no key
  view TRACE                open a trace in the viewer (local server)
  export TRACE -o OUT       write a trace as .html, .md, .json or .jsonl
  sessions                  list recorded sessions, newest first (sessions prune: delete old ones)
  search TEXT               find a turn in any session

examples:
  claude-tap                                   Claude Code, recorded
  claude-tap -- -p "explain this repo" | jq    stdout is the client's, untouched
  claude-tap --tap-client codex -- exec "fix the tests"
  claude-tap --tap-no-launch --tap-port 8080   proxy only; point a client at it yourself
  claude-tap --tap-live                        watch calls arrive in the browser

Traces go to ~/.claude-tap/traces/ (CLAUDE_TAP_HOME moves it). Secrets are redacted before writing.
"""


def build_run_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        usage=RUN_USAGE,
        description=RUN_DESCRIPTION,
        epilog=RUN_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,
        add_help=False,
    )
    _add_flags(parser, FLAGS)
    general = next(g for g in parser._action_groups if g.title == Group.GENERAL.value)
    general.add_argument("-h", "--help", action="store_true", help="show this help and exit")
    general.add_argument("--version", action="store_true", help="print the claude-tap version and exit")
    return parser


# --- subcommands ---

SUBCOMMAND_HELP = {
    "demo": "Record a real session with no API key and no network: a built-in loopback Anthropic stand-in, "
    "the real proxy, and a scripted agent doing a small coding task with a tool call.",
    "view": "Open a trace (trace.jsonl.zst, trace.html's directory, or an earlier claude-tap .jsonl) "
    "in the viewer, served on loopback.",
    "export": "Write a trace as a self-contained HTML page, Markdown or plain JSON Lines.",
    "sessions": "List recorded sessions, newest first: date, client, mode, calls, errors, tokens, cost, "
    "duration and the first prompt. `sessions prune` deletes old sessions.",
    "search": "Find turns in all recorded sessions: messages, system prompts, tool names and results.",
    "index": "Bring the session index (~/.claude-tap/index.sqlite3) up to date with the traces.",
    "dashboard": "A local web page of all sessions: the list, search, tokens and cost per day and client, "
    "context growth of a session, each session's viewer.",
    "ca": "Show where the local CA of forward mode is, its fingerprint, and how to trust it.",
    "doctor": "Check each installed client (or those named): that it runs, the mode and target it would get, "
    "the local CA (forward mode), and that the target answers.",
}


def build_subcommand_parser(name: str) -> argparse.ArgumentParser:
    parser = _Parser(
        prog=f"{PROG} {name}",
        description=SUBCOMMAND_HELP[name],
        allow_abbrev=False,
        add_help=False,
    )
    flags = [flag for flag in FLAGS if flag.name in SUBCOMMAND_FLAGS[name]]
    _add_flags(parser, flags)
    if name == "view":
        parser.add_argument("trace", metavar="TRACE", type=Path, help="a trace file or session directory")
    if name == "ca":
        parser.add_argument(
            "--trust",
            action="store_true",
            help="add the CA to the macOS login keychain (asks for your password)",
        )
        parser.add_argument(
            "--regenerate",
            action="store_true",
            help="make a new CA; clients that trusted the old one must trust the new one",
        )
    if name == "doctor":
        parser.add_argument(
            "clients", nargs="*", metavar="CLIENT", help="only these clients (default: every installed one)"
        )
        parser.add_argument("--json", action="store_true", help="the checks as JSON")
    if name in ("sessions", "search", "index"):
        from claude_tap.sessions_cli import add_arguments

        add_arguments(parser, name)
    if name == "export":
        parser.add_argument("trace", metavar="TRACE", type=Path, help="a trace file or session directory")
        parser.add_argument("-o", "--output", type=Path, metavar="OUT", help="file to write")
        parser.add_argument(
            "--otlp",
            metavar="URL",
            help="send the session to an OpenTelemetry collector (OTLP/HTTP), e.g. http://127.0.0.1:4318",
        )
        parser.add_argument(
            "--format",
            choices=EXPORT_FORMATS,
            help="html, md, json or jsonl (default: from OUT's extension)",
        )
    parser.add_argument("-h", "--help", action="store_true", help="show this help and exit")
    return parser


def _parse_subcommand(name: str, argv: Sequence[str], environ: Mapping[str, str]) -> Command:
    flags = [flag for flag in FLAGS if flag.name in SUBCOMMAND_FLAGS[name]]
    allowed = {flag.option: flag for flag in flags}
    for arg in argv:  # the same no-abbreviation rule, with the same helpful message
        option = arg.partition("=")[0]
        if option.startswith("--tap-") and option not in allowed:
            if option in FLAGS_BY_OPTION:
                raise UsageError(f"{option} does not apply to `{PROG} {name}`; see `{PROG} {name} --help`.")
            _known_flag(option, allowed)
    if "-h" in argv or "--help" in argv:
        return Command(name, TapOptions(), wants_help=True)
    namespace = build_subcommand_parser(name).parse_args(list(argv))
    options, from_env = _options_from(namespace, flags, environ)
    own = {k: v for k, v in vars(namespace).items() if k not in options and k != "help"}
    return Command(name, TapOptions(**options, from_env=from_env), args=own)


def help_text(command: str = "run") -> str:
    parser = build_run_parser() if command == "run" else build_subcommand_parser(command)
    return parser.format_help()


def version_text() -> str:
    return f"{PROG} {__version__}\n"
