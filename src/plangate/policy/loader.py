"""Loading a policy file and compiling it to Cedar, with errors that name file, line, rule.

Each rule becomes exactly one Cedar policy, so a Cedar parse or validation error maps back
to the rule (and its line in the YAML file). Generated rules (request types, budgets) get
ids of the form `class:<name>:...` and `request-type:<name>:tools`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import cedarpy
from pydantic import ValidationError

from plangate.catalog import EFFECTS, Catalog, load_catalog
from plangate.documents import line_of, load_document, parse_text, validation_message
from plangate.errors import CatalogError, PolicyError
from plangate.policy.engine import CompiledPolicy, CompiledRule
from plangate.policy.facts import cedar_schema
from plangate.policy.model import PolicyDoc, Rule, Scope
from plangate.resources import overlaps, resolve_patterns


def load_policy(path: str | Path, catalog: Catalog | None = None) -> CompiledPolicy:
    """Load and compile a policy file. Without `catalog`, the file's own `catalog:` path
    (relative to the policy file) names the tool catalog."""
    try:
        data = load_document(path)
    except ValueError as exc:
        raise PolicyError(str(exc)) from None
    if catalog is None:
        ref = data.get("catalog") if isinstance(data, dict) else None
        if not isinstance(ref, str):
            raise PolicyError("no catalog given and the policy names none (`catalog: FILE`)",
                              where=str(path))
        try:
            catalog = load_catalog(Path(path).resolve().parent / ref)
        except CatalogError as exc:
            raise PolicyError(f"catalog {ref!r}: {exc}", where=str(path)) from None
    return compile_policy(data, catalog, source=str(path))


def parse_policy_text(text: str, catalog: Catalog, *, source: str = "policy") -> CompiledPolicy:
    try:
        data = parse_text(text, source=source)
    except ValueError as exc:
        raise PolicyError(str(exc)) from None
    return compile_policy(data, catalog, source=source)


def compile_policy(data: Any, catalog: Catalog, *, source: str = "policy") -> CompiledPolicy:
    try:
        doc = PolicyDoc.model_validate(data)
    except ValidationError as exc:
        raise PolicyError(validation_message(exc, source=source, data=data)) from None
    rules = _compile_rules(doc, catalog, data, source)
    _validate(rules, catalog, source)
    return CompiledPolicy(doc=doc, catalog=catalog, rules=tuple(rules), source=source)


def _where(source: str, line: int | None, rule_id: str) -> str:
    return f"{source}:{line} rule {rule_id!r}" if line else f"{source} rule {rule_id!r}"


def _known_classes(doc: PolicyDoc) -> set[str]:
    # With a deployment, only the classes it can assign exist: a misspelt key under
    # `classes:` would otherwise silently drop that class's budget and request types.
    if doc.deployment is not None:
        return set(doc.deployment.class_names()) | {"owner"}
    return set(doc.classes) | {"owner"}


def _compile_rules(doc: PolicyDoc, catalog: Catalog, data: Any, source: str) -> list[CompiledRule]:
    classes = _known_classes(doc)
    request_types = set(doc.request_types) | {"any"}
    out: list[CompiledRule] = []
    for i, rule in enumerate(doc.rules):
        line = line_of(data, ["rules", i])
        where = _where(source, line, rule.id)
        scope = rule.scope
        for name in scope.classes:
            if name not in classes:
                raise PolicyError(f"unknown trust class {name!r} (known: {sorted(classes)})",
                                  where=where)
        for tool in scope.tools:
            if tool not in catalog.tools:
                raise PolicyError(f"unknown tool {tool!r}", where=where)
        tools = scope_tools(scope, catalog)
        for pattern in scope.writes:
            if not tools_writing(catalog, [pattern]):
                raise PolicyError(f"no tool in the catalog writes {pattern!r} (`writes` would scope "
                                  "the rule to nothing)", where=where)
        for rt in scope.request_types:
            if rt not in request_types:
                raise PolicyError(f"unknown request type {rt!r}", where=where)
        any_action = not tools and not scope.effects
        out.append(CompiledRule(id=rule.id, kind=rule.kind, reason=rule.reason,
                                cedar=_rule_cedar(rule, tools), source=rule, line=line,
                                tools=None if any_action else frozenset(tools),
                                effects=frozenset(scope.effects),
                                classes=frozenset(scope.classes) if scope.classes else None))
    for rt_name, rtype in doc.request_types.items():
        for tool in rtype.tools:
            if tool not in catalog.tools:
                raise PolicyError(f"request type {rt_name!r} names unknown tool {tool!r}",
                                  where=f"{source}:{line_of(data, ['request_types', rt_name])}")
        actions = ", ".join(_action(t) for t in rtype.tools)
        rid = f"request-type:{rt_name}:tools"
        out.append(CompiledRule(
            id=rid, kind="forbid",
            reason=f"a {rt_name!r} request may only lead to: {', '.join(rtype.tools) or 'nothing'}",
            cedar=f'@id({_q(rid)})\nforbid(principal, action, resource == RequestType::{_q(rt_name)})'
                  f"\nunless {{ action in [{actions}] }};",
            line=line_of(data, ["request_types", rt_name])))
    for cls_name, cls in doc.classes.items():
        if cls_name not in classes:
            raise PolicyError(f"unknown trust class {cls_name!r} (known: {sorted(classes)})",
                              where=f"{source}:{line_of(data, ['classes', cls_name])}")
        line = line_of(data, ["classes", cls_name])
        principal = f"principal in TrustClass::{_q(cls_name)}"
        if cls.request_types is not None:
            for rt in cls.request_types:
                if rt not in request_types:
                    raise PolicyError(f"class {cls_name!r} names unknown request type {rt!r}",
                                      where=f"{source}:{line}")
            allowed = ", ".join(f"RequestType::{_q(r)}" for r in cls.request_types)
            rid = f"class:{cls_name}:request-types"
            out.append(CompiledRule(
                id=rid, kind="forbid",
                reason=f"{cls_name!r} triggers may only make requests of type: "
                       f"{', '.join(cls.request_types) or 'none'}",
                cedar=f"@id({_q(rid)})\nforbid({principal}, action, resource)\n"
                      f"unless {{ resource in [{allowed}] }};", line=line,
                classes=frozenset({cls_name})))
        for field, fact in (("max_calls", "calls"), ("max_egress", "egress"),
                            ("max_payments", "payments"), ("max_loop", "loop")):
            limit = getattr(cls.budget, field)
            if limit is None:
                continue
            rid = f"class:{cls_name}:budget.{field}"
            out.append(CompiledRule(
                id=rid, kind="forbid",
                reason=f"{cls_name!r} plans are limited to {field.replace('_', ' ')} {limit}",
                cedar=f"@id({_q(rid)})\nforbid({principal}, action, resource)\n"
                      f"when {{ context.plan.{fact} > {limit} }};", line=line,
                classes=frozenset({cls_name})))
    return out


def _q(text: str) -> str:
    return json.dumps(text)


def _action(tool: str) -> str:
    return f"Action::{_q(tool)}"


def tools_writing(catalog: Catalog, patterns: list[str]) -> list[str]:
    """The tools that may write a resource one of `patterns` names: any of their
    `effective_writes`, with every argument open, overlaps one (`resources.overlaps`)."""
    return sorted(name for name, spec in catalog.tools.items()
                  if any(overlaps(written, pattern) for w in spec.effective_writes
                         for written in resolve_patterns(w, {}) for pattern in patterns))


def scope_tools(scope: Scope, catalog: Catalog) -> list[str]:
    """A scope's tools: those it names, and those that may write what its `writes` names."""
    return sorted({*scope.tools, *tools_writing(catalog, scope.writes)}) if scope.writes else list(scope.tools)


def _rule_cedar(rule: Rule, tools: list[str]) -> str:
    scope = rule.scope
    effect = "permit" if rule.kind == "permit" else "forbid"
    actions = [_action(t) for t in tools]
    actions += [_action(f"effect:{e}") for e in scope.effects]
    action = f"action in [{', '.join(actions)}]" if actions else "action"
    clauses = []
    if len(scope.classes) == 1:
        principal = f"principal in TrustClass::{_q(scope.classes[0])}"
    else:
        principal = "principal"
        if scope.classes:
            members = ", ".join(f"TrustClass::{_q(c)}" for c in scope.classes)
            clauses.append(f"when {{ principal in [{members}] }}")
    if scope.request_types:
        members = ", ".join(f"RequestType::{_q(r)}" for r in scope.request_types)
        clauses.append(f"when {{ resource in [{members}] }}")
    if rule.when:
        clauses.append(f"when {{ {rule.when} }}")
    if rule.unless:
        clauses.append(f"unless {{ {rule.unless} }}")
    body = "\n".join(clauses)
    return f"@id({_q(rule.id)})\n{effect}({principal}, {action}, resource)" + (
        f"\n{body};" if body else ";")


def _validate(rules: list[CompiledRule], catalog: Catalog, source: str) -> None:
    """Parse each rule alone (to blame the right one), then validate all against the schema."""
    for rule in rules:
        try:
            parsed = cedarpy.PolicySet.from_str(rule.cedar)
        except ValueError as exc:
            raise PolicyError(f"Cedar syntax: {exc}", where=_where(source, rule.line, rule.id)) from None
        if len(parsed) != 1:
            # A condition that closes its rule and opens another would smuggle in a policy
            # no rule id names, and shift every later rule's id in decisions.
            raise PolicyError("a rule's `when`/`unless` must not end the rule and start "
                              "another Cedar policy", where=_where(source, rule.line, rule.id))
    if not rules:
        return
    schema = json.dumps(cedar_schema(catalog))
    text = "\n".join(r.cedar for r in rules)
    try:
        result = cedarpy.validate_policies(text, schema)
    except Exception as exc:  # cedarpy raises plain exceptions; wrap them
        raise PolicyError(f"policy does not validate: {exc}", where=source) from None
    if not result.validation_passed:
        problems = []
        for err in result.errors:
            idx = int(str(err.policy_id).removeprefix("policy")) if str(err.policy_id).startswith(
                "policy") else -1
            blamed = rules[idx] if 0 <= idx < len(rules) else None
            where = _where(source, blamed.line, blamed.id) if blamed else source
            problems.append(f"{where}: {err.error}")
        raise PolicyError("\n".join(problems))


__all__ = ["EFFECTS", "compile_policy", "load_policy", "parse_policy_text"]
