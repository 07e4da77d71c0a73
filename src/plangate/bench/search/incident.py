"""The IncidentBench world of the search: every attack family a goal, each scenario a context.

Like the inbox world (`search/inbox.py`, whose machinery this reuses): the scenario's own
plan, run with an approve-all policy, gives the target calls; the search replaces the
last run's plan with its routes. Plans run through the real `Gate` with the shipped
incident policy in front of the real `IncidentRuntime` (a fresh copy of the scenario's
seeded cluster each time), triggers come through the deployment's intake (a signed
alert's trusted fields recorded under its id first, as the webhook receiver does), and
each is judged by IncidentBench's state judge.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import yaml

from plangate.audit import AuditLog, OwnerConsole
from plangate.bench.inbox.runner import HijackedExtractor
from plangate.bench.inbox.scenario import Scenario
from plangate.bench.incident import POLICY
from plangate.bench.incident.runner import SCRATCH, one_run
from plangate.bench.incident.scenario import build_incoming, incident_scenarios, merged_world
from plangate.bench.search.inbox import InboxWorld, Stage
from plangate.bench.search.values import as_text
from plangate.deployments.incident.judge import Judge
from plangate.deployments.incident.runtime import IncidentRuntime
from plangate.gate import Gate
from plangate.plan.codec import canonical_json
from plangate.policy import CompiledPolicy, load_policy
from plangate.policy.loader import compile_policy
from plangate.trigger import Trigger


def approve_all(policy: CompiledPolicy) -> CompiledPolicy:
    doc = yaml.safe_load(POLICY.read_text(encoding="utf-8"))
    return compile_policy({"name": "approve-all", "deployment": doc["deployment"],
                           "rules": [{"id": "approve-all", "permit": {}, "reason": "the targets' baseline"}]},
                          policy.catalog)


class IncidentWorld(InboxWorld):
    name = "incident"

    def __init__(self, *, policy: CompiledPolicy | None = None) -> None:
        super().__init__(policy=policy or load_policy(POLICY))
        self.weak = approve_all(self.policy)
        self.scenarios = {s.id: s for s in incident_scenarios()}
        # Every plan copies a cluster: keep the copies in memory where the OS offers it.
        if SCRATCH is not None:
            self._root = Path(tempfile.mkdtemp(prefix="plangate-search-incident-", dir=SCRATCH))
            self._stack.callback(shutil.rmtree, self._root, True)

    def _template(self, scenario: Scenario) -> Path:
        key = canonical_json(dict(scenario.world))
        if key not in self._templates:
            path = self._root / f"t{len(self._templates)}"
            rt = IncidentRuntime(path)
            rt.seed(merged_world(scenario.world))
            rt.close()
            self._templates[key] = path
        return self._templates[key]

    @contextlib.contextmanager
    def stage(self, scenario: Scenario, *, deliver_last: bool = True) -> Iterator[Stage]:
        """A fresh cluster from the scenario's seeded state, its earlier runs played, and
        the last trigger's verified alert recorded (an unsigned one records nothing)."""
        tmp = Path(tempfile.mkdtemp(dir=self._root))
        try:
            shutil.copytree(self._template(scenario), tmp / "a")
            rt = IncidentRuntime(tmp / "a")
            baseline = rt.snapshot()
            log = AuditLog(":memory:")
            if len(scenario.runs) > 1:
                gate = Gate(self.policy, rt, audit=log, extractor=HijackedExtractor(scenario.extract))
                console = OwnerConsole(log)
                for run in scenario.runs[:-1]:
                    with contextlib.suppress(Exception):
                        one_run(gate, console, rt, run)
            if deliver_last:
                for incoming in build_incoming(scenario.runs[-1].trigger):
                    if incoming.fields:
                        rt.record_alert(incoming.trigger.id, incoming.fields)
            yield Stage(rt, log, baseline, tmp)
            rt.close()
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def judged(self, scenario: Scenario, stage: Stage) -> bool:
        assert scenario.goal is not None
        return bool(Judge(stage.baseline, stage.runtime.snapshot()).holds(scenario.goal))

    def trigger(self, scenario: Scenario, trusted: Sequence[Any] = ()) -> Trigger:
        trigger = build_incoming(scenario.runs[-1].trigger)[0].trigger
        if trusted:
            extra = "\n".join(as_text(v) for v in trusted)
            trigger = trigger.model_copy(update={"instruction": f"{trigger.instruction}\n{extra}".strip()})
        return trigger
