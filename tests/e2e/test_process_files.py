"""The files of a session are the user's alone, whatever the umask (issue 15, item 3).

The real `claude-tap` runs under umask 000, the worst case: every directory it creates is 0700 and
every file it leaves in the session directory is 0600.
"""

from __future__ import annotations

import os
import signal
import stat
from pathlib import Path

import aiohttp
import pytest

from tests.e2e.tap_process import TapProcess, proxy_only
from tests.loopback import Loopback

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def mode(path: Path) -> str:
    return oct(stat.S_IMODE(path.stat().st_mode))


async def record_one_exchange(tmp_path: Path, loopback: Loopback) -> TapProcess:
    async with proxy_only(tmp_path, loopback.url, preexec_fn=lambda: os.umask(0)) as tap:
        async with aiohttp.ClientSession() as http, http.post(f"{tap.url}/v1/messages", json={"a": 1}) as r:
            assert r.status == 200
        done = await tap.stop(signal.SIGINT)
    assert done.returncode == 0, done.stderr
    return tap


async def test_directories_and_proxy_log_are_private_under_umask_000(
    tmp_path: Path, loopback: Loopback
) -> None:
    session_dir = (await record_one_exchange(tmp_path, loopback)).session_dir()
    created = [tmp_path / "traces", session_dir.parent, session_dir]  # --tap-output-dir, day, session
    assert {str(path.relative_to(tmp_path)): mode(path) for path in created} == {
        str(path.relative_to(tmp_path)): "0o700" for path in created
    }
    assert mode(session_dir / "proxy.log") == "0o600"


async def test_every_file_of_a_session_is_private_under_umask_000(tmp_path: Path, loopback: Loopback) -> None:
    session_dir = (await record_one_exchange(tmp_path, loopback)).session_dir()
    files = {path.name: mode(path) for path in session_dir.iterdir()}
    assert files == {"trace.jsonl.zst": "0o600", "trace.html": "0o600", "proxy.log": "0o600"}
