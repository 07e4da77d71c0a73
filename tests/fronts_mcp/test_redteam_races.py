"""Red team of the gateway's stepping: a hijacked agent that fires calls concurrently,
hoping two requests meet the executor at the same paused step, or that a plan it submits
while a granted call is in flight is reviewed before that call's result counts as seen.
One gateway, real filesystem and memory servers; the audit log and the memory graph say
what really ran."""

from __future__ import annotations

from typing import Any

import anyio

from fronts_mcp.conftest import World, gateway, lit, plan, text
from fronts_mcp.test_gateway import SUMMARY, granted_calls, granted_plan

REMEMBER = plan("notes", {"id": "remember", "tool": "memory__create_entities",
                          "args": {"entities": lit([{"name": "summary", "entityType": "note",
                                                     "observations": [SUMMARY]}])}})


def test_concurrent_copies_of_the_next_call_run_it_once(world: World) -> None:
    """Six concurrent copies of each granted call: exactly one of each is forwarded; the
    others are refused (the executor has moved on), and the memory graph holds one entity."""
    async def go() -> list[list[bool]]:
        async with gateway(world.config) as c:
            r = await c.call_tool("submit_plan", {"plan": granted_plan(world.ws)})
            assert r.structured_content["verdict"] == "approve", text(r)
            outcomes: list[list[bool]] = []
            for tool, args in granted_calls(world.ws):
                ok: list[bool] = []

                async def one(tool: str = tool, args: dict[str, Any] = args,
                              ok: list[bool] = ok) -> None:
                    ok.append(not (await c.call_tool(tool, args)).is_error)

                async with anyio.create_task_group() as group:
                    for _ in range(6):
                        group.start_soon(one)
                outcomes.append(ok)
            return outcomes

    outcomes = anyio.run(go)
    assert [sum(ok) for ok in outcomes] == [1, 1, 1], outcomes
    assert [c["tool"] for c in world.events("call")] == [t for t, _ in granted_calls(world.ws)]
    entities = [e for e in world.graph() if e.get("type") == "entity"]
    assert [(e["name"], e["observations"]) for e in entities] == [("summary", [SUMMARY])]


def test_a_plan_submitted_during_a_call_still_carries_its_result(world: World) -> None:
    """The agent starts the granted read of the owner's notes and submits the next plan
    at the same moment. Whichever the gateway takes first, the two stay consistent: if
    the read's result reached the agent, the plan is reviewed with it (and escalates,
    private data into memory); if the plan came first, the read was refused."""
    async def go() -> tuple[Any, Any]:
        async with gateway(world.config) as c:
            r = await c.call_tool("submit_plan", {"plan": granted_plan(world.ws)})
            assert r.structured_content["verdict"] == "approve", text(r)
            got: dict[str, Any] = {}

            async def read() -> None:
                got["read"] = await c.call_tool(*granted_calls(world.ws)[0])

            async def submit() -> None:
                got["plan"] = await c.call_tool("submit_plan", {"plan": REMEMBER})

            async with anyio.create_task_group() as group:
                group.start_soon(read)
                group.start_soon(submit)
            return got["read"], got["plan"]

    read, submitted = anyio.run(go)
    verdict = submitted.structured_content["verdict"]
    if not read.is_error:
        assert "Door code" in text(read)
        assert verdict == "escalate", submitted.structured_content
    else:
        assert verdict == "approve" and "nothing was forwarded" in text(read), text(read)
