"""plangate: make an agent commit to a plan, review WHAT it does against what the
trigger's source may cause, run exactly that, and audit everything.

The curated API:

    from plangate import Gate, load_policy, parse_trigger

    policy = load_policy("policy.yaml")           # names its tool catalog
    gate = Gate(policy, tools, audit="plangate.db")
    outcome = gate.submit(trigger, plan)
"""

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
