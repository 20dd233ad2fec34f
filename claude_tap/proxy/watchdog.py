"""The capture watchdog of forward mode: say at once when nothing is being recorded, and why.

A client that does not trust our CA, or ignores HTTPS_PROXY, usually retries silently for minutes
(measured: Claude Code, Codex, Gemini CLI, OpenCode). The watchdog turns two symptoms into one clear
line each on stderr, with the likely cause and the fix:

- `rejected_certificate(host, reason)`: the client ended the TLS handshake with an alert saying it
  does not trust the certificate (unknown_ca, bad_certificate, certificate_unknown);
- `start(idle_s)`, then no `saw_request()` within `idle_s`: nothing was recorded (connections to
  other hosts may have been tunnelled; the line names them, since a host missing from the decrypted
  list looks exactly like this).

Each problem is also handed to `record` as a `notice` record for the trace, so the exit summary,
counted from the trace, can say how often it happened. This module knows nothing about clients or sockets.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Literal

NoticeKind = Literal["certificate_rejected", "no_requests"]

# OpenSSL's names for the alerts a client sends when it does not trust what we presented.
UNTRUSTED_ALERTS = {
    "TLSV1_ALERT_UNKNOWN_CA": "unknown_ca",
    "SSLV3_ALERT_BAD_CERTIFICATE": "bad_certificate",
    "SSLV3_ALERT_CERTIFICATE_UNKNOWN": "certificate_unknown",
}


def untrusted_alert(reason: str | None) -> str | None:
    """The TLS alert name when an SSLError's `reason` says the client rejected our certificate."""
    return UNTRUSTED_ALERTS.get(reason or "")


def notice_record(kind: NoticeKind, message: str, **detail: Any) -> dict[str, Any]:
    """The trace line for a watchdog finding (readers skip record types they do not know)."""
    at = datetime.now(UTC).isoformat(timespec="milliseconds")
    return {"type": "notice", "kind": kind, "at": at, "message": message, **detail}


class CaptureWatchdog:
    def __init__(
        self,
        warn: Callable[[str], None],
        record: Callable[[dict[str, Any]], object],
        *,
        who: str = "the client",
        ca_path: str = "",
    ) -> None:
        self._warn = warn
        self._record = record
        self._who = who
        self._ca_path = ca_path
        self._timer: asyncio.TimerHandle | None = None
        self.requests = 0
        self.rejections = 0
        self._warned_hosts: set[str] = set()
        self._tunnelled: set[str] = set()

    def start(self, idle_s: float | None) -> None:
        """Warn if no request has arrived `idle_s` seconds from now (None: never)."""
        if idle_s is not None:
            self._timer = asyncio.get_running_loop().call_later(idle_s, self._idle, idle_s)

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def saw_request(self) -> None:
        self.requests += 1
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def tunnelled(self, host: str) -> None:
        self._tunnelled.add(host)

    def rejected_certificate(self, host: str, alert: str) -> None:
        self.rejections += 1
        message = (
            f"{self._who} rejected claude-tap's certificate for {host} (TLS alert {alert}): it does not "
            f"trust the local CA, so its calls to {host} are not recorded (and fail). Fix: make it trust "
            f"{self._ca_path or 'the CA'} (see `claude-tap ca`), or run it with --tap-proxy-mode reverse."
        )
        self._record(notice_record("certificate_rejected", message, host=host, alert=alert))
        if host not in self._warned_hosts:  # one line per host: clients retry many times
            self._warned_hosts.add(host)
            self._warn(message)

    def _idle(self, idle_s: float) -> None:
        self._timer = None
        if self.requests:
            return
        tunnelled = ""
        if self._tunnelled:
            hosts = ", ".join(sorted(self._tunnelled)[:5])
            tunnelled = (
                f" (connections to {hosts} were tunnelled undecrypted: --tap-intercept-all decrypts them)"
            )
        message = (
            f"no request has reached the proxy {idle_s:g} s after {self._who} started{tunnelled}. If it is "
            "waiting for you, ignore this. Otherwise it may ignore HTTPS_PROXY or not trust the local CA and "
            "be retrying quietly: try --tap-proxy-mode reverse, or see `claude-tap ca`."
        )
        self._record(notice_record("no_requests", message, after_s=idle_s))
        self._warn(message)
