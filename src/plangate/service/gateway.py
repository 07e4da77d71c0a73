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

from plangate.execute import Grant, RunResult
from plangate.gate import Gate, Outcome
from plangate.plan.codec import CheckedPlan
from plangate.policy import CompiledPolicy
from plangate.protocols import ToolResult
from plangate.review.reviewer import Review
from plangate.service.runs import grant_insert
from plangate.storage import Storage
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


class ServiceGate(Gate):
    def __init__(self, policy: CompiledPolicy, storage: Storage) -> None:
        super().__init__(policy, _NoTools(), audit=":memory:")
        self.audit.close()
        # The storage's parts stand in for the SQLite ones Gate opens (same methods).
        self.audit = storage.audit
        self.approvals = storage.approvals
        self.resources = storage.resources
        self.runs = storage.runs
        self.granting = GrantingExecutor()
        self.executor = self.granting  # type: ignore[assignment]
        self._for = threading.local()  # the credential a submit is for, and its grant's id

    def submit_for_grant(self, trigger: Any, plan: Any, *, credential: str, run_id: str | None = None
                         ) -> tuple[Outcome, Grant | None, str | None]:
        """`submit`; an approved plan's grant is stored, for `credential`, in the
        transaction of the review's records (so it exists only if they do, in one round
        trip): (outcome, grant, its id). A grant without an id is not stored yet."""
        self.granting.take()
        local = self._for
        local.credential, local.grant_id = credential, None
        try:
            outcome = self.submit(trigger, plan, run_id=run_id)
        finally:
            local.credential, grant_id = None, local.grant_id
            local.grant_id = None
        grant = self.granting.take() if outcome.run is not None else None
        return outcome, grant, grant_id if grant is not None else None

    def _record(self, events: list[tuple[str, str, Mapping[str, Any]]], result: Review,
                checked: CheckedPlan | None, classified: Classified, run_id: str) -> None:
        credential = getattr(self._for, "credential", None)
        if credential is None or result.verdict != "approve" or checked is None:
            super()._record(events, result, checked, classified, run_id)
            return
        # `submit` runs an approved, checked plan (`GrantingExecutor`): its grant.
        grant_id, statement = grant_insert(Grant(classified=classified, checked=checked, review=result),
                                           run_id, credential)
        self.audit.append_many(events, also=statement)
        self._for.grant_id = grant_id

    def grant_approved(self, approval_id: str) -> tuple[Outcome, Grant | None]:
        self.granting.take()
        outcome = self.run_approved(approval_id)
        return outcome, self.granting.take()


__all__ = ["GrantingExecutor", "ServiceGate"]
