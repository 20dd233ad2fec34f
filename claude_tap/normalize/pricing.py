"""Cost of a turn from the price table shipped in the package (prices.json, with its `as_of` date).

A model name is matched by exact id first, then by the longest known id it starts with, but only when
the rest is a snapshot suffix (a date, `-latest`, `-preview`, a Vertex `@...` or Bedrock `-v2:0`
version): `claude-sonnet-4-5-20250929` is priced as `claude-sonnet-4-5`, while `gpt-5.4` or
`gemini-2.5-flash-image` are different models and stay unpriced. An unknown model costs None: never a
guess. Vendor prefixes (`models/`, `anthropic/`, `us.anthropic.`) are dropped before matching.

This module knows prices, not APIs: it reads only the normalized Usage.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

from claude_tap.normalize.model import Usage

TOKENS_PER_UNIT = 1_000_000  # prices are USD per million tokens

# One suffix segment of a dated or versioned snapshot of the same model.
_SNAPSHOT_SEGMENT = (
    r"-\d{4,8}(?:-\d{2}){0,2}"  # -20250929, -2025-04-16, -0905
    r"|-\d{2}-\d{2,4}"  # -06-05, -09-2025 (Gemini previews)
    r"|-latest|-preview|-exp"
    r"|-v\d+(?::\d+)?"  # Bedrock -v2:0
    r"|@[\w.-]+"  # Vertex @20250929
    r"|\[\w+\]"  # Claude Code's [1m]
)
_SNAPSHOT_SUFFIX = re.compile(rf"(?:{_SNAPSHOT_SEGMENT})+")
_BEDROCK_PREFIX = re.compile(r"^(?:[a-z]{2,4}\.)?anthropic\.")


@dataclass(frozen=True, slots=True)
class Price:
    input: float
    output: float
    cache_read: float
    cache_write: float
    long_context: LongContextPrice | None = None


@dataclass(frozen=True, slots=True)
class LongContextPrice:
    above_prompt_tokens: int
    price: Price


def _price_from_json(raw: dict[str, object]) -> Price:
    long_raw = raw.get("long_context")
    long_context = None
    if isinstance(long_raw, dict):
        long_context = LongContextPrice(int(long_raw["above_prompt_tokens"]), _price_from_json(long_raw))
    return Price(
        input=float(raw["input"]),  # type: ignore[arg-type]
        output=float(raw["output"]),  # type: ignore[arg-type]
        cache_read=float(raw["cache_read"]),  # type: ignore[arg-type]
        cache_write=float(raw["cache_write"]),  # type: ignore[arg-type]
        long_context=long_context,
    )


@cache
def _table() -> tuple[str, dict[str, Price | None]]:
    text = resources.files("claude_tap.normalize").joinpath("prices.json").read_text(encoding="utf-8")
    raw = json.loads(text)
    models = {
        name: None if entry is None else _price_from_json(entry) for name, entry in raw["models"].items()
    }
    return raw["as_of"], models


def prices_as_of() -> str:
    """The date the shipped price table was checked (ISO date)."""
    return _table()[0]


def canonical_model_name(model: str) -> str:
    """The bare model id: vendor prefixes dropped, lower case, Claude's dotted versions dashed."""
    name = model.strip().lower().rsplit("/", 1)[-1]
    name = _BEDROCK_PREFIX.sub("", name)
    if name.startswith("claude-"):
        name = name.replace(".", "-")  # OpenRouter spells claude-sonnet-4.5
    return name


def price_of(model: str | None) -> Price | None:
    if not model:
        return None
    name = canonical_model_name(model)
    models = _table()[1]
    if name in models:
        return models[name]
    best: str | None = None
    for known in models:
        is_snapshot = name.startswith(known) and _SNAPSHOT_SUFFIX.fullmatch(name[len(known) :])
        if is_snapshot and (best is None or len(known) > len(best)):
            best = known
    return None if best is None else models[best]


def cost_of(model: str | None, usage: Usage | None) -> float | None:
    """USD for one turn, or None when the model is unknown or there is no usage."""
    price = price_of(model)
    if price is None or usage is None:
        return None
    prompt = usage["input_tokens"] + usage["cache_read_tokens"] + usage["cache_write_tokens"]
    if price.long_context is not None and prompt > price.long_context.above_prompt_tokens:
        price = price.long_context.price
    dollars = (
        usage["input_tokens"] * price.input
        + usage["output_tokens"] * price.output
        + usage["cache_read_tokens"] * price.cache_read
        + usage["cache_write_tokens"] * price.cache_write
    ) / TOKENS_PER_UNIT
    return round(dollars, 10)  # float noise would otherwise show up in exported JSON
