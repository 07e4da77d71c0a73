"""`bench search --suite support`: the desk's world runs through the search engine, finds
nothing unasked with the shipped policy, and finds routes when every call is allowed."""

from __future__ import annotations

from plangate.bench.search.engine import GoalResult, Search, Settings
from plangate.bench.search.support import SupportWorld
from plangate.bench.support import allow_all


def _one(results: list[GoalResult]) -> GoalResult:
    assert len(results) == 1
    return results[0]


def test_support_world_holds_and_an_allow_all_policy_bites() -> None:
    world = SupportWorld()
    weak = SupportWorld(policy=allow_all(world.policy))
    try:
        settings = Settings(sample=2, contexts=1, seed=0, goals=("id-guessing",), per_depth=(0, 3, 1, 0))
        held = _one(Search(settings).run([world]))
        assert held.contexts == 1 and held.plans_tried > 0
        assert not held.unasked, [f.to_json() for f in held.unasked]
        weak.examples, weak.echoes = world.examples, world.echoes  # the same tools: probe once
        bitten = _one(Search(settings).run([weak]))
        assert bitten.unasked, bitten.to_json()
    finally:
        world.close()
        weak.close()
