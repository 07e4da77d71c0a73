"""A `ModelClient` on the official `openai` SDK: OpenAI or any OpenAI-compatible server
(vLLM, Ollama, llama.cpp, LiteLLM), chat completions, streamed or not.

Structured answers use `response_format` json_schema; tool calls (the ReAct baseline
only) use `tools`. The SDK's own retries are off: `Retrying` decides, so every attempt is
bounded and accounted for. Answers longer than the deployment allows are cut off while
streaming and refused either way.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from plangate.model.client import (
    Classified,
    Message,
    ModelRequest,
    ModelResponse,
    SdkClient,
    ToolCall,
    answer_char_limit,
    classify_status,
    input_token_bound,
    max_tokens_of,
)
from plangate.model.config import ModelConfig
from plangate.model.errors import ModelError, ModelOutputError


class OpenAIClient(SdkClient):
    def __init__(self, config: ModelConfig, *, sleep: Callable[[float], None] | None = None,
                 api_key: str | None = None) -> None:
        import openai

        super().__init__(config, sleep)
        self._sdk = openai.OpenAI(api_key=api_key or config.api_key(), base_url=config.base_url,
                                  timeout=config.timeout, max_retries=0)

    def _classify(self, exc: Exception) -> Classified:
        return _classify(exc)

    def _attempt(self, request: ModelRequest) -> ModelResponse:
        cfg = self._config
        max_tokens = max_tokens_of(request, cfg)
        params: dict[str, Any] = {"model": cfg.model, "messages": _messages(request),
                                  "max_tokens": max_tokens}
        if cfg.temperature is not None:
            params["temperature"] = cfg.temperature
        if request.output is not None:
            params["response_format"] = {"type": "json_schema", "json_schema": {
                "name": request.output.name, "schema": dict(request.output.schema), "strict": False}}
        if request.tools:
            params["tools"] = [{"type": "function", "function": {
                "name": t.name, "description": t.description, "parameters": dict(t.parameters)}}
                for t in request.tools]
        if cfg.stream:
            return self._streamed(params, request, max_tokens)
        completion = self._sdk.chat.completions.create(**params)
        if not completion.choices:
            raise ModelOutputError(f"{cfg.label}: the answer has no choices")
        choice = completion.choices[0]
        text = choice.message.content or ""
        calls = tuple(ToolCall(id=c.id, name=c.function.name, arguments=_arguments(c.function.arguments, cfg))
                      for c in (choice.message.tool_calls or []) if getattr(c, "function", None))
        self._check_size(text, calls, max_tokens)
        usage = completion.usage
        return ModelResponse(
            text=text, tool_calls=calls, model=completion.model or cfg.model,
            finish_reason=str(choice.finish_reason or ""),
            tokens_in=usage.prompt_tokens if usage else input_token_bound(request),
            tokens_out=usage.completion_tokens if usage else max_tokens,
            usage_reported=usage is not None)

    def _streamed(self, params: dict[str, Any], request: ModelRequest, max_tokens: int) -> ModelResponse:
        cfg = self._config
        limit = answer_char_limit(max_tokens)
        text: list[str] = []
        size = 0
        calls: dict[int, dict[str, Any]] = {}
        finish = ""
        model = cfg.model
        usage = None
        stream = self._sdk.chat.completions.create(**params, stream=True,
                                                   stream_options={"include_usage": True})
        with stream:
            for chunk in stream:
                model = chunk.model or model
                if chunk.usage is not None:
                    usage = chunk.usage
                for choice in chunk.choices or []:
                    delta = choice.delta
                    if delta is not None and delta.content:
                        text.append(delta.content)
                        size += len(delta.content)
                    for tc in (delta.tool_calls or []) if delta is not None else []:
                        slot = calls.setdefault(tc.index, {"id": "", "name": "", "arguments": ""})
                        slot["id"] = tc.id or slot["id"]
                        if tc.function is not None:
                            slot["name"] += tc.function.name or ""
                            slot["arguments"] += tc.function.arguments or ""
                            size += len(tc.function.arguments or "")
                    if choice.finish_reason:
                        finish = str(choice.finish_reason)
                if size > limit:
                    raise ModelOutputError(f"{cfg.label}: the streamed answer passed {limit} characters "
                                           f"(max_tokens {max_tokens}); cut off")
        if not finish and not text and not calls and usage is None:
            raise ModelOutputError(f"{cfg.label}: the stream ended without an answer")
        tool_calls = tuple(ToolCall(id=c["id"], name=c["name"], arguments=_arguments(c["arguments"], cfg))
                           for _i, c in sorted(calls.items()))
        return ModelResponse(
            text="".join(text), tool_calls=tool_calls, model=model, finish_reason=finish, streamed=True,
            tokens_in=usage.prompt_tokens if usage else input_token_bound(request),
            tokens_out=usage.completion_tokens if usage else max_tokens,
            usage_reported=usage is not None)


def _messages(request: ModelRequest) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [{"role": "system", "content": request.system}]
    for m in request.messages:
        out.append(_message(m))
    return out


def _message(m: Message) -> dict[str, Any]:
    if m.role == "tool":
        return {"role": "tool", "tool_call_id": m.tool_call_id, "content": m.content}
    msg: dict[str, Any] = {"role": m.role, "content": m.content}
    if m.tool_calls:
        msg["tool_calls"] = [{"id": c.id, "type": "function", "function": {
            "name": c.name, "arguments": json.dumps(c.arguments, ensure_ascii=False)}} for c in m.tool_calls]
    return msg


def _arguments(text: str | None, cfg: ModelConfig) -> dict[str, Any]:
    try:
        value = json.loads(text or "{}")
    except (ValueError, RecursionError):
        raise ModelOutputError(f"{cfg.label}: tool call arguments are not JSON") from None
    if not isinstance(value, dict):
        raise ModelOutputError(f"{cfg.label}: tool call arguments are not a JSON object")
    return value


def _classify(exc: Exception) -> Classified:
    import openai

    if isinstance(exc, ModelError):
        return None
    if isinstance(exc, openai.APITimeoutError):
        return "timeout", None, None
    if isinstance(exc, openai.APIConnectionError):
        return "connection", None, None
    if isinstance(exc, openai.APIStatusError):
        return classify_status(exc.status_code, dict(exc.response.headers.items()))
    return "malformed", None, None


__all__ = ["OpenAIClient"]
