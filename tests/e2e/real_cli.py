"""Running a real agent CLI through the real claude-tap process, for the support-matrix e2e tests.

    async with serving(standin.app()) as upstream:              # the vendor, on 127.0.0.1
        result = await run_through_tap(home, "gemini", [tap args], [client args], env, workdir)

    # forward mode: the vendor under its real name, over TLS signed by a CA of the test's own
    async with serving_as(standin.app(), "generativelanguage.googleapis.com", tmp_path) as vendor:
        result = await run_through_tap(home, "gemini", vendor.tap_args, [client args], env, workdir)
    result.returncode, result.stdout, result.stderr, result.records   # request bodies resolved whole

`agent_dirs` makes the throwaway HOME and project directory; `run` runs any command the same way
(`codex login`, or the tap with arguments of a test's own).

Output goes to files, not pipes, and the tap leads a session of its own: a client left behind by a
killed tap can hold neither the test nor a pipe. Every wait has a timeout. This module knows nothing
about what a test checks.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import ssl
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from claude_tap.capture.body_delta import BodyResolver
from claude_tap.proxy.ca import LocalCa
from claude_tap.store.reader import read_records

STOP_GRACE_S = 5


@dataclass
class TapRun:
    returncode: int
    stdout: str
    stderr: str
    records: list[dict[str, Any]]

    @property
    def exchanges(self) -> list[dict[str, Any]]:
        return [r for r in self.records if r["type"] == "exchange"]


def agent_dirs(tmp_path: Path) -> tuple[Path, Path]:
    """A throwaway HOME and the project the agent works in (its working directory), both empty."""
    home, workdir = tmp_path / "home", tmp_path / "project"
    home.mkdir()
    workdir.mkdir()
    return home, workdir


@asynccontextmanager
async def listening(app: web.Application, ssl_context: ssl.SSLContext | None = None) -> AsyncIterator[int]:
    """`app` on a free loopback port (TLS with `ssl_context`); yields the port."""
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ssl_context)
    await site.start()
    try:
        yield site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    finally:
        await runner.cleanup()


@asynccontextmanager
async def serving(app: web.Application) -> AsyncIterator[str]:
    async with listening(app) as port:
        yield f"http://127.0.0.1:{port}"


@dataclass(frozen=True)
class Vendor:
    """A loopback stand-in that answers as `host` (port 443 to the tap, through --tap-resolve)."""

    host: str
    port: int
    ca_cert: Path

    @property
    def tap_args(self) -> list[str]:
        """What the tap needs to reach it: trust its CA, and find `host` on the loopback port."""
        return [
            "--tap-upstream-ca",
            str(self.ca_cert),
            "--tap-resolve",
            f"{self.host}:443:127.0.0.1:{self.port}",
        ]


@asynccontextmanager
async def serving_as(app: web.Application, host: str, tmp_path: Path) -> AsyncIterator[Vendor]:
    ca = LocalCa.load_or_create(tmp_path / "vendor-ca", logging.getLogger("vendor-ca").warning)
    async with listening(app, ca.server_context(host)) as port:
        yield Vendor(host, port, ca.cert_path)


async def run(
    argv: list[str], cwd: Path, env: dict[str, str], timeout_s: float, stdin: bytes | None = None
) -> tuple[int, str, str]:
    """Run to exit within `timeout_s`: (exit code, stdout, stderr). `stdin` is written to the
    process and closed; None gives it /dev/null."""
    out_path, err_path = cwd.parent / "run.stdout", cwd.parent / "run.stderr"
    stdin_source = asyncio.subprocess.DEVNULL if stdin is None else asyncio.subprocess.PIPE
    with out_path.open("wb") as out, err_path.open("wb") as err:
        proc = await asyncio.create_subprocess_exec(
            *argv, cwd=cwd, env=env, stdin=stdin_source, stdout=out, stderr=err, start_new_session=True,
        )  # fmt: skip
    try:
        await asyncio.wait_for(proc.wait() if stdin is None else proc.communicate(stdin), timeout=timeout_s)
    except TimeoutError:
        await stop_session(proc)
        pytest.fail(f"{argv[:6]} did not finish in {timeout_s} s; stderr:\n{err_path.read_text()}")
    assert proc.returncode is not None
    return proc.returncode, out_path.read_text(errors="replace"), err_path.read_text(errors="replace")


async def stop_session(proc: asyncio.subprocess.Process) -> None:
    """SIGTERM first (the tap stops its child and finishes the trace), then kill what is left of the
    process group this test started."""
    proc.terminate()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(proc.wait(), timeout=STOP_GRACE_S)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    await proc.wait()


async def run_through_tap(
    home: Path, client: str, tap_args: list[str], client_args: list[str], env: dict[str, str], cwd: Path,
    timeout_s: float = 60,
) -> TapRun:  # fmt: skip
    """`claude-tap --tap-client CLIENT --tap-no-open TAP_ARGS -- CLIENT_ARGS`, to its exit, and the trace."""
    tap = [sys.executable, "-m", "claude_tap", "--tap-client", client, "--tap-no-open", *tap_args, "--"]
    code, out, err = await run([*tap, *client_args], cwd, env, timeout_s)
    traces = sorted((home / ".claude-tap").rglob("trace.jsonl.zst"))
    assert len(traces) == 1, (traces, err)
    resolver = BodyResolver()  # request bodies whole again, as the upstream got them
    return TapRun(code, out, err, [resolver.resolve(record) for record in read_records(traces[0])])
