"""Which API an exchange speaks, and which provider served it.

`detect_api` decides from the request path first (the endpoints are unambiguous), then, for a path we
do not know (a gateway, a forward-proxied custom host), from the shape of the response and the request
bodies. Only generation calls get an API; count/token endpoints, model lists, embeddings, telemetry,
Code Assist's housekeeping calls and anything unknown are "raw" turns (still shown).

`provider_of` names who served the call: from the upstream host first, else from the model name (a
loopback upstream in tests and the demo).

This module knows URLs and body shapes, not how to normalize them.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from claude_tap.normalize.blocks import as_dict, as_list
from claude_tap.normalize.model import Api, JsonValue

GEMINI_VERBS = frozenset({"generateContent", "streamGenerateContent"})
# Endpoints under an API's path that are not model calls (the suffix decides before the API does).
_RAW_SUFFIXES = ("/count_tokens", "/input_tokens", "/models", "/embeddings", "/moderations", "/batches")
_ANTHROPIC_ONLY_BLOCKS = frozenset({"tool_use", "tool_result", "thinking", "redacted_thinking"})

_HOST_PROVIDERS = (
    ("anthropic.com", "anthropic"),
    ("openai.com", "openai"),
    ("chatgpt.com", "openai"),
    ("googleapis.com", "google"),
    ("deepseek.com", "deepseek"),
    ("moonshot.ai", "moonshot"),
    ("moonshot.cn", "moonshot"),
    ("kimi.com", "moonshot"),
    ("cursor.sh", "cursor"),
    ("openrouter.ai", "openrouter"),
    ("tencent.com", "tencent"),
    ("z.ai", "zhipu"),
    ("bigmodel.cn", "zhipu"),
    ("x.ai", "xai"),
    ("mistral.ai", "mistral"),
)
_MODEL_PROVIDERS = (
    ("claude", "anthropic"),
    ("gpt-", "openai"),
    ("o1", "openai"),
    ("o3", "openai"),
    ("o4", "openai"),
    ("codex", "openai"),
    ("gemini", "google"),
    ("deepseek", "deepseek"),
    ("kimi", "moonshot"),
    ("moonshot", "moonshot"),
)


def detect_api(method: str, path: str, request: JsonValue, response: JsonValue, transport: str) -> Api:
    route = path.split("?", 1)[0].rstrip("/")
    if transport == "websocket":
        return "openai_responses" if route.endswith("/responses") else "raw"
    if method.upper() != "POST" or route.endswith(_RAW_SUFFIXES):
        return "raw"
    last_segment = route.rsplit("/", 1)[-1]
    if ":" in last_segment:  # Google's custom methods: models/x:generateContent, v1internal:...
        return "gemini" if last_segment.rsplit(":", 1)[-1] in GEMINI_VERBS else "raw"
    if route.endswith("/messages"):
        return "anthropic_messages" if isinstance(as_dict(request).get("messages"), list) else "raw"
    if route.endswith("/chat/completions"):
        return "chat_completions" if isinstance(as_dict(request).get("messages"), list) else "raw"
    if route.endswith("/responses") or route.endswith("/responses/compact"):
        return "openai_responses" if isinstance(request, dict) else "raw"
    return _api_by_shape(request, response)


def _api_by_shape(request: JsonValue, response: JsonValue) -> Api:
    reply = as_dict(response)
    if reply.get("type") == "message" and "content" in reply:
        return "anthropic_messages"
    if reply.get("object") == "response":
        return "openai_responses"
    if reply.get("object") == "chat.completion":
        return "chat_completions"
    if "candidates" in reply or "candidates" in as_dict(reply.get("response")):
        return "gemini"
    body = as_dict(request)
    if isinstance(body.get("contents"), list) or isinstance(
        as_dict(body.get("request")).get("contents"), list
    ):
        return "gemini"
    if isinstance(body.get("messages"), list) and "model" in body:
        return "anthropic_messages" if _looks_anthropic(body) else "chat_completions"
    if "input" in body and "model" in body:
        return "openai_responses"
    return "raw"


def _looks_anthropic(body: dict[str, JsonValue]) -> bool:
    """Chat Completions has no top-level system and no typed tool blocks; Bedrock/Vertex name a version."""
    if "system" in body or "anthropic_version" in body:
        return True
    for message in as_list(body.get("messages")):
        for block in as_list(as_dict(message).get("content")):
            if as_dict(block).get("type") in _ANTHROPIC_ONLY_BLOCKS:
                return True
    return False


def provider_of(url: str, model: str | None) -> str:
    host = (urlsplit(url).hostname or "").lower()
    for domain, provider in _HOST_PROVIDERS:
        if host == domain or host.endswith("." + domain):
            return provider
    name = (model or "").lower().rsplit("/", 1)[-1]
    for prefix, provider in _MODEL_PROVIDERS:
        if name.startswith(prefix):
            return provider
    return "unknown"
