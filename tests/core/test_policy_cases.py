"""Policy conformance cases, kept as data: each YAML file in policy_cases/ holds a trigger,
a plan and the expected trust class, verdict and (a subset of) deciding rules under
examples/assistant-policy.yaml."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from plangate import parse_trigger
from plangate.review import review

from .conftest import assistant_policy

CASES = sorted((Path(__file__).parent / "policy_cases").glob("*.yaml"))


def test_there_are_enough_cases_spanning_every_verdict_and_class() -> None:
    """The case corpus covers approve/deny/escalate and every trust class of the policy."""
    docs = [yaml.safe_load(p.read_text()) for p in CASES]
    assert len(docs) >= 25
    assert {d["expect"]["verdict"] for d in docs} == {"approve", "deny", "escalate"}
    assert {d["expect"]["trust_class"] for d in docs} == assistant_policy().class_names()


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_policy_case(path: Path) -> None:
    """The case's plan gets the expected verdict, trust class and deciding rules."""
    case: dict[str, Any] = yaml.safe_load(path.read_text())
    result = review(parse_trigger(case["trigger"]), case["plan"], assistant_policy())
    expect = case["expect"]
    assert result.trust_class == expect["trust_class"], result.classification
    assert result.verdict == expect["verdict"], (result.rules, result.summary)
    missing = set(expect.get("rules", [])) - set(result.rules)
    assert not missing, f"expected rules {sorted(missing)} among {result.rules}"
