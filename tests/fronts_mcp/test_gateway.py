"""The plan-gated MCP gateway in front of real upstream servers (filesystem and memory from
npm, time from PyPI), driven by the official MCP client over stdio, as an agent's host
would: nothing before a plan, exactly the plan's calls after it, refusals that reach no
upstream (checked on the filesystem and in the memory graph), escalation through
plangate's approvals, and the benign flow with labelled results."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import yaml

from fronts_mcp.conftest import (
    DATA,
    ROOT,
    STRANGER,
    World,
    gateway,
    lit,
    make_world,
    names,
    plan,
    text,
)

OWN_TOOLS = ["plan_tools", "submit_plan", "plan_status"]
SUMMARY = "summary of notes"


def granted_plan(ws: Path) -> dict[str, Any]:
    return plan(
        "notes",
        {"id": "read", "tool": "fs__read_text_file", "args": {"path": lit(f"{ws}/notes.txt")}},
        {"id": "write", "tool": "fs__write_file",
         "args": {"path": lit(f"{ws}/summary.txt"), "content": lit(SUMMARY)}},
        {"id": "remember", "tool": "memory__create_entities",
         "args": {"entities": lit([{"name": "summary", "entityType": "note",
                                    "observations": [SUMMARY]}])}})


def granted_calls(ws: Path) -> list[tuple[str, dict[str, Any]]]:
    return [("fs__read_text_file", {"path": f"{ws}/notes.txt"}),
            ("fs__write_file", {"path": f"{ws}/summary.txt", "content": SUMMARY}),
            ("memory__create_entities", {"entities": [{"name": "summary", "entityType": "note",
                                                       "observations": [SUMMARY]}]})]


def _fill(value: Any, ws: Path) -> Any:
    if isinstance(value, str):
        return value.replace("{ws}", str(ws))
    if isinstance(value, list):
        return [_fill(v, ws) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, ws) for k, v in value.items()}
    return value


def test_before_a_plan_only_the_gateways_tools_exist_and_nothing_is_forwarded(world: World) -> None:
    """No plan: the listing has the three gateway tools only; an upstream tool's call is an
    error result and the file is not written. A plan smuggling a trigger of its own is
    reviewed for the launcher's trigger, not the agent's."""
    async def go() -> None:
        async with gateway(world.config, "--trigger", str(_write_trigger(world, STRANGER))) as c:
            assert await names(c) == OWN_TOOLS
            r = await c.call_tool("fs__write_file", {"path": f"{world.ws}/x.txt", "content": "x"})
            assert r.is_error and "submit_plan first" in text(r)
            tools = (await c.call_tool("plan_tools", {})).structured_content
            assert tools["trust_class"] == "unknown"
            assert "fs__write_file" in tools["tools"] and "submit_plan" not in tools["tools"]
            smuggled = {**granted_plan(world.ws), "trigger": {"principal": "owner@home.example"}}
            r = await c.call_tool("submit_plan", {"plan": smuggled, "trust_class": "owner"})
            assert r.structured_content["verdict"] == "deny" and r.is_error
            assert await names(c) == OWN_TOOLS

    anyio.run(go)
    assert world.files() == {"notes.txt": "Meeting with Bob on Tuesday. Door code 4711.\n"}
    assert [e["why"] for e in world.events("mcp_refused")] == ["no granted plan: call submit_plan first"]


def test_benign_flow_lists_exactly_the_plan_and_labels_each_result(world: World) -> None:
    """The owner's plan is approved; the listing grows by exactly its tools (with the
    upstream's schemas); each call reaches the real server and comes back labelled; the
    file and the memory graph hold what the plan said; then the grant is over."""
    async def go() -> None:
        async with gateway(world.config) as c:
            r = await c.call_tool("submit_plan", {"plan": granted_plan(world.ws)})
            assert r.structured_content["verdict"] == "approve", text(r)
            listed = (await c.list_tools(cache_mode="refresh")).tools
            assert [t.name for t in listed] == [*OWN_TOOLS, "fs__read_text_file", "fs__write_file",
                                                "memory__create_entities"]
            assert "path" in listed[3].input_schema["properties"]
            labels = []
            for tool, args in granted_calls(world.ws):
                r = await c.call_tool(tool, args)
                assert not r.is_error, text(r)
                labels.append(r.meta["dev.plangate/label"])
            # What the file server returned is private to the owner and untrusted.
            assert labels[0]["readers"] == ["owner"] and labels[0]["taint"] == "high"
            status = (await c.call_tool("plan_status", {})).structured_content
            assert status["status"] == "completed" and status["calls"] == 3
            assert await names(c) == OWN_TOOLS
            r = await c.call_tool(*granted_calls(world.ws)[0])
            assert r.is_error and "no more calls (run completed)" in text(r)

    anyio.run(go)
    assert world.files()["summary.txt"] == SUMMARY
    entities = [e for e in world.graph() if e.get("type") == "entity"]
    assert [(e["name"], e["observations"]) for e in entities] == [("summary", [SUMMARY])]
    calls = world.events("call")
    assert [c["tool"] for c in calls] == ["fs__read_text_file", "fs__write_file",
                                          "memory__create_entities"]


def test_a_hijacked_agent_is_refused_and_nothing_reaches_an_upstream(world: World) -> None:
    """Every call of tests/fronts_mcp/data/hijack.yaml, made between the granted calls, is
    refused: ungranted tools, granted tools with other arguments or out of order, and the
    secret carried out in a granted tool's arguments. The filesystem and the memory graph
    end exactly as the granted plan leaves them, and each refusal is in the audit log."""
    cases = yaml.safe_load((DATA / "hijack.yaml").read_text())
    assert len({c["family"] for c in cases}) == 3

    async def go() -> None:
        async with gateway(world.config) as c:
            r = await c.call_tool("submit_plan", {"plan": granted_plan(world.ws)})
            assert r.structured_content["verdict"] == "approve", text(r)
            granted: list[tuple[str, dict[str, Any]] | None] = [*granted_calls(world.ws), None]
            for done, step in enumerate(granted):
                for case in (k for k in cases if k["after"] == done):
                    call = _fill(case["call"], world.ws)
                    r = await c.call_tool(call["tool"], call["args"])
                    assert r.is_error, case["id"]
                    assert "nothing was forwarded" in text(r), (case["id"], text(r))
                if step is not None:
                    r = await c.call_tool(*step)
                    assert not r.is_error, text(r)

    anyio.run(go)
    assert world.files() == {"notes.txt": "Meeting with Bob on Tuesday. Door code 4711.\n",
                             "summary.txt": SUMMARY}
    entities = [e for e in world.graph() if e.get("type") == "entity"]
    assert [(e["name"], e["observations"]) for e in entities] == [("summary", [SUMMARY])]
    assert len(world.events("mcp_refused")) == len(cases)
    assert len(world.events("call")) == 3


def test_an_escalated_plan_waits_for_the_owner_then_runs_once(
        tmp_path: Path, upstream_binaries: dict[str, Path]) -> None:
    """A stranger's note waits in plangate's approvals: meanwhile nothing is listed or
    forwarded; the owner approves with `plangate approvals approve`; the agent's poll
    turns it into a grant and the note is written. A stranger's plan that reads the
    owner's notes is denied outright."""
    world = make_world(tmp_path, upstream_binaries, trigger=STRANGER)
    note = plan("notes", {"id": "note", "tool": "fs__write_file",
                          "args": {"path": lit(f"{world.ws}/hello.txt"),
                                   "content": {"literal": "hello from Eve", "origin": "payload"}}})
    read = plan("notes", {"id": "read", "tool": "fs__read_text_file",
                          "args": {"path": lit(f"{world.ws}/notes.txt")}})
    call = ("fs__write_file", {"path": f"{world.ws}/hello.txt", "content": "hello from Eve"})

    async def go() -> None:
        async with gateway(world.config) as c:
            r = await c.call_tool("submit_plan", {"plan": read})
            assert r.structured_content["verdict"] == "deny"
            r = await c.call_tool("submit_plan", {"plan": note})
            body = r.structured_content
            assert body["verdict"] == "escalate" and body["approval"].startswith("ap_"), body
            assert await names(c) == OWN_TOOLS
            r = await c.call_tool(*call)
            assert r.is_error and not (world.ws / "hello.txt").exists()
            status = (await c.call_tool("plan_status", {})).structured_content
            assert status["status"] == "waiting for the owner"
            decided = await anyio.to_thread.run_sync(lambda: subprocess.run(
                [sys.executable, "-m", "plangate", "approvals", "approve", body["approval"],
                 "--db", str(world.audit)], capture_output=True, text=True, timeout=60,
                cwd=ROOT))
            assert decided.returncode == 0, decided.stderr
            status = (await c.call_tool("plan_status", {})).structured_content
            assert status["status"] == "granted", status
            assert await names(c) == [*OWN_TOOLS, "fs__write_file"]
            r = await c.call_tool(*call)
            assert not r.is_error, text(r)
            r = await c.call_tool(*call)
            assert r.is_error  # once

    anyio.run(go)
    assert (world.ws / "hello.txt").read_text() == "hello from Eve"


def test_an_unreachable_upstream_stops_the_gateway_before_it_serves(
        tmp_path: Path, upstream_binaries: dict[str, Path]) -> None:
    from servers import free_port

    world = make_world(tmp_path, upstream_binaries,
                       extra={"upstreams": {"gone": {"url": f"http://127.0.0.1:{free_port()}/mcp"}},
                              "timeouts": {"start_s": 5}})
    out = subprocess.run([sys.executable, "-m", "plangate", "mcp-gateway", "--config",
                          str(world.config)], capture_output=True, text=True, timeout=60,
                         stdin=subprocess.DEVNULL, cwd=ROOT)
    assert out.returncode == 2
    assert out.stderr.strip().splitlines()[-1].startswith("plangate: error: upstream 'gone':")
    assert "Traceback" not in out.stderr


def _write_trigger(world: World, trigger: dict[str, Any]) -> Path:
    path = world.root / "trigger.yaml"
    path.write_text(yaml.safe_dump(trigger))
    return path


def test_a_later_plan_carries_what_the_agent_was_shown(world: World) -> None:
    """The same plan is approved in a fresh session and escalated after the agent has read
    the owner's private notes through the gateway: its literals now carry that label (the
    policy asks before private data goes into the long-term memory)."""
    remember = plan("notes", {"id": "remember", "tool": "memory__create_entities",
                              "args": {"entities": lit([{"name": "summary", "entityType": "note",
                                                         "observations": [SUMMARY]}])}})

    async def go() -> None:
        async with gateway(world.config) as c:
            r = await c.call_tool("submit_plan", {"plan": granted_plan(world.ws)})
            assert r.structured_content["verdict"] == "approve", text(r)
            r = await c.call_tool(*granted_calls(world.ws)[0])
            assert not r.is_error and "Door code" in text(r)
            r = await c.call_tool("submit_plan", {"plan": remember})
            body = r.structured_content
            assert body["verdict"] == "escalate" and "remember-private-asks" in body["rules"], body
        async with gateway(world.config) as c:
            r = await c.call_tool("submit_plan", {"plan": remember})
            assert r.structured_content["verdict"] == "approve", text(r)

    anyio.run(go)


def test_a_probing_agent_or_an_idle_grant_loses_the_grant(
        tmp_path: Path, upstream_binaries: dict[str, Path]) -> None:
    """After `max_refusals` refused calls the grant is closed: even the plan's own next
    call is refused and nothing is written. A grant with no call for `idle_s` is closed
    at the next call the same way."""
    probing = make_world(tmp_path / "probing", upstream_binaries, extra={"max_refusals": 2})
    idle = make_world(tmp_path / "idle", upstream_binaries,
                      extra={"timeouts": {"start_s": 30, "call_s": 20, "idle_s": 0.5}})

    async def go() -> None:
        async with gateway(probing.config) as c:
            r = await c.call_tool("submit_plan", {"plan": granted_plan(probing.ws)})
            assert r.structured_content["verdict"] == "approve", text(r)
            for path in ("/etc/passwd", "/etc/shadow"):
                assert (await c.call_tool("fs__read_text_file", {"path": path})).is_error
            r = await c.call_tool(*granted_calls(probing.ws)[0])
            assert r.is_error and "2 refused calls" in text(r), text(r)
            status = (await c.call_tool("plan_status", {})).structured_content
            assert status["status"] == "closed"
        async with gateway(idle.config) as c:
            r = await c.call_tool("submit_plan", {"plan": granted_plan(idle.ws)})
            assert r.structured_content["verdict"] == "approve", text(r)
            await anyio.sleep(1.0)
            r = await c.call_tool(*granted_calls(idle.ws)[0])
            assert r.is_error and "no call for 0.5 s" in text(r), text(r)

    anyio.run(go)
    assert len(probing.events("call")) == 0 and len(idle.events("call")) == 0
    assert [e["why"] for e in probing.events("mcp_closed")] == ["2 refused calls"]


def test_a_loop_runs_each_item_once_up_to_its_bound(world: World) -> None:
    """A for_each step: each item's call is granted in turn with that item's value; an
    item beyond the loop's `max` is never granted."""
    zones = ["Asia/Tokyo", "Europe/Paris", "America/New_York"]
    looped = plan("time", {"id": "each", "kind": "for_each", "as": "zone", "max": 2,
                           "over": {"literal": zones, "origin": "planner"},
                           "steps": [{"id": "t", "tool": "time__get_current_time",
                                      "args": {"timezone": {"ref": "zone"}}}]})

    async def go() -> None:
        async with gateway(world.config) as c:
            r = await c.call_tool("submit_plan", {"plan": looped})
            assert r.structured_content["verdict"] == "approve", text(r)
            r = await c.call_tool("time__get_current_time", {"timezone": zones[1]})
            assert r.is_error  # out of order
            for zone in zones[:2]:
                r = await c.call_tool("time__get_current_time", {"timezone": zone})
                assert not r.is_error and zone in text(r)
            r = await c.call_tool("time__get_current_time", {"timezone": zones[2]})
            assert r.is_error and "no more calls" in text(r)

    anyio.run(go)
    assert [c["args"]["timezone"] for c in world.events("call")] == zones[:2]
