"""The agent: trigger -> planner -> review -> execute -> audit, with a configured model.

    agent = Agent(gate, Planner(meter.wrap(make_client(config)), policy), usage=usage)
    result = agent.handle(trigger)
    result.verdict, result.status, result.model_calls, result.tokens_in, result.cost_usd

The planner sees what `planner_view` shows it and nothing else; its plan goes to the gate
with `planner_context`, the label of that view, so its literals carry what it saw. The
gate reviews (and, if configured, asks the reviewer model), runs an approved plan with the
quarantined extractor for `extract` steps, and queues an escalation for the owner. Every
model call of the run is attributed to its run id, trust class and principal, metered
and budgeted; the run's totals close it in the audit log (`model_usage`).

A trigger over its class's rate limit is refused before the planner is asked (a flood
costs no model calls); a planner that fails (no valid plan, over budget, endpoint down)
leaves a `model_failed` event and nothing runs. With `replans > 0`, a run that halted or
failed part-way is shown to the planner with its outputs (their labels join the new
context) and the new plan goes through `Gate.replan`: a narrowing of an owner-approved
plan runs on that approval, anything else is reviewed afresh.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from plangate.audit import AuditLog
from plangate.audit.usage import UsageLog
from plangate.gate import Gate, Outcome, new_run_id
from plangate.labels import Label
from plangate.model import make_client
from plangate.model.budgets import Budgets
from plangate.model.config import ModelsFile
from plangate.model.errors import BudgetExceeded, ModelError, ModelUnavailable, PlanningFailed
from plangate.model.extractor import ModelExtractor
from plangate.model.metering import Meter, attribute
from plangate.model.planner import Planner, Shown
from plangate.model.reviewer import ModelReviewer
from plangate.plan.model import Plan
from plangate.policy.engine import CompiledPolicy
from plangate.protocols import OwnerApprover, ToolRuntime
from plangate.replans import rests_on
from plangate.trigger import Classified, Trigger


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentResult:
    run_id: str
    #: approve / deny / escalate, or None when no plan reached review.
    verdict: str | None
    #: completed / halted / failed / escalated (the run), denied, waiting (for the
    #: owner), rate_limited, or planning_failed / over_budget / model_unavailable / model_error.
    status: str
    outcome: Outcome | None = None
    plan: Plan | None = None
    model_calls: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float | None = 0.0
    error: str | None = None
    limit: str | None = None
    replans: int = 0
    run_ids: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id, "verdict": self.verdict, "status": self.status,
            "model_calls": self.model_calls, "tokens_in": self.tokens_in, "tokens_out": self.tokens_out,
            "cost": self.cost_usd, "error": self.error, "limit": self.limit, "replans": self.replans,
            "run_ids": list(self.run_ids),
            "plan": self.plan.model_dump(mode="json", by_alias=True, exclude_none=True) if self.plan else None,
            "outcome": self.outcome.to_json() if self.outcome else None,
        }


class Agent:
    def __init__(self, gate: Gate, planner: Planner, *, usage: UsageLog | None = None,
                 replans: int = 0) -> None:
        self.gate = gate
        self.planner = planner
        self.usage = usage
        self.replans = replans

    def handle(self, trigger: Trigger | Mapping[str, Any]) -> AgentResult:
        classified = self.gate.classify(trigger)
        run_id = new_run_id()
        who = {"trust_class": classified.trust_class, "principal": classified.principal.canonical}
        if self._rate_limited(classified):
            # The gate refuses it before review and audits it; the planner is never asked.
            outcome = self.gate.submit(classified.trigger, {"steps": []}, run_id=run_id)
            return AgentResult(run_id=run_id, verdict=outcome.review.verdict, status="rate_limited",
                               outcome=outcome, run_ids=(run_id,))
        run_ids = [run_id]
        with attribute(run_id=run_id, **who):
            try:
                planned = self.planner.plan(classified)
            except ModelError as exc:
                return self._failed(run_id, classified, "planner", exc)
            outcome = self.gate.submit(classified.trigger, planned.plan, planner_context=planned.context,
                                       run_id=run_id)
        plan, replans = planned.plan, 0
        while replans < self.replans and outcome.run is not None and outcome.run.status in ("halted", "failed"):
            # Asked before the replanner is: its call is charged to whoever the run is for.
            hidden = self.gate.replan_withheld(outcome, classified.trigger)
            if hidden:
                self.gate.audit.append("replan_withheld", outcome.run_id, {"previous": outcome.run_id,
                                                                           "shown": hidden})
                break
            shown = self._shown(outcome)
            replans += 1
            next_id = f"{run_id}-r{replans}"
            run_ids.append(next_id)
            with attribute(run_id=next_id, **who):
                try:
                    again = self.planner.plan(classified, previous=plan, shown=shown)
                except ModelError as exc:
                    return self._failed(next_id, classified, "replanner", exc, run_ids=run_ids, plan=plan,
                                        outcome=outcome, replans=replans)
                outcome = self.gate.replan(outcome, classified.trigger, again.plan,
                                           planner_context=again.context, run_id=next_id)
            plan = again.plan
        return self._result(run_id, run_ids, outcome=outcome, plan=plan, replans=replans,
                            verdict=outcome.review.verdict, status=_status(outcome))

    def _rate_limited(self, classified: Classified) -> bool:
        cls = self.gate.policy.doc.classes.get(classified.trust_class)
        return cls is not None and self.gate.runs.exceeded(
            cls.rate, principal=classified.principal.canonical,
            trust_class=classified.trust_class) is not None

    def _shown(self, outcome: Outcome) -> list[Shown]:
        """The earlier run's top-level outputs whose labels the audit log recorded, and how
        it stopped: the replanner is asked *because* it stopped, so each halt is shown with
        the label of all the run had computed when it did (a failure deep in a loop over
        private data decides that a replan happens at all). A halt the log holds without a
        label counts as the owner's alone, and untrusted."""
        assert outcome.run is not None
        labels: dict[str, Label] = {}
        halts: list[Shown] = []
        for event in self.gate.audit.tail(100_000, run_id=outcome.run_id):
            label = rests_on(event.kind, event.data)  # what `Gate.replan_withheld` reads too
            if label is None:
                continue
            if event.kind == "halt":
                halts.append(Shown(step=f"halt:{event.data.get('step', '')}",
                                   value=f"{event.data.get('status')}: {event.data.get('message')}", label=label))
            else:
                step = str(event.data.get("step"))
                labels[step] = labels[step].join(label) if step in labels else label
        return [*(Shown(step=step, value=value, label=labels[step])
                  for step, value in outcome.run.outputs.items() if step in labels), *halts]

    def _failed(self, run_id: str, classified: Classified, stage: str, exc: ModelError, *,
                run_ids: list[str] | None = None, plan: Plan | None = None, outcome: Outcome | None = None,
                replans: int = 0) -> AgentResult:
        status = ("over_budget" if isinstance(exc, BudgetExceeded) else
                  "planning_failed" if isinstance(exc, PlanningFailed) else
                  "model_unavailable" if isinstance(exc, ModelUnavailable) else "model_error")
        limit = exc.limit if isinstance(exc, BudgetExceeded) else None
        self.gate.audit.append("model_failed", run_id, {
            "stage": stage, "status": status, "error": str(exc)[:1000], "limit": limit,
            "trust_class": classified.trust_class, "principal": classified.principal.canonical})
        return self._result(run_id, run_ids or [run_id], outcome=outcome, plan=plan, replans=replans,
                            verdict=outcome.review.verdict if outcome else None, status=status,
                            error=str(exc), limit=limit)

    def _result(self, run_id: str, run_ids: list[str], *, outcome: Outcome | None, plan: Plan | None,
                replans: int, verdict: str | None, status: str, error: str | None = None,
                limit: str | None = None) -> AgentResult:
        calls = tokens_in = tokens_out = 0
        cost: float | None = 0.0
        if self.usage is not None:
            for rid in run_ids:
                for rec in self.usage.records(run_id=rid):
                    if rec.attempts == 0:
                        continue  # refused before it was made
                    calls += 1
                    tokens_in += rec.tokens_in
                    tokens_out += rec.tokens_out
                    cost = None if cost is None or rec.cost_usd is None else cost + rec.cost_usd
        self.gate.audit.append("model_usage", run_id, {
            "run_ids": run_ids, "model_calls": calls, "tokens_in": tokens_in, "tokens_out": tokens_out,
            "cost_usd": cost})
        return AgentResult(run_id=run_id, verdict=verdict, status=status, outcome=outcome, plan=plan,
                           model_calls=calls, tokens_in=tokens_in, tokens_out=tokens_out,
                           cost_usd=round(cost, 9) if cost is not None else None, error=error, limit=limit,
                           replans=replans, run_ids=tuple(run_ids))


def build_agent(policy: CompiledPolicy, tools: ToolRuntime, models: ModelsFile, *,
                audit: AuditLog | str | Path = ":memory:", approver: OwnerApprover | None = None,
                sleep: Callable[[float], None] | None = None) -> Agent:
    """An agent on the models file's deployments: planner, extractor (the planner's model
    with a small answer unless configured), the reviewer model if configured, all metered
    into `audit`'s database and drawing on its budgets."""
    log = audit if isinstance(audit, AuditLog) else AuditLog(audit)
    usage = UsageLog(log)
    meter = Meter(usage=usage, audit=log, budgets=Budgets(models.budgets, usage=usage))
    extractor_config = models.extractor or models.planner.model_copy(
        update={"max_tokens": min(models.planner.max_tokens, 200)})
    extractor = ModelExtractor(meter.wrap(make_client(extractor_config, sleep=sleep)))
    reviewer = (ModelReviewer(meter.wrap(make_client(models.reviewer, sleep=sleep)), policy)
                if models.reviewer is not None else None)
    gate = Gate(policy, tools, audit=log, extractor=extractor, second_opinion=reviewer, approver=approver)
    planner = Planner(meter.wrap(make_client(models.planner, sleep=sleep)), policy, tries=models.repair_tries)
    return Agent(gate, planner, usage=usage, replans=models.replans)


def _status(outcome: Outcome) -> str:
    if outcome.run is not None:
        return outcome.run.status
    return {"deny": "denied", "escalate": "waiting"}.get(outcome.review.verdict, outcome.review.verdict)


__all__ = ["Agent", "AgentResult", "build_agent"]
