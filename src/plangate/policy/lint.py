"""`plangate policy check`: what compiles but is probably not what the author meant."""

from __future__ import annotations

import re

from plangate.policy.engine import CompiledPolicy
from plangate.policy.loader import scope_tools

# Facts that are absent until run time when a value is open: a permit or escalation that
# needs them cannot match during static review.
_OPEN_FACTS = re.compile(r"\bcontext\.(args|readers_ok|to_owner|to_sender|to_known|destinations)\b")


def lint(policy: CompiledPolicy) -> list[str]:
    out: list[str] = []
    permitted_tools: set[str] = set()
    any_all = False
    catalog = policy.catalog
    for rule in policy.rules:
        src = rule.source
        if src is None:
            continue
        where = f"{policy.source}:{rule.line} rule {rule.id!r}" if rule.line else rule.id
        if not rule.reason:
            out.append(f"{where}: no `reason`; say why the rule exists")
        if rule.kind == "permit":
            scope = src.scope
            if not scope.tools and not scope.effects and not scope.writes:
                any_all = True
            permitted_tools.update(scope_tools(scope, catalog))
            for name, spec in catalog.tools.items():
                if set(scope.effects) & set(spec.effects):
                    permitted_tools.add(name)
    if not any_all:
        never = sorted(set(catalog.tools) - permitted_tools)
        if never:
            out.append(f"no rule permits these tools for any class: {', '.join(never)}")
    facts_used = " ".join((r.source.when or "") + (r.source.unless or "")
                          for r in policy.rules if r.source)
    if "executes_tainted" not in facts_used and any(
            s.executes or s.loads for s in catalog.tools.values()):
        out.append("tools execute or load stored content, but no rule uses "
                   "`context.executes_tainted` (write-then-execute is unguarded)")
    if "readers_ok" not in facts_used and any("egress" in s.effects for s in catalog.tools.values()):
        out.append("egress tools exist, but no rule uses `context.readers_ok` "
                   "(private data may reach anyone)")
    return out


def notes(policy: CompiledPolicy) -> list[str]:
    """Not problems, but worth knowing: permits and escalations whose conditions read
    values that may be open at review. Review decides them with those facts absent (a
    `has` guard is false there), and the run decides again with the real values, so such
    a rule may stop a run half-way to ask the owner (or, for a permit, to deny)."""
    out = []
    for rule in policy.rules:
        src = rule.source
        if src is None or rule.kind not in ("permit", "escalate") or not src.when:
            continue
        if _OPEN_FACTS.search(src.when):
            where = f"{policy.source}:{rule.line} rule {rule.id!r}" if rule.line else rule.id
            out.append(f"{where}: this {rule.kind} reads values that may only be known at run "
                       "time; the review decides it without them, the run again with them")
    return out
