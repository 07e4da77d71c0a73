"""Verdicts, runs and approvals as a person reads them in a terminal.

A denial always explains itself: each deciding rule with its reason (the policy's, or
plangate's own for its built-in rules) and, per step it fired on, the finding's detail.
After an escalation the next command is printed. Every value that may come from a
trigger, a plan, a tool or an approval record goes through `plangate.safetext`, so no
control or bidi character reaches the terminal and no line can be forged.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from plangate.safetext import visible, visible_lines

BUILTIN_REASONS = {
    "plangate:origin-claim": "a literal claims to come from the owner's instruction or the "
                             "trigger's message, but is not whole words of that text",
    "plangate:malformed-plan": "the plan does not check: its structure, a reference, a tool, "
                               "an argument's type or a size limit is wrong",
    "plangate:default-deny": "no rule of the policy permits this call",
    "plangate:engine-error": "the policy engine could not decide this call (a value it cannot "
                             "encode, or an error); undecided means denied",
    "plangate:review-error": "the review itself failed; a failed review denies",
}
INDENT = "  "
WIDTH = 400  # characters of a summary line per printed line


def rule_reason(rule: str, reasons: Mapping[str, str]) -> str:
    """Why a rule exists: the policy's reason, plangate's own for built-in rules."""
    if reasons.get(rule):
        return reasons[rule]
    if rule in BUILTIN_REASONS:
        return BUILTIN_REASONS[rule]
    if rule.startswith("class:") and ":rate." in rule:
        return "the sender, or its whole trust class, is over the class's rate limit"
    return "(the policy gives no reason for this rule)"


def explain_rules(rules: Sequence[str], reasons: Mapping[str, str],
                  findings: Iterable[Mapping[str, Any]], verdict: str) -> list[str]:
    """One line per deciding rule with its reason, then one per step it fired on with the
    finding's detail."""
    decisive = [f for f in findings if f.get("verdict") == verdict]
    lines = []
    for rule in rules:
        lines.append(f"{INDENT}- {visible(rule, 120)}: {visible(rule_reason(rule, reasons), 600)}")
        for f in decisive:
            if rule in f.get("rules", ()):
                detail = f.get("detail") or ""
                lines.append(f"{INDENT * 3}at step {visible(f.get('step'), 64)} "
                             f"({visible(f.get('tool'), 64)})" + (f": {visible(detail, 600)}" if detail else ""))
    return lines


def review_text(result: Mapping[str, Any]) -> list[str]:
    """A review (`Review.to_json()`) as text: verdict, why, what the plan does."""
    verdict = str(result["verdict"])
    lines = [f"verdict: {visible(verdict, 20)}" + _class(result)]
    if result.get("rules"):
        lines.append("why:" if verdict != "approve" else "permitted by:")
        lines += explain_rules(result["rules"], result.get("reasons") or {},
                               result.get("findings") or [], verdict)
    if result.get("error"):
        lines.append(f"{INDENT}error: {visible(result['error'], 1000)}")
    lines.append("what the plan does:")
    lines += summary_block(result.get("summary", ""), INDENT)
    return lines


def summary_block(summary: object, indent: str) -> list[str]:
    """The reviewer's summary behind a `| ` gutter: even a summary read back from a
    damaged or hostile record cannot print a line that passes for one of plangate's own.
    Every line, whole: the owner approves all of it, so no step may fall out of view
    (tests/redteam/test_review_round20_approvals.py). A line longer than `WIDTH` goes on
    in continuation lines (`|+ `), so each printed line stays bounded."""
    out = []
    for line in visible_lines(str(summary), width=None, max_lines=None):
        out.append(f"{indent}| {line[:WIDTH]}")
        out.extend(f"{indent}|+ {line[i:i + WIDTH]}" for i in range(WIDTH, len(line), WIDTH))
    return out


def _class(result: Mapping[str, Any]) -> str:
    cls = result.get("trust_class")
    return f"  (trigger's trust class: {visible(cls, 40)})" if cls else ""


def run_text(outcome: Mapping[str, Any], reasons: Mapping[str, str]) -> list[str]:
    """What ran, what was blocked and why, from `Outcome.to_json()`; `reasons` holds the
    policy's reason for each rule."""
    run = outcome.get("run")
    if not run:
        return ["nothing ran"]
    lines = [f"run {visible(run['run_id'], 40)}: {visible(run['status'], 20)}"
             + (f": {visible(run['message'], 600)}" if run.get("message") else "")]
    for call in run.get("calls", []):
        head = f"{INDENT}{visible(call['step'], 64)}: {visible(call['tool'], 64)}"
        if call.get("ok"):
            lines.append(f"{head} ran")
        else:
            lines.append(f"{head} blocked" + (f": {visible(call['error'], 600)}" if call.get("error") else ""))
            for rule in call.get("rules", []):
                lines.append(f"{INDENT * 3}{visible(rule, 120)}: {visible(rule_reason(rule, reasons), 600)}")
    return lines


def approval_text(item: Mapping[str, Any], review: Mapping[str, Any], db_hint: str) -> list[str]:
    """One pending (or decided) approval: who, which rules and why, what the plan does,
    and the commands that decide it."""
    ident = visible(item["id"], 40)
    lines = [f"{ident}  [{visible(item['status'], 20)}]  trust class {visible(item['trust_class'], 40)}  "
             f"run {visible(item['run_id'], 40)}  created {visible(item.get('created', ''), 40)}"]
    rules = list(review.get("rules") or item.get("rules") or [])
    if rules:
        lines.append(f"{INDENT}asks because:")
        lines += [INDENT + line for line in explain_rules(rules, review.get("reasons") or {},
                                                          review.get("findings") or [], "escalate")]
    lines.append(f"{INDENT}what the plan does:")
    lines += summary_block(item.get("summary", ""), INDENT * 2)
    if item["status"] == "pending":
        lines.append(f"{INDENT}decide: plangate approvals approve {ident}{db_hint}   "
                     f"or: plangate approvals deny {ident}{db_hint}")
    return lines


__all__ = ["BUILTIN_REASONS", "approval_text", "explain_rules", "review_text", "rule_reason", "run_text"]
