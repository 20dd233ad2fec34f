"""Start and stop the real `claude-tap` process for end-to-end tests, and find what it left behind.

    async with proxy_only(tmp_path, target=loopback.url) as tap:   # --tap-no-launch, port accepts
        ... aiohttp requests to tap.url ...
        done = await tap.stop(signal.SIGINT)                        # or SIGKILL
    records = list(read_records(tap.session_dir() / "trace.jsonl.zst"))

    done = await run_tap(tmp_path, ["--tap-target", url, "--", ...], env)   # launch mode, to its exit

The process runs with a throwaway HOME and CLAUDE_TAP_HOME and nothing of the developer's shell.
Its stdout and stderr go to files (a pipe nobody reads could fill and stall it); every wait has a
timeout. This module knows nothing about what a test checks.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from claude_tap.capture.body_delta import BodyResolver
from claude_tap.store.reader import read_records

REPO = Path(__file__).resolve().parents[2]
TRACE_FILE = "trace.jsonl.zst"
START_TIMEOUT_S = 20.0
STOP_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class Finished:
    returncode: int
    stdout: bytes
    stderr: str


def free_port() -> int:
    """A port nothing listens on right now (also the way to get a dead upstream)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def tap_env(tmp_path: Path, path_dirs: Sequence[Path] = (), **extra: str) -> dict[str, str]:
    """A throwaway world: its own HOME and CLAUDE_TAP_HOME, `path_dirs` first on PATH."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    return {
        "PATH": os.pathsep.join([*map(str, path_dirs), str(Path(sys.executable).parent), "/usr/bin", "/bin"]),
        "HOME": str(home),
        "CLAUDE_TAP_HOME": str(home / ".claude-tap"),
        "PYTHONPATH": str(REPO),
        "LANG": "C.UTF-8",
        **extra,
    }


def write_script(path: Path, source: str) -> Path:
    """An executable Python script at `path` (a fake client)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!{sys.executable}\n{source}")
    path.chmod(0o755)
    return path


@dataclass
class TapProcess:
    proc: asyncio.subprocess.Process
    port: int
    output_dir: Path
    stdout_path: Path
    stderr_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def session_dir(self) -> Path:
        return only_session_dir(self.output_dir)

    async def stop(self, signum: int = signal.SIGINT) -> Finished:
        if self.proc.returncode is None:
            self.proc.send_signal(signum)
        await asyncio.wait_for(self.proc.wait(), STOP_TIMEOUT_S)
        assert self.proc.returncode is not None
        return Finished(self.proc.returncode, self.stdout_path.read_bytes(), self.stderr)


@contextlib.asynccontextmanager
async def proxy_only(
    tmp_path: Path,
    target: str,
    extra_args: Sequence[str] = (),
    env: dict[str, str] | None = None,
    preexec_fn: Callable[[], None] | None = None,
) -> AsyncIterator[TapProcess]:
    """`claude-tap --tap-no-launch` on a free port, yielded once that port accepts connections.
    A process the test did not stop (it failed first) is killed on the way out."""
    port = free_port()
    output_dir = tmp_path / "traces"
    args = [
        "--tap-no-launch", "--tap-no-open", "--tap-port", str(port), "--tap-target", target,
        "--tap-output-dir", str(output_dir), *extra_args,
    ]  # fmt: skip
    stdout_path, stderr_path = tmp_path / "tap.stdout", tmp_path / "tap.stderr"
    with stdout_path.open("wb") as out, stderr_path.open("wb") as err:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "claude_tap", *args,
            cwd=tmp_path, env=env if env is not None else tap_env(tmp_path),
            stdin=asyncio.subprocess.DEVNULL, stdout=out, stderr=err, preexec_fn=preexec_fn,
        )  # fmt: skip
    tap = TapProcess(proc, port, output_dir, stdout_path, stderr_path)
    try:
        await _wait_until_listening(tap)
        yield tap
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def _wait_until_listening(tap: TapProcess) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        if tap.proc.returncode is not None:
            raise AssertionError(f"claude-tap exited ({tap.proc.returncode}) before listening:\n{tap.stderr}")
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", tap.port)
        except OSError as error:
            if time.monotonic() > deadline:
                message = f"claude-tap did not listen within {START_TIMEOUT_S} s:\n{tap.stderr}"
                raise AssertionError(message) from error
            await asyncio.sleep(0.05)
            continue
        writer.close()
        await writer.wait_closed()
        return


async def run_tap(
    tmp_path: Path,
    args: Sequence[str],
    env: dict[str, str],
    preexec_fn: Callable[[], None] | None = None,
    timeout_s: float = 60.0,
) -> Finished:
    """`claude-tap ARGS` run to its exit: launch mode, or a subcommand such as `export`."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "claude_tap", *args,
        cwd=tmp_path, env=env, stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, preexec_fn=preexec_fn,
    )  # fmt: skip
    try:
        stdout, stderr = await asyncio.wait_for(proc.communicate(), timeout_s)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    assert proc.returncode is not None
    return Finished(proc.returncode, stdout, stderr.decode(errors="replace"))


def whole_records(trace: Path) -> list[dict[str, Any]]:
    """The trace's records with every request body whole: a body the tap stored as what it adds to
    an earlier one (`body_ref`, docs/trace-format.md) is rebuilt, as the viewer does."""
    resolver = BodyResolver()
    return [resolver.resolve(record) for record in read_records(trace)]


def only_session_dir(root: Path) -> Path:
    dirs = sorted(path.parent for path in root.rglob(TRACE_FILE))
    assert len(dirs) == 1, f"expected one session under {root}, found {dirs}"
    return dirs[0]


async def wait_for(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    """Poll `condition` every 20 ms until it holds; fail naming `what` after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        await asyncio.sleep(0.02)
