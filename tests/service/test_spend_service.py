"""The service's workers share each trigger's ledger (`plangate.audit.spend`): a stranger's
mail resubmitted to two workers gets its budget once, on SQLite and on PostgreSQL."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from plangate.audit.spend import Ledger, Spent, Statement
from plangate.policy.facts import PlanBounds
from plangate.service.gateway import ServiceGate
from plangate.storage import Storage, open_storage

from .conftest import example, policy


def _interleaved(gate: ServiceGate, other: ServiceGate) -> list[Any]:
    """`other` submits the same mail between `gate`'s review and its records."""
    done: list[Any] = []
    inner = gate.ledger

    class Interleaved(Ledger):
        guards = 0

        def guard(self, key: str, seen: Spent, new_total: PlanBounds) -> Statement:
            Interleaved.guards += 1
            if Interleaved.guards == 1:
                body = example("meeting-reply")
                worker = threading.Thread(target=lambda: done.append(other.submit_for_grant(
                    mail, body["plan"], credential="agent2")))
                worker.start()
                worker.join(20)
            return inner.guard(key, seen, new_total)

    mail = example("meeting-reply")["trigger"]
    gate.ledger = Interleaved(inner.db)
    mine = gate.submit_for_grant(mail, example("meeting-reply")["plan"], credential="agent")
    return [done[0], mine]


def _check(stores: list[Storage], theirs: Any, mine: Any) -> None:
    # Theirs took the mail's whole egress budget (a reply and a note to the owner: 2 of 2).
    assert theirs[0].review.verdict == "approve" and theirs[2] is not None
    # Mine lost the race, was reviewed again with theirs charged, and is denied by the budget.
    assert mine[0].review.verdict == "deny", mine[0].review.rules
    assert mine[0].review.rules == ("class:unknown:budget.max_egress",)
    assert mine[2] is None
    grants = stores[0].sql.all("SELECT credential FROM grants")
    assert [g[0] for g in grants] == ["agent2"]


def test_two_sqlite_workers_spend_one_mail_once(tmp_path: Path) -> None:
    stores = [open_storage(str(tmp_path / "plangate.db")) for _ in range(2)]
    try:
        gate, other = ServiceGate(policy(), stores[0]), ServiceGate(policy(), stores[1])
        theirs, mine = _interleaved(gate, other)
        _check(stores, theirs, mine)
        assert stores[0].audit.verify().ok
    finally:
        for store in stores:
            store.close()


def test_two_postgresql_workers_spend_one_mail_once(pg_stores: list[Storage]) -> None:
    pytest.importorskip("psycopg")
    gate, other = ServiceGate(policy(), pg_stores[0]), ServiceGate(policy(), pg_stores[1])
    theirs, mine = _interleaved(gate, other)
    _check(pg_stores, theirs, mine)
