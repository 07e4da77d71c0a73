"""Review round 17b: the plan's audit record made once (`gate._plan_event`, e711ec1).

`_plan_event` records the plan as it came when it encodes as plain JSON, otherwise it
falls back to `repr(plan)[:100_000]`. That fallback runs unguarded, and `repr` fails on
the very values that sent the review there in the first place:

* an int of more than 4,300 digits: `json.dumps` raises ValueError (int -> str limit),
  and `repr` raises the same ValueError;
* a plan nested past the recursion limit: `json.dumps` raises RecursionError, and so
  does `repr`.

The exception leaves `Gate._review` before `append_all`, so the review - already decided
(deny, malformed plan) - is not on record at all: not the trigger, not the plan, not the
verdict, and the caller gets a bare ValueError/RecursionError (500 in a service), not the
deny. The hijacked caller chooses whether its review leaves a trace in the audit log.

Reachable through the library API (`Gate.review` / `Gate.submit` take a Mapping); a JSON
body parsed by `json.loads` can hold neither value (it refuses both), so this is not
reachable over HTTP. Not new in e711ec1: e711ec1^'s `_plan_json` had the same unguarded
`repr(plan)`; e711ec1 moved it into `_plan_event`, and it is still there.

Suggested fix: make the fallback total, e.g. a helper that tries `repr(plan)[:100_000]`
and on any exception (ValueError, RecursionError, or whatever a hostile `__repr__`
raises) records a fixed placeholder with the type and the error, e.g.
`{"plan_hash": ..., "plan": None, "plan_unrecordable": "RecursionError: ..."}`, so every
review writes its trigger, plan and verdict records.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from plangate import Gate, load_policy, parse_trigger
from plangate.testing import FixtureTools

ROOT = Path(__file__).resolve().parents[2]
OWNER = "owner@home.example"

GOOD_STEPS = [{"id": "n", "tool": "notify_owner",
               "args": {"text": {"literal": "x", "origin": "planner"}}}]


def _nested(depth: int) -> dict[str, Any]:
    inner: dict[str, Any] = {}
    for _ in range(depth):
        inner = {"a": inner}
    return inner


def _review_is_denied_and_recorded(plan: dict[str, Any]) -> None:
    tools = FixtureTools({})
    gate = Gate(load_policy(ROOT / "examples" / "assistant-policy.yaml"), tools)
    trigger = parse_trigger({"channel": "chat", "principal": OWNER, "evidence": {"paired": True}})
    review = gate.review(trigger, plan)  # raises today
    assert review.verdict == "deny" and review.rules == ("plangate:malformed-plan",)
    assert [e.kind for e in gate.audit.tail(100)] == ["trigger", "plan", "verdict"]
    assert tools.calls == []


def test_a_plan_holding_a_huge_int_is_denied_and_recorded() -> None:
    """A plan with an int of 5,000 digits: denied as malformed, and all three records
    written (today: ValueError from `repr(plan)` in `_plan_event`, nothing recorded)."""
    _review_is_denied_and_recorded({"steps": GOOD_STEPS, "x": 10**5000})


def test_a_plan_nested_too_deep_to_repr_is_denied_and_recorded() -> None:
    """A plan nested 5,000 dicts deep: denied as malformed, and all three records written
    (today: RecursionError from `repr(plan)` in `_plan_event`, nothing recorded)."""
    _review_is_denied_and_recorded({"steps": GOOD_STEPS, "x": _nested(5000)})


def test_a_literal_that_holds_itself_is_refused_not_walked_forever() -> None:
    """Found beside the above: `Lit._finite` walked a literal's values with no bound, so a
    list holding itself (only a library caller can build one) hung the review. Now the walk
    stops after `MAX_LITERAL_VALUES` values and the plan is refused (well under a second)."""
    import time

    import pytest

    from plangate.errors import PlanError
    from plangate.plan.codec import parse_plan

    looped: list[object] = []
    looped.append(looped)
    started = time.monotonic()
    with pytest.raises(PlanError, match="holds more than"):
        parse_plan({"version": 1, "steps": [{"id": "a", "tool": "notify_owner",
                                             "args": {"text": {"literal": looped, "origin": "planner"}}}]})
    assert time.monotonic() - started < 10
