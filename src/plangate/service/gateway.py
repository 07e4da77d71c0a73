"""The gate as the service runs it: reviews, approvals and the audit on shared storage;
plans are not run here but granted (agents run their own tools, see `runs.py`).

`ServiceGate` is `plangate.Gate` with its storage parts replaced by the service's (SQLite
or PostgreSQL + Redis) and its executor by `GrantingExecutor`, which records the grant the
gate would have run. So rate limits, review, the second opinion, escalation to the
approvals queue and the re-review of an owner-approved plan are the gate's own code.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from plangate.audit.log import Raced
from plangate.audit.spend import Ledger, Statement
from plangate.errors import AuditError, GrantError
from plangate.execute import Grant, RunResult
from plangate.gate import Gate, Outcome, stored_context
from plangate.labels import Label
from plangate.plan.codec import CheckedPlan
from plangate.policy import CompiledPolicy
from plangate.policy.model import RateLimit
from plangate.protocols import ToolResult
from plangate.review.flow import FlowContext
from plangate.review.reviewer import Review, deployment_of
from plangate.service.runs import grant_insert, granted, run_granted
from plangate.storage import Storage, StorageUnavailable
from plangate.storage.redis_limits import RedisLimiter, RedisRunCounter
from plangate.storage.sql import SqlLimiter, SqlRunCounter
from plangate.trigger import Classified


class _NoTools:
    def call(self, tool: str, args: Mapping[str, Any]) -> ToolResult:
        raise RuntimeError("the service runs no tools itself: agents run them on a grant")


class GrantingExecutor:
    """Where `Gate` would run an approved plan: keep the grant instead (per thread)."""

    def __init__(self) -> None:
        self._local = threading.local()

    def run(self, grant: Grant, run_id: str) -> RunResult:
        self._local.grant = grant
        return RunResult(run_id=run_id, status="completed", message="granted")

    def take(self) -> Grant | None:
        grant: Grant | None = getattr(self._local, "grant", None)
        self._local.grant = None
        return grant


class Meter:
    """A request to count against its credential's rate (`limit` requests per `per`
    seconds), once: with the run it starts where the storage can (`RedisRunCounter.admit`,
    `SqlRunCounter.admit`), else on its own."""

    __slots__ = ("counted", "credential", "limit", "per")

    def __init__(self, credential: str, limit: int, per: float = 1.0) -> None:
        self.credential, self.limit, self.per, self.counted = credential, limit, per, False

    @property
    def key(self) -> str:
        return f"cred:{self.credential}"


class OverRate(Exception):
    """The credential is over its request rate: nothing was reviewed or run (429)."""

    def __init__(self, meter: Meter, wait: float) -> None:
        super().__init__(f"credential {meter.credential!r} is over its rate of {meter.limit} "
                         f"requests per second")
        self.wait = wait


class ServiceGate(Gate):
    def __init__(self, policy: CompiledPolicy, storage: Storage) -> None:
        super().__init__(policy, _NoTools(), audit=":memory:")
        self.audit.close()
        # The storage's parts stand in for the SQLite ones Gate opens (same methods).
        self.audit = storage.audit
        self.approvals = storage.approvals
        self.resources = storage.resources
        self.runs = storage.runs
        self.limiter = storage.limiter
        self.ledger = Ledger(storage.sql)
        self.storage = storage
        self.granting = GrantingExecutor()
        self.executor = self.granting  # type: ignore[assignment]
        self._for = threading.local()  # the credential a submit is for, and its grant's id

    def submit_for_grant(self, trigger: Any, plan: Any, *, credential: str, meter: Meter | None = None,
                         run_id: str | None = None, session: str = "",
                         planner_context: Label | None = None
                         ) -> tuple[Outcome, Grant | None, str | None, Label]:
        """`submit`; an approved plan's grant is stored, for `credential`, in the
        transaction of the review's records (so it exists only if they do, in one round
        trip): (outcome, grant, its id, what a planner shown the trigger has read: see
        `shown_by`). A grant without an id is not stored yet. `meter`: the request, counted
        with the run it starts (`OverRate` if over: nothing counted, reviewed or run); a
        submit that ends before that leaves it to `settle`."""
        self.granting.take()
        local = self._for
        local.credential, local.meter, local.grant_id, local.session = credential, meter, None, session
        local.classified = None
        try:
            outcome = self.submit(trigger, plan, run_id=run_id, planner_context=planner_context)
            classified: Classified | None = local.classified
        finally:
            local.credential, local.meter, grant_id = None, None, local.grant_id
            local.grant_id, local.session, local.classified = None, "", None
        grant = self.granting.take() if outcome.run is not None else None
        # The trigger as `submit` classified it (parsed once per request).
        shown = self.shown_by(trigger) if classified is None else self._shown(classified)
        return outcome, grant, grant_id if grant is not None else None, shown

    def classify(self, trigger: Any) -> Classified:
        classified = super().classify(trigger)
        self._for.classified = classified  # the submit's own: `submit_for_grant` reads it
        return classified

    def shown_by(self, trigger: Any) -> Label:
        """What a planner shown this trigger has read (see `FlowContext.shown_label`)."""
        return self._shown(super().classify(trigger))

    def reviewed_with(self, trigger: Any, review: Mapping[str, Any]) -> Label:
        """What a plan's planner may have been shown when it was reviewed: its trigger and
        the context the review recorded. A session shown more since chose with more."""
        allowed = self.shown_by(trigger)
        then = stored_context(review)
        return allowed if then is None else allowed.join(then)

    def _shown(self, classified: Classified) -> Label:
        return FlowContext(classified, deployment_of(self.policy)).shown_label()

    def settle(self, meter: Meter) -> None:
        """Count a request not counted yet (one that ended before its run was counted);
        `OverRate` if it is over its credential's rate."""
        if meter.counted:
            return
        meter.counted = True
        wait = self.limiter.hit(meter.key, meter.limit, meter.per)
        if wait is not None:
            raise OverRate(meter, wait)

    def _count_run(self, limit: RateLimit | None, principal: str, trust_class: str) -> str | None:
        meter: Meter | None = getattr(self._for, "meter", None)
        if meter is None or meter.counted:
            return super()._count_run(limit, principal, trust_class)
        runs, limiter, counted = self.runs, self.limiter, (meter.key, meter.limit, meter.per)
        if limit is not None and isinstance(runs, RedisRunCounter) and isinstance(limiter, RedisLimiter):
            meter.counted = True  # in one step: the request, then the run within its limit
            wait, hit = runs.admit(limiter, counted, limit, principal=principal, trust_class=trust_class)
        elif (limit is not None and isinstance(runs, SqlRunCounter) and isinstance(limiter, SqlLimiter)
              and runs.sql is limiter.sql):
            meter.counted = True
            wait, hit = runs.admit(limiter, counted, limit, principal=principal, trust_class=trust_class)
        else:
            self.settle(meter)
            return super()._count_run(limit, principal, trust_class)
        if wait is not None:
            raise OverRate(meter, wait)
        return hit

    def _record(self, events: list[tuple[str, str, Mapping[str, Any]]], result: Review,
                checked: CheckedPlan | None, classified: Classified, run_id: str,
                guard: Statement | None = None) -> None:
        credential = getattr(self._for, "credential", None)
        if credential is None or result.verdict != "approve" or checked is None:
            super()._record(events, result, checked, classified, run_id, guard)
            return
        # `submit` runs an approved, checked plan (`GrantingExecutor`): its grant.
        try:
            grant_id, statement = grant_insert(Grant(classified=classified, checked=checked, review=result),
                                               run_id, credential, getattr(self._for, "session", ""))
        except Exception:  # whatever broke, the review is on record
            super()._record(events, result, checked, classified, run_id)
            raise
        try:
            self.audit.append_many(events, also=statement, guard=guard)
        except Raced:  # the trigger's charge was beaten: reviewed again (`Gate._review`)
            raise
        except (AuditError, StorageUnavailable):
            if granted(self.storage, run_id):  # another worker's grant for this run went in first
                super()._record(events, result, checked, classified, run_id)  # the review, no grant
                raise GrantError(run_granted(run_id)) from None
            raise
        self._for.grant_id = grant_id

    def grant_approved(self, approval_id: str, shown_now: Label | None = None) -> tuple[Outcome, Grant | None]:
        """A grant for an approved plan (`run_approved`). `shown_now`: what the session asking
        for it has been shown by now. Taking up an approval is the agent's choice, as using a
        grant is: one whose session has since been shown more than the plan was reviewed with
        (its context then, and the trigger the plan answers) would choose with what it read
        since, so it gets none (`GrantError`: submit the plan again, reviewed with all of it)."""
        if shown_now is not None:
            approval = self.approvals.get(approval_id)
            allowed = self.reviewed_with(approval.trigger, approval.review)
            if shown_now.join(allowed) != allowed:
                raise GrantError("the session has been shown more since this plan was reviewed (another "
                                 "trigger, a tool's result); submit the plan again")
        self.granting.take()
        outcome = self.run_approved(approval_id)
        return outcome, self.granting.take()


__all__ = ["GrantingExecutor", "Meter", "OverRate", "ServiceGate"]
