"""What a trigger has spent: its budget spans every run reviewed for it.

A class's budget (`max_calls`, `max_egress`, `max_payments`) and every rule that reads
`context.plan` bound what one trigger may cause. Counted per plan, they bound nothing: a
planner that submits the same message again, one refund per plan, pays as often as it
asks. So the gate keeps a ledger per trigger (`trigger_key`: its channel, sender, class,
id, text and provenance). When a rule for the trigger's class reads the bounds, every plan
for the trigger is reviewed with the bounds already charged to it added to its own
(`context.plan.*` is the trigger's total).

A plan is charged when it is sure to run: an approved plan in the transaction of its
review's records, an escalated one when the owner says yes (with the approval's use; only
if nothing was charged since the owner was asked). Each charge is a compare-and-swap on the
number of runs charged (`Ledger.guard`): two workers that review plans for one trigger at
once cannot both charge from the same starting point; the loser is reviewed again with the
winner's charge in. A trigger without its own id (`Trigger.id` left at its default) that
says the same thing twice is one trigger: give triggers the message's id.

One ledger over single statements (`Statements`): beside a SQLite audit log
(`sqlite_ledger`), or on any `plangate.storage` store (its `Sql`).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Protocol

from plangate.audit.log import AuditLog
from plangate.policy.facts import PlanBounds
from plangate.trigger import Classified

NOTHING = PlanBounds(calls=0, egress=0, payments=0, loop=0)

SCHEMA = """
CREATE TABLE IF NOT EXISTS trigger_spend (
    key TEXT PRIMARY KEY,
    runs INTEGER NOT NULL,
    calls INTEGER NOT NULL,
    egress INTEGER NOT NULL,
    payments INTEGER NOT NULL,
    loop_bound INTEGER NOT NULL
)"""
SQLITE_SCHEMA = SCHEMA + " WITHOUT ROWID"
"""SQLite's: one B-tree keyed by the trigger (a charge writes one page where a rowid table
and its key's index wrote two)."""


@dataclass(frozen=True, slots=True)
class Spent:
    """A trigger's ledger as read: how many runs were charged, and their bounds summed."""

    runs: int
    bounds: PlanBounds


UNSPENT = Spent(0, NOTHING)
"""The ledger of a trigger nothing was charged to."""


def trigger_key(classified: Classified) -> str:
    """The ledger's key: everything that makes a trigger this trigger (channel, canonical
    sender, id, instruction, text, its provenance), and the class it earned, hashed. (A
    forged copy of a message, which falls to another class, cannot spend the real one's
    budget in advance.)"""
    t = classified.trigger
    parts = [t.channel, classified.principal.canonical, classified.trust_class, t.id, t.instruction, t.payload,
             sorted(t.meta.items()), [(s.kind, s.author, len(s.text)) for s in t.segments]]
    return hashlib.sha256(json.dumps(parts, ensure_ascii=False).encode("utf-8", "surrogatepass")).hexdigest()


Statement = tuple[str, tuple[Any, ...]]
"""SQL with `?` placeholders, and its parameters."""


class Statements(Protocol):
    """Single statements with `?` placeholders: `plangate.storage.sql.Sql`, or `SqliteLedger`'s own."""

    def one(self, sql: str, params: tuple[Any, ...] = ()) -> tuple[Any, ...] | None: ...

    def run(self, sql: str, params: tuple[Any, ...] = ()) -> int: ...


class Ledger:
    """Read a trigger's spend; charge a plan's bounds to it if nobody charged it since."""

    def __init__(self, db: Statements) -> None:
        self.db = db

    def read(self, key: str) -> Spent:
        row = self.db.one("SELECT runs, calls, egress, payments, loop_bound FROM trigger_spend WHERE key = ?", (key,))
        if row is None:
            return UNSPENT
        runs, calls, egress, payments, loop = (int(x) for x in row)
        return Spent(runs, PlanBounds(calls=calls, egress=egress, payments=payments, loop=loop))

    def guard(self, key: str, seen: Spent, new_total: PlanBounds) -> Statement:
        """The statement that sets the trigger's total to `new_total` (one run more) if its
        ledger still holds `seen`, and otherwise changes no row: a review's records are
        written with it (`AuditLog.append_many(guard=...)`)."""
        b = new_total
        if seen.runs == 0:
            return ("INSERT INTO trigger_spend(key, runs, calls, egress, payments, loop_bound) "
                    "VALUES (?, 1, ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING",
                    (key, b.calls, b.egress, b.payments, b.loop))
        return ("UPDATE trigger_spend SET runs = runs + 1, calls = ?, egress = ?, payments = ?, loop_bound = ? "
                "WHERE key = ? AND runs = ?", (b.calls, b.egress, b.payments, b.loop, key, seen.runs))

    def charge(self, key: str, seen: Spent, new_total: PlanBounds) -> bool:
        """`guard` on its own: True if it changed the ledger, False if another review
        charged the trigger since `seen` was read (nothing changed)."""
        return self.apply(self.guard(key, seen, new_total))

    def apply(self, guard: Statement) -> bool:
        """Run a `guard` statement on its own: whether it charged."""
        return self.db.run(*guard) == 1


class _SqliteStatements:
    """Single statements on the audit log's connection, each under its writer lock."""

    def __init__(self, log: AuditLog) -> None:
        self._log = log

    def one(self, sql: str, params: tuple[Any, ...] = ()) -> tuple[Any, ...] | None:
        with self._log.lock:
            row = self._log.connection.execute(sql, params).fetchone()
        return tuple(row) if row is not None else None

    def run(self, sql: str, params: tuple[Any, ...] = ()) -> int:
        with self._log.transaction() as db:
            return int(db.execute(sql, params).rowcount)


def sqlite_ledger(log: AuditLog) -> Ledger:
    """The ledger beside a SQLite audit log (its table created here)."""
    with log.lock:
        log.connection.execute(SQLITE_SCHEMA)
    return Ledger(_SqliteStatements(log))


__all__ = ["NOTHING", "SCHEMA", "SQLITE_SCHEMA", "Ledger", "Spent", "Statement", "sqlite_ledger", "trigger_key"]
