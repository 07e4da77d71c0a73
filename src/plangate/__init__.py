"""plangate: make an agent commit to a plan, review WHAT it does against what the
trigger's source may cause, run exactly that, and audit everything.

The curated API:

    from plangate import Gate, load_policy, parse_trigger

    policy = load_policy("policy.yaml")           # names its tool catalog
    gate = Gate(policy, tools, audit="plangate.db")
    outcome = gate.submit(trigger, plan)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from plangate import native as _native

_native.enable()  # the compiled hot paths, where built from exactly these sources

if TYPE_CHECKING:
    from plangate.audit import AuditLog, OwnerConsole
    from plangate.catalog import Catalog, ToolSpec, catalog_from_mcp, load_catalog, parse_catalog
    from plangate.errors import (
        AuditError,
        CatalogError,
        ExecutionHalted,
        GrantError,
        PlanError,
        PlangateError,
        PolicyError,
        TriggerError,
        UserError,
    )
    from plangate.execute import Executor, Grant, RunResult
    from plangate.gate import Gate, Outcome
    from plangate.labels import Label
    from plangate.plan import Plan, check_plan, load_plan, parse_plan, plan_hash
    from plangate.policy import CompiledPolicy, Decision, compile_policy, load_policy, parse_policy_text
    from plangate.protocols import Extractor, FunctionTools, ToolResult, ToolRuntime

    # `review_plan`, not `review`: the name `plangate.review` must stay the subpackage.
    from plangate.review import Review
    from plangate.review import review as review_plan
    from plangate.trigger import Deployment, Trigger, classify, load_trigger, parse_trigger


# The names above are imported on first use (PEP 562): `import plangate` stays cheap for
# entry points that need one corner of it (the Claude Code hook, `plangate --help`).
_LAZY: dict[str, tuple[str, str]] = {
    "AuditError": ("plangate.errors", "AuditError"),
    "AuditLog": ("plangate.audit", "AuditLog"),
    "Catalog": ("plangate.catalog", "Catalog"),
    "CatalogError": ("plangate.errors", "CatalogError"),
    "CompiledPolicy": ("plangate.policy", "CompiledPolicy"),
    "Decision": ("plangate.policy", "Decision"),
    "Deployment": ("plangate.trigger", "Deployment"),
    "ExecutionHalted": ("plangate.errors", "ExecutionHalted"),
    "Executor": ("plangate.execute", "Executor"),
    "Extractor": ("plangate.protocols", "Extractor"),
    "FunctionTools": ("plangate.protocols", "FunctionTools"),
    "Gate": ("plangate.gate", "Gate"),
    "Grant": ("plangate.execute", "Grant"),
    "GrantError": ("plangate.errors", "GrantError"),
    "Label": ("plangate.labels", "Label"),
    "Outcome": ("plangate.gate", "Outcome"),
    "OwnerConsole": ("plangate.audit", "OwnerConsole"),
    "Plan": ("plangate.plan", "Plan"),
    "PlanError": ("plangate.errors", "PlanError"),
    "PlangateError": ("plangate.errors", "PlangateError"),
    "PolicyError": ("plangate.errors", "PolicyError"),
    "Review": ("plangate.review", "Review"),
    "RunResult": ("plangate.execute", "RunResult"),
    "ToolResult": ("plangate.protocols", "ToolResult"),
    "ToolRuntime": ("plangate.protocols", "ToolRuntime"),
    "ToolSpec": ("plangate.catalog", "ToolSpec"),
    "Trigger": ("plangate.trigger", "Trigger"),
    "TriggerError": ("plangate.errors", "TriggerError"),
    "UserError": ("plangate.errors", "UserError"),
    "catalog_from_mcp": ("plangate.catalog", "catalog_from_mcp"),
    "check_plan": ("plangate.plan", "check_plan"),
    "classify": ("plangate.trigger", "classify"),
    "compile_policy": ("plangate.policy", "compile_policy"),
    "load_catalog": ("plangate.catalog", "load_catalog"),
    "load_plan": ("plangate.plan", "load_plan"),
    "load_policy": ("plangate.policy", "load_policy"),
    "load_trigger": ("plangate.trigger", "load_trigger"),
    "parse_catalog": ("plangate.catalog", "parse_catalog"),
    "parse_plan": ("plangate.plan", "parse_plan"),
    "parse_policy_text": ("plangate.policy", "parse_policy_text"),
    "parse_trigger": ("plangate.trigger", "parse_trigger"),
    "plan_hash": ("plangate.plan", "plan_hash"),
    "review_plan": ("plangate.review", "review"),
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'plangate' has no attribute {name!r}")
    module, attr = _LAZY[name]
    value = getattr(importlib.import_module(module), attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


__version__ = "0.1.0"

__all__ = [
    "AuditError",
    "AuditLog",
    "Catalog",
    "CatalogError",
    "CompiledPolicy",
    "Decision",
    "Deployment",
    "ExecutionHalted",
    "Executor",
    "Extractor",
    "FunctionTools",
    "Gate",
    "Grant",
    "GrantError",
    "Label",
    "Outcome",
    "OwnerConsole",
    "Plan",
    "PlanError",
    "PlangateError",
    "PolicyError",
    "Review",
    "RunResult",
    "ToolResult",
    "ToolRuntime",
    "ToolSpec",
    "Trigger",
    "TriggerError",
    "UserError",
    "__version__",
    "catalog_from_mcp",
    "check_plan",
    "classify",
    "compile_policy",
    "load_catalog",
    "load_plan",
    "load_policy",
    "load_trigger",
    "parse_catalog",
    "parse_plan",
    "parse_policy_text",
    "parse_trigger",
    "plan_hash",
    "review_plan",
]
