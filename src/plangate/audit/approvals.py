"""Pending approvals: escalated plans wait here, durably, for the owner's decision.

The agent side can only *create* approvals and read their state (`ApprovalQueue`). Deciding
one takes an `OwnerConsole`, which the CLI builds for the person at the machine
(`plangate approvals approve ID`); no agent-facing API hands one out. Each decision is
recorded in the audit log, bound to the plan hash the owner saw.

The table is a view of the audit chain (`plangate.audit.coverage`): a request carries a
digest of the whole record, and every change is an event written in the same transaction.
`get()` checks the record and its status against those events (an indexed lookup), so an
approval flipped to approved, or a used one made usable again, by editing the database
is refused; `AuditLog.verify()` checks every row.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from plangate.audit.coverage import approval_digest, approval_problem, trail_of
from plangate.audit.log import AuditLog, Raced
from plangate.errors import GrantError, UserError

Status = Literal["pending", "approved", "denied", "executed"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS approvals (
    id TEXT PRIMARY KEY,
    created TEXT NOT NULL,
    run_id TEXT NOT NULL,
    plan_hash TEXT NOT NULL,
    trust_class TEXT NOT NULL,
    summary TEXT NOT NULL,
    trigger_json TEXT NOT NULL,
    plan_json TEXT NOT NULL,
    review_json TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    decided TEXT,
    decided_by TEXT,
    note TEXT
);
"""


@dataclass(frozen=True, slots=True)
class Approval:
    id: str
    created: str
    run_id: str
    plan_hash: str
    trust_class: str
    summary: str
    trigger: dict[str, Any]
    plan: dict[str, Any]
    review: dict[str, Any]
    status: Status
    decided_by: str | None

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "created": self.created, "run_id": self.run_id,
                "plan_hash": self.plan_hash, "trust_class": self.trust_class,
                "summary": self.summary, "status": self.status,
                "decided_by": self.decided_by, "rules": self.review.get("rules", [])}


class ApprovalQueue:
    """Create and read approvals. Cannot decide them."""

    def __init__(self, log: AuditLog) -> None:
        self._log = log
        self._db: sqlite3.Connection = log.connection
        self._db.executescript(_SCHEMA)

    def create(self, *, run_id: str, plan_hash: str, trust_class: str, summary: str,
               trigger: dict[str, Any], plan: dict[str, Any], review: dict[str, Any]) -> str:
        approval_id = "ap_" + secrets.token_hex(6)
        now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        # Stored as they read back, so the digest is over exactly what `get()` returns.
        trigger, plan, review = (json.loads(json.dumps(x)) for x in (trigger, plan, review))
        digest = approval_digest(approval_id=approval_id, run_id=run_id, plan_hash=plan_hash,
                                 trust_class=trust_class, summary=summary, trigger=trigger,
                                 plan=plan, review=review)

        def insert(db: sqlite3.Connection, _seq: int) -> None:
            db.execute(
                "INSERT INTO approvals(id, created, run_id, plan_hash, trust_class, summary, "
                "trigger_json, plan_json, review_json) VALUES (?,?,?,?,?,?,?,?,?)",
                (approval_id, now, run_id, plan_hash, trust_class, summary, json.dumps(trigger),
                 json.dumps(plan), json.dumps(review)))

        self._log.append("approval_requested", run_id, {"approval": approval_id,
                                                        "plan_hash": plan_hash,
                                                        "content_sha256": digest}, also=insert)
        return approval_id

    def get(self, approval_id: str) -> Approval:
        row = self._db.execute(
            "SELECT id, created, run_id, plan_hash, trust_class, summary, trigger_json, "
            "plan_json, review_json, status, decided_by FROM approvals WHERE id = ?",
            (approval_id,)).fetchone()
        if row is None:
            raise UserError(f"no approval {approval_id!r}")
        approval = Approval(row[0], row[1], row[2], row[3], row[4], row[5], json.loads(row[6]),
                            json.loads(row[7]), json.loads(row[8]), row[9], row[10])
        digest = approval_digest(approval_id=approval.id, run_id=approval.run_id,
                                 plan_hash=approval.plan_hash, trust_class=approval.trust_class,
                                 summary=approval.summary, trigger=approval.trigger,
                                 plan=approval.plan, review=approval.review)
        problem = approval_problem(approval.id, digest, approval.status,
                                   trail_of(self._log.approval_events(approval.id)))
        if problem:
            raise GrantError(problem)
        return approval

    def consume(self, approval_id: str, run_id: str, *,
                guard: tuple[str, Sequence[Any]] | None = None) -> None:
        """Mark an approved plan as run: one approval, one run (no replays). `guard`: a
        statement run first in the same transaction that must change one row (the trigger's
        charge, `plangate.audit.spend`), else `Raced` and nothing changes."""

        def mark(db: sqlite3.Connection, _seq: int) -> None:
            cursor = db.execute(
                "UPDATE approvals SET status = 'executed' WHERE id = ? AND status = 'approved'",
                (approval_id,))
            if cursor.rowcount != 1:
                raise UserError(f"approval {approval_id!r} is not approved (or already used)")

        def guarded(db: sqlite3.Connection) -> Mapping[str, Any]:
            if guard is not None and db.execute(guard[0], tuple(guard[1])).rowcount != 1:
                raise Raced("another plan for this trigger was charged since this one was read")
            return {"approval": approval_id}

        self._log.append("approval_used", run_id, {"approval": approval_id}, also=mark,
                         prepare=guarded if guard is not None else None)

    def list(self, status: Status | None = "pending") -> list[Approval]:
        query = "SELECT id FROM approvals"
        params: tuple[str, ...] = ()
        if status is not None:
            query += " WHERE status = ?"
            params = (status,)
        ids = [r[0] for r in self._db.execute(query + " ORDER BY created, id", params)]
        return [self.get(i) for i in ids]


class OwnerConsole(ApprovalQueue):
    """The owner's side: may approve or deny. Built by the CLI, never handed to agents."""

    def decide(self, approval_id: str, decision: Literal["approved", "denied"], *,
               by: str = "owner", note: str = "") -> Approval:
        current = self.get(approval_id)
        if current.status != "pending":
            raise UserError(f"approval {approval_id!r} is already {current.status}")
        now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")

        # The audit record and the change land together: an unrecorded decision must not
        # take effect, and two owners deciding at once cannot both win.
        def mark(db: sqlite3.Connection, _seq: int) -> None:
            cursor = db.execute(
                "UPDATE approvals SET status = ?, decided = ?, decided_by = ?, note = ? "
                "WHERE id = ? AND status = 'pending'", (decision, now, by, note, approval_id))
            if cursor.rowcount != 1:
                raise UserError(f"approval {approval_id!r} was decided meanwhile")

        self._log.append("approval_decided", current.run_id, {
            "approval": approval_id, "decision": decision, "by": by,
            "plan_hash": current.plan_hash, "note": note}, also=mark)
        return self.get(approval_id)
