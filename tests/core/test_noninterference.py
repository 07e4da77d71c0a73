"""Noninterference, tested by running every plan in two worlds.

The two worlds differ only in the owner's private data: what the private tools return
(texts, list lengths) and whether a tool fails on a private value. A contact's or a
stranger's run may not tell them apart: the effects every non-owner can observe (egress
calls to anyone but the owner, with their arguments) must be the same in both, whatever
plan a hijacked planner emits and whatever the quarantined model answers. The owner is
absent (escalations do not run): this is what the policy lets through on its own.

The check knows nothing of labels; it compares what happened. It is the test of the pc
label (loops over private lists), of failures that skip only their dependents, of loop
truncation, of extraction labels, and of outputs joining their inputs, all at once.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from hypothesis import event, given, settings
from hypothesis import strategies as st

from plangate import Gate, parse_trigger
from plangate.protocols import ToolResult
from plangate.testing import ScriptedExtractor

from .conftest import assistant_policy
from .test_properties import (
    CI,
    HOSTILE,
    OWNER,
    TRIGGERS,
    LeakingExtractor,
    _destinations,
    hijacked_plans,
    leak_plans,
    random_plans,
)

FAIL_MARK = "PRIV-fail"


def world(secret: int) -> dict[str, Any]:
    """Tool outputs of one world. Public parts are the same in every world; the private
    parts (the owner's inbox, calendar and files) depend on `secret`."""
    n = 1 + secret % 3
    return {
        "read_inbox": [{"sender": "bob@partner.example", "subject": f"PRIV-subject-{secret}-{i}",
                        "body": f"PRIV-body-{secret}-{i}" + (f" {FAIL_MARK}" if secret % 2 else ""),
                        "to": ["bob@partner.example"], "day": f"2026-12-0{1 + (secret + i) % 8}"}
                       for i in range(n)],
        "search_calendar": [{"day": f"2026-12-0{1 + secret % 8}", "title": f"PRIV-cal-{secret}",
                             "id": f"ev{secret}", "attendees": ["bob@partner.example"]}
                            for _ in range(1 + secret % 2)],
        "read_file": {"to": [f"PRIV-{secret}@ledger.example"],
                      "body": f"PRIV-file {secret}" + (f" {FAIL_MARK}" if secret % 2 else ""),
                      "day": f"2026-12-0{1 + secret % 8}"},
        "run_tests": f"PRIV-tests {secret}",
    }


class WorldTools:
    """Fixture tools over one world; any call whose arguments carry the fail mark fails,
    so a failure depends on private data exactly when the arguments came from it."""

    def __init__(self, outputs: Mapping[str, Any]) -> None:
        self.outputs = outputs
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def call(self, tool: str, args: Mapping[str, Any]) -> ToolResult:
        self.calls.append((tool, dict(args)))
        if FAIL_MARK in json.dumps(args, default=str):
            raise RuntimeError("failed on private data")
        return ToolResult(self.outputs.get(tool, "ok"))


def observed(calls: list[tuple[str, dict[str, Any]]]) -> list[str]:
    """What someone other than the owner can see: every egress that reaches a non-owner."""
    seen = []
    for tool, args in calls:
        dests = _destinations(tool, args)
        if dests is not None and any(d != OWNER for d in dests):
            seen.append(json.dumps([tool, args], sort_keys=True, default=str))
    return seen


def run_in(secret: int, trigger: dict[str, Any], plan: dict[str, Any], leaking: bool) -> list[str]:
    tools = WorldTools(world(secret))
    extractor = LeakingExtractor() if leaking else ScriptedExtractor()
    gate = Gate(assistant_policy(), tools, extractor=extractor)
    gate.submit(parse_trigger(trigger), plan)
    return observed(tools.calls)


NON_OWNER = [t for t in TRIGGERS if t[1] != "owner"]
PRIVATE_READS = {"read_inbox": "query", "search_calendar": "day", "read_file": "path"}
EGRESS = ["reply_email", "send_email", "notify_owner"]


def _planner(text: str) -> dict[str, Any]:
    return {"literal": text, "origin": "planner"}


def _egress(draw: st.DrawFn, step_id: str, body: dict[str, Any]) -> dict[str, Any]:
    sender = {"ref": "trigger", "path": "principal"}
    tool = draw(st.sampled_from(EGRESS))
    if tool == "reply_email":
        return {"id": step_id, "tool": tool, "args": {"to": sender, "body": body}}
    if tool == "send_email":
        return {"id": step_id, "tool": tool, "args": {"to": {"list": [sender]},
                                                      "subject": _planner("s"), "body": body}}
    return {"id": step_id, "tool": tool, "args": {"text": body}}


@st.composite
def control_plans(draw: st.DrawFn) -> dict[str, Any]:
    """Plans whose *control flow* depends on private data while the values they send do
    not: a loop over a private list that sends a fixed text, a step that fails on a private
    value followed by an independent send, a loop whose private list may exceed its max."""
    source = draw(st.sampled_from(sorted(PRIVATE_READS)))
    read = {"id": "r", "tool": source, "args": {PRIVATE_READS[source]: _planner("x")}}
    text = {"read_inbox": "0.body", "search_calendar": "0.title", "read_file": "body"}[source]
    shape = draw(st.sampled_from(["loop", "fail", "loop-fail", "loop-write"]))
    steps: list[dict[str, Any]] = [read]
    if shape.startswith("loop") and source != "read_file":
        inner: list[dict[str, Any]] = []
        if shape != "loop-write":
            inner.append(_egress(draw, "tell", _planner("ping")))
        if shape != "loop":
            title = {"ref": "it", "path": "body" if source == "read_inbox" else "title"}
            inner.insert(0, {"id": "hold", "tool": "create_hold",
                             "args": {"day": _planner("2026-12-02"), "title": title}})
        steps.append({"id": "each", "kind": "for_each", "over": {"ref": "r"}, "as": "it",
                      "max": draw(st.integers(1, 3)), "steps": inner})
    else:
        steps.append({"id": "hold", "tool": "create_hold",
                      "args": {"day": _planner("2026-12-02"), "title": {"ref": "r", "path": text}}})
    steps.append(_egress(draw, "after", _planner("done")))
    rt = draw(st.sampled_from([None, "meeting_request"]))
    return {"steps": steps, **({"request_type": rt} if rt else {})}


# The contact is the class that may read private data at all, so it is drawn most often.
TRIGGER_DRAW = st.one_of(st.sampled_from([t for t in NON_OWNER if t[1] == "contact"]),
                         st.sampled_from(NON_OWNER))
WORLDS = settings(HOSTILE, max_examples=2_000 if CI else 300)


@WORLDS
@given(TRIGGER_DRAW, st.one_of(control_plans(), control_plans(), hijacked_plans(),
                               random_plans(), leak_plans()), st.booleans())
def test_a_non_owner_run_cannot_tell_two_private_worlds_apart(
        trig: tuple[str, str, dict[str, Any]], plan: dict[str, Any], leaking: bool) -> None:
    """Same trigger, same plan, worlds 0..3 that differ only in private data: every
    non-owner sees the same effects in each."""
    _name, _cls, trigger = trig
    traces = [run_in(secret, trigger, plan, leaking) for secret in range(4)]
    event(f"observable effects: {len(traces[0])}")
    assert all(t == traces[0] for t in traces), traces
