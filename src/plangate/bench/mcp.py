"""`plangate bench mcp`: what the plan-gated MCP gateway adds to each tool call.

The upstream is the real `mcp-server-time` (PyPI) over stdio. In each round the official
MCP client

submits a granted plan of `calls` steps to `plangate mcp-gateway` (a second process, over
stdio, in front of its own copy of the same server), then makes `calls` calls
(`get_current_time`, four time zones in turn) alternately directly to the upstream and
through the gateway, so both paths see the same machine load.

Each call is timed alone, client side, from the request to the parsed result. Figures:
`direct_p50_ms`, `direct_p99_ms`, `gated_p50_ms`, `gated_p99_ms`, `added_p50_ms` and
`added_p99_ms` (gated minus direct, percentile by percentile over all rounds; goal:
added_p50_ms <= 2), `submit_p50_ms` (review of the `calls`-step plan and the grant), per
round the p50s, so drift shows, and `own_p50_ms` / `own_p99_ms`: the gateway's own time
per call measured in this process (the same calls through `Gateway.call`, minus the
upstream call's time: the executor's check, the audit records, the label), which
separates the gate's cost from the extra MCP hop. What the gated path adds: one more stdio hop and JSON
parse, the executor's runtime check of the call (types, the policy with every value known,
budgets), the durable audit record written before the call (SQLite with
`synchronous=FULL`: an fsync per call, in a temporary folder under `audit_dir`, by default
the system's temporary folder) and the result's label. One warm-up round is not counted.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

ZONES = ("UTC", "Europe/Paris", "Asia/Tokyo", "America/New_York")
TOOL = "time__get_current_time"
POLICY = {
    "name": "bench-mcp",
    "deployment": {"owner": ["owner@home.example"],
                   "classes": [{"name": "owner", "principals": ["owner@home.example"]}],
                   "lowest": "unknown"},
    "request_types": {"time": {"description": "tell the time", "tools": [TOOL]}},
    "classes": {"owner": {"request_types": ["time"],
                          "budget": {"max_calls": 10_000, "max_egress": 0},
                          "rate": {"per_principal_per_hour": 100_000,
                                   "per_principal_per_day": 100_000,
                                   "per_class_per_hour": 100_000}}},
    "rules": [{"id": "owner-time", "permit": {"classes": ["owner"], "tools": [TOOL]},
               "reason": "the owner may ask the time"}],
}
OVERRIDES = {TOOL: {"effects": ["read"], "output": {"readers": "public", "untrusted": False}}}
TRIGGER = {"channel": "chat", "principal": "owner@home.example", "evidence": {"paired": True},
           "payload": "What time is it around the world?"}


def time_server() -> list[str]:
    exe = Path(sys.executable).parent / "mcp-server-time"
    if not exe.exists():
        raise SystemExit("plangate bench mcp: mcp-server-time is not installed "
                         "(pip install mcp-server-time, or the dev extra)")
    return [str(exe), "--local-timezone", "UTC"]


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _plan(calls: int) -> dict[str, Any]:
    return {"version": 1, "request_type": "time", "steps": [
        {"id": f"t{i}", "tool": TOOL,
         "args": {"timezone": {"literal": ZONES[i % len(ZONES)], "origin": "planner"}}}
        for i in range(calls)]}


async def _timed(client: Any, tool: str, i: int) -> float:
    start = time.perf_counter()
    result = await client.call_tool(tool, {"timezone": ZONES[i % len(ZONES)]})
    elapsed = (time.perf_counter() - start) * 1000
    if result.is_error:
        raise RuntimeError(f"{tool} failed: {result.content[:1]}")
    return elapsed


async def _own_time(folder: Path, calls: int, rounds: int) -> list[float]:
    """The gateway's own time per call, in this process, without either MCP hop: a
    gated call's time in `Gateway.call` minus its upstream call's."""
    from contextlib import AsyncExitStack

    from plangate.fronts.mcp.config import load_gateway_config
    from plangate.fronts.mcp.serve import open_gateway

    config, base = load_gateway_config(folder / "gateway.yaml")
    config = config.model_copy(update={"audit": "own-audit.db"})
    out: list[float] = []
    with open(os.devnull, "w") as quiet:  # the upstream's stderr
        async with AsyncExitStack() as stack:
            gateway = await open_gateway(config, base, stack, errlog=quiet)
            await _own_calls(gateway, calls, rounds, out)
    return out


async def _own_calls(gateway: Any, calls: int, rounds: int, out: list[float]) -> None:
    for _ in range(rounds):
        answer = await gateway.call("submit_plan", {"plan": _plan(calls)})
        if answer.is_error:
            raise RuntimeError(f"the bench plan was not approved: {answer.content[:1]}")
        for i in range(calls):
            start = time.perf_counter()
            result = await gateway.call(TOOL, {"timezone": ZONES[i % len(ZONES)]})
            total = (time.perf_counter() - start) * 1000
            if result.is_error:
                raise RuntimeError(f"{TOOL} failed: {result.content[:1]}")
            out.append(total - gateway.upstreams.last_call_ms)


def run(*, calls: int, rounds: int, audit_dir: str | None = None,
        say: Callable[[str], None] = print) -> dict[str, Any]:
    import anyio
    from mcp import Client, StdioServerParameters

    server = time_server()
    with tempfile.TemporaryDirectory(prefix="plangate-bench-mcp-", dir=audit_dir) as tmp:
        folder = Path(tmp)
        (folder / "policy.yaml").write_text(yaml.safe_dump(POLICY))
        (folder / "gateway.yaml").write_text(yaml.safe_dump({
            "policy": "policy.yaml", "audit": "audit.db", "trigger": TRIGGER,
            "overrides": OVERRIDES, "upstreams": {"time": {"command": server}},
            "max_refusals": 1}))
        gateway_cmd = [sys.executable, "-m", "plangate", "mcp-gateway", "--config",
                       str(folder / "gateway.yaml")]
        src = str(Path(__file__).resolve().parents[2])
        env = {**os.environ, "PYTHONPATH": src + os.pathsep + os.environ.get("PYTHONPATH", "")}
        direct: list[float] = []
        gated: list[float] = []
        submits: list[float] = []
        per_round: list[dict[str, float]] = []

        async def go() -> None:
            direct_params = StdioServerParameters(command=server[0], args=server[1:])
            gateway_params = StdioServerParameters(command=gateway_cmd[0], args=gateway_cmd[1:],
                                                   env=env)
            async with Client(direct_params, read_timeout_seconds=60) as up, \
                    Client(gateway_params, read_timeout_seconds=60) as gw:
                for r in range(rounds + 1):
                    start = time.perf_counter()
                    answer = await gw.call_tool("submit_plan", {"plan": _plan(calls)})
                    submit_ms = (time.perf_counter() - start) * 1000
                    verdict = (answer.structured_content or {}).get("verdict")
                    if verdict != "approve":
                        raise RuntimeError(f"the bench plan was not approved: {answer.content[:1]}")
                    d: list[float] = []
                    g: list[float] = []
                    for i in range(calls):  # interleaved: both paths see the same load
                        d.append(await _timed(up, "get_current_time", i))
                        g.append(await _timed(gw, TOOL, i))
                    if r == 0:
                        continue  # warm-up
                    direct.extend(d)
                    gated.extend(g)
                    submits.append(submit_ms)
                    per_round.append({"direct_p50_ms": round(statistics.median(d), 3),
                                      "gated_p50_ms": round(statistics.median(g), 3)})
                    say(f"round {r}/{rounds}: direct p50 {statistics.median(d):.2f} ms, "
                        f"gated p50 {statistics.median(g):.2f} ms")

        anyio.run(go)
        own = anyio.run(_own_time, folder, calls, rounds)
    d50, d99 = _pct(direct, 0.5), _pct(direct, 0.99)
    g50, g99 = _pct(gated, 0.5), _pct(gated, 0.99)
    return {
        "upstream": "mcp-server-time over stdio", "agent_transport": "stdio",
        "audit_folder": str(Path(audit_dir or tempfile.gettempdir()).resolve()),
        "calls_per_round": calls, "rounds": rounds,
        "direct_p50_ms": round(d50, 3), "direct_p99_ms": round(d99, 3),
        "gated_p50_ms": round(g50, 3), "gated_p99_ms": round(g99, 3),
        "added_p50_ms": round(g50 - d50, 3), "added_p99_ms": round(g99 - d99, 3),
        "goal_added_p50_ms": 2.0, "goal_met": g50 - d50 <= 2.0,
        "submit_p50_ms": round(statistics.median(submits), 3),
        "own_p50_ms": round(_pct(own, 0.5), 3), "own_p99_ms": round(_pct(own, 0.99), 3),
        "rounds_detail": per_round,
        "load_average_1m": os.getloadavg()[0], "cpus": os.cpu_count(),
    }


def main(*, json_path: str | None, calls: int = 100, rounds: int = 5,
         audit_dir: str | None = None) -> int:
    figures = run(calls=calls, rounds=rounds, audit_dir=audit_dir,
                  say=lambda line: print(line, file=sys.stderr))
    print(f"direct p50 {figures['direct_p50_ms']} ms, p99 {figures['direct_p99_ms']} ms; "
          f"gated p50 {figures['gated_p50_ms']} ms, p99 {figures['gated_p99_ms']} ms; "
          f"added p50 {figures['added_p50_ms']} ms (goal <= 2), p99 {figures['added_p99_ms']} ms; "
          f"submit_plan of {calls} steps p50 {figures['submit_p50_ms']} ms; the gateway's own "
          f"time per call (in process) p50 {figures['own_p50_ms']} ms, p99 {figures['own_p99_ms']} ms")
    if json_path:
        Path(json_path).write_text(json.dumps(figures, indent=2) + "\n")
    return 0
