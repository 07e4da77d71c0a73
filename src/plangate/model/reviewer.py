"""The reviewer model: a second opinion the injection cannot reach.

It is a `SecondOpinion` for `Gate(second_opinion=...)`: the gate consults it only when the
deterministic verdict is approve or escalate, combines its answer so it can only tighten
(approve -> escalate or deny; escalate -> deny), and escalates when it fails or times out.

What it sees is `redacted_view`: a typed view of the plan built from the checked plan, the
deterministic review and the catalog. Tools, their effects and sink kinds, argument names
and kinds, literal origins and JSON types, labels (readers as public / owner / sender /
other, sources by category, taint), loops and bounds, the trust class, the request type
(only if the policy declares it) and the rules that fired with the policy's reasons. Every
string an attacker or a hijacked planner could choose (literal values, step ids, field
paths, questions, enum values, the sender's address, the payload, the review's summary
and details, and any tool output) is replaced by a numbered placeholder or left out. So
the view is the same for any two plans that differ only in those strings
(`tests/model/test_reviewer.py` proves it, with canaries through the wire too).

One call per run at most (a repeated question in the same run gets the same answer).
"""

from __future__ import annotations

import json
import threading
from typing import Any

from plangate.labels import PUBLIC, Label
from plangate.model.client import Message, ModelClient, ModelRequest, Structured
from plangate.model.errors import ModelOutputError
from plangate.model.metering import current_call
from plangate.plan.codec import TRIGGER_FIELDS, TRIGGER_REF, CheckedPlan
from plangate.plan.model import Arg, CallStep, Concat, ExtractStep, ForEachStep, ListOf, Lit, Ref
from plangate.policy.engine import CompiledPolicy
from plangate.review.reviewer import Review, deployment_of
from plangate.trigger import Classified

REVIEW_SCHEMA_NAME = "plangate_review"
VERDICTS = ("approve", "escalate", "deny")
_SOURCE_CATEGORIES = ("instruction", "payload", "planner", "trigger:principal", "trigger:channel")

SYSTEM = """\
You are a second security reviewer for an assistant that acts on messages from people of \
different trust. You see a typed view of a plan that a deterministic reviewer has already \
checked against the policy: the tools it calls, what kind of value each argument is, who \
may read each value (readers) and whether an attacker could have shaped it (taint). Every \
value an attacker could choose is hidden behind a placeholder; that is deliberate. \
Judge whether the plan's actions fit the trust class and the request type. Answer with \
JSON {"verdict": "approve" | "escalate" | "deny"}: approve if it is fine, escalate if \
the owner should confirm, deny if it should not run. You can only make the verdict stricter.
"""


class _Names:
    """Numbered placeholders, assigned in order of first appearance."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.names: dict[str, str] = {}

    def __call__(self, key: str) -> str:
        if key not in self.names:
            self.names[key] = f"{self.prefix}{len(self.names) + 1}"
        return self.names[key]


def redacted_view(classified: Classified, checked: CheckedPlan, review: Review,
                  policy: CompiledPolicy) -> dict[str, Any]:
    """The reviewer model's whole input: no attacker-controlled string in it."""
    deployment = deployment_of(policy)
    owners = deployment.owner_addresses()
    sender = classified.principal.canonical
    steps = _Names("s")
    others = _Names("other-")
    counter = {"value": 0, "path": 0}

    def reader(r: str) -> str:
        if r == PUBLIC:
            return "public"
        if r == "owner" or r in owners:
            return "owner"
        if r == sender:
            return "sender"
        return others(r)

    def label(lab: Label) -> dict[str, Any]:
        sources = sorted({s if s in _SOURCE_CATEGORIES else
                          ("payload (quoted/forwarded)" if s.startswith("payload:") else
                           "tool output" if s.startswith("tool:") else
                           "stored data" if s.startswith("store:") else "other") for s in lab.sources})
        return {"readers": sorted({reader(r) for r in lab.readers}), "sources": sources, "taint": lab.taint}

    def placeholder(kind: str, what: str) -> str:
        counter[kind] += 1
        return f"<{kind} {counter[kind]}: {what}>"

    def arg(a: Arg) -> Any:
        if isinstance(a, Lit):
            json_type = _json_type(a.literal)
            return {"literal": placeholder("value", f"{json_type}, origin {a.origin}"), "type": json_type,
                    "origin": a.origin}
        if isinstance(a, Ref):
            segments = a.segments
            if a.ref == TRIGGER_REF:
                head = str(segments[0]) if segments else ""
                out: dict[str, Any] = {"ref": f"trigger.{head}" if head in TRIGGER_FIELDS else "trigger"}
                rest = segments[1:] if head in TRIGGER_FIELDS else segments
            else:
                out = {"ref": steps(a.ref)}
                rest = segments
            if rest:
                out["path"] = placeholder("path", f"{len(rest)} segment{'s' if len(rest) > 1 else ''}")
            return out
        if isinstance(a, Concat):
            return {"concat": [arg(p) for p in a.concat]}
        assert isinstance(a, ListOf)
        return {"list": [arg(i) for i in a.items]}

    findings: dict[str, list[Any]] = {}
    for f in review.findings:
        findings.setdefault(f.step, []).append(f)
    out_steps = []
    for scoped in checked.order:
        step = scoped.step
        entry: dict[str, Any] = {"id": steps(step.id), "kind": step.kind}
        if scoped.loops:
            entry["inside_loops"] = [steps(loop) for loop in scoped.loops]
            entry["runs_at_most"] = scoped.repeat
        if isinstance(step, CallStep):
            spec = policy.catalog.tools[step.tool]
            entry["tool"] = step.tool
            entry["effects"] = list(spec.effects)
            entry["args"] = {name: {**({"sink": spec.args[name].sink} if spec.args[name].sink else {}),
                                    "value": arg(value)} for name, value in sorted(step.args.items())}
            entry["output_label"] = label(spec.output_label)
            decided = findings.get(step.id, [])
            entry["verdict"] = [f.verdict for f in decided]
            entry["rules"] = sorted({r for f in decided for r in f.rules})
        elif isinstance(step, ExtractStep):
            entry["from"] = arg(step.source)
            kind = step.type.kind
            entry["answer"] = {"kind": kind}
            if kind == "enum":
                entry["answer"]["choices"] = len(step.type.values or [])
            if kind == "number":
                entry["answer"].update({"min": step.type.min, "max": step.type.max})
            if step.type.choices is not None:
                entry["answer"]["copied_from"] = arg(step.type.choices)
            entry["question"] = "<question written by the planner>"
        else:
            assert isinstance(step, ForEachStep)
            entry["over"] = arg(step.over)
            entry["max"] = step.max
            steps(step.var)
        out_steps.append(entry)
    rt = checked.plan.request_type
    declared = policy.doc.request_types.get(rt)
    return {
        "trigger": {"channel": classified.trigger.channel, "trust_class": classified.trust_class,
                    "authenticated": classified.authenticated, "sender_is_owner": classified.is_owner,
                    "sender": "<the sender>"},
        "request_type": ({"name": rt, "description": declared.description} if declared is not None
                         else "<not a request type the policy declares>"),
        "planner_context": label(review.planner_context) if review.planner_context is not None else None,
        "deterministic_verdict": review.verdict,
        "rules": {r: policy.reason(r) for r in review.rules if policy.rule(r) is not None},
        "plangate_rules": sorted(r for r in review.rules if policy.rule(r) is None and r.startswith("plangate:")),
        "steps": out_steps,
    }


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object" if isinstance(value, dict) else "null"


class ModelReviewer:
    """A `SecondOpinion` on a model client."""

    def __init__(self, client: ModelClient, policy: CompiledPolicy, *, max_tokens: int | None = 100) -> None:
        self.client = client
        self.policy = policy
        self.max_tokens = max_tokens
        self._answers: dict[str, str] = {}
        self._lock = threading.Lock()

    def judge(self, classified: Classified, checked: CheckedPlan, review: Review) -> str:
        if review.verdict == "deny":
            return "deny"  # nothing to tighten; the gate does not ask either
        run_id = current_call().run_id
        if run_id:
            with self._lock:
                if run_id in self._answers:
                    return self._answers[run_id]
        view = redacted_view(classified, checked, review, self.policy)
        response = self.client.complete(ModelRequest(
            purpose="reviewer", system=SYSTEM,
            messages=(Message(role="user", content=json.dumps(view, ensure_ascii=False, indent=1)),),
            output=Structured(name=REVIEW_SCHEMA_NAME, schema={
                "type": "object", "properties": {"verdict": {"type": "string", "enum": list(VERDICTS)}},
                "required": ["verdict"]}),
            max_tokens=self.max_tokens))
        data = response.json()
        verdict = data.get("verdict") if isinstance(data, dict) else None
        if verdict not in VERDICTS:
            raise ModelOutputError(f"{self.client.config.label}: the reviewer answered no verdict")
        assert isinstance(verdict, str)
        if run_id:
            with self._lock:
                if len(self._answers) >= 10_000:  # bounded memory: old runs are long decided
                    self._answers.clear()
                self._answers[run_id] = verdict
        return verdict


__all__ = ["REVIEW_SCHEMA_NAME", "ModelReviewer", "redacted_view"]
