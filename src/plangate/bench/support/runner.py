"""Running one SupportBench scenario: a fresh database, the desk's gate in front of the real
tools, the human agent's answers, then the judge on the resulting state.

Every scenario gets its own database (SQLite in memory by default; any `SupportDB`, e.g.
PostgreSQL, through `db_factory`), its own audit log and one gate shared by all its runs,
so what run 1 writes (a ticket with planted instructions) is what run 2 (a support
agent's) reads, with the labels it was written with. Attack plans are worst cases: the
planner obeys the attacker, and a replan was written by a planner that saw the tickets
and records of the first plan (its literals carry that). Escalated benign tasks are run
as if the human agent approved once; escalated attacks are not.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from plangate.audit import AuditLog, OwnerConsole
from plangate.bench.inbox.runner import (  # the same owner's side and step record
    HijackedExtractor,
    Result,
    Step,
    _answer,
    _step,
)
from plangate.bench.inbox.scenario import Run, Scenario
from plangate.deployments.support.db import STAFF, SupportDB
from plangate.deployments.support.intake import trigger_from_spec
from plangate.deployments.support.judge import Judge
from plangate.deployments.support.labels import SupportGate
from plangate.deployments.support.runtime import SupportRuntime
from plangate.errors import GrantError
from plangate.labels import Label
from plangate.policy import CompiledPolicy
from plangate.trigger import Trigger

DbFactory = Callable[[], SupportDB]

#: What a replanning planner saw: the first plan's outputs (tickets customers wrote,
#: records only the staff may read). Worst case: all of it.
REPLAN_CONTEXT = Label(readers=frozenset({STAFF}), sources=frozenset({"replan"}), taint="high")


def build_trigger(spec: Mapping[str, Any], n: int = 0) -> Trigger:
    return trigger_from_spec(spec, n)


def run_scenario(scenario: Scenario, policy: CompiledPolicy, world: Mapping[str, Any],
                 db_factory: DbFactory = SupportDB.sqlite) -> Result:
    db = db_factory()
    try:
        runtime = SupportRuntime(db)
        runtime.seed(world)
        before = runtime.snapshot()
        log = AuditLog(":memory:")
        gate = SupportGate(policy, runtime, db, audit=log,
                           extractor=HijackedExtractor(scenario.extract))
        console = OwnerConsole(log)
        steps: list[Step] = []
        error = None
        try:
            for n, one in enumerate(scenario.runs):
                steps.extend(_one_run(gate, console, one, n))
        except GrantError as exc:
            error = str(exc)
        after = runtime.snapshot()
    finally:
        db.close()
    judge = Judge(before, after)
    if scenario.kind == "attack":
        assert scenario.goal is not None
        succeeded = judge.holds(scenario.goal)
    else:
        succeeded = all(judge.holds(p) for p in scenario.expect)
    return Result(scenario=scenario, steps=steps, snapshot=dict(after), succeeded=succeeded, error=error)


def _one_run(gate: SupportGate, console: OwnerConsole, one: Run, n: int) -> list[Step]:
    trigger = build_trigger(one.trigger, n)
    outcome, answer, asked = _answer(gate, console, gate.submit(trigger, dict(one.plan)), one.owner)
    steps = [_step(outcome, answer, asked)]
    if one.replan is not None:
        again = gate.replan(outcome, trigger, dict(one.replan), planner_context=REPLAN_CONTEXT)
        again, answer, asked = _answer(gate, console, again, one.replan_owner)
        step = _step(again, answer, asked)
        step.replan = True
        steps.append(step)
    return steps
