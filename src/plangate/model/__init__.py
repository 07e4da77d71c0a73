"""Models behind the gate: planner, quarantined extractor, reviewer model, and metering.

An edge above the core (the core never imports it; `lint-imports` holds that):

    client.py            the `ModelClient` protocol and its value types; retry policy
    openai_client.py     the official `openai` SDK (OpenAI or any OpenAI-compatible server)
    anthropic_client.py  the official `anthropic` SDK
    config.py            model deployments and budgets in YAML; `--model PROVIDER:MODEL`
    planner.py           prompt -> plan (structured output), bounded repair loop, label rule
    extractor.py         `extract` steps: no tools, output constrained to the declared type
    reviewer.py          the second opinion on a redacted, typed view (tightens only)
    metering.py          every call budgeted, traced (OpenTelemetry), recorded, counted
    budgets.py           per trust class and per principal pools: reserve, then settle
    prices.py            costs from genai-prices
    testing.py           a scripted model server on loopback speaking the real protocols
    errors.py            the model errors, inside plangate's exception tree

`plangate.agent` ties them to the gate: trigger -> planner -> review -> execute -> audit.
The SDKs and telemetry libraries are the `models` extra: `pip install 'plangate[models]'`.
"""

from __future__ import annotations

from collections.abc import Callable

from plangate.model.client import (
    Message,
    ModelClient,
    ModelRequest,
    ModelResponse,
    Structured,
    ToolCall,
    ToolDef,
)
from plangate.model.config import ModelConfig, ModelsFile, load_models, parse_models, parse_spec
from plangate.model.errors import (
    BudgetExceeded,
    ModelConfigError,
    ModelError,
    ModelOutputError,
    ModelUnavailable,
    PlanningFailed,
)
from plangate.model.metering import Meter, MeteredClient, attribute


def make_client(config: ModelConfig, *, sleep: Callable[[float], None] | None = None) -> ModelClient:
    """The SDK client for a deployment (its SDK imported only now)."""
    try:
        if config.provider == "openai":
            from plangate.model.openai_client import OpenAIClient

            return OpenAIClient(config, sleep=sleep)
        from plangate.model.anthropic_client import AnthropicClient

        return AnthropicClient(config, sleep=sleep)
    except ImportError as exc:
        raise ModelConfigError(f"model {config.label}: the {config.provider} SDK is not installed "
                               f"({exc.name}); pip install 'plangate[models]'") from None


__all__ = [
    "BudgetExceeded", "Message", "Meter", "MeteredClient", "ModelClient", "ModelConfig",
    "ModelConfigError", "ModelError", "ModelOutputError", "ModelRequest", "ModelResponse",
    "ModelUnavailable", "ModelsFile", "PlanningFailed", "Structured", "ToolCall", "ToolDef",
    "attribute", "load_models", "make_client", "parse_models", "parse_spec",
]
