"""Model deployments in YAML: which provider and model each role uses, and the budgets.

    # models.yaml
    planner:
      provider: openai                 # openai (any OpenAI-compatible server) or anthropic
      model: gpt-4o-mini
      base_url: http://127.0.0.1:8000/v1   # omit for the provider's own endpoint
      api_key_env: OPENAI_API_KEY      # the key is read from this variable, never the file
      timeout: 30                      # seconds per attempt
      max_retries: 2                   # after the first attempt (429 honours Retry-After)
      max_tokens: 2000                 # per answer; also what a budget reserves
      stream: false
    extractor: {provider: openai, model: gpt-4o-mini, max_tokens: 200}   # default: the planner's
    reviewer: {provider: anthropic, model: claude-haiku-4-5}            # optional
    repair_tries: 3                    # planner answers re-asked with the validation errors
    replans: 0                         # re-plan a run that halted part-way, with its outputs
    budgets:                           # see plangate.model.budgets
      unknown: {window: day, calls: 200, tokens: 400000, cost_usd: 1.0,
                per_principal: {calls: 10, tokens: 40000}}
      owner:   {window: day, cost_usd: 20}

`--model PROVIDER:MODEL [--base-url URL]` on the command line is the short form of a
planner (and extractor) with the defaults.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, TypeVar
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from plangate.documents import load_document, validation_message
from plangate.model.errors import ModelConfigError

Provider = Literal["openai", "anthropic"]
PROVIDERS: tuple[str, ...] = ("openai", "anthropic")
DEFAULT_KEY_ENV: Mapping[str, str] = {"openai": "OPENAI_API_KEY", "anthropic": "ANTHROPIC_API_KEY"}
_STRICT = ConfigDict(extra="forbid", frozen=True)
_M = TypeVar("_M", bound=BaseModel)


class Price(BaseModel):
    """USD per million tokens, for a model `genai-prices` does not know (a local model)."""

    model_config = _STRICT
    input_per_mtok: float = Field(ge=0)
    output_per_mtok: float = Field(ge=0)


class ModelConfig(BaseModel):
    """One model deployment: where it is, how long to wait, how much it may answer."""

    model_config = _STRICT
    provider: Provider
    model: str = Field(min_length=1, max_length=200)
    base_url: str | None = Field(default=None, max_length=2000)
    api_key_env: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
    timeout: float = Field(default=60.0, gt=0, le=3600)
    max_retries: int = Field(default=2, ge=0, le=10)
    #: A 429's Retry-After longer than this is not waited for: the call fails at once.
    max_retry_wait: float = Field(default=30.0, ge=0, le=3600)
    max_tokens: int = Field(default=4096, ge=1, le=1_000_000)
    stream: bool = False
    temperature: float | None = Field(default=0.0, ge=0, le=2)
    price: Price | None = None

    @property
    def key_env(self) -> str:
        return self.api_key_env or DEFAULT_KEY_ENV[self.provider]

    @property
    def label(self) -> str:
        return f"{self.provider}:{self.model}"

    def api_key(self, environ: Mapping[str, str] | None = None) -> str:
        """The API key from its variable. A loopback endpoint (a local server) needs none."""
        env = os.environ if environ is None else environ
        key = env.get(self.key_env, "")
        if key:
            return key
        if self.base_url and is_loopback(self.base_url):
            return "not-needed-for-a-local-server"
        raise ModelConfigError(f"model {self.label}: no API key: set ${self.key_env} "
                               "(or api_key_env in the models file)")


class PoolLimits(BaseModel):
    """Limits of one pool within its window; None means no limit of that kind."""

    model_config = _STRICT
    calls: int | None = Field(default=None, ge=0)
    tokens: int | None = Field(default=None, ge=0)
    cost_usd: float | None = Field(default=None, ge=0)


class ClassBudget(PoolLimits):
    """A trust class's pool (all its principals together) and, in `per_principal`, the
    pool each of its principals has on its own, over a rolling `window`."""

    window: Literal["minute", "hour", "day"] = "day"
    per_principal: PoolLimits | None = None


class ModelsFile(BaseModel):
    model_config = _STRICT
    planner: ModelConfig
    extractor: ModelConfig | None = None
    reviewer: ModelConfig | None = None
    repair_tries: int = Field(default=3, ge=1, le=10)
    #: How often a run that halted or failed part-way is shown to the planner again.
    replans: int = Field(default=0, ge=0, le=5)
    #: Per trust class. A class not named has no model budget (none is unlimited only if
    #: `default` is absent too); `default` applies to every class not named.
    budgets: dict[str, ClassBudget] = Field(default_factory=dict)


def models_for(*, model: str | None = None, base_url: str | None = None,
               models_file: str | Path | None = None) -> ModelsFile:
    """The models file, or a planner (and, by default, extractor) from `PROVIDER:MODEL`."""
    if models_file:
        if base_url:
            raise ModelConfigError("--base-url goes with --model; in a models file, set base_url per model")
        return load_models(models_file)
    if not model:
        raise ModelConfigError("no model: pass --model PROVIDER:MODEL (e.g. openai:gpt-4o-mini), set "
                               "PLANGATE_MODEL, or give --models FILE")
    planner = parse_spec(model, base_url=base_url)
    return parse_models({"planner": planner.model_dump(exclude_none=True)})


def is_loopback(url: str) -> bool:
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_spec(spec: str, *, base_url: str | None = None, **fields: Any) -> ModelConfig:
    """`openai:gpt-4o-mini` (or `anthropic:claude-haiku-4-5`) as a ModelConfig."""
    provider, sep, model = spec.partition(":")
    if not sep or not model.strip():
        raise ModelConfigError(f"--model {spec!r}: expected PROVIDER:MODEL, e.g. openai:gpt-4o-mini "
                               f"(providers: {', '.join(PROVIDERS)})")
    if provider not in PROVIDERS:
        raise ModelConfigError(f"--model {spec!r}: unknown provider {provider!r}; known: "
                               f"{', '.join(PROVIDERS)} (openai covers any OpenAI-compatible server)")
    return parse_model({"provider": provider, "model": model.strip(), "base_url": base_url, **fields},
                       source="--model")


def parse_model(data: Any, *, source: str = "model") -> ModelConfig:
    return _validated(ModelConfig, data, source)


def parse_models(data: Any, *, source: str = "models") -> ModelsFile:
    return _validated(ModelsFile, data, source)


def _validated(cls: type[_M], data: Any, source: str) -> _M:
    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        raise ModelConfigError(validation_message(exc, source=source, data=data)) from None


def load_models(path: str | Path) -> ModelsFile:
    try:
        data = load_document(path)
    except ValueError as exc:
        raise ModelConfigError(str(exc)) from None
    return parse_models(data, source=str(path))


__all__ = ["PROVIDERS", "ClassBudget", "ModelConfig", "ModelsFile", "PoolLimits", "Price",
           "is_loopback", "load_models", "models_for", "parse_model", "parse_models", "parse_spec"]
