"""Per-row readers as stored labels: the gate reads who may see a customer's records from
the database rows themselves.

`RowLabels` is a `plangate.resources.ResourceLabels` in front of the gate's own store
(which keeps what runs wrote: a ticket written from a customer's text stays tainted). For
a name `customer:<address>/<kind>` of a customer the readers are those the rows of that
kind carry (`SupportDB.readers_of`), and the store adds taint and sources only; for a
name with no such customer, and for any pattern that may name several customers
(`customer:*/profile`, `*`), the staff only. So a customer's orders, read in anyone's run,
are readable by that customer and the staff, and a reply to anyone else carrying them
fails the data check, whatever the plan says.

`support_gate(...)` is the core `Gate` with this store in front of the review and the
executor: the desk's catalog is sound only behind it (see catalog.yaml).
"""

from __future__ import annotations

from typing import Any

from plangate.audit import AuditLog
from plangate.deployments.support.db import KINDS, STAFF, SupportDB
from plangate.deployments.support.runtime import UNATTENDED
from plangate.execute import Executor
from plangate.execute.executor import Grant, RunResult
from plangate.gate import Gate, SecondOpinion
from plangate.labels import Label
from plangate.policy import CompiledPolicy
from plangate.protocols import Extractor, OwnerApprover, ToolRuntime
from plangate.resource_lock import lock_of
from plangate.resources import ResourceLabels, has_wildcard, overlaps, state_of

PREFIX = "customer:"
STAFF_ONLY = Label(readers=frozenset({STAFF}), sources=frozenset({"store:customer"}))


class RowLabels:
    """Stored labels joined with the readers of the database rows they name."""

    def __init__(self, base: ResourceLabels, db: SupportDB) -> None:
        self.base = base
        self.db = db
        self.lock = lock_of(base)  # the store's own (plangate.resource_lock)

    def row_label(self, pattern: str) -> Label | None:
        """The readers of the customer records a name stands for (None: it names none)."""
        if not overlaps(pattern, PREFIX + "*"):
            return None
        if not pattern.startswith(PREFIX):
            return STAFF_ONLY  # `*` and the like: every customer's records
        address, _, kind = pattern[len(PREFIX):].rpartition("/")
        if not address or has_wildcard(address):
            return STAFF_ONLY  # may stand for several customers, or one not known yet
        # One customer: one kind of record, or (`customer:<address>/*`) all of them.
        kinds = [k for k in KINDS if overlaps(kind, k)] if has_wildcard(kind) else [kind]
        if not kinds or any(k not in KINDS for k in kinds):
            return STAFF_ONLY
        found = [self.db.readers_of(address, k) for k in kinds]
        if any(not readers for readers in found):
            return STAFF_ONLY  # no such customer
        readers = frozenset.intersection(*(r for r in found if r is not None))
        return Label(readers=readers or frozenset({STAFF}),
                     sources=frozenset(f"store:customer/{k}" for k in kinds))

    def label_of(self, pattern: str) -> Label | None:
        rows = self.row_label(pattern)
        stored = self.base.label_of(pattern)
        if rows is None:
            return stored
        if stored is None:
            return rows
        if rows.readers == STAFF_ONLY.readers:
            return rows.join(stored)
        # One customer's records: their readers are the rows' (they follow the account on
        # an email change); what runs recorded under the name adds its sources and taint.
        # Every write into a customer's records was checked (or approved) for that
        # customer as its recipient, so no stored label needs to narrow them, and none may:
        # a name is only an address, which another customer's run can also write under
        # (account_update's `customer:{value}/*` with a name that reads like an address).
        return Label(readers=rows.readers, sources=rows.sources | stored.sources,
                     taint=rows.join(stored).taint)

    def state_of(self, name: str, otherwise: Label) -> Label:
        """Who may know the state of a customer's records: the rows' readers (the rows are
        that state); other names, what the store below says (`resources.KnowsState`)."""
        rows = self.row_label(name)
        return rows.readers_only() if rows is not None else state_of(self.base, name, otherwise)

    def record(self, name: str, label: Label) -> None:
        self.base.record(name, label)


class _Executor(Executor):
    """The core executor, telling the desk's tools whether a human agent stands behind the
    run (`runtime.UNATTENDED`): an owner's approval, or a support agent's own request."""

    def run(self, grant: Grant, run_id: str) -> RunResult:
        attended = grant.approval is not None or grant.classified.trust_class == "staff"
        token = UNATTENDED.set(not attended)
        try:
            return super().run(grant, run_id)
        finally:
            UNATTENDED.reset(token)


class SupportGate(Gate):
    """The core gate with `RowLabels` in front of its stored labels. (A message's payments
    across runs are the core gate's: its trigger's budget spans them, `plangate.audit.spend`.)"""

    def __init__(self, policy: CompiledPolicy, tools: ToolRuntime, db: SupportDB, *,
                 audit: AuditLog | str = ":memory:", extractor: Extractor | None = None,
                 approver: OwnerApprover | None = None, second_opinion: SecondOpinion | None = None,
                 **kw: Any) -> None:
        super().__init__(policy, tools, audit=audit, extractor=extractor, approver=approver,
                         second_opinion=second_opinion, **kw)
        self.resources = RowLabels(self.resources, db)  # type: ignore[assignment]
        self.executor = _Executor(policy, tools, self.audit, resources=self.resources,
                                  extractor=extractor, approver=approver)


def support_gate(policy: CompiledPolicy, tools: ToolRuntime, db: SupportDB, **kw: Any) -> Gate:
    return SupportGate(policy, tools, db, **kw)
