"""Run the client as a child process: its environment, its terminal, signals and its exit code.

What the child sees is what it would see without the tap:
- stdin, stdout and stderr are inherited untouched; stdout belongs to the client (`claude-tap -- -p hi | jq`).
- When stdin is our terminal and we are its foreground job, the child gets its own process group and
  that group becomes the terminal's foreground, so Ctrl+C, Ctrl+Z and terminal reads reach the client
  exactly as if it ran alone. When the child suspends itself (Ctrl+Z) the tap stops too, so the shell
  gets its prompt back, and hands the terminal over again on `fg`. When the child exits the tap takes
  the terminal back, with the terminal modes it found. Without a terminal the child stays in our
  process group.
- Signals that reach the tap itself: the first SIGINT asks the child to stop (SIGTERM), the second
  kills it (SIGKILL); SIGTERM and SIGHUP are passed on unchanged.
- The tap exits with the child's code, 128+N when signal N killed it (as shells report it).

Waiting happens in a thread, so the proxy running in the same event loop is never blocked.

This module knows nothing about clients, the proxy or traces: it runs the argv and env it is given.
Job control is POSIX-only.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import termios
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from enum import IntEnum
from functools import partial
from pathlib import Path
from typing import Any

Log = Callable[[str], None]

SIGNAL_EXIT_BASE = 128


class ExitCode(IntEnum):
    """claude-tap's own exit codes; a client's code passes through unchanged."""

    OK = 0
    FAILURE = 1  # claude-tap itself failed (port in use, trace directory not writable, ...)
    USAGE = 2  # bad flags, as argparse reports them
    NOT_EXECUTABLE = 126  # the client exists but cannot be run (shell convention)
    NOT_FOUND = 127  # the client is not installed (shell convention)
    INTERRUPTED = SIGNAL_EXIT_BASE + signal.SIGINT  # 130: Ctrl+C before there was a child to report


class LaunchError(Exception):
    """The client could not be started. `str(error)` is one line for the user."""

    exit_code: ExitCode = ExitCode.FAILURE


class ExecutableNotFound(LaunchError):
    exit_code = ExitCode.NOT_FOUND

    def __init__(self, name: str, install_hint: str = "") -> None:
        message = f"{name!r} was not found on PATH"
        if install_hint:
            message += f"; install it with: {install_hint}"
        super().__init__(message)
        self.name = name
        self.install_hint = install_hint


class ExecutableNotRunnable(LaunchError):
    exit_code = ExitCode.NOT_EXECUTABLE


def exit_code_for(wait_status: int) -> int:
    """The shell's view of a wait status: the exit code, or 128+N for death by signal N."""
    if os.WIFSIGNALED(wait_status):
        return SIGNAL_EXIT_BASE + os.WTERMSIG(wait_status)
    return os.waitstatus_to_exitcode(wait_status)


def resolve_executable(name: str, env: Mapping[str, str], install_hint: str = "") -> str:
    """The path that `name` runs as, searched on the child's PATH; LaunchError when there is none."""
    found = shutil.which(name, path=env.get("PATH", os.defpath))
    if found is not None:
        return found
    if os.sep in name and os.path.exists(name):
        raise ExecutableNotRunnable(f"{name!r} exists but cannot be run (a directory, or not executable)")
    raise ExecutableNotFound(name, install_hint)


# --- environment pieces shared by every client ------------------------------------------------------

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
PROXY_ENV = ("HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy")
# Never set, and removed from the child's environment in forward mode: with ALL_PROXY, Claude Code
# sends plain-HTTP requests carrying its key (measured with six real CLIs through a stand-in proxy).
DROPPED_PROXY_ENV = ("ALL_PROXY", "all_proxy")
# Our CA alone: Node adds this file to its own roots (Gemini CLI and Pi trust nothing else).
CA_ONLY_ENV = ("NODE_EXTRA_CA_CERTS",)
# Every other runtime an agent or its tools may use (python ssl/requests, curl, git, aws, codex) takes
# the file as its whole trust store: system roots plus our CA.
CA_BUNDLE_ENV = (
    "SSL_CERT_FILE",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "GIT_SSL_CAINFO",
    "AWS_CA_BUNDLE",
    "CODEX_CA_CERTIFICATE",
)


def keep_loopback_direct(env: Mapping[str, str]) -> dict[str, str]:
    """Add loopback to NO_PROXY, so a proxy the user already has never carries requests meant for us."""
    child = dict(env)
    for name in ("NO_PROXY", "no_proxy"):
        hosts = [host.strip() for host in child.get(name, "").split(",") if host.strip()]
        hosts += [host for host in LOOPBACK_HOSTS if host not in hosts]
        child[name] = ",".join(hosts)
    return child


def forward_proxy_env(
    env: Mapping[str, str], proxy_url: str, ca_bundle: Path, ca_cert: Path
) -> dict[str, str]:
    """Forward mode (DESIGN §3): proxy variables (never ALL_PROXY), loopback and the user's NO_PROXY
    entries kept direct, and trust variables: `ca_bundle` (system roots plus our CA) for runtimes that
    take it as their whole store, so the agent's own tools keep working; `ca_cert` alone for Node."""
    child = keep_loopback_direct(env)
    for name in DROPPED_PROXY_ENV:
        child.pop(name, None)
    child.update(dict.fromkeys(PROXY_ENV, proxy_url))
    child.update(dict.fromkeys(CA_BUNDLE_ENV, str(ca_bundle)))
    child.update(dict.fromkeys(CA_ONLY_ENV, str(ca_cert)))
    return child


# --- the terminal -----------------------------------------------------------------------------------


def _set_foreground(fd: int, pgid: int) -> None:
    # A background process asking for the terminal gets SIGTTOU (which stops it) unless the signal is
    # blocked or ignored; POSIX treats both alike, and a mask is per thread and needs no main thread.
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTTOU})
    try:
        os.tcsetpgrp(fd, pgid)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


class _Terminal:
    """Our controlling terminal, when stdin is it and we are its foreground job."""

    def __init__(self, fd: int, modes: list[Any]) -> None:
        self.fd = fd
        self.modes = modes  # termios attributes as we found them

    @classmethod
    def if_foreground(cls, fd: int = 0) -> _Terminal | None:
        try:
            if os.isatty(fd) and os.tcgetpgrp(fd) == os.getpgrp():
                return cls(fd, termios.tcgetattr(fd))
        except OSError:  # stdin closed, or no controlling terminal
            pass
        return None

    def foreground_group(self) -> int:
        try:
            return os.tcgetpgrp(self.fd)
        except OSError:
            return -1

    def give_to(self, pgid: int) -> None:
        with suppress(OSError):  # the terminal went away (hangup): nothing left to hand over
            _set_foreground(self.fd, pgid)

    def current_modes(self) -> list[Any] | None:
        try:
            return termios.tcgetattr(self.fd)
        except termios.error:
            return None

    def set_modes(self, modes: list[Any]) -> None:
        previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTTOU})
        try:
            termios.tcsetattr(self.fd, termios.TCSADRAIN, modes)
        except termios.error:
            pass
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, previous)

    def preexec_for_child(self) -> Callable[[], None]:
        """Runs in the child between fork and exec: own process group, and the terminal, before the
        client can touch it (a read from the background would stop it with SIGTTIN)."""
        fd = self.fd

        def become_foreground_job() -> None:
            os.setpgid(0, 0)
            _set_foreground(fd, os.getpgrp())

        return become_foreground_job

    def take_back(self, child_pgid: int) -> None:
        """After the child: the terminal and its modes come back to us, unless the user moved us to the
        background meanwhile (then the shell owns the terminal and we leave it alone)."""
        owner = self.foreground_group()
        if owner in (os.getpgrp(), child_pgid) or not _group_exists(owner):
            self.give_to(os.getpgrp())
            self.set_modes(self.modes)


def _group_exists(pgid: int) -> bool:
    if pgid <= 0:
        return False
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# --- the child --------------------------------------------------------------------------------------


class _Child:
    """A running client and what the tap does when signals arrive or the child stops."""

    def __init__(self, proc: subprocess.Popen[bytes], terminal: _Terminal | None, log: Log) -> None:
        self.pid = proc.pid
        self.terminal = terminal
        self.log = log
        self.interrupts = 0

    def send(self, sig: int) -> None:
        try:
            if self.terminal is not None:
                os.killpg(self.pid, sig)  # its own group (pgid == pid): helpers it started hear it too
            else:
                os.kill(self.pid, sig)
        except ProcessLookupError:  # already gone
            pass

    def on_interrupt(self) -> None:
        self.interrupts += 1
        if self.interrupts == 1:
            self.log("interrupted: asking the client to stop (SIGTERM); interrupt again to kill it")
            self.send(signal.SIGTERM)
        else:
            self.log("interrupted again: killing the client (SIGKILL)")
            self.send(signal.SIGKILL)

    def on_passed_on(self, sig: signal.Signals) -> None:
        self.log(f"received {sig.name}: passing it on to the client")
        self.send(sig)

    def on_stopped(self) -> None:
        """The child stopped (Ctrl+Z). Our shell only watches our process group, so we stop as well,
        giving the terminal back first; when we are continued, the child is too."""
        terminal = self.terminal
        if terminal is None:  # same process group: the terminal's stop signal reached us as well
            return
        ours = os.getpgrp()
        child_modes = None
        if terminal.foreground_group() in (ours, self.pid):
            child_modes = terminal.current_modes()
            terminal.give_to(ours)
            terminal.set_modes(terminal.modes)
        # Returns when the shell continues us (`fg`), or at once if the kernel discards the stop
        # because no shell does job control for us (an orphaned process group).
        os.kill(os.getpid(), signal.SIGTSTP)
        if terminal.foreground_group() == ours:  # `fg`, not `bg`: the terminal is ours to hand on
            if child_modes is not None:
                terminal.set_modes(child_modes)
            terminal.give_to(self.pid)
        self.send(signal.SIGCONT)


def _spawn(
    executable: str, argv: list[str], env: dict[str, str], terminal: _Terminal | None
) -> subprocess.Popen[bytes]:
    try:
        # preexec_fn runs Python between fork and exec; it only makes system calls (no locks, no
        # imports, no I/O), which is what keeps it safe next to the trace writer's thread.
        return subprocess.Popen(
            argv,
            executable=executable,
            env=env,
            preexec_fn=terminal.preexec_for_child() if terminal is not None else None,
        )
    except OSError as exc:  # e.g. a script whose interpreter is missing, or no execute permission
        raise ExecutableNotRunnable(f"cannot run {executable}: {exc.strerror or exc}") from exc


def _wait_in_thread(
    proc: subprocess.Popen[bytes], loop: asyncio.AbstractEventLoop, on_stopped: Callable[[], None]
) -> asyncio.Future[int]:
    """A future for the child's wait status. A thread blocks in waitpid (so the loop never does) and
    reports stops too (WUNTRACED), which asyncio's own child watchers cannot."""
    exited: asyncio.Future[int] = loop.create_future()

    def report(callback: Callable[..., object], *args: object) -> None:
        with suppress(RuntimeError):  # the loop is closed: nobody is waiting any more
            loop.call_soon_threadsafe(callback, *args)

    def resolve(status: int) -> None:
        if not exited.done():
            exited.set_result(status)

    def wait() -> None:
        while True:
            try:
                _, status = os.waitpid(proc.pid, os.WUNTRACED)
            except ChildProcessError:  # reaped by someone else; its status is lost
                status = 255 << 8
            if os.WIFSTOPPED(status):
                report(on_stopped)
                continue
            proc.returncode = os.waitstatus_to_exitcode(status)  # Popen would warn about a live child
            report(resolve, status)
            return

    threading.Thread(target=wait, name=f"claude-tap-wait-{proc.pid}", daemon=True).start()
    return exited


@contextmanager
def _signals_go_to(child: _Child, loop: asyncio.AbstractEventLoop) -> Iterator[None]:
    """While the child runs, SIGINT, SIGTERM and SIGHUP to the tap act on the child. The handlers that
    were installed before are put back afterwards (an asyncio handler of the caller's is replaced)."""
    if threading.current_thread() is not threading.main_thread():  # only the main thread gets signals
        yield
        return
    handlers: dict[signal.Signals, Callable[[], None]] = {
        signal.SIGINT: child.on_interrupt,
        signal.SIGTERM: partial(child.on_passed_on, signal.SIGTERM),
        signal.SIGHUP: partial(child.on_passed_on, signal.SIGHUP),
    }
    previous = {sig: signal.getsignal(sig) for sig in handlers}
    for sig, handler in handlers.items():
        loop.add_signal_handler(sig, handler)
    try:
        yield
    finally:
        for sig, handler_before in previous.items():
            loop.remove_signal_handler(sig)
            if handler_before is not None:
                signal.signal(sig, handler_before)


async def run_child(argv: list[str], env: dict[str, str], *, log: Log, install_hint: str = "") -> int:
    """Run `argv` with exactly `env` and return its exit code (128+N when signal N killed it).

    Raises ExecutableNotFound (exit 127, carrying `install_hint`) or ExecutableNotRunnable (126) when
    the client cannot be started. If this coroutine is cancelled, the child is sent SIGTERM.
    """
    if not argv:
        raise ValueError("run_child needs a command to run")
    executable = resolve_executable(argv[0], env, install_hint)
    terminal = _Terminal.if_foreground()
    proc = _spawn(executable, argv, env, terminal)
    child = _Child(proc, terminal, log)
    if terminal is not None:
        terminal.give_to(proc.pid)  # the child took it already; repeating it is harmless (as shells do)
    loop = asyncio.get_running_loop()
    try:
        with _signals_go_to(child, loop):
            status = await _wait_in_thread(proc, loop, child.on_stopped)
    except asyncio.CancelledError:
        child.send(signal.SIGTERM)
        raise
    finally:
        if terminal is not None:
            terminal.take_back(proc.pid)
    return exit_code_for(status)
