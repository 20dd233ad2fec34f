"""Usage has one meaning everywhere: input_tokens excludes cached tokens (normalize/usage.py)."""

from __future__ import annotations

from claude_tap.normalize.usage import (
    add_usage,
    anthropic_usage,
    chat_completions_usage,
    gemini_usage,
    openai_responses_usage,
    usage_of,
)
from tests.factories import json_exchange_record, websocket_exchange_record, ws_frame


def test_anthropic_input_already_excludes_cache() -> None:
    usage = anthropic_usage(
        {
            "input_tokens": 12,
            "cache_creation_input_tokens": 1200,
            "cache_read_input_tokens": 18000,
            "output_tokens": 7,
        }
    )
    assert usage == {
        "input_tokens": 12,
        "output_tokens": 7,
        "cache_read_tokens": 18000,
        "cache_write_tokens": 1200,
        "reasoning_tokens": 0,
        "total_tokens": 19219,
    }


def test_anthropic_cache_write_from_ttl_breakdown_when_total_missing() -> None:
    usage = anthropic_usage(
        {
            "input_tokens": 1,
            "output_tokens": 1,
            "cache_creation": {"ephemeral_5m_input_tokens": 30, "ephemeral_1h_input_tokens": 70},
        }
    )
    assert usage is not None and usage["cache_write_tokens"] == 100


def test_openai_responses_subtracts_cached_from_input() -> None:
    usage = openai_responses_usage(
        {
            "input_tokens": 9000,
            "input_tokens_details": {"cached_tokens": 7680},
            "output_tokens": 300,
            "output_tokens_details": {"reasoning_tokens": 192},
            "total_tokens": 9300,
        }
    )
    assert usage == {
        "input_tokens": 1320,
        "output_tokens": 300,
        "cache_read_tokens": 7680,
        "cache_write_tokens": 0,
        "reasoning_tokens": 192,
        "total_tokens": 9300,
    }


def test_chat_completions_openai_cached_tokens() -> None:
    usage = chat_completions_usage(
        {
            "prompt_tokens": 2006,
            "completion_tokens": 300,
            "prompt_tokens_details": {"cached_tokens": 1920},
            "completion_tokens_details": {"reasoning_tokens": 64},
        }
    )
    assert usage is not None
    assert (usage["input_tokens"], usage["cache_read_tokens"], usage["reasoning_tokens"]) == (86, 1920, 64)
    assert usage["total_tokens"] == 2306


def test_chat_completions_deepseek_cache_hit_tokens() -> None:
    usage = chat_completions_usage(
        {
            "prompt_tokens": 64,
            "completion_tokens": 2,
            "prompt_cache_hit_tokens": 48,
            "prompt_cache_miss_tokens": 16,
        }
    )
    assert usage is not None
    assert (usage["input_tokens"], usage["cache_read_tokens"], usage["output_tokens"]) == (16, 48, 2)


def test_chat_completions_moonshot_top_level_cached_tokens() -> None:
    usage = chat_completions_usage({"prompt_tokens": 1500, "completion_tokens": 30, "cached_tokens": 1024})
    assert usage is not None and (usage["input_tokens"], usage["cache_read_tokens"]) == (476, 1024)


def test_gemini_subtracts_cached_and_counts_thoughts_as_output() -> None:
    usage = gemini_usage(
        {
            "promptTokenCount": 5000,
            "candidatesTokenCount": 40,
            "cachedContentTokenCount": 4000,
            "thoughtsTokenCount": 120,
            "toolUsePromptTokenCount": 7,
            "totalTokenCount": 5167,
        }
    )
    assert usage == {
        "input_tokens": 1007,
        "output_tokens": 160,
        "cache_read_tokens": 4000,
        "cache_write_tokens": 0,
        "reasoning_tokens": 120,
        "total_tokens": 5167,
    }


def test_more_cached_than_prompt_clamps_input_to_zero() -> None:
    usage = chat_completions_usage(
        {"prompt_tokens": 10, "completion_tokens": 1, "prompt_cache_hit_tokens": 12}
    )
    assert usage is not None and usage["input_tokens"] == 0


def test_no_usage_object_is_none() -> None:
    assert anthropic_usage(None) is None
    assert openai_responses_usage({}) is None
    assert chat_completions_usage("garbage") is None
    assert gemini_usage({"unrelated": 1}) is None


def test_non_numeric_counts_read_as_zero() -> None:
    usage = anthropic_usage({"input_tokens": "12", "output_tokens": True})
    assert usage is not None and (usage["input_tokens"], usage["output_tokens"]) == (0, 0)


def test_add_usage() -> None:
    a = anthropic_usage(
        {
            "input_tokens": 1,
            "output_tokens": 2,
            "cache_read_input_tokens": 3,
            "cache_creation_input_tokens": 4,
        }
    )
    b = openai_responses_usage(
        {
            "input_tokens": 10,
            "input_tokens_details": {"cached_tokens": 5},
            "output_tokens": 6,
            "output_tokens_details": {"reasoning_tokens": 1},
        }
    )
    assert add_usage(a, b) == {
        "input_tokens": 6,
        "output_tokens": 8,
        "cache_read_tokens": 8,
        "cache_write_tokens": 4,
        "reasoning_tokens": 1,
        "total_tokens": 26,
    }
    assert add_usage(None, b) == b
    assert add_usage(a, None) == a
    assert add_usage(None, None) is None


def _exchange(path: str, request: object, response: object, **extra: object) -> dict[str, object]:
    return json_exchange_record(1, request, response, path=path, upstream="https://api.example.com", **extra)


def test_usage_of_an_exchange_record() -> None:
    record = _exchange(
        "/v1/chat/completions",
        {"model": "deepseek-chat", "messages": [{"role": "user", "content": "hi"}]},
        {
            "choices": [],
            "usage": {"prompt_tokens": 64, "completion_tokens": 2, "prompt_cache_hit_tokens": 48},
        },
    )
    usage = usage_of(record)
    assert usage is not None and (usage["input_tokens"], usage["cache_read_tokens"]) == (16, 48)


def test_usage_of_a_websocket_record_adds_every_response() -> None:
    done = {
        "type": "response.completed",
        "response": {"id": "r", "output": [], "usage": {"input_tokens": 100, "output_tokens": 10}},
    }
    create = {"type": "response.create", "model": "gpt-5", "input": []}
    record = websocket_exchange_record(
        1,
        [
            ws_frame(0, "client", create),
            ws_frame(5, "server", done),
            ws_frame(6, "client", create),
            ws_frame(9, "server", done),
        ],
        upstream="https://api.example.com",
    )
    usage = usage_of(record)
    assert usage is not None and (usage["input_tokens"], usage["output_tokens"]) == (200, 20)


def test_usage_of_records_without_usage() -> None:
    assert usage_of({"type": "session"}) is None
    assert usage_of(_exchange("/v1/models", None, {"data": []})) is None
    assert usage_of("not a record") is None
