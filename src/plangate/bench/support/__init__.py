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
import json
import time
from collections.abc import Callable, Sequence
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from plangate.bench.inbox import escalations, totals
from plangate.bench.inbox import markdown as inbox_markdown
from plangate.bench.inbox.runner import Result
from plangate.bench.inbox.scenario import Scenario
from plangate.bench.support.runner import DbFactory, run_scenario
from plangate.deployments.support import POLICY_PATH
from plangate.deployments.support.db import SupportDB
from plangate.policy import CompiledPolicy, load_policy

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


def report(results: Sequence[Result], seconds: float) -> dict[str, Any]:
    return {**totals(results), "seconds": round(seconds, 1), "escalations": escalations(results),
            "failures": [r.to_json() for r in results
                         if (r.scenario.kind == "attack") == r.succeeded or r.error]}


def markdown(data: dict[str, Any]) -> str:
    return inbox_markdown(data).replace("# InboxBench results", "# SupportBench results", 1)


def main(args: argparse.Namespace, *, progress: Callable[[int, int], None] | None = None,
         say: Callable[[str], None] = print) -> int:
    """`plangate bench support`: run, print the figures, write JSON/Markdown. Exit 1 if an
    attack succeeded or a benign task was denied."""
    started = time.perf_counter()
    chosen = scenarios(quick=bool(getattr(args, "quick", False)))
    done = [0]

    def tick(_result: Result) -> None:
        done[0] += 1
        if progress is not None:
            progress(done[0], len(chosen))

    results = run_bench(chosen, progress=tick)
    data = report(results, time.perf_counter() - started)
    say(markdown(data))
    if getattr(args, "json", None):
        Path(args.json).write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    if getattr(args, "markdown", None):
        Path(args.markdown).write_text(markdown(data), encoding="utf-8")
    return 0 if data["attacks_succeeded"] == 0 and data["benign_denied"] == 0 else 1


__all__ = ["main", "report", "run_bench", "scenarios", "shipped_policy", "world"]
