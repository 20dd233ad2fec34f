"""proxy/upstream.py: targets, the URL construction rules of the spec, header policy, proxy choice."""

from __future__ import annotations

import pytest

from claude_tap.proxy.upstream import (
    Target,
    build_upstream_url,
    is_loopback_host,
    proxy_credentials,
    proxy_for,
    request_headers_for_upstream,
    response_headers_for_client,
)

# --- Target.parse -------------------------------------------------------------------------------


def test_target_parse_splits_scheme_host_port_and_base_path() -> None:
    target = Target.parse("https://chatgpt.com/backend-api/codex/")
    assert target == Target(scheme="https", host="chatgpt.com", port=None, base_path="/backend-api/codex")
    assert target.url == "https://chatgpt.com/backend-api/codex"
    assert target.origin == "https://chatgpt.com"
    assert target.websocket_scheme == "wss"


def test_target_parse_keeps_an_explicit_port_and_brackets_ipv6() -> None:
    target = Target.parse(" HTTP://[::1]:8080 ")
    assert (target.scheme, target.host, target.port, target.base_path) == ("http", "::1", 8080, "")
    assert target.url == "http://[::1]:8080"
    assert target.websocket_scheme == "ws"


@pytest.mark.parametrize(
    ("text", "shown", "complaint"),
    [
        ("ftp://example.com", "ftp://example.com", "scheme must be http or https"),
        ("api.openai.com", "api.openai.com", "scheme must be http or https"),
        ("https://", "https://", "a host is required"),
        # The message is printed: credentials and a query (it may hold a key) are left out.
        ("https://user:secret@example.com", "https://example.com", "credentials"),
        ("https://example.com/v1?key=secret", "https://example.com/v1", "query or fragment"),
        ("https://example.com/#top", "https://example.com/", "query or fragment"),
        ("https://example.com:99999", "https://example.com:99999", "port"),
    ],
)
def test_target_parse_rejects_bad_input_and_quotes_it_without_secrets(
    text: str, shown: str, complaint: str
) -> None:
    with pytest.raises(ValueError) as raised:
        Target.parse(text)
    assert f"target {shown!r}: " in str(raised.value)
    assert complaint in str(raised.value)
    assert "secret" not in str(raised.value)


# --- build_upstream_url: the rows of the spec's support matrix -----------------------------------


@pytest.mark.parametrize(
    ("target", "strip", "incoming", "expected"),
    [
        # Claude Code, API key and compatible gateways: no strip.
        (
            "https://api.anthropic.com",
            None,
            "/v1/messages?beta=true",
            "https://api.anthropic.com/v1/messages?beta=true",
        ),
        # Codex CLI, API key: target contains api.openai.com -> no strip.
        ("https://api.openai.com", None, "/v1/responses", "https://api.openai.com/v1/responses"),
        # Codex CLI, OAuth: chatgpt.com/backend-api/codex -> strip /v1.
        (
            "https://chatgpt.com/backend-api/codex",
            "/v1",
            "/v1/responses",
            "https://chatgpt.com/backend-api/codex/responses",
        ),
        # Hermes Agent, custom OpenAI-compatible provider: strip /v1.
        ("https://api.openai.com", "/v1", "/v1/chat/completions", "https://api.openai.com/chat/completions"),
        (
            "https://api.openai.com/v1",
            "/v1",
            "/v1/chat/completions",
            "https://api.openai.com/v1/chat/completions",
        ),
        # Gemini CLI (reverse): colons in the path and the query stay as they are.
        (
            "https://generativelanguage.googleapis.com",
            None,
            "/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse",
            "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse",
        ),
        # Kimi CLI, Moonshot, CodeBuddy: the target's last segment is not doubled.
        (
            "https://api.kimi.com/coding/v1",
            None,
            "/v1/chat/completions",
            "https://api.kimi.com/coding/v1/chat/completions",
        ),
        (
            "https://api.kimi.com/coding/v1",
            None,
            "/chat/completions",
            "https://api.kimi.com/coding/v1/chat/completions",
        ),
        (
            "https://api.moonshot.ai/v1",
            None,
            "/v1/chat/completions",
            "https://api.moonshot.ai/v1/chat/completions",
        ),
        (
            "https://copilot.tencent.com/v2",
            None,
            "/v2/chat/completions",
            "https://copilot.tencent.com/v2/chat/completions",
        ),
    ],
)
def test_upstream_url_for_each_support_matrix_row(
    target: str, strip: str | None, incoming: str, expected: str
) -> None:
    assert build_upstream_url(target, incoming, strip) == expected


def test_strip_prefix_only_at_a_segment_boundary() -> None:
    assert (
        build_upstream_url("https://x.test/base", "/v10/responses", "/v1")
        == "https://x.test/base/v10/responses"
    )
    assert (
        build_upstream_url("https://x.test/base", "/v1/responses", "/v1") == "https://x.test/base/responses"
    )
    assert build_upstream_url("https://x.test/base", "/v1", "/v1") == "https://x.test/base"
    assert build_upstream_url("https://x.test/base", "/v1?q=1", "/v1") == "https://x.test/base?q=1"


def test_strip_prefix_is_normalised_and_empty_means_none() -> None:
    assert build_upstream_url("https://x.test", "/v1/a", "v1/") == "https://x.test/a"
    assert build_upstream_url("https://x.test", "/v1/a", "") == "https://x.test/v1/a"
    assert build_upstream_url("https://x.test", "/v1/a", "/") == "https://x.test/v1/a"


def test_a_target_ending_in_the_whole_path_is_not_doubled() -> None:
    assert (
        build_upstream_url("https://x.test/v1/messages", "/v1/messages", None) == "https://x.test/v1/messages"
    )


def test_the_longest_overlap_wins() -> None:
    assert build_upstream_url("https://x.test/a/b/a", "/a/b/a/x", None) == "https://x.test/a/b/a/x"


def test_no_overlap_means_plain_concatenation() -> None:
    assert build_upstream_url("https://x.test/api", "/v1/x", None) == "https://x.test/api/v1/x"
    assert build_upstream_url("https://x.test/v1/extra", "/v1/x", None) == "https://x.test/v1/extra/v1/x"


def test_a_trailing_slash_in_the_path_survives() -> None:
    assert build_upstream_url("https://x.test/v1", "/v1/", None) == "https://x.test/v1/"
    assert build_upstream_url("https://x.test", "/", None) == "https://x.test/"


def test_query_is_kept_byte_for_byte() -> None:
    raw = "/v1/x?b=2&a=1&a=%2F%20+%7e&empty=&flag&key=AIza%3D%3D&%E4%BD%A0=%ZZ"
    assert build_upstream_url("https://x.test", raw, None) == "https://x.test" + raw


def test_an_empty_query_marker_is_kept() -> None:
    assert build_upstream_url("https://x.test", "/v1/x?", None) == "https://x.test/v1/x?"


def test_a_question_mark_inside_the_query_stays_in_the_query() -> None:
    assert (
        build_upstream_url("https://x.test/v1", "/v1/x?next=/v1/y?z", "/v1")
        == "https://x.test/v1/x?next=/v1/y?z"
    )


def test_percent_encoding_in_the_path_is_not_touched() -> None:
    assert (
        build_upstream_url("https://x.test", "/v1/a%2Fb/%7Euser", None) == "https://x.test/v1/a%2Fb/%7Euser"
    )


def test_target_may_be_passed_parsed_or_as_text() -> None:
    parsed = Target.parse("https://x.test/v1")
    assert build_upstream_url(parsed, "/v1/a", None) == build_upstream_url("https://x.test/v1", "/v1/a", None)


def test_a_path_without_leading_slash_gets_one() -> None:
    assert build_upstream_url("https://x.test", "v1/a", None) == "https://x.test/v1/a"


# --- header policy ---------------------------------------------------------------------------------


def test_request_headers_drop_hop_by_hop_case_insensitively_and_set_host() -> None:
    headers = [
        ("host", "127.0.0.1:5555"),
        ("Authorization", "Bearer sk-1"),
        ("CONNECTION", "keep-alive, X-Hop"),
        ("X-Hop", "only for this hop"),
        ("Keep-Alive", "timeout=5"),
        ("Proxy-Authorization", "Basic abc"),
        ("proxy-connection", "keep-alive"),
        ("TE", "trailers"),
        ("Trailer", "X-Checksum"),
        ("transfer-encoding", "chunked"),
        ("Upgrade", "h2c"),
        ("Expect", "100-continue"),
        ("Content-Length", "12"),
        ("Content-Encoding", "zstd"),
        ("anthropic-beta", "a"),
        ("anthropic-beta", "b"),
    ]
    assert request_headers_for_upstream(headers, "https://api.anthropic.com/v1/messages?x=1") == [
        ("Host", "api.anthropic.com"),
        ("Authorization", "Bearer sk-1"),
        ("Content-Length", "12"),
        ("Content-Encoding", "zstd"),
        ("anthropic-beta", "a"),
        ("anthropic-beta", "b"),
    ]


def test_request_host_carries_a_non_default_port_and_comes_first_when_missing() -> None:
    assert request_headers_for_upstream([("Accept", "*/*")], "http://127.0.0.1:8080/x") == [
        ("Host", "127.0.0.1:8080"),
        ("Accept", "*/*"),
    ]
    assert request_headers_for_upstream([], "http://[::1]:9/x") == [("Host", "[::1]:9")]


def test_request_with_two_host_headers_gets_one() -> None:
    headers = [("Host", "a"), ("X", "1"), ("Host", "b")]
    assert request_headers_for_upstream(headers, "https://x.test/") == [("Host", "x.test"), ("X", "1")]


def test_response_headers_keep_length_and_encoding_and_drop_hop_by_hop() -> None:
    headers = [
        ("Content-Type", "text/event-stream"),
        ("Transfer-Encoding", "chunked"),
        ("Connection", "close, X-Internal"),
        ("x-internal", "1"),
        ("Keep-Alive", "timeout=5"),
        ("Proxy-Authenticate", "Basic"),
        ("Content-Encoding", "gzip"),
        ("Content-Length", "10"),
        ("Set-Cookie", "a=1"),
        ("Set-Cookie", "b=2"),
        ("request-id", "req_1"),
    ]
    assert response_headers_for_client(headers) == [
        ("Content-Type", "text/event-stream"),
        ("Content-Encoding", "gzip"),
        ("Content-Length", "10"),
        ("Set-Cookie", "a=1"),
        ("Set-Cookie", "b=2"),
        ("request-id", "req_1"),
    ]


# --- outbound proxy ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "127.9.8.7",
        "localhost",
        "LOCALHOST.",
        "api.localhost",
        "::1",
        "[::1]",
        "::ffff:127.0.0.1",
        "127.1",  # shorthand the OS connects to 127.0.0.1
        "2130706433",  # 127.0.0.1 as one number
    ],
)
def test_loopback_hosts(host: str) -> None:
    assert is_loopback_host(host)


@pytest.mark.parametrize(
    "host",
    [
        "10.0.0.1",
        "api.openai.com",
        "localhost.example.com",
        "::2",
        "::ffff:10.0.0.1",
        "10.1",
        "167772161",
        "1.2.3.4.5",
    ],
)
def test_not_loopback_hosts(host: str) -> None:
    assert not is_loopback_host(host)


def test_https_upstream_uses_https_proxy_and_http_uses_http_proxy() -> None:
    env = {"HTTPS_PROXY": "http://secure:3128", "HTTP_PROXY": "http://plain:3128"}
    assert proxy_for("https://api.openai.com/v1/x", env) == "http://secure:3128"
    assert proxy_for("http://api.openai.com/v1/x", env) == "http://plain:3128"
    assert proxy_for("wss://api.openai.com/v1/x", env) == "http://secure:3128"
    assert proxy_for("ws://api.openai.com/v1/x", env) == "http://plain:3128"


def test_lower_case_variables_win_over_upper_case() -> None:
    env = {"https_proxy": "http://lower:1", "HTTPS_PROXY": "http://upper:2"}
    assert proxy_for("https://api.openai.com/", env) == "http://lower:1"
    assert proxy_for("https://api.openai.com/", {"HTTPS_PROXY": "http://upper:2"}) == "http://upper:2"


def test_all_proxy_is_the_fallback_and_empty_values_count_as_unset() -> None:
    env = {"https_proxy": "", "ALL_PROXY": "http://all:9"}
    assert proxy_for("https://api.openai.com/", env) == "http://all:9"
    assert proxy_for("https://api.openai.com/", {}) is None


def test_a_proxy_without_scheme_means_http_and_socks_is_ignored() -> None:
    assert proxy_for("https://a.test/", {"HTTPS_PROXY": "corp:8080"}) == "http://corp:8080"
    assert proxy_for("https://a.test/", {"HTTPS_PROXY": "socks5://corp:1080"}) is None


def test_loopback_upstreams_never_use_a_proxy() -> None:
    env = {"HTTPS_PROXY": "http://p:1", "HTTP_PROXY": "http://p:1", "ALL_PROXY": "http://p:1"}
    for url in ("http://127.0.0.1:9/x", "https://localhost/x", "http://[::1]:9/x", "ws://127.0.0.2/x"):
        assert proxy_for(url, env) is None


@pytest.mark.parametrize(
    ("no_proxy", "url", "bypassed"),
    [
        ("*", "https://api.openai.com/", True),
        ("openai.com", "https://api.openai.com/", True),
        (".openai.com", "https://api.openai.com/", True),
        ("*.openai.com", "https://api.openai.com/", True),
        ("openai.com", "https://openai.com/", True),
        ("openai.com", "https://notopenai.com/", False),
        ("api.openai.com:443", "https://api.openai.com/", True),
        ("api.openai.com:8443", "https://api.openai.com/", False),
        ("10.0.0.0/8", "https://10.1.2.3/", True),
        ("10.0.0.0/8", "https://11.1.2.3/", False),
        ("10.0.0.0/8", "https://example.com/", False),
        ("192.168.1.5", "http://192.168.1.5:8080/", True),
        ("[2001:db8::1]:443", "https://[2001:db8::1]/", True),
        ("2001:db8::1", "https://[2001:db8::1]/", True),
        ("foo.test, , OPENAI.COM", "https://api.openai.com/", True),
        ("foo.test bar.test", "https://bar.test/", True),
        ("foo.test", "https://api.openai.com/", False),
    ],
)
def test_no_proxy_rules(no_proxy: str, url: str, bypassed: bool) -> None:
    env = {"HTTPS_PROXY": "http://p:1", "HTTP_PROXY": "http://p:1", "no_proxy": no_proxy}
    assert (proxy_for(url, env) is None) == bypassed


def test_no_proxy_upper_case_is_read_too() -> None:
    assert (
        proxy_for("https://api.openai.com/", {"HTTPS_PROXY": "http://p:1", "NO_PROXY": "openai.com"}) is None
    )


def test_proxy_credentials_become_a_basic_authorization() -> None:
    assert proxy_credentials("http://alice:p%40ss@corp:8080") == (
        "http://corp:8080",
        "Basic YWxpY2U6cEBzcw==",
    )
    assert proxy_credentials("http://corp:8080") == ("http://corp:8080", None)
