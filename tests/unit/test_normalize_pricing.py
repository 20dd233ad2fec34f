"""Cost from the shipped price table: exact id, dated snapshots by prefix, never a guess."""

from __future__ import annotations

import json
from importlib import resources

import pytest

from claude_tap.normalize.model import Usage
from claude_tap.normalize.pricing import canonical_model_name, cost_of, price_of, prices_as_of
from claude_tap.normalize.usage import make_usage

MILLION = make_usage(input_tokens=1_000_000, output_tokens=0)


def usage(**counts: int) -> Usage:
    counts.setdefault("input_tokens", 0)
    counts.setdefault("output_tokens", 0)
    return make_usage(**counts)


def test_table_has_a_date_and_complete_rows() -> None:
    raw = json.loads(resources.files("claude_tap.normalize").joinpath("prices.json").read_text())
    assert prices_as_of() == raw["as_of"]
    assert len(raw["as_of"]) == 10  # YYYY-MM-DD
    for name, row in raw["models"].items():
        if row is not None:
            assert {"input", "output", "cache_read", "cache_write"} <= set(row), name


@pytest.mark.parametrize(
    "model",
    [
        "claude-opus-4-5",
        "claude-opus-4-1",
        "claude-sonnet-4-5",
        "claude-sonnet-4",
        "claude-haiku-4-5",
        "claude-3-5-haiku",
        "claude-3-7-sonnet",
        "gpt-4o",
        "gpt-4.1",
        "gpt-5",
        "gpt-5-mini",
        "gpt-5-codex",
        "gpt-5.1-codex",
        "o3",
        "o4-mini",
        "gemini-2.5-pro",
        "gemini-2.5-flash",
        "gemini-2.0-flash",
        "deepseek-chat",
        "deepseek-reasoner",
        "kimi-k2-0905-preview",
    ],
)
def test_current_families_are_priced(model: str) -> None:
    assert price_of(model) is not None


def test_exact_id_cost() -> None:
    # 12 input, 245 output, 18,000 cache reads, 1,200 cache writes at Sonnet 4.5's $3 / $15 / $0.30 / $3.75.
    cost = cost_of(
        "claude-sonnet-4-5",
        usage(input_tokens=12, output_tokens=245, cache_read_tokens=18000, cache_write_tokens=1200),
    )
    assert cost == pytest.approx(0.013611)


@pytest.mark.parametrize(
    ("snapshot", "family"),
    [
        ("claude-sonnet-4-5-20250929", "claude-sonnet-4-5"),
        ("claude-opus-4-20250514", "claude-opus-4"),
        ("claude-3-5-haiku-latest", "claude-3-5-haiku"),
        ("gpt-4o-2024-08-06", "gpt-4o"),
        ("o4-mini-2025-04-16", "o4-mini"),
        ("gemini-2.5-flash-preview-09-2025", "gemini-2.5-flash"),
        ("gemini-2.5-pro-preview-06-05", "gemini-2.5-pro"),
        ("claude-sonnet-4-5@20250929", "claude-sonnet-4-5"),
    ],
)
def test_dated_snapshot_is_priced_as_its_model(snapshot: str, family: str) -> None:
    assert price_of(snapshot) == price_of(family)


def test_longest_known_prefix_wins() -> None:
    assert price_of("gpt-4o-mini-2024-07-18") == price_of("gpt-4o-mini")
    assert price_of("gpt-4o-mini-2024-07-18") != price_of("gpt-4o")
    assert price_of("claude-opus-4-5-20251101") == price_of("claude-opus-4-5")
    assert price_of("claude-opus-4-5-20251101") != price_of("claude-opus-4")


@pytest.mark.parametrize(
    "model",
    [
        "gpt-5.4",  # a different model, not a snapshot of gpt-5
        "gemini-2.5-flash-image",
        "claude-opus-4-9",  # a future version must not borrow Opus 4's price
        "o3-pro",  # listed as known-but-unpriced
        "kimi-k2-turbo-preview",
        "my-local-llama",
        "",
    ],
)
def test_unknown_model_is_unpriced(model: str) -> None:
    assert price_of(model) is None
    assert cost_of(model, MILLION) is None


def test_no_usage_or_no_model_is_unpriced() -> None:
    assert cost_of("gpt-5", None) is None
    assert cost_of(None, MILLION) is None


@pytest.mark.parametrize(
    ("spelling", "canonical"),
    [
        ("anthropic/claude-sonnet-4.5", "claude-sonnet-4-5"),
        ("us.anthropic.claude-3-5-haiku-20241022-v1:0", "claude-3-5-haiku-20241022-v1:0"),
        ("models/gemini-2.5-pro", "gemini-2.5-pro"),
        ("GPT-5", "gpt-5"),
    ],
)
def test_vendor_prefixes_are_dropped(spelling: str, canonical: str) -> None:
    assert canonical_model_name(spelling) == canonical
    assert price_of(spelling) is not None


def test_openai_cached_input_is_priced_as_cache_read() -> None:
    # gpt-5: $1.25 input, $0.125 cached, $10 output.
    cost = cost_of("gpt-5", usage(input_tokens=1320, cache_read_tokens=7680, output_tokens=300))
    assert cost == pytest.approx((1320 * 1.25 + 7680 * 0.125 + 300 * 10) / 1e6)


def test_long_context_tier_applies_to_the_whole_request_above_its_threshold() -> None:
    below = cost_of(
        "gemini-2.5-pro", usage(input_tokens=150_000, cache_read_tokens=50_000, output_tokens=1000)
    )
    above = cost_of(
        "gemini-2.5-pro", usage(input_tokens=150_000, cache_read_tokens=50_001, output_tokens=1000)
    )
    assert below == pytest.approx((150_000 * 1.25 + 50_000 * 0.125 + 1000 * 10) / 1e6)
    assert above == pytest.approx((150_000 * 2.5 + 50_001 * 0.25 + 1000 * 15) / 1e6)
