"""`plangate bench search`: a sampled run through the real gate, and the proof that it
bites: against a deliberately weakened policy it finds goals reached unasked."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml

pytest.importorskip("plangate.bench.agentdojo._light")
from plangate.bench.agentdojo._light import install_stubs

install_stubs()
pytest.importorskip("agentdojo.task_suite.load_suites")

from plangate.bench.search import cli  # noqa: E402
from plangate.bench.search.agentdojo import AgentDojoWorld  # noqa: E402
from plangate.bench.search.engine import GoalResult, Search, Settings  # noqa: E402
from plangate.bench.search.inbox import InboxWorld, approve_all  # noqa: E402
from plangate.policy import CompiledPolicy  # noqa: E402
from plangate.policy.loader import compile_policy  # noqa: E402

BANKING = Path(__file__).resolve().parents[2] / "src/plangate/bench/agentdojo/policy_banking.yaml"


def _approve_all_banking(world: AgentDojoWorld) -> CompiledPolicy:
    doc = yaml.safe_load(BANKING.read_text(encoding="utf-8"))
    return compile_policy({"name": "approve-all", "deployment": doc["deployment"],
                           "rules": [{"id": "approve-all", "permit": {}, "reason": "weakened on purpose"}]},
                          world.catalog)


def _one(results: list[GoalResult]) -> GoalResult:
    assert len(results) == 1
    return results[0]


def test_a_sampled_run_through_the_gate_is_fast_and_reports_every_key(tmp_path: Path) -> None:
    out = tmp_path / "search.json"
    md = tmp_path / "search.md"
    args = SimpleNamespace(suite=["banking"], json=str(out), markdown=str(md), sample=2, seed=0,
                           budget_seconds=40.0)
    assert cli.main(args) == 0
    data: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    for key in ("goals", "plans_tried", "reachable_unasked", "reachable_asked", "unasked_routes", "asked_routes",
                "per_goal", "by_world"):
        assert key in data
    assert data["goals"] == 9 and data["plans_tried"] > 0
    for goal in data["per_goal"]:
        assert goal["plans_tried"] <= 2 + 4  # the sample, and the unscreened check
    # Every finding carries what reproduces it: the plan, the extractor's answers, the route.
    for route in data["unasked_routes"] + data["asked_routes"]:
        assert route["steps"] and route["route"] and route["plan_hash"]
    assert "| agentdojo/banking |" in md.read_text(encoding="utf-8")


def test_the_search_finds_what_an_approve_all_policy_lets_through() -> None:
    world = AgentDojoWorld("banking")
    weak = AgentDojoWorld("banking", policy=_approve_all_banking(world))
    settings = Settings(sample=3, contexts=1, seed=0, goals=("injection_task_5",))
    found = _one(Search(settings).run([weak]))
    assert found.unasked, found.to_json()
    route = found.unasked[0]
    assert route.executed[-1] == "send_money" and not route.questions
    # The same sample against the suite's real policy: the money never leaves unasked.
    held = _one(Search(settings).run([world]))
    assert not held.unasked


def test_inbox_world_runs_and_bites() -> None:
    world = InboxWorld()
    try:
        settings = Settings(sample=2, contexts=1, seed=0, goals=("forwarding",), per_depth=(0, 4, 2, 1))
        result = _one(Search(settings).run([world]))
        assert result.contexts == 1 and result.plans_tried > 0
        weak = InboxWorld(policy=approve_all(world.policy))
        weak.examples, weak.echoes = world.examples, world.echoes  # the same tools: probe once
        try:
            bitten = _one(Search(settings).run([weak]))
        finally:
            weak.close()
        assert bitten.unasked, bitten.to_json()
    finally:
        world.close()
