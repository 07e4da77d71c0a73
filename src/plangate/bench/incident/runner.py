"""Running one IncidentBench scenario: a fresh cluster, the gate in front of the real
incident runtime, the on-call engineer's answers, then the judge on the resulting state.

Every scenario gets its own temporary cluster database and audit log, and one Gate for
all of its runs. Alerts go through the deployment's intake (parse, verify the signature,
split trusted fields); a verified alert's trusted fields are recorded under its trigger
id before its plan is submitted, as the deployment's webhook receiver does.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from plangate.audit import OwnerConsole
from plangate.bench.inbox import runner as inbox_runner
from plangate.bench.inbox.runner import Result, Step
from plangate.bench.inbox.scenario import Run, Scenario
from plangate.bench.incident.scenario import build_incoming, merged_world
from plangate.deployments.incident.judge import Judge
from plangate.deployments.incident.runtime import IncidentRuntime
from plangate.gate import Gate, Outcome
from plangate.policy import CompiledPolicy

#: Scenario state is thrown away afterwards: keep it in memory where the OS offers it.
SCRATCH = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None


def run_scenario(scenario: Scenario, policy: CompiledPolicy) -> Result:
    with tempfile.TemporaryDirectory(prefix="incidentbench-", dir=SCRATCH) as tmp:
        runtime = IncidentRuntime(Path(tmp))
        runtime.seed(merged_world(scenario.world))
        before = runtime.snapshot()
        steps, error = inbox_runner.play(scenario, policy, runtime, one_run)
        after = runtime.snapshot()
        runtime.close()
    judge = Judge(before, after)
    return Result(scenario=scenario, steps=steps, snapshot=after,
                  succeeded=inbox_runner.succeeded(scenario, judge.holds), error=error)


def one_run(gate: Gate, console: OwnerConsole, runtime: IncidentRuntime, run: Run) -> list[Step]:
    steps = []
    for incoming in build_incoming(run.trigger):
        if incoming.fields:
            runtime.record_alert(incoming.trigger.id, incoming.fields)
        outcome, answer = answer_owner(gate, console, gate.submit(incoming.trigger, dict(run.plan)), run.owner)
        steps.append(inbox_runner._step(outcome, answer))  # InboxBench's record of a step
    return steps


def answer_owner(gate: Gate, console: OwnerConsole, outcome: Outcome, answer: str) -> tuple[Outcome, str]:
    """The on-call engineer's side of an escalation: approve once and run, deny, or never look."""
    if outcome.review.verdict != "escalate" or outcome.run is not None or not outcome.approval:
        return outcome, "absent"
    if answer == "approve":
        console.decide(outcome.approval, "approved", by="oncall", note="IncidentBench")
        return gate.run_approved(outcome.approval), "approved"
    if answer == "deny":
        console.decide(outcome.approval, "denied", by="oncall", note="IncidentBench")
    return outcome, answer if answer == "deny" else "absent"
