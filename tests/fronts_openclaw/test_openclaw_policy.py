"""The shipped OpenClaw catalog and policy: it loads, and decides the cases in
policy_cases.yaml (plans an OpenClaw agent would submit) as listed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from plangate import load_policy, parse_trigger, review_plan
from plangate.fronts.openclaw import POLICY

CASES = yaml.safe_load((Path(__file__).with_name("policy_cases.yaml")).read_text())
SENDERS = {"owner": ("owner@home.example", "pass"), "owner-unverified": ("owner@home.example", "fail"),
           "stranger": ("mallory@evil.example", "pass")}


def _value(v: Any) -> dict[str, Any]:
    if isinstance(v, dict) and "ref" in v:
        return v
    if isinstance(v, dict) and "p" in v:
        return {"literal": v["p"], "origin": "planner"}
    return {"literal": v, "origin": "payload"}


@pytest.fixture(scope="module")
def policy() -> Any:
    return load_policy(POLICY)


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_policy_case(case: dict[str, Any], policy: Any) -> None:
    sender, dmarc = SENDERS[case["from"]]
    quoted = case.get("quoted", "")
    segments = [{"kind": "own", "author": "", "text": case["payload"]},
                {"kind": "quoted", "author": "mallory@evil.example", "text": quoted}] if quoted else []
    trigger = parse_trigger({"channel": "email", "principal": sender, "evidence": {"dmarc": dmarc},
                             "payload": case["payload"] + quoted, "segments": segments})
    steps = [{"id": f"s{i + 1}", "tool": tool, "args": {k: _value(v) for k, v in args.items()}}
             for i, (tool, args) in enumerate(case["steps"])]
    plan = {"version": 1, "request_type": case.get("request_type", "owner_task"), "steps": steps}
    review = review_plan(trigger, plan, policy)
    assert review.verdict == case["verdict"], (review.rules, review.summary)
    assert set(case.get("rules", [])) <= set(review.rules), (review.rules, review.summary)
