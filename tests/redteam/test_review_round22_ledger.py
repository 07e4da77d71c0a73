"""Red team round 22: "a trigger's budget spans its runs" (`plangate.audit.spend`).

Each test asserts the SAFE outcome: it fails while the route is open."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from plangate import Gate, load_policy
from plangate.audit import OwnerConsole
from plangate.audit.spend import trigger_key
from plangate.errors import GrantError
from plangate.gate import Outcome
from plangate.testing import FixtureTools

ROOT = Path(__file__).resolve().parents[2]
INBOX = ROOT / "src/plangate/deployments/inbox/policy.yaml"
INBOX_CATALOG = ROOT / "src/plangate/deployments/inbox/catalog.yaml"
OWNER = "dana@northwind.example"
IBAN = "DE89370400440532013000"


def lit(value: Any, origin: str = "planner") -> dict[str, Any]:
    return {"literal": value, "origin": origin}


def owner_chat(payload: str, message: str = "chat-1") -> dict[str, Any]:
    return {"id": message, "channel": "chat", "principal": OWNER, "evidence": {"paired": True},
            "payload": payload}


# A policy in the shape the design promises to bound: a rule scoped to one tool reads the
# trigger's total (`context.plan.egress`), which other tools also add to.
SPLIT_POLICY = f"""
name: split
catalog: {INBOX_CATALOG}
deployment:
  owner: ["{OWNER}"]
  classes:
    - {{name: owner, principals: ["{OWNER}"]}}
  lowest: unknown
rules:
  - {{id: owner-all, permit: {{classes: [owner]}}, reason: the owner runs unattended}}
  - id: owner-confirms-mail-after-other-sends
    escalate: {{classes: [owner], tools: [mail_send]}}
    when: context.plan.egress > 1
    reason: a new mail from a trigger that already sent something is confirmed
"""


def test_a_plan_whose_tools_read_no_bounds_is_never_charged_so_splitting_escapes_the_rule(
        tmp_path: Path) -> None:
    """Route: the ledger is read and charged only when a rule that could match one of the
    plan's own tools reads `context.plan` (`Gate._spend_key`). A plan whose tools no such
    rule covers (here `notify_owner`) adds its egress to nothing; the next plan for the same
    trigger, whose tool the rule does cover (`mail_send`), is reviewed as if the trigger had
    sent nothing. One plan with both steps asks the owner; the same two steps in two plans
    run unattended. Safe: the second plan is reviewed with the first's egress (escalate)."""
    policy_file = tmp_path / "split.yaml"
    policy_file.write_text(SPLIT_POLICY)
    payload = "tell me, then mail bob@partner.example hello"
    note = {"id": "n", "tool": "notify_owner", "args": {"text": lit("hello", "payload")}}
    mail = {"id": "m", "tool": "mail_send", "args": {
        "to": {"list": [lit("bob@partner.example", "payload")]},
        "subject": lit("hello", "payload"), "body": lit("hello", "payload")}}

    together = Gate(load_policy(policy_file), FixtureTools(), audit=tmp_path / "one.db")
    both = together.submit(owner_chat(payload), {"version": 1, "steps": [note, mail]})
    assert both.review.verdict == "escalate"  # the rule as one plan meets it

    tools = FixtureTools()
    gate = Gate(load_policy(policy_file), tools, audit=tmp_path / "two.db")
    first = gate.submit(owner_chat(payload), {"version": 1, "steps": [note]})
    assert first.review.verdict == "approve" and first.run is not None
    second = gate.submit(owner_chat(payload), {"version": 1, "steps": [mail]})
    assert second.review.verdict == "escalate", (
        f"split across two plans the trigger sent twice unasked; spent seen: {second.review.spent}")


def rent_plan(*steps: dict[str, Any]) -> dict[str, Any]:
    return {"version": 1, "steps": list(steps)}


PAY1 = {"id": "p1", "tool": "pay", "args": {"to_account": lit(IBAN, "payload"), "amount": lit(600, "payload")}}
PAY2 = {"id": "p2", "tool": "pay", "args": {"to_account": lit(IBAN, "payload"), "amount": lit(600, "payload")}}
TWICE = f"pay the rent twice: 600 to {IBAN}"


def approved_two_rents(tmp_path: Path) -> tuple[Gate, FixtureTools, dict[str, Any], Outcome]:
    """The owner's two rents of 600 in one plan, put to the owner, who says yes."""
    tools = FixtureTools()
    gate = Gate(load_policy(INBOX), tools, audit=tmp_path / "a.db")
    trigger = owner_chat(TWICE)
    first = gate.submit(trigger, rent_plan(PAY1, PAY2))
    assert first.review.verdict == "escalate" and first.approval
    OwnerConsole(gate.audit).decide(first.approval, "approved")
    return gate, tools, trigger, first


def test_a_narrowing_replan_records_the_spend_it_runs_with(tmp_path: Path) -> None:
    """Route (audit): a replan that narrows an owner-approved plan charges the trigger
    (`_charge_approved`) and then records its review with `Gate.review`, which reads the
    ledger again, now holding the run's own charge: the log says the run was reviewed with
    twice its spend (and may record a verdict other than the one that ran). Safe: the
    recorded verdict of the narrowed run is the one it ran on, with the spend it ran with."""
    gate, _tools, trigger, first = approved_two_rents(tmp_path)
    narrowed = gate.replan(first, trigger, rent_plan(PAY1))
    assert narrowed.run is not None and narrowed.run.status == "completed"
    recorded = [e.data for e in gate.audit.tail(100, run_id=narrowed.run_id) if e.kind == "verdict"]
    assert recorded, "the narrowed run has a verdict on record"
    assert recorded[-1]["verdict"] == narrowed.review.verdict, recorded[-1]
    assert recorded[-1].get("trigger_spent") == (
        narrowed.review.spent.to_json() if narrowed.review.spent else None), recorded[-1]


def test_held_a_narrowed_owner_approval_is_charged_and_the_next_payment_asks(tmp_path: Path) -> None:
    """Held: the owner approves two rents; the agent narrows to one (runs on the approval,
    charged), then submits another single rent for the same message: it is reviewed with
    the narrowed run's payment and put to the owner, and the used approval carries nothing."""
    gate, tools, trigger, first = approved_two_rents(tmp_path)
    narrowed = gate.replan(first, trigger, rent_plan(PAY1))
    assert narrowed.run is not None
    again = gate.replan(first, trigger, rent_plan(PAY2))
    assert again.run is None and again.review.verdict == "escalate"
    assert gate.ledger.read(trigger_key(gate.classify(trigger))).bounds.payments == 1
    assert [t for t, _ in tools.calls] == ["pay"]


def test_held_run_approved_twice_pays_once(tmp_path: Path) -> None:
    """Held: an approval runs once; a second `run_approved` (a retry) neither runs nor charges."""
    gate, tools, trigger, first = approved_two_rents(tmp_path)
    assert gate.run_approved(first.approval).run is not None
    with pytest.raises(GrantError):  # the approval is used up
        gate.run_approved(first.approval)
    assert [t for t, _ in tools.calls] == ["pay", "pay"]
    assert gate.ledger.read(trigger_key(gate.classify(trigger))).bounds.payments == 2
