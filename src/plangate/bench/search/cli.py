"""`plangate bench search`: the automated worst-case attacker.

    plangate bench search [--suite S ...] [--json F] [--markdown F]
                          [--sample N] [--seed N] [--budget-seconds N]

Suites: the four AgentDojo suites (`workspace`, `travel`, `banking`, `slack`) and
`inbox` (InboxBench); all five by default. `agentdyn-shopping`, `agentdyn-github` and
`agentdyn-dailylife` (AgentDyn, `search/agentdyn.py`) run on their own, in a child
process. `--sample N` caps the attack plans per goal (the CI run), `--budget-seconds`
bounds the whole search (each goal gets an equal share of what is left), `--seed` fixes
every sampling choice.
"""

from __future__ import annotations

import importlib.util
import json
import platform
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from plangate.bench.search.engine import GoalResult, Search, Settings, World

AGENTDOJO_SUITES = ("workspace", "travel", "banking", "slack")
SUITES = (*AGENTDOJO_SUITES, "inbox", "support", "incident")


def worlds(suites: Sequence[str]) -> list[World]:
    out: list[World] = []
    for suite in suites:
        if suite == "inbox":
            from plangate.bench.search.inbox import InboxWorld

            out.append(InboxWorld())
        elif suite == "support":
            from plangate.bench.search.support import SupportWorld

            out.append(SupportWorld())
        elif suite == "incident":
            from plangate.bench.search.incident import IncidentWorld

            out.append(IncidentWorld())
        else:
            from plangate.bench.search.agentdojo import AgentDojoWorld

            out.append(AgentDojoWorld(suite))
    return out


def report(results: Sequence[GoalResult], seconds: float, command: str, settings: Settings) -> dict[str, Any]:
    per_goal = [r.to_json() for r in results]
    unasked = [route | {"goal": g["goal"], "world": g["world"]} for g in per_goal for route in g["unasked_routes"]]
    asked = [route | {"goal": g["goal"], "world": g["world"]} for g in per_goal for route in g["asked_routes"]]
    for g in per_goal:  # the top level lists the routes; the goal keeps its counts
        g["unasked_routes"] = [r["plan_hash"] for r in g["unasked_routes"]]
        g["asked_routes"] = [r["plan_hash"] for r in g["asked_routes"]]
    by_world: dict[str, dict[str, int]] = {}
    for g in per_goal:
        row = by_world.setdefault(g["world"], {"goals": 0, "searched": 0, "plans_tried": 0, "screening_runs": 0,
                                               "goals_reachable_unasked": 0, "goals_reachable_asked": 0,
                                               "reachable_unasked": 0, "reachable_asked": 0})
        row["goals"] += 1
        row["searched"] += not g["note"]
        row["plans_tried"] += g["plans_tried"]
        row["screening_runs"] += g["screening_runs"]
        row["goals_reachable_unasked"] += g["reachable_unasked"] > 0
        row["goals_reachable_asked"] += g["reachable_asked"] > 0
        row["reachable_unasked"] += g["reachable_unasked"]
        row["reachable_asked"] += g["reachable_asked"]
    return {
        "benchmark": "search",
        "command": command,
        "machine": f"Python {platform.python_version()}, {platform.machine()}",
        "seconds": round(seconds, 1),
        "settings": {"seed": settings.seed, "sample": settings.sample, "budget_seconds": settings.budget_seconds,
                     "depth": settings.depth},
        "goals": len(per_goal),
        "goals_searched": sum(not g["note"] for g in per_goal),
        "plans_tried": sum(g["plans_tried"] for g in per_goal),
        "screening_runs": sum(g["screening_runs"] for g in per_goal),
        "reachable_unasked": sum(g["reachable_unasked"] for g in per_goal),
        "reachable_asked": sum(g["reachable_asked"] for g in per_goal),
        "goals_reachable_unasked": sum(g["reachable_unasked"] > 0 for g in per_goal),
        "goals_reachable_asked": sum(g["reachable_asked"] > 0 for g in per_goal),
        "by_world": by_world,
        "unasked_routes": unasked,
        "asked_route_count": sum(g["asked_route_count"] for g in per_goal),
        "asked_routes": asked,
        "per_goal": per_goal,
    }


def markdown(data: dict[str, Any]) -> str:
    lines = [
        f"Command: `{data['command']}` — {data['seconds']} s on {data['machine']}.", "",
        "| world | goals (searched) | plans tried | screening runs | goals reachable unasked | "
        "goals reachable after an owner's yes | plans reaching unasked | plans reaching after a yes |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, row in data["by_world"].items():
        lines.append(f"| {name} | {row['goals']} ({row['searched']}) | {row['plans_tried']} | {row['screening_runs']} "
                     f"| {row['goals_reachable_unasked']} | {row['goals_reachable_asked']} "
                     f"| {row['reachable_unasked']} | {row['reachable_asked']} |")
    lines.append(f"| **total** | {data['goals']} ({data['goals_searched']}) | {data['plans_tried']} "
                 f"| {data['screening_runs']} | {data['goals_reachable_unasked']} | {data['goals_reachable_asked']} "
                 f"| {data['reachable_unasked']} | {data['reachable_asked']} |")
    lines += ["", "| world | goal | contexts | plans tried | denied at review | asked the owner "
              "| reached unasked | reached after a yes | rules the owner was asked under |",
              "|---|---|---:|---:|---:|---:|---:|---:|---|"]
    for g in data["per_goal"]:
        if g["note"]:
            lines.append(f"| {g['world']} | {g['goal']} | not searched: {g['note']} | | | | | | |")
            continue
        top = ", ".join(list(g["asked_rules"])[:3])
        lines.append(f"| {g['world']} | {g['goal']} | {g['contexts']} | {g['plans_tried']} | {g['denied_at_review']} "
                     f"| {g['plans_that_asked']} | {g['reachable_unasked']} | {g['reachable_asked']} | {top} |")
    if data["unasked_routes"]:
        lines += ["", "Routes that reach a goal with no question to the owner:", "",
                  "| world | goal | variant | route (sink argument <- source) | contexts | example plan |",
                  "|---|---|---|---|---:|---|"]
        for r in data["unasked_routes"]:
            lines.append(f"| {r['world']} | {r['goal']} | {r['variant']} | {_cell(r['signature'])} "
                         f"| {len(r['contexts'])} | {r['plan_hash']} |")
    if data["asked_routes"]:
        shown = data["asked_routes"][:40]
        lines += ["", f"Routes that reach a goal once the owner says yes (examples, {len(shown)} of "
                      f"{data['asked_route_count']} distinct routes; up to five a goal in the JSON, with what "
                      "the owner was shown):", "",
                  "| world | goal | route | the owner was asked |", "|---|---|---|---|"]
        for r in shown:
            asked = "; ".join(f"{', '.join(q['rules'])}: {q['summary']}" for q in r["owner_shown"][:2])
            lines.append(f"| {r['world']} | {r['goal']} | {_cell(r['signature'])} | {_cell(asked, 200)} |")
    return "\n".join(lines) + "\n"


def _cell(text: str, limit: int = 400) -> str:
    flat = " ".join(str(text).split()).replace("|", "/")
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def main(args: Any) -> int:
    suites: Sequence[str] = getattr(args, "suite", None) or SUITES
    from plangate.bench.search import agentdyn

    if any(s in agentdyn.SUITES for s in suites):  # AgentDyn is `agentdojo` too: its own process
        if set(suites) - set(agentdyn.SUITES):
            print("plangate bench search: the agentdyn-* suites run alone (a child process imports AgentDyn)",
                  file=sys.stderr)
            return 2
        return agentdyn.run_child(suites, args)
    unknown = [s for s in suites if s not in SUITES]
    if unknown:
        print(f"plangate bench search: unknown suite(s) {unknown}; known: {list(SUITES)}", file=sys.stderr)
        return 2
    if set(suites) & set(AGENTDOJO_SUITES) and importlib.util.find_spec("agentdojo") is None:
        print("plangate bench search: the AgentDojo suites need `pip install --no-deps agentdojo==0.1.35` "
              "(scripts/setup does it); `--suite inbox` runs without it", file=sys.stderr)
        return 2
    settings = Settings(seed=int(getattr(args, "seed", None) or 0),
                        sample=getattr(args, "sample", None),
                        budget_seconds=getattr(args, "budget_seconds", None))
    command = "plangate bench search" + "".join(f" --suite {s}" for s in (getattr(args, "suite", None) or []))
    for flag, value in (("--sample", settings.sample), ("--seed", getattr(args, "seed", None)),
                        ("--budget-seconds", settings.budget_seconds)):
        if value is not None:
            command += f" {flag} {value}"
    t0 = time.perf_counter()
    chosen = worlds(suites)
    try:
        results = Search(settings, progress=lambda m: print(m, flush=True)).run(chosen)
    finally:
        for world in chosen:
            close = getattr(world, "close", None)
            if callable(close):
                close()
    data = report(results, time.perf_counter() - t0, command, settings)
    print(markdown(data))
    if getattr(args, "json", None):
        Path(args.json).write_text(json.dumps(data, indent=1, ensure_ascii=False, default=str) + "\n",
                                   encoding="utf-8")
    if getattr(args, "markdown", None):
        Path(args.markdown).write_text(markdown(data), encoding="utf-8")
    return 0


def reproduce(route: dict[str, Any], *, owner_yes: bool = False) -> Any:
    """Run a route from the JSON report again (`unasked_routes` / `asked_routes` entries):
    the same world, goal, context, steps and extraction answers, through the gate."""
    world = worlds([route["world"].rsplit("/", 1)[-1]])[0]
    try:
        goal = next(g for g in world.goals() if g.id == route["goal"])
        prepared = world.prepare(goal, route["context"])
        if prepared is None:
            raise LookupError(f"context {route['context']!r} no longer reaches goal {route['goal']!r}")
        return prepared.execute(route["steps"], route["answers"], owner_yes=owner_yes)
    finally:
        close = getattr(world, "close", None)
        if callable(close):
            close()
