"""Plans: the typed DAG an agent commits to before anything runs."""

from plangate.plan.codec import CheckedPlan, check_plan, load_plan, parse_plan, plan_hash
from plangate.plan.model import (
    Arg,
    CallStep,
    Concat,
    ExtractStep,
    ExtractType,
    ForEachStep,
    ListOf,
    Lit,
    Plan,
    Ref,
    Step,
)

__all__ = [
    "Arg",
    "CallStep",
    "CheckedPlan",
    "Concat",
    "ExtractStep",
    "ExtractType",
    "ForEachStep",
    "ListOf",
    "Lit",
    "Plan",
    "Ref",
    "Step",
    "check_plan",
    "load_plan",
    "parse_plan",
    "plan_hash",
]
