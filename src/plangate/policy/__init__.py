"""Policies: per trust class, what a trigger's source may cause; decided by Cedar."""

from plangate.policy.engine import CompiledPolicy, Decision, VerdictKind
from plangate.policy.facts import CallFacts, PlanBounds
from plangate.policy.loader import compile_policy, load_policy, parse_policy_text

__all__ = [
    "CallFacts",
    "CompiledPolicy",
    "Decision",
    "PlanBounds",
    "VerdictKind",
    "compile_policy",
    "load_policy",
    "parse_policy_text",
]
