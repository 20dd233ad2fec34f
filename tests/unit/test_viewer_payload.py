"""viewer/payload.py (interning, encoding) and viewer/html.py (the page around it, its CSP)."""

from __future__ import annotations

import base64
import copy
import gzip
import hashlib
import json
import re
import tracemalloc
from pathlib import Path

from claude_tap.normalize.pricing import prices_as_of
from claude_tap.viewer.html import SCRIPTS, render_html, write_html
from claude_tap.viewer.payload import build_payload, decode_payload, encode_payload, expand_turns
from tests.browser.fixtures.synthetic import growing_session, raw_jsonl_bytes
from tests.browser.fixtures.turns import SESSION_INFO, make_turn, sample_turns, text, user, xss_turns


def message(word: str, role: str = "user") -> dict:
    return {"role": role, "content": [text(word)]}


def conversation_turns() -> list:
    """Three turns of one conversation, each repeating the last and answering with the next message."""
    a, b, c, d, e = (
        message("A"),
        message("B", "assistant"),
        message("C"),
        message("D", "assistant"),
        message("E"),
    )
    return [
        make_turn(0, messages=[a], output=[text("B")], request_body={"messages": ["a"], "stream": True}),
        make_turn(
            1,
            messages=[a, b, c],
            output=[text("D")],
            prev=0,
            request_body={"messages": ["a", "b", "c"], "stream": True},
        ),
        make_turn(
            2,
            messages=copy.deepcopy(
                [a, b, c, d, e]
            ),  # equal, not the same objects: as a normalizer makes them
            prev=1,
            request_body={"messages": ["a", "b", "c", "d", "e"], "stream": True},
        ),
    ]


# -- build_payload -------------------------------------------------------------------------------


def test_each_distinct_message_is_stored_once_and_turns_refer_to_it() -> None:
    payload = build_payload(SESSION_INFO, conversation_turns())

    assert payload["messages"] == [
        message("A"),
        message("B", "assistant"),
        message("C"),
        message("D", "assistant"),
        message("E"),
        {"role": "assistant", "content": []},  # the empty output of turn 2
    ]
    assert [turn["message_refs"] for turn in payload["turns"]] == [[0], [0, 1, 2], [0, 1, 2, 3, 4]]


def test_an_output_shares_its_entry_with_the_same_message_in_the_next_request() -> None:
    payload = build_payload(SESSION_INFO, conversation_turns())

    assert [turn["output_ref"] for turn in payload["turns"]] == [1, 3, 5]


def test_system_prompts_and_tool_lists_are_stored_once() -> None:
    tools = [{"name": "Read", "description": "read", "input_schema": {"type": "object"}}]
    turns = [make_turn(i, system=[text("be brief")], tools=copy.deepcopy(tools)) for i in range(3)]
    turns.append(make_turn(3, system=[text("be verbose")], tools=[]))

    payload = build_payload(SESSION_INFO, turns)

    assert payload["systems"] == [[text("be brief")], [text("be verbose")]]
    assert payload["toolsets"] == [tools, []]
    assert [t["system_ref"] for t in payload["turns"]] == [0, 0, 0, 1]
    assert [t["tools_ref"] for t in payload["turns"]] == [0, 0, 0, 1]


def test_request_body_lists_are_interned_item_by_item_and_other_values_whole() -> None:
    payload = build_payload(SESSION_INFO, conversation_turns())

    assert payload["values"] == ["a", True, "b", "c", "d", "e"]
    assert payload["turns"][2]["request_parts"] == [["messages", [0, 2, 3, 4, 5]], ["stream", 1]]
    assert "request_body" not in payload["turns"][2]


def test_a_request_body_that_is_not_an_object_is_kept_as_is() -> None:
    turns = [make_turn(0, request_body="plain text body"), make_turn(1, request_body=None)]

    payload = build_payload(SESSION_INFO, turns)

    assert [t["request_body"] for t in payload["turns"]] == ["plain text body", None]
    assert payload["values"] == []


def test_expanding_a_payload_gives_back_every_sample_turn_exactly() -> None:
    turns = sample_turns() + xss_turns()

    assert expand_turns(build_payload(SESSION_INFO, turns)) == turns


def test_values_equal_in_python_but_different_in_json_are_kept_apart() -> None:
    turns = [
        make_turn(0, request_body={"flags": [1, 1.5]}),
        make_turn(1, request_body={"flags": [True, 1.5]}),
    ]

    expanded = expand_turns(build_payload(SESSION_INFO, turns))

    assert [json.dumps(t["request_body"]) for t in expanded] == [
        '{"flags": [1, 1.5]}',
        '{"flags": [true, 1.5]}',
    ]


def test_a_changed_message_at_the_same_position_gets_its_own_entry() -> None:
    turns = [make_turn(0, messages=[message("draft")]), make_turn(1, messages=[message("final")], prev=0)]

    payload = build_payload(SESSION_INFO, turns)

    assert [t["message_refs"] for t in payload["turns"]] == [[0], [2]]
    assert payload["messages"][2] == message("final")


def test_a_long_string_in_several_places_is_stored_once_and_put_back() -> None:
    long_text = "x" * 300
    turns = [
        make_turn(
            0,
            messages=[user(text(long_text))],
            request_body={"messages": [{"role": "user", "content": long_text}]},
            response_body={"echo": long_text, "short": "y"},
        )
    ]
    original = copy.deepcopy(turns)

    payload = build_payload(SESSION_INFO, turns)

    assert payload["strings"] == [long_text]
    assert payload["string_refs"] == {
        "messages": [[0, ["content", 0, "text"], 0]],
        "values": [[0, ["content"], 0]],
        "turns": [[0, ["response_body", "echo"], 0]],
    }
    assert payload["messages"][0] == user(text(""))
    assert payload["turns"][0]["response_body"] == {"echo": "", "short": "y"}
    assert turns == original  # the caller's turns are not touched
    assert expand_turns(payload) == turns


def test_a_long_string_found_once_stays_where_it_is() -> None:
    payload = build_payload(SESSION_INFO, [make_turn(0, messages=[user(text("z" * 300))])])

    assert payload["strings"] == []
    assert payload["messages"][0] == user(text("z" * 300))


# -- encode_payload ------------------------------------------------------------------------------


def test_encoding_is_base64_of_gzip_of_compact_json() -> None:
    encoded = encode_payload({"a": [1, "é"]})

    assert gzip.decompress(base64.b64decode(encoded)) == '{"a":[1,"é"]}'.encode()
    assert encoded == encode_payload({"a": [1, "é"]})  # no timestamp in the gzip header
    assert decode_payload(encoded) == {"a": [1, "é"]}


def test_nan_and_infinity_become_strings_the_browser_can_parse() -> None:
    data = gzip.decompress(base64.b64decode(encode_payload({"t": [float("nan"), float("inf")]})))

    assert data == b'{"t":["nan","inf"]}'


def test_a_lone_surrogate_from_a_trace_is_escaped_not_fatal() -> None:
    data = gzip.decompress(base64.b64decode(encode_payload({"s": "a\ud800b"})))

    assert data == b'{"s":"a\\ud800b"}'


def test_the_encoded_text_is_exactly_the_compact_json_of_the_whole_payload() -> None:
    payload = build_payload(SESSION_INFO, [*sample_turns(), *growing_session(12)])
    payload["turns"][3]["error"] = "lone \udc80 surrogate"  # escaped in its own piece only

    data = gzip.decompress(base64.b64decode(encode_payload(payload)))

    assert json.loads(data) == payload
    whole = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    assert data == whole.replace("\udc80", "\\udc80").encode()


def test_encoding_never_holds_the_whole_json_text() -> None:
    """The page of 25,000 small turns is 60 MB of JSON that compresses to 1 MB: made piece by
    piece, the text is compressed as it comes and never held whole (once as str, once as bytes)."""
    turn = {"id": "", "request_headers": {"user-agent": "agent/1.0", "accept": "*/*"}, "note": "x" * 600}
    payload = {"version": 1, "turns": [{**turn, "id": f"turn-{n}"} for n in range(20_000)]}
    text_bytes = len(json.dumps(payload, separators=(",", ":")))

    tracemalloc.start()
    try:
        encoded = encode_payload(payload)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    assert text_bytes > 13_000_000
    assert peak < text_bytes / 4
    assert decode_payload(encoded) == payload


def test_a_long_session_shrinks_to_a_small_payload() -> None:
    turns = growing_session(60)

    encoded = encode_payload(build_payload(SESSION_INFO, turns))

    assert raw_jsonl_bytes(turns) > 9_000_000
    assert len(encoded) < 900_000


# -- render_html ---------------------------------------------------------------------------------


def inline(page: str, tag: str) -> str:
    match = re.search(rf"<{tag}>(.*?)</{tag}>", page, re.DOTALL)
    assert match is not None
    return match.group(1)


def csp_of(page: str) -> str:
    match = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">', page)
    assert match is not None
    return match.group(1)


def sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def test_the_csp_allows_exactly_the_inline_script_and_style_and_no_network() -> None:
    page = render_html(SESSION_INFO, sample_turns())

    assert csp_of(page) == (
        f"default-src 'none'; script-src {sha256(inline(page, 'script'))}; "
        f"style-src {sha256(inline(page, 'style'))}; "
        "img-src data:; connect-src 'none'; base-uri 'none'; form-action 'none'"
    )
    assert re.findall(r"<script>", page) == ["<script>"]  # the only executable script is the hashed one
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)


def test_live_pages_may_connect_to_their_own_server_and_carry_the_events_url() -> None:
    page = render_html(SESSION_INFO, [], live={"events_url": "/events?token=abc&since=0"})

    assert "connect-src 'self';" in csp_of(page)
    config = re.search(r'<script type="application/json" id="tap-config">(.*?)</script>', page)
    assert config is not None
    assert json.loads(config.group(1)) == {
        "live": {"events_url": "/events?token=abc&since=0"},
        "lang": None,
        "prices_as_of": prices_as_of(),
    }


def test_the_page_carries_the_encoded_payload_of_its_turns() -> None:
    turns = sample_turns()

    page = render_html(SESSION_INFO, turns)

    block = re.search(
        r'<script type="application/octet-stream" id="tap-payload">([A-Za-z0-9+/=]*)</script>', page
    )
    assert block is not None
    assert expand_turns(decode_payload(block.group(1))) == turns


def test_trace_text_cannot_close_a_script_element_or_the_title() -> None:
    info = {**SESSION_INFO, "client": "</title><script>alert(1)</script>"}

    page = render_html(info, xss_turns(), live={"events_url": "/events?x=</script><script>alert(2)</script>"})

    assert page.count("</script>") == 4  # config, strings, payload, viewer
    assert (
        "<title>claude-tap: &lt;/title&gt;&lt;script&gt;alert(1)&lt;/script&gt;"
        " · 2025-11-20 09:15 · 2 turns</title>" in page
    )
    assert "\\u003c/script\\u003e\\u003cscript\\u003ealert(2)\\u003c/script\\u003e" in page


def test_the_language_can_be_chosen_when_rendering() -> None:
    assert render_html(SESSION_INFO, [], lang="zh-CN").startswith('<!DOCTYPE html>\n<html lang="zh-CN">')
    assert render_html(SESSION_INFO, [], lang=None).startswith('<!DOCTYPE html>\n<html lang="en">')


def test_write_html_writes_the_rendered_page(tmp_path: Path) -> None:
    target = tmp_path / "trace.html"

    write_html(target, SESSION_INFO, sample_turns())

    assert target.read_text(encoding="utf-8") == render_html(SESSION_INFO, sample_turns())
    assert [p.name for p in tmp_path.iterdir()] == ["trace.html"]  # no temporary file left behind


def test_every_string_the_page_asks_for_exists_in_both_languages() -> None:
    assets = Path(__file__).resolve().parents[2] / "claude_tap" / "viewer" / "assets"
    strings = json.loads((assets / "i18n.json").read_text(encoding="utf-8"))
    source = "".join(path.read_text(encoding="utf-8") for path in assets.glob("*.js"))
    template = (assets / "template.html").read_text(encoding="utf-8")
    asked = set(re.findall(r'\bt\("([\w.]+\w)"', source))  # t("tab." + name): prefixes, listed below
    asked |= {key for pair in re.findall(r'plural\([^,]+, "([\w.]+)", "([\w.]+)"\)', source) for key in pair}
    asked |= set(re.findall(r'data-i18n(?:-placeholder|-title)?="([\w.]+)"', template))
    asked |= {
        "tab." + tab for tab in ("overview", "tools", "response", "events", "headers", "usage", "diff", "raw")
    }
    asked |= {
        "api." + api
        for api in ("anthropic_messages", "openai_responses", "chat_completions", "gemini", "raw")
    }
    asked |= {"live." + state for state in ("live", "reconnecting", "ended")}

    assert len(asked) > 150
    assert sorted(asked - set(strings["en"])) == []
    assert sorted(asked - set(strings["zh"])) == []
    assert set(strings["en"]) == set(strings["zh"])


def test_every_script_asset_is_in_the_page_once() -> None:
    assets = Path(__file__).resolve().parents[2] / "claude_tap" / "viewer" / "assets"
    page = render_html(SESSION_INFO, [])

    assert sorted(SCRIPTS) == sorted(path.name for path in assets.glob("*.js"))
    for name in SCRIPTS:
        assert page.count(f"/* ---- {name} ---- */") == 1


def test_a_turn_takes_the_refs_of_the_run_it_repeats_and_only_that() -> None:
    from claude_tap.viewer.payload import _shared_run

    history = [{"role": "user", "content": f"m{n}"} for n in range(50)]
    assert _shared_run(history + [{"role": "user", "content": "new"}], history) == 50
    moved = [*history[:-1], {**history[-1], "cache_control": {"type": "ephemeral"}}]
    assert _shared_run(moved, history) == 49  # the cache breakpoint moved off the last message
    assert _shared_run([dict(item) for item in history], history) == 50  # equal, not the same objects
    assert _shared_run([{"role": "user", "content": "other"}, *history[1:]], history) == 0
    assert _shared_run([1, "a"], [True, "a"]) == 0  # == says 1 is True; the page must not
