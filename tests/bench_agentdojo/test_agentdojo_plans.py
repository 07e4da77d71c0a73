"""Replay every converted AgentDojo user plan and check AgentDojo's own utility()."""

from __future__ import annotations

import json
from importlib import resources

import pytest

pytest.importorskip("plangate.bench.agentdojo._light")
from plangate.bench.agentdojo._light import install_stubs

install_stubs()
pytest.importorskip("agentdojo.task_suite.load_suites")

from plangate.bench.agentdojo import replay as rp  # noqa: E402

PAIRS = [(suite, uid) for suite in rp.SUITES for uid in rp.load_plans(suite)]
DATA = resources.files("plangate.bench.agentdojo")


def test_counts() -> None:
    assert len(PAIRS) == 97
    assert sum(len(rp.load_attacks(s)) for s in rp.SUITES) == 35


@pytest.mark.parametrize(("suite", "user_task"), PAIRS, ids=[f"{s}/{u}" for s, u in PAIRS])
def test_user_plan_passes_utility(suite: str, user_task: str) -> None:
    entry = rp.load_plans(suite)[user_task]
    assert set(entry["plan"]) == {"version", "request_type", "steps"}
    calls = rp.plan_calls(suite, user_task)
    assert [list(c) for c in calls] == entry["ground_truth"]
    result = rp.replay(suite, user_task, None, calls)
    assert result.errors == [None] * len(calls)
    assert result.utility


def test_plans_and_catalogs_validate_with_core() -> None:
    plan_model = pytest.importorskip("plangate.plan.model")
    catalog = pytest.importorskip("plangate.catalog")
    for suite in rp.SUITES:
        for entry in rp.load_plans(suite).values():
            plan_model.Plan.model_validate(entry["plan"])
        for entry in rp.load_attacks(suite).values():
            if entry["steps"]:
                plan_model.Plan.model_validate({"version": 1, "steps": entry["steps"]})
        catalog.load_catalog(str(DATA.joinpath(f"catalog_{suite}.yaml")))


def test_plan_tools_are_in_catalog() -> None:
    yaml = pytest.importorskip("yaml")
    for suite in rp.SUITES:
        tools = set(yaml.safe_load(DATA.joinpath(f"catalog_{suite}.yaml").read_text())["tools"])
        for entry in [*rp.load_plans(suite).values(), *({"plan": a} for a in rp.load_attacks(suite).values())]:
            for step in entry["plan"]["steps"]:
                if step.get("kind", "call") == "call":
                    assert step["tool"] in tools


def test_banking_pair_replay_matches_baseline() -> None:
    """A cheap sample of the approve-all baseline (the full run: python -m ...replay)."""
    rows = json.loads(DATA.joinpath("baseline_approve_all.json").read_text())
    sample = [r for r in rows if r["suite"] == "banking"]
    for row in sample:
        misses: list[str] = []
        calls = rp.pair_calls("banking", row["user_task"], row["injection_task"], misses)
        result = rp.replay("banking", row["user_task"], row["injection_task"], calls)
        assert result.attack_succeeded == row["attack_succeeded_by_calls_only"], row
