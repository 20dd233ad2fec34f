"""Open a URL in the user's browser without waiting for it.

`webbrowser.open` runs the command in $BROWSER and waits for it to exit; a slow or hung browser
command (a terminal browser, a remote-desktop helper) would hold up the agent's launch, and a thread
still inside it keeps `asyncio.run` from returning after Ctrl+C (issue 15). So the opener runs in a
daemon thread nobody waits for: the run goes on at once, and exits without it.

Knows nothing about what the URL shows.
"""

from __future__ import annotations

import logging
import threading
import webbrowser

logger = logging.getLogger(__name__)


def open_in_background(url: str) -> threading.Thread:
    """Start opening `url` in a browser and return at once (the thread, for tests to join)."""
    thread = threading.Thread(target=_open, args=(url,), name="claude-tap-browser", daemon=True)
    thread.start()
    return thread


def _open(url: str) -> None:
    try:
        opened = webbrowser.open(url)
    except Exception as error:  # a broken $BROWSER must not take anything else down
        logger.warning("could not open a browser: %s", error)
        return
    if not opened:
        logger.info("no browser opened the viewer; its address was printed")
