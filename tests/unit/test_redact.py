"""capture/redact.py: secrets leave headers, URLs, bodies, events, argv and logs; nothing else changes."""

from __future__ import annotations

import base64
import io
import json
import logging
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from claude_tap.capture.redact import (
    Redactor,
    ScrubFilter,
    is_secret_field_name,
    is_secret_header,
    marker,
    secrets_from_env,
)
from claude_tap.capture.secret_shapes import find_shapes

HEADER_KEY = "sk-ant-api03-header-secret-0001"
QUERY_KEY = "AIzaSyQuerySecret0002"
BODY_PASSWORD = "body-secret-password-0003"
FORM_REFRESH = "oauth-refresh-token-0004"
SSE_TOKEN = "sse-session-token-0005"
WS_KEY = "ws-api-key-value-0006"
ARGV_KEY = "argv-api-key-0007"
ENV_KEY = "env-anthropic-key-0008"
COOKIE = "sess=cookie-value-0009"
ALL_SECRETS = [HEADER_KEY, QUERY_KEY, BODY_PASSWORD, FORM_REFRESH, SSE_TOKEN, WS_KEY, ARGV_KEY, ENV_KEY]


def test_marker_is_the_first_8_hex_of_sha256() -> None:
    # sha256(b"sk-ant-api03-header-secret-0001") starts with e4a2e54f
    assert marker(HEADER_KEY) == "[REDACTED:e4a2e54f]"


# -- headers -----------------------------------------------------------------------------------


def test_known_secret_headers_are_redacted_keeping_the_auth_scheme() -> None:
    headers = {
        "authorization": f"Bearer {HEADER_KEY}",
        "x-api-key": HEADER_KEY,
        "X-Goog-Api-Key": QUERY_KEY,
        "Proxy-Authorization": f"Basic {BODY_PASSWORD}",
        "cookie": COOKIE,
        "content-type": "application/json",
    }
    assert Redactor().redact_headers(headers) == {
        "authorization": "Bearer [REDACTED:e4a2e54f]",
        "x-api-key": "[REDACTED:e4a2e54f]",
        "X-Goog-Api-Key": "[REDACTED:860a08ad]",
        "Proxy-Authorization": "Basic [REDACTED:6765e59b]",
        "cookie": "[REDACTED:3480b800]",
        "content-type": "application/json",
    }


def test_any_header_naming_token_secret_key_auth_session_or_cookie_is_redacted() -> None:
    for name in (
        "x-custom-token",
        "X-Client-Secret",
        "idempotency-key",
        "x-auth-user",
        "x-session-id",
        "x-amz-security-token",
        "set-cookie",
        "Api-Key",
    ):
        assert is_secret_header(name), name
        assert Redactor().redact_headers({name: "value-long-enough"}) == {name: marker("value-long-enough")}


def test_qoders_cosy_credential_headers_are_redacted_and_its_other_cosy_headers_kept() -> None:
    # Qoder signs each request: the signature, and the user and machine it signs for, identify the
    # account; cosy-key and cosy-machinetoken are credentials by their names already.
    secret = {
        "Cosy-Signature": "9f2c4e1a7b3d5f60",
        "cosy-user": "user-0123456789",
        "Cosy-MachineId": "machine-0123456789",
        "cosy-key": "key-0123456789",
        "Cosy-MachineToken": "token-0123456789",
    }
    plain = {"Cosy-Version": "0.1.28", "cosy-clienttype": "5", "Cosy-Date": "1764750000"}
    for name in secret:
        assert is_secret_header(name), name
    assert Redactor().redact_headers({**secret, **plain}) == {
        **{name: marker(value) for name, value in secret.items()},
        **plain,
    }


def test_token_counts_and_plain_headers_are_not_secrets() -> None:
    headers = {
        "anthropic-ratelimit-input-tokens-remaining": "39000",
        "x-ratelimit-remaining-tokens": "149984",
        "content-length": "120",
        "user-agent": "claude-cli/2.0.1",
        "anthropic-version": "2023-06-01",
        "keep-alive": "timeout=5",
    }
    assert Redactor().redact_headers(headers) == headers


def test_a_redacted_header_is_left_alone_when_redacted_again() -> None:
    redactor = Redactor()
    once = redactor.redact_headers({"authorization": f"Bearer {HEADER_KEY}", "x-api-key": HEADER_KEY})
    assert redactor.redact_headers(once) == once


def test_cookie_values_are_remembered_one_by_one() -> None:
    redactor = Redactor()
    redactor.redact_headers({"cookie": "theme=dark; session=abcdef0123456789"})
    assert redactor.scrub("echoed abcdef0123456789 here") == f"echoed {marker('abcdef0123456789')} here"


def test_a_quoted_cookie_value_echoed_in_a_body_leaves_the_line_valid_json() -> None:
    # RFC 6265 allows cookie-value = DQUOTE *cookie-octet DQUOTE. Remembered with its quotes, the
    # value would match a whole JSON string, quotes included, and its marker would break the line.
    redactor = Redactor()
    record = {
        "type": "exchange",
        "request": {"headers": {"cookie": 'sid="s3ssionvalue42"'}, "body": {"echo": "s3ssionvalue42"}},
    }
    line = redactor.scrub(json.dumps(redactor.redact_record(record), separators=(",", ":")))
    assert json.loads(line)["request"]["body"] == {"echo": marker("s3ssionvalue42")}
    assert redactor.scrub('log: "s3ssionvalue42"') == f'log: "{marker("s3ssionvalue42")}"'


def test_set_cookie_attributes_are_not_remembered_as_secrets() -> None:
    redactor = Redactor()
    redactor.redact_headers({"set-cookie": "sid=sid-value-0123; Domain=.anthropic.com; Path=/"})
    assert (
        redactor.scrub("sid-value-0123 api.anthropic.com") == f"{marker('sid-value-0123')} api.anthropic.com"
    )


# -- URLs --------------------------------------------------------------------------------------


def test_secret_query_parameters_are_redacted_and_the_rest_is_byte_identical() -> None:
    url = f"/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse&key={QUERY_KEY}&x=%20a+b#frag"
    assert Redactor().redact_url(url) == (
        "/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse&key=[REDACTED:860a08ad]&x=%20a+b#frag"
    )


def test_query_names_are_matched_case_insensitively() -> None:
    redactor = Redactor()
    url = "https://h/p?API_KEY=aaaaaaaa1&Access_Token=bbbbbbbb2&Signature=cccccccc3&code=dddddddd4&page=2"
    assert redactor.redact_url(url) == (
        f"https://h/p?API_KEY={marker('aaaaaaaa1')}&Access_Token={marker('bbbbbbbb2')}"
        f"&Signature={marker('cccccccc3')}&code={marker('dddddddd4')}&page=2"
    )


def test_a_percent_encoded_secret_is_hashed_decoded_and_scrubbed_in_both_forms() -> None:
    redactor = Redactor()
    assert redactor.redact_url("/x?token=a%2Fb%2Bc%3Dlong1") == f"/x?token={marker('a/b+c=long1')}"
    assert (
        redactor.scrub("a%2Fb%2Bc%3Dlong1 a/b+c=long1") == f"{marker('a/b+c=long1')} {marker('a/b+c=long1')}"
    )


def test_a_url_without_query_comes_back_unchanged() -> None:
    url = "https://api.anthropic.com/v1/messages"
    assert Redactor().redact_url(url) is url


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["alt", "page", "model", "beta", "limit", "q", "x"]),
            st.text(alphabet="abcXYZ019%+-._~=", max_size=12),
        ),
        max_size=6,
    )
)
def test_a_query_without_secret_names_is_never_changed(params: list[tuple[str, str]]) -> None:
    url = "/v1/things?" + "&".join(f"{name}={value}" for name, value in params)
    assert Redactor().redact_url(url) == url


# -- JSON bodies -------------------------------------------------------------------------------


def test_secret_fields_are_redacted_at_any_depth() -> None:
    body = {
        "model": "claude-sonnet-4",
        "api_key": HEADER_KEY,
        "config": {"apiKey": QUERY_KEY, "headers": {"x-api-key": HEADER_KEY}},
        "accounts": [{"password": BODY_PASSWORD, "client_secret": "cs-0123456789"}],
        "env": {"ANTHROPIC_API_KEY": ENV_KEY, "HOME": "/home/me", "CLAUDE_CODE_MAX_OUTPUT_TOKENS": "32000"},
    }
    assert Redactor().redact_json(body) == {
        "model": "claude-sonnet-4",
        "api_key": "[REDACTED:e4a2e54f]",
        "config": {"apiKey": "[REDACTED:860a08ad]", "headers": {"x-api-key": "[REDACTED:e4a2e54f]"}},
        "accounts": [{"password": "[REDACTED:6765e59b]", "client_secret": marker("cs-0123456789")}],
        "env": {
            "ANTHROPIC_API_KEY": "[REDACTED:94bdcdb6]",
            "HOME": "/home/me",
            "CLAUDE_CODE_MAX_OUTPUT_TOKENS": "32000",
        },
    }


def test_token_counts_and_thinking_signatures_are_not_secrets() -> None:
    body = {
        "max_tokens": 32000,
        "usage": {"input_tokens": 12, "cache_read_input_tokens": 9000, "output_tokens": 5},
        "token_count": 44,
        "max_output_tokens": 100,
        "content": [{"type": "thinking", "thinking": "hm", "signature": "EqQBCkgIARAB-long-opaque"}],
        "tokenizer": "cl100k",
    }
    assert Redactor().redact_json(body) == body
    for name in ("max_tokens", "input_tokens", "cache_read_input_tokens", "token_count", "signature"):
        assert not is_secret_field_name(name), name


def test_a_secret_name_holding_an_object_is_searched_not_replaced() -> None:
    body = {"credentials": {"type": "oauth", "access_token": "at-0123456789"}}
    assert Redactor().redact_json(body) == {
        "credentials": {"type": "oauth", "access_token": marker("at-0123456789")}
    }


# -- whole records -----------------------------------------------------------------------------


def planted_exchange() -> dict:
    sse_data = json.dumps({"type": "session", "session_token": SSE_TOKEN})
    return {
        "type": "exchange",
        "id": "ex-000001",
        "seq": 1,
        "transport": "sse",
        "request": {
            "method": "POST",
            "url": f"https://generativelanguage.googleapis.com/v1beta/x?key={QUERY_KEY}",
            "path": f"/v1beta/x?key={QUERY_KEY}",
            "headers": {"authorization": f"Bearer {HEADER_KEY}", "cookie": COOKIE},
            "body": {"password": BODY_PASSWORD, "messages": [{"role": "user", "content": "hi"}]},
            "body_bytes": 10,
        },
        "response": {
            "status": 200,
            "headers": {"set-cookie": f"sid={FORM_REFRESH}; Path=/"},
            "body_bytes": 10,
            "events": [
                {"offset_ms": 1.0, "event": "message", "data": sse_data},
                {"offset_ms": 2.0, "event": "ping", "data": '{ "type": "ping" }'},
            ],
            "complete": True,
        },
        "upstream": "https://generativelanguage.googleapis.com",
        "error": None,
    }


def test_no_planted_secret_survives_a_record_and_its_scrubbed_line() -> None:
    redactor = Redactor(known_secrets=[ENV_KEY])
    token_form = {
        "type": "exchange",
        "request": {"headers": {}, "body_text": f"grant_type=refresh_token&refresh_token={FORM_REFRESH}"},
        "response": {
            "headers": {},
            "events": [
                {"direction": "client", "kind": "text", "data": json.dumps({"api_key": WS_KEY})},
                {"direction": "server", "kind": "text", "data": f"the key was {WS_KEY}"},
            ],
        },
    }
    session = {"type": "session", "argv": ["--api-key", ARGV_KEY, "-p", "hello"]}
    transcript = {"type": "transcript", "source": "cursor", "entry": {"text": f"my key is {ENV_KEY}"}}
    lines = [
        redactor.scrub(json.dumps(redactor.redact_record(record), ensure_ascii=False))
        for record in (planted_exchange(), token_form, session, transcript)
    ]
    text = "\n".join(lines)
    for secret in ALL_SECRETS:
        assert secret not in text, secret
    assert "[REDACTED:e4a2e54f]" in text  # the header key, recognisable across records
    assert "grant_type=refresh_token&refresh_token=[REDACTED:2cd305ac]" in text
    assert '"-p","hello"' in text.replace(", ", ",")


def test_redact_record_keeps_untouched_event_data_byte_identical() -> None:
    redacted = Redactor().redact_record(planted_exchange())
    events = redacted["response"]["events"]
    assert events[0]["data"] == '{"type":"session","session_token":"[REDACTED:5be3652f]"}'
    assert events[1]["data"] == '{ "type": "ping" }'
    assert redacted["request"]["path"] == "/v1beta/x?key=[REDACTED:860a08ad]"
    assert redacted["request"]["body"] == {
        "password": "[REDACTED:6765e59b]",
        "messages": [{"role": "user", "content": "hi"}],
    }


def test_redact_record_does_not_change_its_input_and_is_idempotent() -> None:
    redactor = Redactor()
    original = planted_exchange()
    once = redactor.redact_record(original)
    assert original == planted_exchange()
    assert redactor.redact_record(once) == once


def test_end_and_unknown_records_pass_through() -> None:
    end = {"type": "end", "exit_code": 0, "exchanges": 3}
    assert Redactor().redact_record(end) == end
    future = {"type": "something-new", "token": "abc"}
    assert Redactor().redact_record(future) == future


# -- scrub -------------------------------------------------------------------------------------


def test_scrub_replaces_known_and_remembered_secrets_everywhere() -> None:
    redactor = Redactor(known_secrets=[ENV_KEY])
    redactor.redact_headers({"x-api-key": HEADER_KEY})
    text = f"a {ENV_KEY} b {HEADER_KEY} c {ENV_KEY}"
    assert redactor.scrub(text) == "a [REDACTED:94bdcdb6] b [REDACTED:e4a2e54f] c [REDACTED:94bdcdb6]"


def test_scrub_ignores_secrets_shorter_than_8_characters() -> None:
    redactor = Redactor(known_secrets=["short", "1234567"])
    assert redactor.remembered == 0
    assert redactor.scrub("short 1234567") == "short 1234567"


def test_scrub_finds_a_secret_in_its_json_escaped_form() -> None:
    secret = 'pa"ss\\word-0123'
    redactor = Redactor(known_secrets=[secret])
    line = json.dumps({"text": f"x {secret} y"})
    assert redactor.scrub(line) == json.dumps({"text": f"x {marker(secret)} y"})


def test_scrub_replaces_the_longer_of_two_overlapping_secrets_whole() -> None:
    redactor = Redactor(known_secrets=["abcdefgh", "abcdefgh-ijkl"])
    assert redactor.scrub("abcdefgh-ijkl abcdefgh") == f"{marker('abcdefgh-ijkl')} {marker('abcdefgh')}"


def test_scrub_returns_the_same_string_when_nothing_matches() -> None:
    text = "nothing to see here"
    assert Redactor(known_secrets=[ENV_KEY]).scrub(text) is text


# -- scrubbing a text that comes in pieces -----------------------------------------------------

STREAM_SECRETS = [ENV_KEY, HEADER_KEY, "abcdefgh", "abcdefgh-ijkl", "aaaaaaaa"]
STREAM_TEXT = (
    f"{ENV_KEY}start {HEADER_KEY} abcdefgh-ijkl abcdefgh x aaaaaaaaaaaaaaaaaaa y "
    f"sk-ant-api03-header-secret-000 (one short) {ENV_KEY}{ENV_KEY} aaaaaaa end{HEADER_KEY}"
)


def scrub_in_pieces(redactor: Redactor, pieces: list[str]) -> tuple[str, bool]:
    scrubber = redactor.stream_scrubber()
    out = [scrubber.feed(piece) for piece in pieces]
    out.append(scrubber.close())
    return "".join(out), scrubber.changed


def test_stream_scrub_equals_scrub_of_the_whole_whole_char_by_char_and_in_random_splits() -> None:
    redactor = Redactor(known_secrets=STREAM_SECRETS)
    expected = redactor.scrub(STREAM_TEXT)
    assert expected.count("[REDACTED:") == 9  # the 19 a's hold two whole secrets
    assert scrub_in_pieces(redactor, [STREAM_TEXT]) == (expected, True)
    assert scrub_in_pieces(redactor, list(STREAM_TEXT)) == (expected, True)
    rng = random.Random(11)
    for _ in range(300):
        cuts = sorted(rng.sample(range(1, len(STREAM_TEXT)), rng.randint(1, 30)))
        pieces = [STREAM_TEXT[a:b] for a, b in zip([0, *cuts], [*cuts, len(STREAM_TEXT)], strict=True)]
        assert scrub_in_pieces(redactor, pieces) == (expected, True)


def test_stream_scrub_holds_back_only_a_secret_length_tail() -> None:
    redactor = Redactor(known_secrets=[ENV_KEY])
    scrubber = redactor.stream_scrubber()
    held = len(ENV_KEY) - 1  # any more and the tail would hold a whole secret
    assert scrubber.feed("x" * 100 + ENV_KEY[:5]) == "x" * (105 - held)
    assert scrubber.feed(ENV_KEY[5:] + " tail") == "x" * (held - 5)  # the cut moves to the secret's start
    assert scrubber.close() == f"{marker(ENV_KEY)} tail"
    assert scrubber.changed is True


def test_stream_scrub_without_secrets_passes_pieces_through_unchanged() -> None:
    scrubber = Redactor().stream_scrubber()
    piece = "nothing to see here, "  # ends at a delimiter: no shape can run on into the next piece
    assert scrubber.feed(piece) is piece
    assert scrubber.close() == ""
    assert scrubber.changed is False


def test_stream_scrub_holds_back_a_trailing_word_that_may_be_the_start_of_a_key() -> None:
    scrubber = Redactor().stream_scrubber()
    assert scrubber.feed('{"content": "my key is sk-ant-api03-Ab') == '{"content": "my key is '
    assert (
        scrubber.feed('c123DEF456ghi789JKL012"}') == f'{marker("sk-ant-api03-Abc123DEF456ghi789JKL012")}"}}'
    )
    assert scrubber.close() == ""
    assert scrubber.changed is True


# -- argv and the environment ------------------------------------------------------------------


def test_argv_flag_values_env_words_urls_and_json_are_redacted() -> None:
    settings = json.dumps({"env": {"ANTHROPIC_API_KEY": ENV_KEY, "DEBUG": "1"}})
    argv = [
        "--api-key",
        ARGV_KEY,
        f"--token={ARGV_KEY}",
        "--password",
        "hunter2hunter2",
        "--max-tokens",
        "4096",
        f"OPENAI_API_KEY={ARGV_KEY}",
        "PATH=/usr/bin",
        "-H",
        f"Authorization: Bearer {HEADER_KEY}",
        f"https://h/p?key={QUERY_KEY}",
        "--settings",
        settings,
        "-p",
        "fix the bug",
    ]
    k = "[REDACTED:c50f097c]"
    assert Redactor().redact_argv(argv) == [
        "--api-key",
        k,
        f"--token={k}",
        "--password",
        marker("hunter2hunter2"),
        "--max-tokens",
        "4096",
        f"OPENAI_API_KEY={k}",
        "PATH=/usr/bin",
        "-H",
        "Authorization: Bearer [REDACTED:e4a2e54f]",
        "https://h/p?key=[REDACTED:860a08ad]",
        "--settings",
        '{"env":{"ANTHROPIC_API_KEY":"[REDACTED:94bdcdb6]","DEBUG":"1"}}',
        "-p",
        "fix the bug",
    ]


def test_a_secret_flag_followed_by_another_flag_does_not_swallow_it() -> None:
    assert Redactor().redact_argv(["--token", "--verbose", "x"]) == ["--token", "--verbose", "x"]


def test_secrets_from_env_picks_secret_names_of_8_characters_or_more() -> None:
    env = {
        "ANTHROPIC_API_KEY": ENV_KEY,
        "OPENAI_API_KEY": "sk-proj-0123456789",
        "GH_TOKEN": "ghp_0123456789",
        "AWS_SECRET_ACCESS_KEY": "aws/secret+0123",
        "ANTHROPIC_AUTH_TOKEN": "auth-token-0123",
        "DB_PASSWORD": "hunter2hunter2",
        "SHORT_TOKEN": "1234567",
        "SSH_AUTH_SOCK": "agent.12345678",
        "TOKENIZERS_PARALLELISM": "false-but-long",
        "CLAUDE_CODE_MAX_OUTPUT_TOKENS": "3200000000",
        "GIT_AUTHOR_NAME": "Ada Lovelace",
        "PWD": "projects/claude-tap",
        "GOOGLE_APPLICATION_CREDENTIALS": "/home/me/key.json",
        "HOME": "/home/me",
    }
    assert secrets_from_env(env) == [
        ENV_KEY,
        "sk-proj-0123456789",
        "ghp_0123456789",
        "aws/secret+0123",
        "auth-token-0123",
        "hunter2hunter2",
    ]


# -- logging -----------------------------------------------------------------------------------


def test_scrub_filter_keeps_secrets_out_of_messages_args_and_tracebacks() -> None:
    redactor = Redactor(known_secrets=[ENV_KEY])
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(ScrubFilter(redactor))
    logger = logging.getLogger("test_redact.scrub_filter")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("upstream refused key %s", ENV_KEY)
        try:
            raise ValueError(f"bad key {ENV_KEY}")
        except ValueError:
            logger.exception("request failed")
    finally:
        logger.removeHandler(handler)
    output = stream.getvalue()
    assert ENV_KEY not in output
    assert "upstream refused key [REDACTED:94bdcdb6]" in output
    assert "ValueError: bad key [REDACTED:94bdcdb6]" in output


def test_a_session_id_header_is_masked_but_its_value_stays_in_bodies_where_it_is_data() -> None:
    # Codex sends its conversation UUID as `session-id` and again as prompt_cache_key in the body.
    session_id = "0199aaaa-bbbb-cccc-dddd-eeeeffff0000"
    redactor = Redactor()
    headers = redactor.redact_headers({"session-id": session_id, "x-session-token": "tok-0123456789"})
    assert headers == {"session-id": marker(session_id), "x-session-token": marker("tok-0123456789")}
    line = f'{{"prompt_cache_key":"{session_id}","echo":"tok-0123456789"}}'
    assert (
        redactor.scrub(line) == f'{{"prompt_cache_key":"{session_id}","echo":"{marker("tok-0123456789")}"}}'
    )


# -- secrets by their shape, anywhere (issue 15, item 2) ---------------------------------------

SHAPES = {
    "anthropic": "sk-ant-api03-Xq3vB7nM2kLp9RtY4wZs8dFg1hJk6lQe0uIo5aSd",
    "anthropic oauth": "sk-ant-oat01-Hd7Lm2Qx9Vb4Nc8Kz1Ws6Ep3Ry5Tu0Io",
    "openai project": "sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z",
    "openai legacy": "sk-Tz8Yx7Wv6Ut5Sr4Qp3On2Ml1Kj0IhGfEd",
    "github classic": "ghp_aB3dE6gH9jK2mN5pQ8sT1vW4yZ7bC0eF3hJ6",
    "github oauth": "gho_Zy9Xw8Vu7Ts6Rq5Po4Nm3Lk2Ji1Hg0FeDcBa",
    "github fine-grained": "github_pat_11ABCDEFG0aBcDeFgHiJkL_mNoPqRsTuVwXyZ0123456789",
    "aws access key id": "AKIAIOSFODNN7EXAMPLE",
    "aws session key id": "ASIAJ4XYZ0ABCDEFGH12",
    "jwt": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
    "slack bot": "xoxb-1234567890-0987654321-AbCdEfGhIjKlMnOp",
    "slack user": "xoxp-1234567890-0987654321-QrStUvWxYz",
    "google": "AIzaSyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q",
}


@pytest.mark.parametrize("secret", SHAPES.values(), ids=SHAPES.keys())
def test_a_key_shape_is_scrubbed_anywhere_in_text(secret: str) -> None:
    redactor = Redactor()
    line = json.dumps({"content": f"here is my key: {secret}\nand {secret}. thanks"})
    scrubbed = redactor.scrub(line)
    assert secret not in scrubbed
    assert (
        json.loads(scrubbed)["content"] == f"here is my key: {marker(secret)}\nand {marker(secret)}. thanks"
    )


@pytest.mark.parametrize("secret", SHAPES.values(), ids=SHAPES.keys())
def test_a_key_shape_right_after_a_json_newline_escape_is_found(secret: str) -> None:
    assert find_shapes('"line one\\n' + secret + '"') == [secret]


WEBHOOKS = {
    "slack": (
        "https://hooks.slack.com/services/T01ABCDEF/B02GHIJKL/aBcDeFgHiJkLmNoPqRsTuVwX",
        "T01ABCDEF/B02GHIJKL/aBcDeFgHiJkLmNoPqRsTuVwX",
    ),
    "discord": (
        "https://discord.com/api/webhooks/112233445566778899/AbC-dEf_GhIjKlMnOpQrStUvWxYz0123",
        "AbC-dEf_GhIjKlMnOpQrStUvWxYz0123",
    ),
    "url password": ("postgres://app:s3cr3t-pw@db.internal:5432/prod", "s3cr3t-pw"),
}


@pytest.mark.parametrize("url, secret", WEBHOOKS.values(), ids=WEBHOOKS.keys())
def test_the_secret_part_of_a_webhook_or_url_is_scrubbed_and_the_rest_stays(url: str, secret: str) -> None:
    assert (
        Redactor().scrub(f"posting to {url} now") == f"posting to {url.replace(secret, marker(secret))} now"
    )


ORDINARY = [
    "task-Abc123def456ghi789jkl0mnop: a word that merely contains sk-",
    "sk-learn-the-basics-of-everything-here-today",
    "AKIAIOSFODNN7EXAMPLEX is one character too long",
    "see https://example.com:8080/path@user and git@github.com:org/repo.git",
    "eyJ alone, and eyJhbGciOiJIUzI1NiJ9 without a payload",
    "the ghp_ prefix, and xoxb- with nothing after",
]


@pytest.mark.parametrize("text", ORDINARY)
def test_ordinary_text_is_left_alone(text: str) -> None:
    assert Redactor().scrub(text) is text


def test_base64_image_data_is_left_alone() -> None:
    rng = random.Random(15)
    data = bytes(rng.randrange(256) for _ in range(300_000))
    # Plant every prefix inside the data, where a base64 alphabet character always stands before it.
    text = base64.b64encode(data).decode()
    for prefix in ("AKIA", "AIza", "eyJ", "ghp_", "sk-"):
        text = text[:5000] + prefix + text[5000:]
    line = json.dumps({"type": "image", "source": {"type": "base64", "data": text}})
    assert Redactor().scrub(line) is line


def test_a_key_shape_split_between_stream_pieces_is_still_found() -> None:
    secret = SHAPES["jwt"]
    line = json.dumps({"a": "x " * 50 + secret + " y" * 50})
    for cut in range(1, len(line)):
        scrubber = Redactor().stream_scrubber()
        out = scrubber.feed(line[:cut]) + scrubber.feed(line[cut:]) + scrubber.close()
        assert out == line.replace(secret, marker(secret)), cut


# -- secrets inside JSON strings, argv JSON, env URLs, redirects, forms ------------------------


def test_a_secret_field_inside_json_inside_a_json_string_is_redacted() -> None:
    arguments = json.dumps({"url": "https://api.example.com", "api_key": "nested-api-key-0015", "n": 1})
    result = json.dumps({"output": json.dumps({"password": "doubly-nested-pw-0015"})})
    body = {"tool_calls": [{"function": {"arguments": arguments}}], "tool_result": result}
    redacted = Redactor().redact_json(body)
    inner = json.loads(redacted["tool_calls"][0]["function"]["arguments"])
    assert inner == {"url": "https://api.example.com", "api_key": marker("nested-api-key-0015"), "n": 1}
    assert json.loads(json.loads(redacted["tool_result"])["output"]) == {
        "password": marker("doubly-nested-pw-0015")
    }


def test_a_json_string_with_nothing_secret_keeps_its_exact_text() -> None:
    arguments = '{ "command" : "ls -la",  "timeout": 5 }'
    body = {"arguments": arguments, "note": "[not json", "brace": "{also not json"}
    redacted = Redactor().redact_json(body)
    assert redacted["arguments"] is arguments
    assert redacted == body


def test_settings_json_argument_holding_a_url_is_redacted_as_json() -> None:
    settings = json.dumps(
        {"apiKey": "settings-api-key-0015", "env": {"ANTHROPIC_BASE_URL": "https://gw.example"}}
    )
    argv = Redactor().redact_argv(["claude", "--settings", settings, f"--settings={settings}"])
    expected = json.dumps(
        {"apiKey": marker("settings-api-key-0015"), "env": {"ANTHROPIC_BASE_URL": "https://gw.example"}},
        separators=(",", ":"),
    )
    assert argv == ["claude", "--settings", expected, f"--settings={expected}"]


def test_the_password_of_a_url_in_any_env_variable_is_a_known_secret() -> None:
    env = {"DATABASE_URL": "postgres://app:db-password-0015@db:5432/prod", "HOME_PAGE": "https://example.com"}
    assert secrets_from_env(env) == ["db-password-0015"]
    redactor = Redactor(secrets_from_env(env))
    assert (
        redactor.scrub("connecting with db-password-0015") == f"connecting with {marker('db-password-0015')}"
    )


def test_creds_env_names_are_secret() -> None:
    assert secrets_from_env({"DEPLOY_CREDS": "deploy-creds-0015", "GCP_SA_CREDS": "gcp-sa-creds-0015"}) == [
        "deploy-creds-0015",
        "gcp-sa-creds-0015",
    ]


def test_urls_keep_everything_but_their_password_and_secret_fragment_parameters() -> None:
    redactor = Redactor()
    assert redactor.redact_url("https://u:url-password-0015@h/p?a=1") == (
        f"https://u:{marker('url-password-0015')}@h/p?a=1"
    )
    assert redactor.redact_url("https://app/cb#access_token=frag-token-0015&state=s") == (
        f"https://app/cb#access_token={marker('frag-token-0015')}&state=s"
    )
    plain = "https://u@h/p#section-2"
    assert redactor.redact_url(plain) is plain


def test_a_location_header_carrying_a_code_or_token_is_redacted() -> None:
    redactor = Redactor()
    headers = {
        "location": "https://app.example/cb?code=oauth-code-0015&state=xyz",
        "Content-Location": "https://app.example/cb#access_token=oauth-token-0015",
    }
    assert redactor.redact_headers(headers) == {
        "location": f"https://app.example/cb?code={marker('oauth-code-0015')}&state=xyz",
        "Content-Location": f"https://app.example/cb#access_token={marker('oauth-token-0015')}",
    }


def test_form_and_multipart_secret_fields_are_redacted() -> None:
    redactor = Redactor()
    multipart = (
        '--XyZ\r\nContent-Disposition: form-data; name="client_secret"\r\n\r\nmultipart-secret-0015\r\n'
        '--XyZ\r\nContent-Disposition: form-data; name="note"\r\nContent-Type: text/plain\r\n\r\n'
        "hello world\r\n--XyZ--\r\n"
    )
    form = "grant_type=password&username=me&password=form-password-0015"
    record = {
        "type": "exchange",
        "request": {"headers": {}, "body_text": multipart},
        "response": {"headers": {}, "body_text": form},
    }
    redacted = redactor.redact_record(record)
    assert redacted["request"]["body_text"] == multipart.replace(
        "multipart-secret-0015", marker("multipart-secret-0015")
    )
    assert redacted["response"]["body_text"] == form.replace(
        "form-password-0015", marker("form-password-0015")
    )


def test_the_excerpt_of_an_over_long_header_in_a_parser_error_is_masked() -> None:
    stream = io.StringIO()
    logger = logging.getLogger("test_redact.parser_excerpt")
    handler = logging.StreamHandler(stream)
    handler.addFilter(ScrubFilter(Redactor()))
    logger.addHandler(handler)
    try:
        try:
            excerpt = "b'Bearer plain-excerpt-0015AAAA...'"
            raise ValueError(f"400, message:\n  Got more than 65536 bytes when reading: {excerpt}.")
        except ValueError:
            logger.exception("Error handling request")
    finally:
        logger.removeHandler(handler)
    text = stream.getvalue()
    assert "plain-excerpt-0015" not in text
    assert "Got more than 65536 bytes when reading: [REDACTED:" in text
