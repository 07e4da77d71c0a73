"""A `ModelClient` on the official `anthropic` SDK: the Messages API, streamed or not.

Structured answers are a forced tool call (`tool_choice` names the one tool whose
`input_schema` is the requested schema); its input is the answer. Retries, size limits and
errors as in `OpenAIClient`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from plangate.model.client import (
    Classified,
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


class AnthropicClient(SdkClient):
    def __init__(self, config: ModelConfig, *, sleep: Callable[[float], None] | None = None,
                 api_key: str | None = None) -> None:
        import anthropic

        super().__init__(config, sleep)
        self._sdk = anthropic.Anthropic(api_key=api_key or config.api_key(), base_url=config.base_url,
                                        timeout=config.timeout, max_retries=0)

    def _classify(self, exc: Exception) -> Classified:
        return _classify(exc)

    def _attempt(self, request: ModelRequest) -> ModelResponse:
        cfg = self._config
        max_tokens = max_tokens_of(request, cfg)
        params: dict[str, Any] = {"model": cfg.model, "system": request.system,
                                  "messages": _messages(request), "max_tokens": max_tokens}
        tools = [{"name": t.name, "description": t.description, "input_schema": dict(t.parameters)}
                 for t in request.tools]
        if request.output is not None:
            tools = [{"name": request.output.name, "description": "Give the answer.",
                      "input_schema": dict(request.output.schema)}]
            params["tool_choice"] = {"type": "tool", "name": request.output.name}
        if tools:
            params["tools"] = tools
        if cfg.stream:
            return self._streamed(params, request, max_tokens)
        message = self._sdk.messages.create(**params)
        blocks = list(message.content or [])
        return self._response(request, [_block_json(b) for b in blocks], message.model, message.stop_reason,
                              message.usage.input_tokens if message.usage else None,
                              message.usage.output_tokens if message.usage else None, max_tokens, False)

    def _streamed(self, params: dict[str, Any], request: ModelRequest, max_tokens: int) -> ModelResponse:
        cfg = self._config
        limit = answer_char_limit(max_tokens)
        blocks: dict[int, dict[str, Any]] = {}
        size = 0
        model, stop = cfg.model, ""
        tokens_in: int | None = None
        tokens_out: int | None = None
        with self._sdk.messages.create(**params, stream=True) as stream:
            for event in stream:
                kind = event.type
                if kind == "message_start":
                    model = event.message.model or model
                    tokens_in = event.message.usage.input_tokens
                    tokens_out = event.message.usage.output_tokens
                elif kind == "content_block_start":
                    blocks[event.index] = {**_block_json(event.content_block), "partial": ""}
                elif kind == "content_block_delta":
                    block = blocks.setdefault(event.index, {"type": "text", "text": "", "partial": ""})
                    delta = event.delta
                    if delta.type == "text_delta":
                        block["text"] = block.get("text", "") + delta.text
                        size += len(delta.text)
                    elif delta.type == "input_json_delta":
                        block["partial"] += delta.partial_json
                        size += len(delta.partial_json)
                elif kind == "message_delta":
                    stop = event.delta.stop_reason or stop
                    if event.usage is not None:
                        tokens_out = event.usage.output_tokens
                if size > limit:
                    raise ModelOutputError(f"{cfg.label}: the streamed answer passed {limit} characters "
                                           f"(max_tokens {max_tokens}); cut off")
        if tokens_in is None and not blocks:
            raise ModelOutputError(f"{cfg.label}: the stream ended without an answer")
        finished = []
        for _i, block in sorted(blocks.items()):
            if block.get("type") == "tool_use" and block["partial"]:
                try:
                    block["input"] = json.loads(block["partial"])
                except (ValueError, RecursionError):
                    raise ModelOutputError(f"{cfg.label}: the streamed tool input is not JSON") from None
            finished.append(block)
        return self._response(request, finished, model, stop, tokens_in, tokens_out, max_tokens, True)

    def _response(self, request: ModelRequest, blocks: list[dict[str, Any]], model: str | None,
                  stop: str | None, tokens_in: int | None, tokens_out: int | None, max_tokens: int,
                  streamed: bool) -> ModelResponse:
        cfg = self._config
        text = "".join(b.get("text", "") for b in blocks if b.get("type") == "text")
        calls = []
        for b in blocks:
            if b.get("type") != "tool_use":
                continue
            if not isinstance(b.get("input"), dict):
                raise ModelOutputError(f"{cfg.label}: a tool input is not a JSON object")
            calls.append(ToolCall(id=str(b.get("id", "")), name=str(b.get("name", "")), arguments=b["input"]))
        if request.output is not None:
            chosen = [c for c in calls if c.name == request.output.name]
            if not chosen:
                raise ModelOutputError(f"{cfg.label}: no {request.output.name!r} answer (stop reason "
                                       f"{stop!r})")
            text, calls = json.dumps(chosen[0].arguments, ensure_ascii=False), []
        self._check_size(text, calls, max_tokens)
        reported = tokens_in is not None and tokens_out is not None
        return ModelResponse(
            text=text, tool_calls=tuple(calls), model=model or cfg.model, finish_reason=str(stop or ""),
            tokens_in=tokens_in if tokens_in is not None else input_token_bound(request),
            tokens_out=tokens_out if tokens_out is not None else max_tokens,
            streamed=streamed, usage_reported=reported)


def _messages(request: ModelRequest) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for m in request.messages:
        if m.role == "tool":
            out.append({"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": m.tool_call_id, "content": m.content}]})
        elif m.tool_calls:
            content: list[dict[str, Any]] = [{"type": "text", "text": m.content}] if m.content else []
            content += [{"type": "tool_use", "id": c.id, "name": c.name, "input": dict(c.arguments)}
                        for c in m.tool_calls]
            out.append({"role": "assistant", "content": content})
        else:
            out.append({"role": m.role, "content": m.content})
    return out


def _block_json(block: Any) -> dict[str, Any]:
    if hasattr(block, "model_dump"):
        data = block.model_dump()
        return data if isinstance(data, dict) else {}
    return dict(block) if isinstance(block, dict) else {}


def _classify(exc: Exception) -> Classified:
    import anthropic

    if isinstance(exc, ModelError):
        return None
    if isinstance(exc, anthropic.APITimeoutError):
        return "timeout", None, None
    if isinstance(exc, anthropic.APIConnectionError):
        return "connection", None, None
    if isinstance(exc, anthropic.APIStatusError):
        return classify_status(exc.status_code, dict(exc.response.headers.items()))
    return "malformed", None, None


__all__ = ["AnthropicClient"]
