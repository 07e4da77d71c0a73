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
from plangate.policy import CompiledPolicy
from plangate.protocols import ToolResult
from plangate.storage import Storage


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

    def submit_for_grant(self, trigger: Any, plan: Any, *, run_id: str | None = None
                         ) -> tuple[Outcome, Grant | None]:
        self.granting.take()
        outcome = self.submit(trigger, plan, run_id=run_id)
        return outcome, self.granting.take() if outcome.run is not None else None

    def grant_approved(self, approval_id: str) -> tuple[Outcome, Grant | None]:
        self.granting.take()
        outcome = self.run_approved(approval_id)
        return outcome, self.granting.take()


__all__ = ["GrantingExecutor", "ServiceGate"]
