"""What an owner's approval covers through the gate: a stored plan runs exactly as stored,
a plan that now reviews differently is refused before the approval is used, replans run
on an approval only when they narrow it and need it, and every run is audited."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from core.conftest import CONTACT, assistant_policy, call, event_kinds, lit, make_gate, owner_trigger, plan, ref
from core.test_gate import NOTE, PAY, PAYLOAD, _Opinion
from core.test_rate import POLICY, Clock, reply_plan, stranger
from plangate import Gate, load_policy, parse_trigger
from plangate.audit import OwnerConsole
from plangate.errors import GrantError
from plangate.gate import escalations_covered, narrows
from plangate.labels import Label
from plangate.plan.codec import parse_plan
from plangate.review import Review
from plangate.review.reviewer import Finding
from plangate.testing import FixtureTools, ScriptedExtractor

TAINTED = Label(sources=frozenset({"tool:read_inbox"}), taint="high")
CATALOG = assistant_policy().catalog
MAIL = f"{PAYLOAD}. Send notes.txt to {CONTACT}."
# Made only of the owner's words: no question asked while notes.txt is clean.
SEND_NOTES = [call("f", "read_file", path=lit("notes.txt", "payload")),
              call("s", "send_email", to={"list": [lit(CONTACT, "payload")]},
                   subject=lit("notes.txt", "payload"), body=ref("f"))]


def approved(gate: Gate, data: dict[str, Any], payload: str = MAIL) -> str:
    queued = gate.submit(owner_trigger(payload), data)
    assert queued.review.verdict == "escalate" and queued.approval and queued.run is None
    OwnerConsole(gate.audit).decide(queued.approval, "approved")
    return queued.approval


def test_an_approved_plan_runs_exactly_as_stored() -> None:
    """A plan with an extraction and a list argument survives the approvals queue: stored,
    read back, hashed to what the owner approved, and run. The payment's amount was known
    only at run time, so the owner is asked again with it (a yes to `<e, known at run
    time>` is not a yes to an amount): with a synchronous channel that says yes, it runs."""
    gate, tools = make_gate(extractor=ScriptedExtractor())
    data = plan(call("m", "read_inbox", query=lit("x")),
                {"id": "e", "kind": "extract", "from": ref("m"), "type": {"kind": "number"}},
                call("pay", "pay", account=lit("DE1", "payload"), amount=ref("e"), memo=lit("invoice", "payload")),
                call("s", "send_email", to={"list": [lit(CONTACT, "payload")]}, subject=lit("s"), body=lit("b")))
    approval = approved(gate, data)
    asked: list[Any] = []
    gate.executor.approver = _Asked(asked)
    ran = gate.run_approved(approval)
    assert ran.run is not None and ran.run.status == "completed"
    assert [t for t, _ in tools.calls] == ["read_inbox", "pay", "send_email"]
    assert [(q.step, "amount" in q.args) for q in asked] == [("pay", True)]


def test_a_yes_to_a_value_not_known_yet_is_asked_again_with_it() -> None:
    """Without a synchronous channel, the same approved plan stops at the payment whose
    amount nobody has seen (`escalated`), before paying."""
    gate, tools = make_gate(extractor=ScriptedExtractor())
    data = plan(call("m", "read_inbox", query=lit("x")),
                {"id": "e", "kind": "extract", "from": ref("m"), "type": {"kind": "number"}},
                call("pay", "pay", account=lit("DE1", "payload"), amount=ref("e"), memo=lit("invoice", "payload")))
    ran = gate.run_approved(approved(gate, data))
    assert ran.run is not None and ran.run.status == "escalated"
    assert [t for t, _ in tools.calls] == ["read_inbox"]


class _Asked:
    """A synchronous owner channel that says yes, and keeps what it was asked."""

    def __init__(self, asked: list[Any]) -> None:
        self.asked = asked

    def approve(self, question: Any) -> bool:
        self.asked.append(question)
        return True


def test_a_plan_that_now_reviews_as_deny_is_refused_before_its_approval_is_used() -> None:
    """Between the owner's yes and the run, the workspace got untrusted content: the plan
    that runs the workspace now reviews as deny, so the approval does not run it and stays
    unused."""
    gate, tools = make_gate()
    approval = approved(gate, plan(PAY, call("t", "run_tests")))
    gate.resources.record("workspace:x.py", TAINTED)
    with pytest.raises(GrantError, match="now reviews as deny"):
        gate.run_approved(approval)
    assert gate.approvals.get(approval).status == "approved" and tools.calls == []


def test_a_plan_that_now_asks_for_more_is_refused() -> None:
    """After the yes, the file the plan mails became untrusted: sending it now asks the
    owner a question they never answered, so the old approval does not run it."""
    gate, tools = make_gate()
    approval = approved(gate, plan(PAY, *SEND_NOTES))
    gate.resources.record("workspace:notes.txt", TAINTED)
    with pytest.raises(GrantError, match="asks for more"):
        gate.run_approved(approval)
    assert tools.calls == []


class _SwappedPlan:
    """An approvals store that hands back another plan than the one approved (as a store
    written behind the audit log's back would)."""

    def __init__(self, real: Any, plan_json: dict[str, Any]) -> None:
        self.real, self.plan_json = real, plan_json

    def get(self, approval_id: str) -> Any:
        return dataclasses.replace(self.real.get(approval_id), plan=self.plan_json)


def test_the_gate_rehashes_the_stored_plan_before_running_it() -> None:
    """`run_approved` hashes the plan it reads back and refuses one whose hash is not the
    approved one, whatever the store says."""
    gate, tools = make_gate()
    approval = approved(gate, plan(PAY))
    other = plan(call("pay", "pay", account=lit("EVIL", "planner"), amount=lit(9000, "planner"),
                      memo=lit("m", "planner")))
    gate.approvals = _SwappedPlan(gate.approvals, parse_plan(other).model_dump(mode="json", by_alias=True))  # type: ignore[assignment]
    with pytest.raises(GrantError, match="does not match the approved hash"):
        gate.run_approved(approval)
    assert tools.calls == []


def test_a_yes_to_the_second_reviewer_does_not_cover_a_new_escalation() -> None:
    """The owner answered only the second reviewer's question; when the plan itself now
    escalates on a rule the owner never saw, the approval does not run it."""
    gate, tools = make_gate(second_opinion=_Opinion("escalate"))
    approval = approved(gate, plan(*SEND_NOTES))
    gate.resources.record("workspace:notes.txt", TAINTED)
    with pytest.raises(GrantError):
        gate.run_approved(approval)
    assert tools.calls == []


def test_a_replan_without_a_queued_approval_is_a_fresh_submission() -> None:
    """A previous outcome that ran at once, or that the owner's synchronous channel
    approved, carries nothing: the replan is reviewed and run like a new plan."""
    gate, _tools = make_gate()
    first = gate.submit(owner_trigger(), plan(NOTE))
    assert first.approval is None
    again = gate.replan(first, owner_trigger(), plan(NOTE))
    assert again.review.verdict == "approve" and again.approval is None
    gate, _tools = make_gate(approver=_Yes())
    asked = gate.submit(owner_trigger(PAYLOAD), plan(PAY))
    assert asked.approval and not asked.approval.startswith("ap_")
    replanned = gate.replan(asked, owner_trigger(PAYLOAD), plan(PAY))
    assert replanned.run is not None and replanned.approval != asked.approval


class _Yes:
    def approve(self, question: object) -> bool:
        return True


def test_a_narrowed_replan_that_needs_no_approval_leaves_the_approval_unused() -> None:
    """Dropping the payment leaves a plan that needs nobody's yes: it is submitted afresh
    and runs, and the owner's approval of the payment is not used up by it."""
    gate, _tools = make_gate()
    trigger = owner_trigger(PAYLOAD)
    first = gate.submit(trigger, plan(PAY, NOTE))
    OwnerConsole(gate.audit).decide(first.approval or "", "approved")
    narrowed = gate.replan(first, trigger, plan(NOTE))
    assert narrowed.run is not None and narrowed.approval is None
    assert gate.approvals.get(first.approval or "").status == "approved"


def test_a_narrowed_replan_is_audited_like_any_run() -> None:
    """A replan that runs on an approval still leaves its trigger, plan and verdict in
    the audit log under its own run id."""
    gate, _tools = make_gate()
    trigger = owner_trigger(PAYLOAD)
    first = gate.submit(trigger, plan(PAY, NOTE))
    OwnerConsole(gate.audit).decide(first.approval or "", "approved")
    narrowed = gate.replan(first, trigger, plan(PAY))
    assert narrowed.run is not None
    kinds = [e.kind for e in gate.audit.tail(10_000, run_id=narrowed.run_id)]
    assert {"trigger", "plan", "verdict", "replan_narrowed", "call"} <= set(kinds)


def test_rate_limited_triggers_are_audited() -> None:
    """A trigger refused for volume leaves a `rate_limited` record naming the rule."""
    gate = Gate(load_policy(POLICY), FixtureTools(), clock=Clock())
    outcomes = [gate.submit(parse_trigger(stranger("flood@spam.example")), reply_plan()) for _ in range(6)]
    assert outcomes[-1].review.verdict == "deny"
    limited = [e for e in gate.audit.tail(10_000) if e.kind == "rate_limited"]
    assert [e.data["rule"] for e in limited] == list(outcomes[-1].review.rules)
    assert "rate_limited" in event_kinds(gate)


def _review(*findings: tuple[str, str, tuple[str, ...]]) -> Review:
    return Review(verdict="escalate", rules=(), summary="", trust_class="owner", plan_hash=None,
                  findings=tuple(Finding(step=s, tool="t", verdict=v, rules=r) for s, v, r in findings))


def test_escalations_are_covered_only_rule_by_rule_and_step_by_step() -> None:
    """Every escalation in the fresh review must be one the owner saw (same step, same
    rule); approvals and denials in it are not escalations to cover."""
    seen = _review(("p", "escalate", ("ask-pay",))).to_json()
    assert escalations_covered(seen, _review(("p", "escalate", ("ask-pay",)), ("n", "approve", ("permit",))))
    assert not escalations_covered(seen, _review(("p", "escalate", ("ask-pay", "ask-new"))))
    assert not escalations_covered(seen, _review(("p", "escalate", ("ask-pay",)), ("q", "escalate", ("ask-pay",))))


def test_narrowing_inside_a_loop_keeps_order_and_ignores_argument_order() -> None:
    """Dropping a body step narrows, unless it is the last one (the loop's output);
    reordering a body does not, even when the top level is unchanged; listing a step's
    arguments in another order changes nothing."""
    mail = call("mail", "read_inbox", query=lit("x"))
    body = [call(i, "notify_owner", text=ref("m", "subject")) for i in ("a", "b", "c")]

    def loop(*steps: dict[str, Any]) -> dict[str, Any]:
        return {"id": "each", "kind": "for_each", "over": ref("mail"), "as": "m", "max": 3, "steps": list(steps)}

    old = parse_plan(plan(mail, loop(*body), NOTE))
    assert narrows(old, parse_plan(plan(mail, loop(body[0], body[2]), NOTE)), CATALOG)
    assert not narrows(old, parse_plan(plan(mail, loop(body[1], body[0], body[2]), NOTE)), CATALOG)
    assert not narrows(old, parse_plan(plan(mail, loop(body[0], body[1]), NOTE)), CATALOG)  # the loop's output changed
    reordered = call("pay", "pay", memo=lit("invoice", "payload"), amount=lit(120.5, "payload"),
                     account=lit("DE1", "payload"))
    assert narrows(parse_plan(plan(PAY, NOTE)), parse_plan(plan(reordered)), CATALOG)
