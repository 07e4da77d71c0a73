"""Running a policy-pack case: the packs under review, a fixture tool runtime whose
outputs carry exact readers, and the outcome of a case (review, then every runtime check).

A case is data (`cases/*.yaml`):

    description: what the plan does
    route: the shortcut it takes around a rule (what the fix closes)
    pack: assistant | example | tests-assistant | banking | slack | travel | workspace
    known: [...]            # AgentDojo: the known counterparties read at run start
    tools:                  # fixture outputs; `readers` are the exact readers a service reports
      mail_read: {value: ..., readers: [owner, bob@partner.example]}
    runs:                   # one or more runs on the same gate (stored labels persist)
      - trigger: {...}      # default: the pack owner's authenticated request
        plan: {...}
    before: approve         # the verdict under the pack before the fix (documentation)
    expect: {verdict: escalate, rules: [...]}   # the case's outcome (below)

The outcome of a case is the first decision that is not an approval, in the first run
that has one: the static review's, or, if the review approved, the first runtime check
that escalated or denied (the owner answers no, so an escalated run stops there). A case
whose runs all complete unasked is `approve`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from plangate import Gate, load_policy
from plangate.labels import Label
from plangate.policy import CompiledPolicy
from plangate.protocols import ToolResult
from plangate.testing import ScriptedExtractor, ScriptedOwner

ROOT = Path(__file__).resolve().parents[2]
AGENTDOJO = ROOT / "src/plangate/bench/agentdojo"
PACKS: dict[str, Path] = {
    "assistant": ROOT / "src/plangate/deployments/inbox/policy.yaml",
    "example": ROOT / "examples/assistant-policy.yaml",
    "tests-assistant": ROOT / "tests/assistant/policy.yaml",
    **{s: AGENTDOJO / f"policy_{s}.yaml" for s in ("banking", "slack", "travel", "workspace")},
}


@cache
def pack(name: str) -> CompiledPolicy:
    return load_policy(PACKS[name])


def with_known(policy: CompiledPolicy, known: list[str]) -> CompiledPolicy:
    """The pack with more known counterparties, as the AgentDojo bench adds them at run
    start (`gatebench.policy_for_run`)."""
    if not known:
        return policy
    deployment = policy.doc.deployment
    assert deployment is not None
    contacts = sorted({*deployment.contacts, *known})
    out = CompiledPolicy(doc=policy.doc.model_copy(update={"deployment": deployment.model_copy(
        update={"contacts": contacts})}), catalog=policy.catalog, rules=policy.rules,
        source=policy.source)
    return out


class LabelledTools:
    """Fixture outputs per tool; an output with `readers` is reported with those exact
    readers (as AgentDojo's services and a real mail server know them)."""

    def __init__(self, outputs: Mapping[str, Any]) -> None:
        self.outputs = dict(outputs)
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def call(self, tool: str, args: Mapping[str, Any]) -> ToolResult:
        self.calls.append((tool, dict(args)))
        out = self.outputs.get(tool, "ok")
        if isinstance(out, Mapping) and "value" in out:
            readers = out.get("readers")
            label = Label(readers=frozenset(readers)) if readers is not None else None
            return ToolResult(out["value"], label)
        return ToolResult(out)


def owner_trigger(policy: CompiledPolicy, instruction: str) -> dict[str, Any]:
    deployment = policy.doc.deployment
    assert deployment is not None
    return {"channel": "api", "principal": deployment.owner[0], "instruction": instruction,
            "payload": ""}


@dataclass(frozen=True)
class Outcome:
    verdict: str
    rules: tuple[str, ...]
    at: str  # "review" or the step id the runtime check stopped at

    def __str__(self) -> str:
        return f"{self.verdict} at {self.at} by {list(self.rules)}"


def run_case(case: Mapping[str, Any], policy: CompiledPolicy | None = None) -> Outcome:
    """The outcome of the case's last run under `policy` (default: its pack)."""
    policy = with_known(policy or pack(case["pack"]), list(case.get("known", [])))
    tools = LabelledTools(case.get("tools", {}))
    gate = Gate(policy, tools, extractor=ScriptedExtractor(case.get("answers", {})),
                approver=ScriptedOwner(False))
    outcome = Outcome("approve", (), "review")
    for i, run in enumerate(case["runs"]):
        where = f"run {i + 1} " if len(case["runs"]) > 1 else ""
        trigger = run.get("trigger") or owner_trigger(policy, run.get("instruction", ""))
        done = gate.submit(trigger, run["plan"])
        if done.review.verdict != "approve":
            return Outcome(done.review.verdict, tuple(done.review.rules), where + "review")
        assert done.run is not None
        stopped = [c for c in done.run.calls if c.verdict != "approve"]
        if stopped:
            return Outcome(stopped[0].verdict, tuple(stopped[0].rules), where + stopped[0].step)
        assert done.run.status == "completed", (done.run.status, done.run.message)
        outcome = Outcome("approve", tuple(done.review.rules), where + "review")
    return outcome
