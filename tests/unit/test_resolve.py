"""--tap-resolve rules: parsed once, applied by name and port, and reached without the upstream proxy."""

from __future__ import annotations

import socket

import pytest

from claude_tap.proxy.resolve import Resolve, bypass_proxy_for
from claude_tap.proxy.resolver import MappedResolver


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("api.anthropic.com:443:127.0.0.1:8443", Resolve("api.anthropic.com", 443, "127.0.0.1", 8443)),
        ("API.OpenAI.com:443:[::1]:9000", Resolve("api.openai.com", 443, "::1", 9000)),
        ("[::1]:443:localhost:1", Resolve("::1", 443, "localhost", 1)),
    ],
)
def test_rules_parse(text: str, rule: Resolve) -> None:
    assert Resolve.parse(text) == rule


@pytest.mark.parametrize(
    "text",
    ["api.anthropic.com:443:127.0.0.1", "h:0:a:1", "h:443:a:99999", "h:x:a:1", ":443:a:1", "h:1:[::1:2"],
)
def test_bad_rules_say_the_expected_form(text: str) -> None:
    with pytest.raises(ValueError, match=r"HOST:PORT:ADDR:PORT|not a port"):
        Resolve.parse(text)


async def test_the_resolver_maps_only_the_named_host_and_port() -> None:
    resolver = MappedResolver([Resolve.parse("api.model.test:443:127.0.0.1:8443")])
    try:
        (found,) = await resolver.resolve("api.model.test", 443, socket.AF_INET)
        assert (found["hostname"], found["host"], found["port"]) == ("api.model.test", "127.0.0.1", 8443)
        assert resolver.address_for("API.model.test", 443) == ("127.0.0.1", 8443)
        assert resolver.address_for("api.model.test", 80) == ("api.model.test", 80)
        others = await resolver.resolve("127.0.0.1", 80, socket.AF_INET)
        assert others[0]["port"] == 80
    finally:
        await resolver.close()


def test_mapped_hosts_bypass_the_upstream_proxy() -> None:
    env = bypass_proxy_for(
        {"HTTPS_PROXY": "http://corp:3128", "no_proxy": "internal"}, [Resolve.parse("a.test:443:127.0.0.1:1")]
    )
    assert env["NO_PROXY"] == "a.test" and env["no_proxy"] == "internal,a.test"
    assert env["HTTPS_PROXY"] == "http://corp:3128"
