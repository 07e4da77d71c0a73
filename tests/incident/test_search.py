"""`bench search --suite incident`: the automated attacker finds routes through the
incident world when every call is allowed, and none that land unasked behind the shipped
policy (a reduced sample; the full search is in docs/benchmarks/incident.md)."""

from __future__ import annotations

from plangate.bench.search.engine import Search, Settings
from plangate.bench.search.incident import IncidentWorld, approve_all


def test_search_finds_routes_only_without_the_policy() -> None:
    world = IncidentWorld()
    weak = IncidentWorld(policy=approve_all(world.policy))
    try:
        settings = Settings(sample=2, contexts=2, seed=0, goals=("wrong-target",))
        held = Search(settings).run([world])
        assert {r.info.id for r in held} == {"wrong-target"}
        assert all(r.plans_tried > 0 and not r.unasked for r in held), [r.to_json() for r in held]
        bitten = Search(settings).run([weak])
        assert any(r.unasked for r in bitten), "with every call allowed the search should reach a goal"
    finally:
        world.close()
        weak.close()
