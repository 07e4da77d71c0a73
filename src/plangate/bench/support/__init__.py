"""SupportBench: the support desk behind plangate, against benign tasks and hijacked plans.

`plangate bench support --json FILE [--markdown FILE] [--quick]` runs every scenario
(`benign.py`, `attacks.py`, on the shop in `world.yaml`) with the shipped policy
(`plangate/deployments/support/policy.yaml`) in front of the real tools on SQL (SQLite in
memory per scenario), and judges each on the state it leaves: messages sent, tickets,
refunds, account changes, public articles. Attack plans are worst cases (the planner
obeys the attacker); they are not a model's plans. Escalated benign tasks run as if a
human agent approved once; escalated attacks are never approved and are counted apart.
The figures use `bench inbox`'s keys.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Sequence
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from plangate.bench.common import run_with_baseline
from plangate.bench.inbox import escalations, totals
from plangate.bench.inbox import markdown as inbox_markdown
from plangate.bench.inbox.runner import Result
from plangate.bench.inbox.scenario import Scenario
from plangate.bench.support.runner import DbFactory, run_scenario
from plangate.deployments.support import POLICY_PATH
from plangate.deployments.support.db import SupportDB
from plangate.policy import CompiledPolicy, load_policy
from plangate.policy.loader import compile_policy

WORLD = Path(__file__).with_name("world.yaml")


@cache
def world() -> dict[str, Any]:
    data = yaml.safe_load(WORLD.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def shipped_policy() -> CompiledPolicy:
    return load_policy(POLICY_PATH)


def scenarios(*, quick: bool = False) -> list[Scenario]:
    """Every scenario (benign first), or with `quick` every fourth of each kind and family
    (what CI runs)."""
    from plangate.bench.support.attacks import attack_scenarios
    from plangate.bench.support.benign import benign_tasks

    chosen = [*benign_tasks(), *attack_scenarios()]
    ids = [s.id for s in chosen]
    if len(set(ids)) != len(ids):
        raise ValueError("duplicate SupportBench scenario ids")
    if not quick:
        return chosen
    seen: dict[str, int] = {}
    out = []
    for s in chosen:
        key = s.family or s.kind
        seen[key] = seen.get(key, 0) + 1
        if seen[key] % 4 == 1:
            out.append(s)
    return out


def run_bench(chosen: Sequence[Scenario] | None = None, *, policy: CompiledPolicy | None = None,
              db_factory: DbFactory = SupportDB.sqlite,
              progress: Callable[[Result], None] | None = None) -> list[Result]:
    compiled = policy or shipped_policy()
    results = []
    for s in (scenarios() if chosen is None else chosen):
        result = run_scenario(s, compiled, world(), db_factory)
        results.append(result)
        if progress:
            progress(result)
    return results


def allow_all(policy: CompiledPolicy) -> CompiledPolicy:
    """The baseline: the same deployment, catalog, tools and intake, and one rule permitting
    every call (no budgets, no rate limits): what the tools' own checks stop without
    plangate's policy in front."""
    doc = yaml.safe_load(POLICY_PATH.read_text(encoding="utf-8"))
    return compile_policy({"name": "allow-all", "deployment": doc["deployment"],
                           "rules": [{"id": "allow-all", "permit": {}, "reason": "baseline"}]},
                          policy.catalog)


def baseline(chosen: Sequence[Scenario], policy: CompiledPolicy, *,
             progress: Callable[[Result], None] | None = None) -> dict[str, Any]:
    """The attacks again with every call allowed: how many land without the policy."""
    attacks = [s for s in chosen if s.kind == "attack"]
    landed = {r.scenario.id for r in run_bench(attacks, policy=allow_all(policy), progress=progress)
              if r.succeeded}
    return {"policy": "allow-all (same catalog, tools, intake and row labels)", "attacks": len(attacks),
            "attacks_succeeded": len(landed),
            "not_landing_even_unguarded": sorted({s.id for s in attacks} - landed)}


def report(results: Sequence[Result], seconds: float, command: str = "plangate bench support",
           base: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"benchmark": "support", "command": command, **totals(results), "seconds": round(seconds, 1),
            "baseline": base or {}, "escalations": escalations(results),
            "failures": [r.to_json() for r in results
                         if (r.scenario.kind == "attack") == r.succeeded or r.error]}


def markdown(data: dict[str, Any]) -> str:
    body = inbox_markdown(data).split("\n", 2)[2]  # the inbox bench's figures and tables
    body = (body.replace("held for the owner", "held for a human agent").replace("held for owner", "held for an agent")
            .replace("the owner asked again", "the human agent asked again"))
    base = data.get("baseline") or {}
    return "\n".join([
        "# SupportBench results", "",
        f"Command: `{data.get('command', 'plangate bench support')}`. Attack plans are a hijacked "
        "planner's worst-case plans, judged on the database and what was sent; they are not a "
        "model's plans. Escalated benign tasks ran after a human agent's approval; a run asks the "
        "agent again about a value that was not known when they said yes.", "",
        f"- baseline, every call allowed (same tools, intake and row labels): "
        f"{base.get('attacks_succeeded', '-')} of {base.get('attacks', '-')} attacks land",
        body])


def main(args: argparse.Namespace, *, progress: Callable[[int, int], None] | None = None,
         say: Callable[[str], None] = print) -> int:
    """`plangate bench support`: run, then the attacks again under the allow-all baseline;
    print the figures, write JSON/Markdown. Exit 1 if an attack succeeded or a benign
    task was denied or not completed."""
    started = time.perf_counter()
    quick = bool(getattr(args, "quick", False))
    chosen = scenarios(quick=quick)
    data = run_with_baseline(
        chosen, name="support", quick=quick, started=started, run_bench=run_bench,
        baseline=baseline, policy=shipped_policy, report=report, markdown=markdown,
        json_path=getattr(args, "json", None), markdown_path=getattr(args, "markdown", None),
        progress=progress, say=say)
    ok = data["attacks_succeeded"] == 0 and data["benign_denied"] == 0
    return 0 if ok and data["benign_completed"] == data["benign"] else 1


__all__ = ["allow_all", "baseline", "main", "report", "run_bench", "scenarios", "shipped_policy", "world"]
