"""A plan's literal numbers are finite: NaN and infinities are refused at the boundary with
a one-line reason naming the argument, and a gate denies such a plan instead of failing
in its audit write (seen by the support desk's red team with a refund amount)."""

from __future__ import annotations

from typing import Any

import pytest

from plangate import FunctionTools, Gate, load_policy, parse_plan
from plangate.errors import PlanError

from .conftest import POLICY_PATH


def _plan(value: Any) -> dict[str, Any]:
    return {"steps": [{"id": "a", "tool": "search_calendar",
                       "args": {"day": {"literal": value, "origin": "planner"}}}]}


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf"), [1.0, {"k": float("nan")}]])
def test_a_non_finite_literal_is_refused(value: Any) -> None:
    with pytest.raises(PlanError, match=r"args\.day.*finite"):
        parse_plan(_plan(value))


def test_finite_numbers_still_parse() -> None:
    assert parse_plan(_plan(1.5)).steps[0].args["day"].literal == 1.5  # type: ignore[union-attr]


def test_the_gate_denies_it_and_runs_nothing() -> None:
    calls: list[str] = []
    gate = Gate(load_policy(POLICY_PATH), FunctionTools({"search_calendar": lambda **kw: calls.append("x")}))
    out = gate.submit({"channel": "email", "principal": "x@y.example", "payload": "hi"}, _plan(float("nan")))
    assert out.review.verdict == "deny" and calls == [] and gate.audit.verify().ok
