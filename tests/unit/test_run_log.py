"""proxy.log: claude-tap's own log, and what aiohttp/asyncio log, land in the file, scrubbed, never on
the agent's terminal."""

from __future__ import annotations

import io
import logging
from pathlib import Path

from claude_tap.capture.redact import Redactor
from claude_tap.run import proxy_log

SECRET = "sk-ant-api03-planted-secret-value-42"


def test_aiohttp_and_asyncio_errors_go_to_proxy_log_scrubbed_not_to_stderr(tmp_path: Path) -> None:
    path = tmp_path / "proxy.log"
    stderr = io.StringIO()
    with proxy_log(path, Redactor([SECRET]), debug=False, stderr=stderr):
        logging.getLogger("aiohttp.server").error("Error handling request to ?key=%s", SECRET)
        logging.getLogger("asyncio").error("Task exception was never retrieved: %s", SECRET)
    text = path.read_text()
    assert "Error handling request" in text and "Task exception was never retrieved" in text
    assert SECRET not in text and "[REDACTED:" in text
    assert stderr.getvalue() == ""
    # After the run the handlers are gone: nothing more reaches the closed file.
    logging.getLogger("aiohttp.server").error("after the run")
    assert "after the run" not in path.read_text()
