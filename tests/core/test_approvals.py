"""Approvals: escalated plans wait for the owner; only the owner's console decides."""

from __future__ import annotations

from pathlib import Path

import pytest

from plangate.audit import ApprovalQueue, AuditLog, OwnerConsole
from plangate.errors import GrantError, UserError

from .conftest import call, event_kinds, lit, make_gate, owner_trigger, plan

PAY = plan(call("p", "pay", account=lit("DE1", "payload"), amount=lit(120.5, "payload"),
                memo=lit("invoice")))
PAYLOAD = "pay DE1 120.50 please"


def test_agent_queue_cannot_decide() -> None:
    """The agent-side queue has no way to decide an approval."""
    assert not hasattr(ApprovalQueue, "decide")
    assert hasattr(OwnerConsole, "decide")
    gate, _ = make_gate()
    assert not hasattr(gate.approvals, "decide")


def test_escalation_waits_then_owner_approves_and_it_runs(tmp_path: Path) -> None:
    """An escalated plan is queued; after the owner approves it, run_approved runs it."""
    db = tmp_path / "g.db"
    gate, tools = make_gate(audit=str(db))
    out = gate.submit(owner_trigger(PAYLOAD), PAY)
    assert out.review.verdict == "escalate" and out.run is None and out.approval
    assert tools.calls == []
    with pytest.raises(GrantError, match="pending"):
        gate.run_approved(out.approval)
    console = OwnerConsole(AuditLog(db))
    assert [a.id for a in console.list()] == [out.approval]
    decided = console.decide(out.approval, "approved", by="owner-cli")
    assert decided.status == "approved" and decided.decided_by == "owner-cli"
    ran = gate.run_approved(out.approval)
    assert ran.run and ran.run.status == "completed"
    assert tools.calls == [("pay", {"account": "DE1", "amount": 120.5, "memo": "invoice"})]
    assert "approval_decided" in event_kinds(gate) and gate.audit.verify().ok
    with pytest.raises(UserError, match="already executed"):
        console.decide(out.approval, "denied")
    with pytest.raises(GrantError, match="executed, not approved"):
        gate.run_approved(out.approval)  # one approval, one run: no replay
    assert len(tools.calls) == 1


def test_denied_approval_cannot_run(tmp_path: Path) -> None:
    """A denied approval never runs."""
    gate, tools = make_gate(audit=str(tmp_path / "g.db"))
    out = gate.submit(owner_trigger(PAYLOAD), PAY)
    OwnerConsole(gate.audit).decide(out.approval, "denied")  # type: ignore[arg-type]
    with pytest.raises(GrantError, match="denied"):
        gate.run_approved(out.approval)  # type: ignore[arg-type]
    assert tools.calls == []


def test_unknown_approval_is_a_user_error() -> None:
    """Asking for an approval that does not exist names it."""
    gate, _ = make_gate()
    with pytest.raises(UserError, match="no approval 'ap_nope'"):
        gate.run_approved("ap_nope")


def test_approved_plan_stored_tampered_is_refused(tmp_path: Path) -> None:
    """If the stored plan no longer matches the hash the owner approved, nothing runs."""
    import json

    gate, tools = make_gate(audit=str(tmp_path / "g.db"))
    out = gate.submit(owner_trigger(PAYLOAD), PAY)
    OwnerConsole(gate.audit).decide(out.approval, "approved")  # type: ignore[arg-type]
    stored = gate.approvals.get(out.approval).plan  # type: ignore[arg-type]
    stored["steps"][0]["args"]["account"]["literal"] = "DE666"
    gate.audit.connection.execute("UPDATE approvals SET plan_json = ? WHERE id = ?",
                                  (json.dumps(stored), out.approval))
    with pytest.raises(GrantError, match="hash"):
        gate.run_approved(out.approval)  # type: ignore[arg-type]
    assert tools.calls == []
