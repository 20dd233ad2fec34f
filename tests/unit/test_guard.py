"""proxy/guard.py: which Host, Origin and Sec-Fetch-Site headers a local server answers."""

from __future__ import annotations

import pytest

from claude_tap.proxy.guard import Guard, Refusal

GUARD = Guard.for_server("127.0.0.1", 8080)


@pytest.mark.parametrize(
    "headers",
    [
        {"Host": "127.0.0.1:8080"},
        {"Host": "127.0.0.1"},  # no port: still our name
        {"Host": "LOCALHOST:8080"},
        {"Host": "[::1]:8080"},
        {"Host": "127.0.0.1:8080", "Origin": "http://127.0.0.1:8080", "Sec-Fetch-Site": "same-origin"},
        {"Host": "localhost:8080", "Origin": "http://localhost:8080"},
        {"Host": "127.0.0.1:8080", "Sec-Fetch-Site": "none"},  # the user typed the address
    ],
)
def test_an_agent_or_our_own_page_passes(headers: dict[str, str]) -> None:
    assert GUARD.check(headers) is None


OURS = "127.0.0.1:8080"
REBINDING = "is not this server (DNS rebinding?)"
FOREIGN = "may not use this server"
EVIL, OTHER = "https://evil.example", "http://127.0.0.1:9090"  # another site; another local server


@pytest.mark.parametrize(
    "headers, refusal",
    [
        ({"Host": "attacker.example:8080"}, Refusal(421, f"Host 'attacker.example:8080' {REBINDING}")),
        ({}, Refusal(421, f"Host '(none)' {REBINDING}")),
        ({"Host": OURS, "Origin": EVIL}, Refusal(403, f"a web page at {EVIL!r} {FOREIGN}")),
        ({"Host": OURS, "Origin": OTHER}, Refusal(403, f"a web page at {OTHER!r} {FOREIGN}")),
        ({"Host": OURS, "Origin": "null"}, Refusal(403, f"a web page at 'null' {FOREIGN}")),
        ({"Host": OURS, "Sec-Fetch-Site": "cross-site"}, Refusal(403, f"a cross-site web page {FOREIGN}")),
        ({"Host": OURS, "Sec-Fetch-Site": "same-site"}, Refusal(403, f"a same-site web page {FOREIGN}")),
    ],
)  # fmt: skip
def test_foreign_hosts_and_pages_are_refused(headers: dict[str, str], refusal: Refusal) -> None:
    assert GUARD.check(headers) == refusal


def test_a_server_on_a_non_loopback_address_answers_any_host_but_still_refuses_foreign_pages() -> None:
    guard = Guard.for_server("0.0.0.0", 8080)
    assert guard.check({"Host": "devbox.lan:8080"}) is None
    assert guard.check({"Host": "devbox.lan:8080", "Origin": "https://attacker.example"}) is not None


def test_an_ipv6_loopback_server_knows_its_own_name() -> None:
    guard = Guard.for_server("::1", 8080)
    assert guard.check({"Host": "[::1]:8080", "Origin": "http://[::1]:8080"}) is None
