"""Red team round 22, review of the diff e70166d..HEAD ("a trigger's budget spans its runs").

Each test asserts the SAFE outcome: it fails while the route is open."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from test_review_round22_ledger import (  # type: ignore[import-not-found]
    PAY1,
    approved_two_rents,
    rent_plan,
)

from plangate.audit.spend import trigger_key
from plangate.errors import AuditError


class _FailOnce:
    """`approvals.consume` whose first call fails as the audit log does when it cannot write
    (disk full, the database locked past its timeout): an `AuditError`, nothing written."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.failed = inner, False

    def __call__(self, approval_id: str, run_id: str, **kw: Any) -> None:
        if not self.failed:
            self.failed = True
            raise AuditError("the audit log cannot be written: disk I/O error")
        self.inner(approval_id, run_id, **kw)


def test_a_failed_run_approved_leaves_no_charge_and_the_owners_yes_still_runs(tmp_path: Path) -> None:
    """Route (half-done): `run_approved` charges the trigger (`_charge_approved`, its own
    transaction) before it marks the approval used (`approvals.consume`, another one). A
    write failure in between leaves the ledger charged for two payments that never ran; the
    approval stays "approved" but every retry is refused ("other plans for this trigger were
    approved since the owner was asked": the ledger is compared with the spend the owner
    saw), and the plan submitted again is reviewed with the phantom payments and denied
    (`class:owner:budget.max_payments`): the owner's rent can no longer be paid for this
    message at all. Safe: the failure leaves the ledger as it was (the charge lands with the
    approval's use, or not at all), and the retry runs the plan once."""
    gate, tools, trigger, first_outcome = approved_two_rents(tmp_path)
    approval = first_outcome.approval
    assert approval is not None
    key = trigger_key(gate.classify(trigger))
    before = gate.ledger.read(key)
    gate.approvals.consume = _FailOnce(gate.approvals.consume)  # type: ignore[method-assign]
    with pytest.raises(AuditError):
        gate.run_approved(approval)
    assert tools.calls == []  # nothing ran: fail closed, so far
    assert gate.ledger.read(key) == before, (
        f"a run that never started left its charge on the trigger: {gate.ledger.read(key)}")
    retried = gate.run_approved(approval)
    assert retried.run is not None and retried.run.status == "completed"
    assert [t for t, _ in tools.calls] == ["pay", "pay"]


def test_a_failed_narrowing_replan_leaves_the_owners_approval_usable(tmp_path: Path) -> None:
    """Route (half-done): the narrowing replan charges the trigger (`_charge_approved`),
    writes its records, then marks the approval used. A write failure at that last step
    leaves the narrowed payment charged and unpaid; the approval is still "approved", but the
    same replan again no longer narrows on it (the ledger moved since the owner was asked)
    and is reviewed afresh with the phantom payment, so the owner's yes is lost. Safe: the
    failed replan changes no ledger row, and the retried replan runs on the approval."""
    gate, tools, trigger, first_outcome = approved_two_rents(tmp_path)
    approval = first_outcome.approval
    assert approval is not None
    key = trigger_key(gate.classify(trigger))
    before = gate.ledger.read(key)
    first = gate.approvals.get(approval)
    from plangate.gate import Outcome
    from plangate.review.reviewer import Review

    previous = Outcome(run_id=first.run_id, review=Review(verdict="escalate", rules=(), trust_class="owner",
                                                          summary="", plan_hash=first.plan_hash),
                       approval=approval)
    gate.approvals.consume = _FailOnce(gate.approvals.consume)  # type: ignore[method-assign]
    with pytest.raises(AuditError):
        gate.replan(previous, trigger, rent_plan(PAY1))
    assert tools.calls == []
    assert gate.ledger.read(key) == before, (
        f"a narrowed run that never started left its charge on the trigger: {gate.ledger.read(key)}")
    again = gate.replan(previous, trigger, rent_plan(PAY1))
    assert again.run is not None and again.approval == approval, again.review.rules
    assert [t for t, _ in tools.calls] == ["pay"]
