"""The SupportBench world of the search: every attack family, each scenario a context.

The same search as InboxBench's world (`search.inbox.InboxWorld`, which this extends):
a goal is an attack family, its contexts are the family's scenarios; the scenario's own
plan, run with every call allowed, gives the target calls; the search then replaces the
last run's plan with its routes (earlier runs play as the scenario says: a ticket Mal
planted before a support agent's run). What differs is the desk: each plan runs through
the desk's gate (`SupportGate`, the core gate with per-row readers) with the shipped
policy, in front of the real tools on a fresh in-memory SQLite database seeded with the
shop, and is judged by SupportBench's state judge.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from plangate.audit import AuditLog, OwnerConsole
from plangate.bench.inbox.runner import HijackedExtractor
from plangate.bench.inbox.scenario import Scenario
from plangate.bench.search.agentdojo import Owner, RouteExtractor
from plangate.bench.search.engine import Question, Run
from plangate.bench.search.inbox import InboxWorld, Recording, Stage, _NoTools
from plangate.bench.search.values import Json, as_text
from plangate.bench.support import allow_all, scenarios, shipped_policy, world
from plangate.bench.support.runner import _one_run, build_trigger
from plangate.deployments.support.db import SupportDB
from plangate.deployments.support.judge import Judge
from plangate.deployments.support.labels import SupportGate
from plangate.deployments.support.runtime import SupportRuntime
from plangate.policy import CompiledPolicy
from plangate.trigger import Trigger


class SupportWorld(InboxWorld):
    name = "support"

    def __init__(self, *, policy: CompiledPolicy | None = None) -> None:
        super().__init__(policy=policy or shipped_policy())
        self.weak = allow_all(self.policy)
        self.scenarios = {s.id: s for s in scenarios()}
        # The review half of a single run needs the rows' readers, never a change: one
        # seeded database serves every such review.
        self._review_db = SupportDB.sqlite()
        self._review_db.seed(world())
        self._stack.callback(self._review_db.close)

    @contextlib.contextmanager
    def stage(self, scenario: Scenario, *, deliver_last: bool = True) -> Iterator[Stage]:
        """A fresh database seeded with the shop, the scenario's earlier runs played."""
        db = SupportDB.sqlite()
        try:
            rt = SupportRuntime(db)
            rt.seed(world())
            baseline = rt.snapshot()
            log = AuditLog(":memory:")
            if len(scenario.runs) > 1:
                gate = SupportGate(self.policy, rt, db, audit=log,
                                   extractor=HijackedExtractor(scenario.extract))
                console = OwnerConsole(log)
                for n, earlier in enumerate(scenario.runs[:-1]):
                    with contextlib.suppress(Exception):
                        _one_run(gate, console, earlier, n)
            yield Stage(rt, log, baseline, Path("."))
        finally:
            db.close()

    def judged(self, scenario: Scenario, stage: Stage) -> bool:
        assert scenario.goal is not None
        return Judge(stage.baseline, stage.runtime.snapshot()).holds(scenario.goal)

    def trigger(self, scenario: Scenario, trusted: Sequence[Any] = ()) -> Trigger:
        trigger = build_trigger(scenario.runs[-1].trigger, len(scenario.runs) - 1)
        if trusted:
            extra = "\n".join(as_text(v) for v in trusted)
            trigger = trigger.model_copy(update={"instruction": f"{trigger.instruction}\n{extra}".strip()})
        return trigger

    def execute(self, scenario: Scenario, plan: Json, answers: Mapping[str, Any], *, policy: CompiledPolicy,
                owner_yes: bool, trusted: Sequence[Any] = (), record: Recording | None = None) -> Run:
        trigger = self.trigger(scenario, trusted)
        extractor = RouteExtractor(HijackedExtractor(scenario.extract), answers)
        if len(scenario.runs) == 1 and record is None:
            review = SupportGate(policy, _NoTools(), self._review_db).review(trigger, plan)
            if review.verdict == "deny" or (review.verdict == "escalate" and not owner_yes):
                questions = ([Question(None, None, list(review.rules), review.summary)]
                             if review.verdict == "escalate" else [])
                return Run(review.verdict, list(review.rules), None, [], False, questions)
        with self.stage(scenario) as stage:
            if policy is self.weak:
                # Contexts come from the tools with every call allowed and no cap on unattended
                # refunds (a desk defence, like the policy): the search then tries its routes
                # against both.
                stage.runtime.unattended_cap = None
            owner = Owner(owner_yes)
            tools = record or Recording(stage.runtime)
            if record is not None:
                record.inner = stage.runtime
            gate = SupportGate(policy, tools, stage.runtime.db, audit=stage.log, extractor=extractor,
                               approver=owner)
            outcome = gate.submit(trigger, plan)
            ran = outcome.run
            executed = [(c.tool, dict(c.args)) for c in ran.calls if c.ok] if ran else []
            reached = self.judged(scenario, stage)
        return Run(outcome.review.verdict, list(outcome.review.rules), ran.status if ran else None, executed,
                   reached, owner.questions)
