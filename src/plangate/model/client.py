"""The model seam: one small protocol every provider implements, and its value types.

    client.complete(ModelRequest(purpose="planner", system=..., messages=(...,),
                                 output=Structured("plangate_plan", schema)))
    -> ModelResponse(text, tool_calls, tokens_in, tokens_out, model, finish_reason, ...)

`OpenAIClient` (any OpenAI-compatible server) and `AnthropicClient` wrap the official
SDKs; tests and other providers plug in by implementing `ModelClient`. A structured
request asks for one JSON value matching a schema (OpenAI `response_format` json_schema;
Anthropic a forced tool), and `text` is then that JSON. `Retrying` is the retry policy
both SDK clients share: bounded attempts, a 429's Retry-After honoured up to a cap,
backoff on 5xx and timeouts, nothing retried that cannot succeed.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from plangate.model.config import ModelConfig
from plangate.model.errors import ModelOutputError, ModelUnavailable

Purpose = Literal["planner", "extractor", "reviewer", "agent"]
Role = Literal["user", "assistant", "tool"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ToolCall:
    id: str
    name: str
    arguments: Mapping[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class ToolDef:
    """A tool offered to the model (only the undefended ReAct baseline offers any: the
    planner, extractor and reviewer are given none)."""

    name: str
    description: str
    parameters: Mapping[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class Message:
    role: Role
    content: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    #: For role `tool`: the call this is the result of.
    tool_call_id: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Structured:
    """Ask for exactly one JSON value matching `schema` (an object schema)."""

    name: str
    schema: Mapping[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelRequest:
    purpose: Purpose
    system: str
    messages: tuple[Message, ...]
    output: Structured | None = None
    tools: tuple[ToolDef, ...] = ()
    #: None: the deployment's `max_tokens`.
    max_tokens: int | None = None
    #: Charge exactly this input bound, whatever the request's size (a request above it is
    #: refused): for calls over data the trigger's principal may not see, so what its budget
    #: pays never depends on that data.
    fixed_input: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelResponse:
    text: str
    tokens_in: int
    tokens_out: int
    model: str
    finish_reason: str = "stop"
    tool_calls: tuple[ToolCall, ...] = ()
    streamed: bool = False
    #: False when the server reported no usage and the counts are the worst case.
    usage_reported: bool = True
    attempts: int = 1

    def json(self) -> Any:
        """The structured answer, parsed; ModelOutputError if it is not JSON."""
        try:
            return json.loads(self.text)
        except (ValueError, RecursionError) as exc:
            raise ModelOutputError(f"{self.model}: the answer is not JSON ({exc})"[:300]) from None


class ModelClient(Protocol):
    """A model endpoint. `complete` raises only `ModelError` subclasses."""

    @property
    def config(self) -> ModelConfig: ...

    def complete(self, request: ModelRequest) -> ModelResponse:
        """One answer to `request` (after the client's own bounded retries)."""


def max_tokens_of(request: ModelRequest, config: ModelConfig) -> int:
    return min(request.max_tokens or config.max_tokens, config.max_tokens)


def input_token_bound(request: ModelRequest) -> int:
    """An upper bound on the request's input tokens without a tokenizer: every byte-level
    BPE token covers at least one byte, plus a margin per message for the chat framing."""
    size = len(request.system.encode("utf-8"))
    for m in request.messages:
        size += len(m.content.encode("utf-8")) + 16
        for c in m.tool_calls:
            size += len(c.name) + len(json.dumps(c.arguments, ensure_ascii=False).encode("utf-8")) + 16
    if request.output is not None:
        size += len(json.dumps(request.output.schema).encode("utf-8")) + 32
    for t in request.tools:
        size += len(t.name) + len(t.description.encode("utf-8")) + len(json.dumps(t.parameters)) + 32
    return size + 64


def answer_char_limit(max_tokens: int) -> int:
    """The longest answer accepted for `max_tokens`: a model that ignores its limit (or a
    hostile server) is cut off here rather than read to the end."""
    return max(4096, max_tokens * 16)


def estimate_tokens(text: str) -> int:
    return math.ceil(len(text) / 4)


@dataclass(slots=True)
class Retrying:
    """Bounded retries: a 429 waits its Retry-After (if not longer than `max_wait`); a 5xx,
    a timeout or a dropped connection backs off exponentially; any other error is final."""

    config: ModelConfig
    sleep: Callable[[float], None] = time.sleep
    waits: list[float] = field(default_factory=list)

    def run(self, attempt: Callable[[], ModelResponse],
            classify: Callable[[Exception], tuple[str, float | None, int | None] | None]) -> ModelResponse:
        """`classify(exc)` -> None (already a ModelError: re-raise), or (kind, retry_after,
        status) with kind `rate`, `server`, `timeout`, `connection` (retried), `final` (an
        error answer that cannot improve) or `malformed` (an answer that is not the protocol)."""
        tries = self.config.max_retries + 1
        where = self.config.label + (f" at {self.config.base_url}" if self.config.base_url else "")
        for n in range(1, tries + 1):
            try:
                response = attempt()
            except Exception as exc:
                info = classify(exc)
                if info is None:
                    raise
                kind, retry_after, status = info
                what = _describe(kind, status, exc, self.config)
                if kind == "malformed":
                    raise ModelOutputError(f"{where}: a malformed response ({type(exc).__name__}: "
                                           f"{str(exc)[:200]})") from None
                if kind == "final":
                    raise ModelUnavailable(f"{where}: {what}", status=status, attempts=n) from None
                if n == tries:
                    raise ModelUnavailable(f"{where}: {what}; gave up after {n} attempt"
                                           f"{'s' if n > 1 else ''}", status=status, attempts=n) from None
                wait = (retry_after if retry_after is not None
                        else min(self.config.max_retry_wait, 0.5 * 2 ** (n - 1)))
                if wait > self.config.max_retry_wait:
                    raise ModelUnavailable(f"{where}: {what}; the server asks to retry after {wait:g} s, "
                                           f"more than max_retry_wait ({self.config.max_retry_wait:g} s)",
                                           status=status, attempts=n) from None
                self.waits.append(wait)
                if wait > 0:
                    self.sleep(wait)
                continue
            return _with_attempts(response, n)
        raise AssertionError("unreachable")  # pragma: no cover


def _with_attempts(response: ModelResponse, n: int) -> ModelResponse:
    if n == 1:
        return response
    import dataclasses

    return dataclasses.replace(response, attempts=n)


def _describe(kind: str, status: int | None, exc: Exception, config: ModelConfig) -> str:
    if kind == "timeout":
        return f"no answer within the timeout ({config.timeout:g} s)"
    if kind == "connection":
        return f"cannot connect ({type(exc).__name__})"
    if kind == "rate":
        return "rate limited (HTTP 429)"
    body = str(getattr(exc, "message", "") or exc)[:200]
    return f"HTTP {status}: {body}" if status else f"{type(exc).__name__}: {body}"


Classified = tuple[str, float | None, int | None] | None


class SdkClient:
    """What both SDK clients share: the deployment, the retry policy, the size check."""

    def __init__(self, config: ModelConfig, sleep: Callable[[float], None] | None) -> None:
        self._config = config
        self._retrying = Retrying(config) if sleep is None else Retrying(config, sleep)

    @property
    def config(self) -> ModelConfig:
        return self._config

    def complete(self, request: ModelRequest) -> ModelResponse:
        return self._retrying.run(lambda: self._attempt(request), self._classify)

    def _attempt(self, request: ModelRequest) -> ModelResponse:
        raise NotImplementedError

    def _classify(self, exc: Exception) -> Classified:
        raise NotImplementedError

    def _check_size(self, text: str, calls: tuple[ToolCall, ...] | list[ToolCall], max_tokens: int) -> None:
        limit = answer_char_limit(max_tokens)
        size = len(text) + sum(len(json.dumps(c.arguments)) for c in calls)
        if size > limit:
            raise ModelOutputError(f"{self._config.label}: the answer has {size} characters, more than "
                                   f"{limit} (max_tokens {max_tokens}); refused")


def classify_status(status: int, headers: Mapping[str, str]) -> Classified:
    """How an HTTP error status is retried: 429 after its Retry-After, 5xx (and 408, and
    Anthropic's 529 overloaded) with backoff; any other status is final."""
    lowered = {k.lower(): v for k, v in headers.items()}
    if status == 429:
        return "rate", retry_after_of(lowered), status
    if status >= 500 or status == 408:
        return "server", retry_after_of(lowered), status
    return "final", None, status


def retry_after_of(headers: Mapping[str, str] | None) -> float | None:
    """Seconds from `retry-after-ms` or `retry-after` (seconds or an HTTP date)."""
    if not headers:
        return None
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    import email.utils

    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


__all__ = [
    "Message",
    "ModelClient",
    "ModelRequest",
    "ModelResponse",
    "Purpose",
    "Retrying",
    "SdkClient",
    "Structured",
    "ToolCall",
    "ToolDef",
    "answer_char_limit",
    "classify_status",
    "estimate_tokens",
    "input_token_bound",
    "max_tokens_of",
    "retry_after_of",
]
