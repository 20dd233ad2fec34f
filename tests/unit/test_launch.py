"""launch.run_child with real child processes (small Python scripts), and its pure helpers.

The terminal tests run the tap inside a pseudo-terminal as a new session, the way a shell runs it:
one with the tap as session leader, one with a tiny job-control shell in front of it (for Ctrl+Z).
"""

from __future__ import annotations

import asyncio
import json
import os
import select
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from claude_tap.launch import (
    ExecutableNotFound,
    ExecutableNotRunnable,
    ExitCode,
    exit_code_for,
    forward_proxy_env,
    keep_loopback_direct,
    run_child,
)

REPO_ROOT = Path(__file__).resolve().parents[2]


def python_script(tmp_path: Path, source: str, name: str = "client.py") -> list[str]:
    path = tmp_path / name
    path.write_text(textwrap.dedent(source))
    return [sys.executable, str(path)]


def child_env(**extra: str) -> dict[str, str]:
    return {"PATH": os.environ["PATH"], **extra}


class Logged(list[str]):
    def __call__(self, line: str) -> None:
        self.append(line)


async def wait_for_file(path: Path, timeout_s: float = 10.0) -> str:
    deadline = time.monotonic() + timeout_s
    while not (path.exists() and path.read_text()):
        assert time.monotonic() < deadline, f"{path.name} never appeared"
        await asyncio.sleep(0.01)
    return path.read_text()


# --- exit codes ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("code", [0, 3, 255])
async def test_exit_code_of_the_child_is_returned(tmp_path: Path, code: int) -> None:
    argv = python_script(tmp_path, f"import sys; sys.exit({code})")
    assert await run_child(argv, child_env(), log=Logged()) == code


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL, signal.SIGUSR1])
async def test_child_killed_by_signal_n_gives_128_plus_n(tmp_path: Path, sig: signal.Signals) -> None:
    argv = python_script(tmp_path, f"import os; os.kill(os.getpid(), {int(sig)})")
    assert await run_child(argv, child_env(), log=Logged()) == 128 + sig


def test_exit_codes_are_the_shell_conventions() -> None:
    assert (ExitCode.OK, ExitCode.USAGE, ExitCode.NOT_EXECUTABLE) == (0, 2, 126)
    assert (ExitCode.NOT_FOUND, ExitCode.INTERRUPTED) == (127, 130)
    assert exit_code_for(7 << 8) == 7
    assert exit_code_for(signal.SIGINT) == 130  # a raw wait status for death by SIGINT


# --- signals that reach the tap --------------------------------------------------------------------------

SIGNAL_RECORDER = """
    import os, signal, sys, time
    record, ready, exit_on_signal = sys.argv[1], sys.argv[2], sys.argv[3] == "exit"

    def on_signal(signum, frame):
        with open(record, "a") as f:
            f.write(signal.Signals(signum).name + "\\n")
        if exit_on_signal:
            sys.exit(42)

    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(sig, on_signal)
    with open(ready, "w") as f:
        f.write("ready")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        time.sleep(0.01)
    sys.exit(1)
"""


async def start_recorder(tmp_path: Path, then: str) -> tuple[asyncio.Task[int], Path, Logged]:
    record, ready = tmp_path / "record.txt", tmp_path / "ready.txt"
    argv = [*python_script(tmp_path, SIGNAL_RECORDER), str(record), str(ready), then]
    log = Logged()
    task = asyncio.ensure_future(run_child(argv, child_env(), log=log))
    await wait_for_file(ready)
    return task, record, log


async def test_first_sigint_to_the_tap_sends_sigterm_to_the_child(tmp_path: Path) -> None:
    task, record, log = await start_recorder(tmp_path, then="exit")
    os.kill(os.getpid(), signal.SIGINT)
    assert await asyncio.wait_for(task, 10) == 42
    assert record.read_text() == "SIGTERM\n"
    assert log == ["interrupted: asking the client to stop (SIGTERM); interrupt again to kill it"]


async def test_second_sigint_to_the_tap_kills_the_child(tmp_path: Path) -> None:
    task, record, log = await start_recorder(tmp_path, then="stay")
    os.kill(os.getpid(), signal.SIGINT)
    assert await wait_for_file(record) == "SIGTERM\n"
    os.kill(os.getpid(), signal.SIGINT)
    assert await asyncio.wait_for(task, 10) == 128 + signal.SIGKILL
    assert log[-1] == "interrupted again: killing the client (SIGKILL)"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
async def test_sigterm_and_sighup_to_the_tap_are_passed_on(tmp_path: Path, sig: signal.Signals) -> None:
    task, record, log = await start_recorder(tmp_path, then="exit")
    os.kill(os.getpid(), sig)
    assert await asyncio.wait_for(task, 10) == 42
    assert record.read_text() == f"{sig.name}\n"
    assert log == [f"received {sig.name}: passing it on to the client"]


async def test_signal_handlers_are_put_back_after_the_child(tmp_path: Path) -> None:
    before = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    await run_child(python_script(tmp_path, "pass"), child_env(), log=Logged())
    assert {sig: signal.getsignal(sig) for sig in before} == before


async def test_cancelling_the_run_sends_sigterm_to_the_child(tmp_path: Path) -> None:
    task, record, _ = await start_recorder(tmp_path, then="exit")
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await wait_for_file(record) == "SIGTERM\n"


# --- starting the child ----------------------------------------------------------------------------------


async def test_missing_executable_raises_not_found_with_the_install_hint() -> None:
    with pytest.raises(ExecutableNotFound) as caught:
        await run_child(
            ["claude-tap-no-such-client"], child_env(), log=Logged(), install_hint="pip install x"
        )
    assert caught.value.exit_code == 127
    assert (
        str(caught.value)
        == "'claude-tap-no-such-client' was not found on PATH; install it with: pip install x"
    )


async def test_executable_is_searched_on_the_childs_path(tmp_path: Path) -> None:
    tool = tmp_path / "bin" / "fake-client"
    tool.parent.mkdir()
    tool.write_text(f"#!{sys.executable}\nimport sys; sys.exit(11)\n")
    tool.chmod(0o755)
    assert await run_child(["fake-client"], {"PATH": str(tool.parent)}, log=Logged()) == 11
    with pytest.raises(ExecutableNotFound):
        await run_child(["fake-client"], child_env(), log=Logged())


async def test_a_file_that_cannot_be_executed_gives_126(tmp_path: Path) -> None:
    plain = tmp_path / "not-executable"
    plain.write_text("echo hi\n")
    with pytest.raises(ExecutableNotRunnable) as caught:
        await run_child([str(plain)], child_env(), log=Logged())
    assert caught.value.exit_code == 126


async def test_child_stdout_reaches_our_stdout_byte_exactly(
    tmp_path: Path, capfdbinary: pytest.CaptureFixture[bytes]
) -> None:
    payload = bytes(range(256)) + b'\r\n{"json": true}\n\x00no newline at the end'
    source = f"import sys; sys.stdout.buffer.write({payload!r}); sys.stderr.buffer.write(b'to stderr')"
    assert await run_child(python_script(tmp_path, source), child_env(), log=Logged()) == 0
    captured = capfdbinary.readouterr()
    assert captured.out == payload
    assert captured.err == b"to stderr"


async def test_child_gets_exactly_the_env_it_is_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLAUDE_TAP_TEST_OUR_OWN", "must not leak")
    out = tmp_path / "env.json"
    source = f"import json, os; open({str(out)!r}, 'w').write(json.dumps(dict(os.environ)))"
    argv = python_script(tmp_path, source)
    await run_child(argv, child_env(ANTHROPIC_BASE_URL="http://127.0.0.1:9"), log=Logged())
    seen = json.loads(out.read_text())
    assert seen["ANTHROPIC_BASE_URL"] == "http://127.0.0.1:9"
    assert "CLAUDE_TAP_TEST_OUR_OWN" not in seen


async def test_the_event_loop_keeps_running_while_the_child_runs(tmp_path: Path) -> None:
    # The child waits for a file that only a task on our loop creates: it exits 0 only if the loop ran.
    flag = tmp_path / "flag"
    source = f"""
        import os, sys, time
        deadline = time.monotonic() + 10
        while not os.path.exists({str(flag)!r}):
            if time.monotonic() > deadline:
                sys.exit(1)
            time.sleep(0.01)
    """

    async def create_flag() -> None:
        await asyncio.sleep(0.2)
        flag.write_text("x")

    helper = asyncio.ensure_future(create_flag())
    assert await run_child(python_script(tmp_path, source), child_env(), log=Logged()) == 0
    await helper


# --- environment helpers -------------------------------------------------------------------------------


def test_keep_loopback_direct_appends_loopback_to_no_proxy_once() -> None:
    env = keep_loopback_direct({"NO_PROXY": "corp.example, localhost", "HOME": "/h"})
    assert env == {
        "NO_PROXY": "corp.example,localhost,127.0.0.1,::1",
        "no_proxy": "127.0.0.1,localhost,::1",
        "HOME": "/h",
    }


def test_forward_proxy_env_sets_proxy_and_trust_variables() -> None:
    user = {"PATH": "/bin", "ALL_PROXY": "socks5://corp:1080", "all_proxy": "x", "no_proxy": "intranet.corp"}
    env = forward_proxy_env(user, "http://127.0.0.1:8080", Path("/ca/bundle.pem"), Path("/ca/ca.pem"))
    assert env["HTTPS_PROXY"] == env["https_proxy"] == env["HTTP_PROXY"] == env["http_proxy"]
    assert env["HTTPS_PROXY"] == "http://127.0.0.1:8080"
    assert "ALL_PROXY" not in env and "all_proxy" not in env  # it makes Claude Code send keys in clear
    bundle_users = (
        "SSL_CERT_FILE",
        "REQUESTS_CA_BUNDLE",
        "CURL_CA_BUNDLE",
        "GIT_SSL_CAINFO",
        "CODEX_CA_CERTIFICATE",
    )
    assert {env[name] for name in bundle_users} == {"/ca/bundle.pem"}
    assert env["NODE_EXTRA_CA_CERTS"] == "/ca/ca.pem"  # Node adds it to its own roots
    assert env["NO_PROXY"] == "127.0.0.1,localhost,::1"
    assert env["no_proxy"] == "intranet.corp,127.0.0.1,localhost,::1"  # the user's entries are kept
    assert env["PATH"] == "/bin"


# --- the terminal (pseudo-terminal, real sessions) ------------------------------------------------------

# Becomes a session leader with the pty (its stdin) as controlling terminal, then runs the rest of argv.
SESSION_LEADER = (
    "import fcntl, os, sys, termios; os.setsid(); fcntl.ioctl(0, termios.TIOCSCTTY, 0); "
    "os.execv(sys.argv[1], sys.argv[1:])"
)

TAP = """
    import asyncio, os, sys, termios
    from claude_tap.launch import run_child

    def log(line):
        print("LOG", line, file=sys.stderr, flush=True)

    code = asyncio.run(run_child(sys.argv[1:], dict(os.environ), log=log))
    echo = bool(termios.tcgetattr(0)[3] & termios.ECHO)
    print(f"TAP fg={os.tcgetpgrp(0) == os.getpgrp()} echo={echo} code={code}", flush=True)
"""

# A job-control shell in miniature: runs the tap as a foreground job; when the job stops, it takes the
# terminal, reports, and continues the job in the foreground again (`fg`).
SHELL = """
    import fcntl, os, signal, sys, termios
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)
    signal.signal(signal.SIGTTOU, signal.SIG_IGN)
    pid = os.fork()
    if pid == 0:
        os.setpgid(0, 0)
        os.tcsetpgrp(0, os.getpid())
        signal.signal(signal.SIGTTOU, signal.SIG_DFL)
        os.execv(sys.argv[1], sys.argv[1:])
    while True:
        _, status = os.waitpid(pid, os.WUNTRACED)
        if os.WIFSTOPPED(status):
            os.tcsetpgrp(0, os.getpgrp())
            print("SHELL saw the job stop", flush=True)
            os.tcsetpgrp(0, pid)
            os.killpg(pid, signal.SIGCONT)
            continue
        print(f"SHELL job exited {os.waitstatus_to_exitcode(status)}", flush=True)
        break
"""


class Pty:
    """A process tree running on a fresh pseudo-terminal, and what it printed."""

    def __init__(self, argv: list[str]) -> None:
        self.master, slave = os.openpty()
        env = {**child_env(), "PYTHONPATH": str(REPO_ROOT)}
        self.proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env)
        os.close(slave)
        self.seen = b""

    def expect(self, needle: bytes, timeout_s: float = 10.0) -> bytes:
        """Read until `needle` shows up; return everything read up to and including it."""
        deadline = time.monotonic() + timeout_s
        while needle not in self.seen:
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"{needle!r} not seen; got {self.seen!r}"
            if select.select([self.master], [], [], remaining)[0]:
                try:
                    data = os.read(self.master, 4096)
                except OSError:  # EIO: every process holding the terminal has gone
                    data = b""
                assert data, f"terminal closed before {needle!r}; got {self.seen!r}"
                self.seen += data
        end = self.seen.index(needle) + len(needle)
        before, self.seen = self.seen[:end], self.seen[end:]
        return before

    def type(self, data: bytes) -> None:
        os.write(self.master, data)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)
        os.close(self.master)


@pytest.fixture
def run_on_pty(tmp_path: Path):  # type: ignore[no-untyped-def]
    started: list[Pty] = []

    def start(*, client: str, with_shell: bool = False) -> Pty:
        tap = python_script(tmp_path, TAP, name="tap.py")
        leader = (
            python_script(tmp_path, SHELL, name="shell.py")
            if with_shell
            else [sys.executable, "-c", SESSION_LEADER]
        )
        pty = Pty([*leader, *tap, *python_script(tmp_path, client)])
        started.append(pty)
        return pty

    yield start
    for pty in started:
        pty.close()


def test_child_gets_the_terminal_and_the_tap_takes_it_back_with_its_modes(run_on_pty) -> None:  # type: ignore[no-untyped-def]
    client = """
        import os, sys, tty
        fg, own_group = os.tcgetpgrp(0) == os.getpgrp(), os.getpgrp() == os.getpid()
        print(f"CHILD fg={fg} own_group={own_group}", flush=True)
        line = sys.stdin.readline()  # would stop with SIGTTIN if the child were not in the foreground
        print(f"CHILD read={line.strip()}", flush=True)
        tty.setraw(0)  # and exit without restoring the terminal, as a crashing TUI does
        sys.exit(5)
    """
    pty = run_on_pty(client=client)
    pty.expect(b"CHILD fg=True own_group=True")
    pty.type(b"hello\n")
    pty.expect(b"CHILD read=hello")
    pty.expect(b"TAP fg=True echo=True code=5")


def test_ctrl_c_on_the_terminal_reaches_only_the_child(run_on_pty) -> None:  # type: ignore[no-untyped-def]
    client = """
        import sys
        print("CHILD ready", flush=True)
        sys.stdin.readline()
    """
    pty = run_on_pty(client=client)
    pty.expect(b"CHILD ready")
    pty.type(b"\x03")  # Ctrl+C: SIGINT to the terminal's foreground process group
    output = pty.expect(b"TAP fg=True echo=True code=130")
    assert b"LOG" not in output  # the tap itself never saw SIGINT


def test_ctrl_z_suspends_the_child_and_the_tap_and_fg_resumes_both(run_on_pty) -> None:  # type: ignore[no-untyped-def]
    client = """
        import os, sys
        print("CHILD ready", flush=True)
        line = sys.stdin.readline()
        print(f"CHILD read={line.strip()} fg={os.tcgetpgrp(0) == os.getpgrp()}", flush=True)
        sys.exit(7)
    """
    pty = run_on_pty(client=client, with_shell=True)
    pty.expect(b"CHILD ready")
    pty.type(b"\x1a")  # Ctrl+Z: SIGTSTP to the child's group
    pty.expect(b"SHELL saw the job stop")
    pty.type(b"after\n")
    pty.expect(b"CHILD read=after fg=True")
    pty.expect(b"TAP fg=True echo=True code=7")
    pty.expect(b"SHELL job exited 0")
