"""`GatedRun` without MCP: the executor steps in a greenlet, driven by requests. Only the
exact next call is forwarded; a refused call leaves the run waiting at the same step; the
result comes back labelled; a run closed mid-call records the failure and ends."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from plangate.catalog import parse_catalog
from plangate.fronts.mcp.gateway import make_gate
from plangate.fronts.mcp.run import GatedRun, Request
from plangate.policy import compile_policy

CATALOG = parse_catalog({"tools": {
    "fs__read": {"effects": ["read"], "args": {"path": {"type": "string"}},
                 "output": {"readers": ["owner"], "untrusted": True}},
    "fs__write": {"effects": ["write"], "args": {"path": {"type": "string"},
                                                  "text": {"type": "string"}}},
}})
POLICY = {"deployment": {"owner": ["me@home.example"],
                         "classes": [{"name": "owner", "principals": ["me@home.example"]}]},
          "rules": [{"id": "owner", "permit": {"classes": ["owner"]}, "reason": "the owner"}]}
TRIGGER = {"channel": "chat", "principal": "me@home.example", "evidence": {"paired": True},
           "payload": "copy my notes"}
PLAN = {"version": 1, "steps": [
    {"id": "r", "tool": "fs__read", "args": {"path": {"literal": "notes", "origin": "planner"}}},
    {"id": "w", "tool": "fs__write", "args": {"path": {"literal": "copy", "origin": "planner"},
                                              "text": {"ref": "r"}}}]}


def _run(max_refusals: int = 5) -> tuple[GatedRun, Any]:
    gate, capture = make_gate(compile_policy(POLICY, CATALOG), ":memory:")
    outcome = gate.submit(TRIGGER, PLAN)
    assert outcome.review.verdict == "approve" and capture.grant is not None
    run = GatedRun({"policy": gate.policy, "resources": gate.resources}, capture.grant,
                   outcome.run_id, audit=gate.audit, max_refusals=max_refusals)
    run.start()
    return run, gate


def _result(text: str) -> Any:
    return SimpleNamespace(is_error=False, structured_content=None,
                           content=[SimpleNamespace(type="text", text=text)])


def test_only_the_exact_next_call_is_forwarded_and_labelled() -> None:
    run, _gate = _run()
    assert run.drive(Request("fs__write", {"path": "copy", "text": "x"}))[0] == "refuse"
    assert run.drive(Request("fs__read", {"path": "other"}))[0] == "refuse"
    assert run.drive(Request("fs__read", {"path": "notes"})) == ("forward", "r")
    kind, event = run.drive(_result("secret"))
    assert kind == "labelled" and event["label"]["readers"] == ["owner"]
    # The next call must carry what the read returned, nothing else.
    assert run.drive(Request("fs__write", {"path": "copy", "text": "other"}))[0] == "refuse"
    assert run.drive(Request("fs__write", {"path": "copy", "text": "secret"})) == ("forward", "w")
    assert run.drive(_result("ok"))[0] == "labelled"
    assert run.status()["status"] == "completed" and run.refusals == 3
    assert run.drive(Request("fs__read", {"path": "notes"}))[0] == "ended"


def test_too_many_refusals_close_the_run() -> None:
    run, _gate = _run(max_refusals=2)
    assert run.drive(Request("fs__write", {"path": "copy", "text": "x"}))[0] == "refuse"
    kind, why = run.drive(Request("fs__write", {"path": "copy", "text": "x"}))
    assert kind == "ended" and "2 refused calls" in why and run.done
    assert run.status()["status"] == "closed"


def test_a_run_closed_mid_call_fails_the_call_and_ends() -> None:
    run, _gate = _run()
    assert run.drive(Request("fs__read", {"path": "notes"})) == ("forward", "r")
    run.close("the gateway is shutting down")
    status = run.status()
    assert run.done and status["status"] == "failed" and status["skipped"] == ["w"]
    assert "closed the run during the call" in status["message"]


def test_an_upstream_failure_fails_the_step_and_skips_its_dependents() -> None:
    run, _gate = _run()
    assert run.drive(Request("fs__read", {"path": "notes"})) == ("forward", "r")
    kind, event = run.drive(ConnectionError("upstream gone"))
    assert kind == "labelled" and event["ok"] is False and "upstream gone" in event["error"]
    status = run.status()
    assert status["status"] == "failed" and status["skipped"] == ["w"]
