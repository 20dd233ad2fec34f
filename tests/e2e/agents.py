"""Where the real agent CLIs are, for the end-to-end tests that run them.

.ci/run installs them from npm and exports CLAUDE_TAP_TEST_AGENTS_BIN; on a developer machine they may
also be on PATH. In CI a missing CLI is a failure, not a skip, so a broken install cannot hide.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
# Read at import: the autouse clean_environ fixture removes CLAUDE_TAP_* variables from each test.
AGENTS_BIN = os.environ.get("CLAUDE_TAP_TEST_AGENTS_BIN", "")
IN_CI = bool(os.environ.get("CI"))


def find_agent(executable: str) -> Path:
    search_path = os.pathsep.join(p for p in (AGENTS_BIN, os.environ.get("PATH", "")) if p)
    found = shutil.which(executable, path=search_path)
    if found is None:
        message = f"{executable} is not installed (set CLAUDE_TAP_TEST_AGENTS_BIN to its bin dir)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return Path(found)


def agent_env(home: Path, bin_dir: Path, **extra: str) -> dict[str, str]:
    """A throwaway environment: own HOME, no telemetry, stray traffic sent to a dead loopback port."""
    dead = "http://127.0.0.1:9"
    env = {
        "PATH": os.pathsep.join(
            [str(bin_dir), str(Path(sys.executable).parent), "/usr/local/bin", "/usr/bin", "/bin"]
        ),
        "PYTHONPATH": str(REPO),  # this checkout's claude_tap, whatever is installed
        "HOME": str(home),
        "CLAUDE_TAP_HOME": str(home / ".claude-tap"),
        "LANG": "C.UTF-8",
        "HTTPS_PROXY": dead,
        "HTTP_PROXY": dead,
        "NO_PROXY": "127.0.0.1,localhost,::1",
        "DISABLE_AUTOUPDATER": "1",
        "DISABLE_TELEMETRY": "1",
        "DISABLE_ERROR_REPORTING": "1",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
    }
    env.update(extra)
    return env
