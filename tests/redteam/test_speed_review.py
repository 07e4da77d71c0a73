"""Red-team review of the speed work (commits after 32c99fd): inputs the equivalence tests'
generators do not make, run against the rewritten code. Each test states the answer the
pre-speed code gave and passes on it (checked in a worktree of 32c99fd). A test marked
`xfail(strict=True)` with "LIVE HOLE" in its reason shows a route that still works in a
file this session's reviewer could not edit; the reason says the fix.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from plangate import Gate, load_policy, parse_trigger
from plangate.policy import CompiledPolicy
from plangate.testing import FixtureTools
from plangate.trigger import Trigger

ROOT = Path(__file__).resolve().parents[2]
OWNER = "owner@home.example"

_POLICY: CompiledPolicy | None = None


def _policy() -> CompiledPolicy:
    global _POLICY
    if _POLICY is None:
        _POLICY = load_policy(ROOT / "examples" / "assistant-policy.yaml")
    return _POLICY


def _owner(payload: str = "") -> Trigger:
    return parse_trigger({"channel": "chat", "principal": OWNER, "evidence": {"paired": True},
                          "payload": payload})


def _gate(tmp_path: Path) -> Gate:
    return Gate(_policy(), FixtureTools({}), audit=str(tmp_path / "audit.db"))


# ---- the audit trail of a review that fails -----------------------------------------------

@pytest.mark.xfail(strict=True, reason=(
    "LIVE HOLE (gate.py, 03d95e4/5175d78): Gate._review checks the plan before it writes "
    "anything and writes the trigger, plan and verdict records together at the end, so a plan "
    "that makes check_plan raise something other than PlanError (a lone surrogate: plan_hash "
    "cannot encode it) leaves no record at all; before, the trigger was on record first. Fix: "
    "append the trigger record before check_plan (or catch the exception and write the "
    "trigger with it), as the pre-speed Gate.review did."))
def test_a_plan_that_crashes_the_gate_still_leaves_its_trigger_on_record(tmp_path: Path) -> None:
    """A hijacked planner writes `\\ud800` (valid JSON) into a literal. The gate fails on it
    (an exception before and after the speed work), but the attempt must stay visible in the
    audit log: before, the trigger record was written first; now nothing is written."""
    gate = _gate(tmp_path)
    plan_text = ('{"version": 1, "steps": [{"id": "n", "tool": "notify_owner", "args": '
                 '{"text": {"literal": "hi \\ud800", "origin": "planner"}}}]}')
    assert "\ud800" in json.loads(plan_text)["steps"][0]["args"]["text"]["literal"]
    try:
        verdict = gate.review(_owner("hi"), plan_text, run_id="run_surrogate").verdict
    except Exception:  # both versions raise here; what is recorded matters
        verdict = "deny"
    assert verdict == "deny"
    kinds = [e.kind for e in gate.audit.tail(10, run_id="run_surrogate")]
    assert "trigger" in kinds


@pytest.mark.xfail(strict=True, reason=(
    "LIVE HOLE (gate.py, 3d76eb0 _plan_json(checked=True)): a plan that parses and checks "
    "is recorded as dict(plan) on the premise that it is JSON, but pydantic's lax mode checks "
    "Python values JSON cannot write as they are (a bytes argument name becomes a str name), "
    "and the record's encoder refuses a bytes key (`default` is not asked for keys): the "
    "review ends in AuditError and nothing of it is recorded, where the old gate recorded the "
    "plan as its repr. Fix: keep the fast path only when the append succeeds, e.g. on an "
    "AuditError from the plan record fall back to the old json.dumps(plan, allow_nan=False) "
    "test and its repr (or record the checked plan's model_dump for such plans)."))
def test_a_checked_plan_that_is_not_json_is_still_reviewed_and_recorded(tmp_path: Path) -> None:
    """An in-process caller passes a plan whose argument name is bytes (pydantic reads it as
    the str name). Before the speed work it was reviewed, recorded (the plan as its repr)
    and answered; now the gate raises AuditError and the log holds nothing of it."""
    gate = _gate(tmp_path)
    plan = {"version": 1, "steps": [{"id": "n", "tool": "notify_owner",
                                     "args": {b"text": {"literal": "hi", "origin": "payload"}}}]}
    result = gate.review(_owner("hi"), plan, run_id="run_bytes")
    assert result.verdict == "approve"
    kinds = [e.kind for e in gate.audit.tail(10, run_id="run_bytes")]
    assert kinds == ["trigger", "plan", "verdict"]
    assert gate.audit.verify().ok
