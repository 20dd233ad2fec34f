"""Which API a record speaks (path first, then body shape) and who served it."""

from __future__ import annotations

import pytest

from claude_tap.normalize.dispatch import detect_api, provider_of

MESSAGES = {"model": "claude-sonnet-4-5", "messages": [{"role": "user", "content": "hi"}]}
CHAT = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}


@pytest.mark.parametrize(
    ("method", "path", "request_body", "api"),
    [
        ("POST", "/v1/messages", MESSAGES, "anthropic_messages"),
        ("POST", "/v1/messages?beta=true", MESSAGES, "anthropic_messages"),
        ("POST", "/anthropic/v1/messages", MESSAGES, "anthropic_messages"),  # a gateway prefix
        ("POST", "/v1/messages/count_tokens?beta=true", MESSAGES, "raw"),
        ("POST", "/v1/messages/batches", {"requests": []}, "raw"),
        ("POST", "/v1/responses", {"model": "gpt-5", "input": "hi"}, "openai_responses"),
        ("POST", "/backend-api/codex/responses", {"model": "gpt-5", "input": []}, "openai_responses"),
        ("POST", "/v1/responses/compact", {"model": "gpt-5", "input": []}, "openai_responses"),
        ("POST", "/v1/responses/input_tokens", {"model": "gpt-5", "input": []}, "raw"),
        ("GET", "/v1/responses/resp_1", None, "raw"),
        ("POST", "/v1/chat/completions", CHAT, "chat_completions"),
        ("POST", "/coding/v1/chat/completions", CHAT, "chat_completions"),
        ("POST", "/v1/completions", {"model": "x", "prompt": "hi"}, "raw"),
        ("POST", "/v1beta/models/gemini-2.5-pro:generateContent", {"contents": []}, "gemini"),
        ("POST", "/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse", {"contents": []}, "gemini"),
        ("POST", "/v1internal:streamGenerateContent?alt=sse", {"model": "m", "request": {}}, "gemini"),
        ("POST", "/v1internal:generateContent", {"model": "m", "request": {}}, "gemini"),
        ("POST", "/v1beta/models/gemini-2.5-pro:countTokens", {"contents": []}, "raw"),
        ("POST", "/v1internal:loadCodeAssist", {"metadata": {}}, "raw"),
        ("GET", "/v1/models", None, "raw"),
        ("POST", "/api/event_logging/batch", {"events": []}, "raw"),
        ("POST", "/v1/messages", {"not": "a call"}, "raw"),
    ],
)
def test_api_by_path(method: str, path: str, request_body: object, api: str) -> None:
    assert detect_api(method, path, request_body, None, "http") == api


@pytest.mark.parametrize(
    ("request_body", "response_body", "api"),
    [
        (None, {"type": "message", "content": []}, "anthropic_messages"),
        (None, {"object": "response", "output": []}, "openai_responses"),
        (None, {"object": "chat.completion", "choices": []}, "chat_completions"),
        (None, {"response": {"candidates": []}}, "gemini"),
        ({"contents": [{"parts": []}]}, None, "gemini"),
        ({**MESSAGES, "system": "s"}, None, "anthropic_messages"),
        ({**MESSAGES, "anthropic_version": "bedrock-2023-05-31"}, None, "anthropic_messages"),
        (
            {
                "model": "m",
                "messages": [{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t"}]}],
            },
            None,
            "anthropic_messages",
        ),
        (CHAT, None, "chat_completions"),
        ({"model": "gpt-5", "input": "hi"}, None, "openai_responses"),
        ({"hello": "world"}, {"ok": True}, "raw"),
        ("plain text", None, "raw"),
    ],
)
def test_unknown_path_falls_back_to_body_shape(request_body: object, response_body: object, api: str) -> None:
    assert detect_api("POST", "/gateway/invoke", request_body, response_body, "http") == api


def test_websocket_on_a_responses_path_is_responses_anything_else_raw() -> None:
    assert detect_api("GET", "/v1/responses", None, None, "websocket") == "openai_responses"
    assert detect_api("GET", "/backend-api/codex/responses", None, None, "websocket") == "openai_responses"
    assert detect_api("GET", "/realtime", None, None, "websocket") == "raw"


@pytest.mark.parametrize(
    ("url", "model", "provider"),
    [
        ("https://api.anthropic.com/v1/messages", "claude-sonnet-4-5", "anthropic"),
        ("https://api.deepseek.com/anthropic/v1/messages", "deepseek-chat", "deepseek"),
        ("https://chatgpt.com/backend-api/codex/responses", "gpt-5", "openai"),
        ("https://cloudcode-pa.googleapis.com/v1internal:generateContent", "gemini-2.5-pro", "google"),
        ("https://api.kimi.com/coding/v1/chat/completions", "kimi-for-coding", "moonshot"),
        ("https://api.moonshot.ai/v1/chat/completions", "kimi-k2", "moonshot"),
        ("https://api2.cursor.sh/agent.v1.AgentService/Run", None, "cursor"),
        ("http://127.0.0.1:8123/v1/messages", "claude-haiku-4-5", "anthropic"),
        ("http://127.0.0.1:8123/v1/chat/completions", "o4-mini", "openai"),
        ("http://127.0.0.1:8123/v1/chat/completions", "llama-3", "unknown"),
        ("not a url", None, "unknown"),
    ],
)
def test_provider_from_host_then_model(url: str, model: str | None, provider: str) -> None:
    assert provider_of(url, model) == provider
