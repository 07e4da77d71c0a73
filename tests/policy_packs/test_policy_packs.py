"""The policy packs against the shortcuts a review found in them (docs/benchmarks/
policy-review.md): each case in cases/ is a plan that took a route around a rule, and
the verdict the fixed pack gives it (see packs.py for the case format)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from .packs import PACKS, run_case

CASES = sorted((Path(__file__).parent / "cases").glob("*.yaml"))


def _load(path: Path) -> dict[str, Any]:
    case: dict[str, Any] = yaml.safe_load(path.read_text())
    return case


def test_cases_are_well_formed() -> None:
    """Every case names a pack, says which route it shows and what it got before."""
    assert CASES
    for path in CASES:
        case = _load(path)
        assert case["pack"] in PACKS, path.name
        assert case.get("description") and case.get("route"), path.name
        assert case["before"] in ("approve", "escalate", "deny"), path.name
        assert case["expect"]["verdict"] in ("approve", "escalate", "deny"), path.name


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_policy_pack_case(path: Path) -> None:
    """The route gets the expected verdict, decided by the expected rules."""
    case = _load(path)
    outcome = run_case(case)
    expect = case["expect"]
    assert outcome.verdict == expect["verdict"], str(outcome)
    missing = set(expect.get("rules", [])) - set(outcome.rules)
    assert not missing, f"expected rules {sorted(missing)} in {outcome}"
