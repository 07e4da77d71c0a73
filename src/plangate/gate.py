"""The gate: trigger -> plan -> review -> execute -> audit, in one object.

    gate = Gate(policy, tools, audit="plangate.db")
    outcome = gate.submit(trigger, plan)     # reviewed, then run if approved
    outcome.review.verdict                   # approve / deny / escalate
    outcome.run                              # what actually ran (None unless it ran)
    outcome.approval                         # the pending approval id, if escalated

Escalated plans wait in the approvals queue; the owner decides with
`plangate approvals approve ID` and the agent then calls `gate.run_approved(ID)`.
"""

from __future__ import annotations

import dataclasses
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from plangate.audit import ApprovalQueue, AuditLog, SqliteResourceLabels
from plangate.audit.log import Raced, append_all, encoded_event
from plangate.audit.rate import RunCounter
from plangate.audit.spend import UNSPENT, Ledger, Statement, sqlite_ledger, trigger_key
from plangate.errors import GrantError, PlanError
from plangate.execute import Executor, Grant, RunResult
from plangate.labels import Label
from plangate.plan.codec import CheckedPlan, check_plan, parse_plan
from plangate.plan.model import Plan
from plangate.policy.engine import CompiledPolicy
from plangate.policy.model import RateLimit
from plangate.protocols import Extractor, OwnerApprover, OwnerQuestion, ToolRuntime
from plangate.replans import escalations_covered, narrows, rests_on, stored_context, stored_spent
from plangate.review.flow import FlowContext
from plangate.review.reviewer import (
    MALFORMED,
    Review,
    combine,
    deployment_of,
    review,
    review_checked,
)
from plangate.trigger import Classified, Trigger, classify, parse_trigger

SECOND_OPINION = "plangate:second-opinion"
SPEND_RACE = "plangate:trigger-spend-race"
REPLAN_WITHHELD = "plangate:replan-withheld"
SPEND_TRIES = 3
RACED_START = "another plan for this trigger was approved as this one started; submit the plan again"


class SecondOpinion(Protocol):
    """A second reviewer (a model that sees a redacted view of the plan). It can only
    tighten: its answer is combined with the deterministic verdict, never replaces it;
    any answer other than approve / escalate / deny, and any failure, is an escalation.
    It is not consulted when the deterministic verdict is already deny."""

    def judge(self, classified: Classified, checked: CheckedPlan, review: Review) -> str:
        """approve, escalate or deny."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Outcome:
    run_id: str
    review: Review
    run: RunResult | None = None
    approval: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "review": self.review.to_json(),
                "run": self.run.to_json() if self.run else None, "approval": self.approval}


class Gate:
    """Reviews plans, runs approved ones, queues escalations, audits everything."""

    def __init__(self, policy: CompiledPolicy, tools: ToolRuntime, *,
                 audit: AuditLog | str | Path = ":memory:",
                 extractor: Extractor | None = None,
                 approver: OwnerApprover | None = None,
                 second_opinion: SecondOpinion | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.policy = policy
        self.approver = approver
        self.second_opinion = second_opinion
        self.audit = audit if isinstance(audit, AuditLog) else AuditLog(audit)
        self.approvals = ApprovalQueue(self.audit)
        self.resources = SqliteResourceLabels(self.audit)
        self.runs = RunCounter(self.audit, clock=clock)
        self.ledger: Ledger = sqlite_ledger(self.audit)
        self.executor = Executor(policy, tools, self.audit, resources=self.resources,
                                 extractor=extractor, approver=approver)

    def classify(self, trigger: Trigger | Mapping[str, Any]) -> Classified:
        parsed = trigger if isinstance(trigger, Trigger) else parse_trigger(dict(trigger))
        return classify(parsed, deployment_of(self.policy))

    def review(self, trigger: Trigger | Mapping[str, Any], plan: Plan | Mapping[str, Any] | str,
               *, run_id: str | None = None, planner_context: Label | None = None) -> Review:
        """Review and audit (trigger, plan, verdict); runs nothing, so it charges nothing to
        the trigger's budget (it is reviewed with what was charged: `plangate.audit.spend`).
        `planner_context`: the label of everything the planner was shown (see `FlowContext`)."""
        return self._review(self.classify(trigger), plan, run_id=run_id or new_run_id(),
                            planner_context=planner_context, charge=False)[0]

    def _review(self, classified: Classified, plan: Plan | Mapping[str, Any] | str, *,
                run_id: str, planner_context: Label | None,
                charge: bool = True) -> tuple[Review, CheckedPlan | None]:
        """`review`, with the checked plan (None when it does not parse or check), so a
        caller that goes on to run or queue it parses and checks it once. `charge`: an
        approved plan charges its bounds to its trigger with its records (it will run); an
        escalated one is charged when the owner says yes (`_charge_approved`)."""
        # The review is pure: its three records (and a second opinion's) are written after
        # it, in order, in one transaction.
        events: list[tuple[str, str, Mapping[str, Any]]] = [self._trigger_event(classified, run_id)]
        try:
            checked: CheckedPlan | None = check_plan(
                plan if isinstance(plan, Plan) else parse_plan(plan), self.policy.catalog)
        except PlanError:
            checked = None  # `review` below turns the same error into its deny
        except Exception:
            append_all(self.audit, events)  # whatever broke, the trigger is on record
            raise
        if checked is None:
            result = review(classified, plan, self.policy, resources=self.resources,
                            planner_context=planner_context)
            return self._recorded(events, result, checked, classified, run_id, plan), checked
        # The trigger's budget spans its runs: when a rule reads the plan's bounds, the plan
        # is reviewed with what earlier plans for the trigger took, and its records are
        # written only with its own charge to the ledger, guarded by what was read
        # (`plangate.audit.spend`). A charge that another review beat is reviewed again with
        # that one in; `SPEND_TRIES` such races deny.
        key = self._spend_key(classified, checked)
        # Most triggers are reviewed once: the first plan of one that will be charged is
        # reviewed as if nothing were spent, without reading the ledger. An approval is
        # charged by the insert that finds no row (else `Raced`: reviewed again with what was
        # read); any other verdict is decided again if the ledger holds more than nothing.
        guessing = charge and key is not None
        for attempt in range(SPEND_TRIES + (1 if guessing else 0)):
            guess = guessing and attempt == 0
            seen = None if key is None else UNSPENT if guess else self.ledger.read(key)
            result = review_checked(classified, checked, self.policy, deployment_of(self.policy),
                                    resources=self.resources, planner_context=planner_context,
                                    spent=seen.bounds if seen is not None else None)
            if self.second_opinion is not None and result.verdict != "deny":
                # A second reviewer may be a model and take a while: the trigger is on record
                # before it is asked.
                append_all(self.audit, events)
                events.clear()
                result = self._second_opinion(classified, checked, result, run_id, events)
            if guess and result.verdict != "approve" and key is not None and self.ledger.read(key) != seen:
                continue
            guard = None
            if seen is not None and key is not None and result.verdict == "approve" and charge:
                guard = self.ledger.guard(key, seen, result.bounds(checked, self.policy.catalog))
            try:
                return self._recorded(list(events), result, checked, classified, run_id, plan, guard), checked
            except Raced:
                continue
        result = Review(verdict="deny", rules=(SPEND_RACE,), trust_class=classified.trust_class,
                        summary=f"Refused: other plans for this trigger were approved while this one "
                                f"was reviewed, {SPEND_TRIES} times in a row.",
                        plan_hash=checked.hash, classification=classified.reasons)
        return self._recorded(events, result, checked, classified, run_id, plan), checked

    def _recorded(self, events: list[tuple[str, str, Mapping[str, Any]]], result: Review,
                  checked: CheckedPlan | None, classified: Classified, run_id: str,
                  plan: Plan | Mapping[str, Any] | str, guard: Statement | None = None) -> Review:
        events.append(("plan", run_id, _plan_event(result.plan_hash, plan)))
        verdict: dict[str, Any] = {"verdict": result.verdict, "rules": list(result.rules),
                                   "plan_hash": result.plan_hash, "error": result.error}
        if result.spent is not None:
            verdict["trigger_spent"] = result.spent.to_json()
        events.append(("verdict", run_id, verdict))
        self._record(events, result, checked, classified, run_id, guard)
        return result

    @staticmethod
    def _trigger_event(classified: Classified, run_id: str) -> tuple[str, str, Mapping[str, Any]]:
        return ("trigger", run_id, {
            "channel": classified.trigger.channel, "principal": classified.principal.canonical,
            "trust_class": classified.trust_class, "classification": list(classified.reasons),
            "authenticated": classified.authenticated})

    def _spend_key(self, classified: Classified, checked: CheckedPlan) -> str | None:
        """The trigger's ledger key, when a rule for its class reads the plan's bounds
        (else None: its spend decides nothing). Every plan for the trigger is charged then,
        whatever its tools: a plan of tools no such rule covers still adds to the counts."""
        if not self.policy.reads_plan_bounds(classified.trust_class):
            return None
        return trigger_key(classified)

    def _approved_charge(self, classified: Classified, checked: CheckedPlan,
                         review: Review) -> tuple[str | None, Statement | None]:
        """The charge of a plan the owner approved, as it starts: (why it may not run, None),
        or (None, the guarded statement that charges it; None when its spend decides
        nothing). The owner saw the spend the plan was reviewed with (`review.spent`, in its
        summary); if the trigger has spent more since (another plan for it ran meanwhile),
        the owner's yes was to another question: the plan must be submitted again."""
        key = self._spend_key(classified, checked)
        if key is None:
            return None, None
        now = self.ledger.read(key)
        if review.spent is None or now.bounds != review.spent:
            return ("other plans for this trigger were approved since the owner was asked; "
                    "submit the plan again"), None
        return None, self.ledger.guard(key, now, review.bounds(checked, self.policy.catalog))

    def _charge_approved(self, classified: Classified, checked: CheckedPlan, review: Review) -> str | None:
        """`_approved_charge`, charged here on its own (the synchronous owner channel, which
        uses no approval): None when charged, else why the plan may not run."""
        refused, guard = self._approved_charge(classified, checked, review)
        if refused is None and guard is not None and not self.ledger.apply(guard):
            return RACED_START
        return refused

    def _consume(self, approval_id: str, run_id: str, guard: Statement | None) -> None:
        """Use an approval and charge its plan in one transaction (or neither)."""
        try:
            self.approvals.consume(approval_id, run_id, guard=guard)
        except Raced:
            raise GrantError(RACED_START) from None

    def _record(self, events: list[tuple[str, str, Mapping[str, Any]]], result: Review,
                checked: CheckedPlan | None, classified: Classified, run_id: str,
                guard: Statement | None = None) -> None:
        """Write a review's records, in one transaction where the sink can, with `guard`
        (the trigger's charge; `Raced` if it was beaten). (The service writes an approved
        plan's grant in that transaction too.)"""
        if guard is None:
            append_all(self.audit, events)
        else:
            self.audit.append_many(events, guard=guard)

    def _second_opinion(self, classified: Classified, checked: CheckedPlan | None,
                        result: Review, run_id: str,
                        events: list[tuple[str, str, Mapping[str, Any]]]) -> Review:
        """Ask the second reviewer; it may turn approve into escalate or deny, or escalate
        into deny, never the reverse. A failure or an unknown answer escalates."""
        assert self.second_opinion is not None
        try:
            if checked is None:
                raise PlanError("the plan did not check")  # never here: such a plan is denied
            opinion = self.second_opinion.judge(classified, checked, result)
        except Exception as exc:  # a failing second reviewer asks the owner
            opinion = "escalate"
            events.append(("second_opinion", run_id, {"opinion": opinion,
                                                      "error": repr(exc)[:300]}))
        else:
            if opinion not in ("approve", "escalate", "deny"):
                opinion = "escalate"
            events.append(("second_opinion", run_id, {"opinion": opinion}))
        tightened = combine([result.verdict, opinion])  # type: ignore[list-item]
        if tightened == result.verdict:
            return result
        return dataclasses.replace(
            result, verdict=tightened, rules=(*result.rules, SECOND_OPINION),
            summary=result.summary + f"\nA second reviewer answered {opinion}.")

    def submit(self, trigger: Trigger | Mapping[str, Any],
               plan: Plan | Mapping[str, Any] | str, *,
               planner_context: Label | None = None, run_id: str | None = None) -> Outcome:
        """Review the plan; run it if approved; queue it for the owner if escalated.
        A trigger over its class's rate limit is denied before review. `planner_context`
        is the label of everything the planner was shown: its literals carry it. `run_id`:
        the caller's id for this run (a model layer meters its calls under it)."""
        run_id = run_id or new_run_id()
        classified = self.classify(trigger)
        limited = self._rate_limited(classified, run_id)
        if limited is not None:
            return Outcome(run_id=run_id, review=limited)
        verdict, checked = self._review(classified, plan, run_id=run_id,
                                        planner_context=planner_context)
        if verdict.verdict == "deny" or checked is None:  # a plan that does not check is denied
            return Outcome(run_id=run_id, review=verdict)
        if verdict.verdict == "escalate" and self.approver is not None:
            question = OwnerQuestion(run_id=run_id, step=None, tool=None, args={},
                                     rules=verdict.rules, reasons=verdict.reasons,
                                     summary=verdict.summary)
            try:
                yes = self.approver.approve(question) is True
            except Exception:  # an approver failure is a no
                yes = False
            self.audit.append("owner_answer", run_id, {"rules": list(verdict.rules),
                                                       "approved": yes, "plan_hash": checked.hash})
            if not yes:
                return Outcome(run_id=run_id, review=verdict)
            refused = self._charge_approved(classified, checked, verdict)
            if refused is not None:
                self.audit.append("run_refused", run_id, {"plan_hash": checked.hash, "reason": refused})
                return Outcome(run_id=run_id, review=verdict)
            grant = Grant(classified=classified, checked=checked, review=verdict,
                          approval=f"owner-answer:{run_id}")
            return Outcome(run_id=run_id, review=verdict, approval=grant.approval,
                           run=self.executor.run(grant, run_id))
        if verdict.verdict == "escalate":
            approval = self.approvals.create(
                run_id=run_id, plan_hash=checked.hash, trust_class=classified.trust_class,
                summary=verdict.summary, trigger=classified.trigger.model_dump(mode="json"),
                plan=checked.plan.model_dump(mode="json", by_alias=True, exclude_none=True),
                review=verdict.to_json())
            return Outcome(run_id=run_id, review=verdict, approval=approval)
        grant = Grant(classified=classified, checked=checked, review=verdict)
        return Outcome(run_id=run_id, review=verdict, run=self.executor.run(grant, run_id))

    def _rate_limited(self, classified: Classified, run_id: str) -> Review | None:
        cls = self.policy.doc.classes.get(classified.trust_class)
        principal = classified.principal.canonical
        hit = self._count_run(cls.rate if cls is not None else None, principal, classified.trust_class)
        if hit is None:
            return None
        rule = f"class:{classified.trust_class}:rate.{hit}"
        self.audit.append("rate_limited", run_id, {"principal": principal,
                                                   "trust_class": classified.trust_class, "rule": rule})
        return Review(verdict="deny", rules=(rule,), trust_class=classified.trust_class,
                      summary=f"Refused before review: {principal!r} is over the "
                              f"{hit.replace('_', ' ')} limit of its class.",
                      plan_hash=None, classification=classified.reasons)

    def _count_run(self, limit: RateLimit | None, principal: str, trust_class: str) -> str | None:
        """Count a run start unless it is over `limit` (its class's): the limit it is over,
        or None (counted)."""
        if limit is not None:
            hit = self.runs.exceeded(limit, principal=principal, trust_class=trust_class)
            if hit is not None:
                return hit
        self.runs.record(principal=principal, trust_class=trust_class)
        return None

    def run_approved(self, approval_id: str) -> Outcome:
        """Run a plan the owner approved. The plan is re-reviewed; the grant holds only if
        the verdict and hash are those the owner saw."""
        approval = self.approvals.get(approval_id)
        if approval.status != "approved":
            raise GrantError(f"approval {approval_id!r} is {approval.status}, not approved")
        classified = self.classify(approval.trigger)
        checked = check_plan(parse_plan(approval.plan), self.policy.catalog)
        if checked.hash != approval.plan_hash:
            raise GrantError("the stored plan does not match the approved hash")
        # Reviewed with the trigger's spend the owner saw (it is charged as it starts, below).
        verdict = review_checked(classified, checked, self.policy, deployment_of(self.policy),
                                 resources=self.resources,
                                 planner_context=stored_context(approval.review),
                                 spent=stored_spent(approval.review))
        if verdict.verdict == "approve" and SECOND_OPINION in approval.review.get("rules", []):
            # Only the second reviewer asked; the owner has answered it.
            pass
        elif verdict.verdict != "escalate":
            # The policy or stored labels changed since the owner looked: decide afresh.
            raise GrantError(f"the plan now reviews as {verdict.verdict}; submit it again")
        elif not escalations_covered(approval.review, verdict):
            raise GrantError("the plan now asks for more than the owner approved; submit it again")
        refused, charge = self._approved_charge(classified, checked, verdict)
        if refused is not None:
            raise GrantError(refused)
        grant = Grant(classified=classified, checked=checked, review=verdict,
                      approval=approval_id)
        self._consume(approval_id, approval.run_id, charge)
        return Outcome(run_id=approval.run_id, review=verdict, approval=approval_id,
                       run=self.executor.run(grant, approval.run_id))

    def replan_withheld(self, previous: Outcome, trigger: Trigger | Mapping[str, Any],
                        planner_context: Label | None = None) -> list[str]:
        """What a replan of `previous` would rest on that whoever the trigger is for may not
        read: the earlier run's results and halts (`halt:<step>`) and the replanner's context.
        A replan is made only when there is nothing: whether it happens, the model calls
        and tokens it costs (charged to their budget), the run it starts (counted against
        their class's rate) and what that run spends (charged to their trigger) are all
        things they can come to know, so none may depend on what they may not read (red
        team round 34: a stranger's plan that failed only when the owner's day held fewer
        than three events learnt that from their own budget, rate limit and trigger spend).
        The owner may read all of a run for them: their runs replan as before."""
        who = FlowContext(self.classify(trigger), deployment_of(self.policy)).principal_reader()
        hidden = ["planner_context"] if planner_context is not None and not planner_context.readable_by(who) else []
        for event in self.audit.tail(100_000, run_id=previous.run_id):
            label = rests_on(event.kind, event.data)
            if label is not None and not label.readable_by(who):
                step = str(event.data.get("step", ""))
                hidden.append(f"halt:{step}" if event.kind == "halt" else step)
        return list(dict.fromkeys(hidden))

    def replan(self, previous: Outcome, trigger: Trigger | Mapping[str, Any],
               plan: Plan | Mapping[str, Any] | str, *,
               planner_context: Label | None = None, run_id: str | None = None) -> Outcome:
        """Submit a new plan for the same trigger. A plan that only narrows an owner-approved,
        not yet run plan (see `narrows`), for the very trigger the owner saw, and asks for no
        escalation the owner did not approve, runs on that approval (which it uses up);
        anything else is submitted afresh (with `planner_context`: what the replanner was
        shown, the earlier run's outputs included) and escalated or denied as policy says."""
        hidden = self.replan_withheld(previous, trigger, planner_context)
        if hidden:
            classified = self.classify(trigger)
            run_id = run_id or new_run_id()
            self.audit.append("replan_withheld", run_id, {"previous": previous.run_id, "shown": hidden})
            return Outcome(run_id=run_id, review=Review(
                verdict="deny", rules=(REPLAN_WITHHELD,), trust_class=classified.trust_class, plan_hash=None,
                summary=(f"Not replanned: the replan would rest on what {classified.principal.canonical} "
                         f"may not read ({', '.join(hidden)[:300]})."),
                classification=classified.reasons))
        approval = None
        if previous.approval is not None and previous.approval.startswith("ap_"):
            approval = self.approvals.get(previous.approval)
        if approval is not None and approval.status == "approved":
            classified = self.classify(trigger)
            try:
                new = plan if isinstance(plan, Plan) else parse_plan(plan)
                checked = check_plan(new, self.policy.catalog)
            except PlanError:
                return self.submit(trigger, plan, planner_context=planner_context, run_id=run_id)
            same_trigger = classified.trigger.model_dump(mode="json") == approval.trigger
            if same_trigger and narrows(parse_plan(approval.plan), new, self.policy.catalog):
                fresh = review_checked(classified, checked, self.policy, deployment_of(self.policy),
                                       resources=self.resources,
                                       planner_context=stored_context(approval.review),
                                       spent=stored_spent(approval.review))
                covered = fresh.verdict == "escalate" and escalations_covered(approval.review, fresh)
                refused, charge = self._approved_charge(classified, checked, fresh) if covered else (None, None)
                if covered and refused is None:
                    run_id = run_id or new_run_id()
                    # The approval's use and the charge first, in one transaction; then the
                    # records of the review it runs with (the spend the owner saw).
                    self._consume(approval.id, run_id, charge)
                    self._recorded([self._trigger_event(classified, run_id)], fresh, None,
                                   classified, run_id, new)
                    self.audit.append("replan_narrowed", run_id, {"approval": approval.id})
                    grant = Grant(classified=classified, checked=checked, review=fresh,
                                  approval=approval.id)
                    return Outcome(run_id=run_id, review=fresh, approval=approval.id,
                                   run=self.executor.run(grant, run_id))
        return self.submit(trigger, plan, planner_context=planner_context, run_id=run_id)


def new_run_id() -> str:
    return "run_" + secrets.token_hex(6)


def _plan_event(plan_hash: str | None, plan: Plan | Mapping[str, Any] | str) -> Mapping[str, Any]:
    """The plan's record: the plan as it came when it is JSON (encoded once, here, for the
    test and the record both), else its repr. (A plan that checked need not be JSON as it
    came: pydantic's lax mode reads a bytes key as a str, which the record's encoder refuses.)"""
    if isinstance(plan, Mapping):
        try:
            return encoded_event({"plan_hash": plan_hash, "plan": dict(plan)})
        except (TypeError, ValueError, RecursionError):
            recorded: Any = _repr(plan)
    elif isinstance(plan, Plan):
        recorded = plan.model_dump(mode="json", by_alias=True, exclude_none=True)
    elif isinstance(plan, str):
        recorded = plan[:100_000]
    elif isinstance(plan, bytes):
        recorded = plan[:100_000].decode("utf-8", "replace")
    else:  # anything else (a list, a number) is malformed; recorded without failing the audit
        recorded = _repr(plan)
    return {"plan_hash": plan_hash, "plan": recorded}


def _repr(plan: Any) -> str:
    """The plan's repr, cut; or, where even that fails (an int too long to print, nesting
    too deep), a line saying so: the review's records are written whatever the plan."""
    try:
        return repr(plan)[:100_000]
    except Exception as exc:  # the record must not be lost to the plan's shape
        return f"<a plan that cannot be written out: {type(exc).__name__}>"


__all__ = ["MALFORMED", "SECOND_OPINION", "CheckedPlan", "Gate", "Outcome", "PlanError", "SecondOpinion",
           "narrows", "stored_context"]
