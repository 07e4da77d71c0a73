"""PostgreSQL, where the database does not chain events itself (`pg_chain`; see
test_postgres_chain.py): a review's records go in by compare and swap on the chain's head
row (`PostgresAuditLog.append_many`). A swap against a head that moved inserts nothing;
under contention the swaps that miss are tried again and the chain stays one line; a
record that must be on disk takes the locking transaction."""

from __future__ import annotations

import itertools

import pytest

import plangate.storage.postgres as pg
from plangate.audit.log import chain_rows
from plangate.storage import Storage

from .test_suite import append_reviews_at_once

_names = itertools.count()


def _clock() -> str:
    return "2026-11-27T00:00:00+00:00"


@pytest.fixture(autouse=True)
def _swapping(pg_stores: list[Storage]) -> None:
    for store in pg_stores:
        store.audit.chains = False  # as after a failed probe


def test_a_swap_against_a_head_that_moved_inserts_nothing(pg_stores: list[Storage]) -> None:
    a, b = pg_stores[0], pg_stores[1]
    a.audit.append_many([("trigger", "r1", {})])
    last, prev = a.audit.head()
    b.audit.append_many([("trigger", "r2", {})])  # another worker moves the head
    rows = chain_rows(last, prev, [("verdict", "r1", "{}")], _clock)
    flat = [value for row in rows for value in row]
    assert a.sql.run(pg._swap_sql(1), (rows[-1][0], rows[-1][6], last, prev, *flat)) == 0
    assert a.audit.head()[0] == 2 and len(a.audit.tail(10)) == 2
    assert a.audit.verify().ok


def test_contended_swaps_are_tried_again_and_make_one_chain(pg_stores: list[Storage],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    tries = {"swap": 0, "locked": 0}
    run = pg.Sql.run
    locked = pg.PostgresAuditLog._append_locked

    def counting_run(self: pg.Sql, sql: str, params: tuple[object, ...] = ()) -> int:
        if sql.startswith("WITH moved AS"):
            tries["swap"] += 1
        return run(self, sql, params)

    def counting_locked(self: pg.PostgresAuditLog, items: list[tuple[str, str, str]],
                        *rest: object) -> list[int]:
        tries["locked"] += 1
        return locked(self, items, *rest)  # type: ignore[arg-type]

    monkeypatch.setattr(pg.Sql, "run", counting_run)
    monkeypatch.setattr(pg.PostgresAuditLog, "_append_locked", counting_locked)
    append_reviews_at_once(pg_stores)
    # Swaps did the work, some missed and were tried again (six writers on one row).
    assert tries["swap"] > 6 * 25 > tries["locked"], tries


def test_after_too_many_misses_the_lock_is_taken(pg_stores: list[Storage],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    swap = pg._swap_sql
    monkeypatch.setattr(pg, "_swap_sql", lambda n: swap(n).replace("WHERE id = 1 AND", "WHERE id = 1 AND false AND"))
    seqs = pg_stores[0].audit.append_many([("trigger", "r", {}), ("plan", "r", {})])
    assert seqs == [1, 2] and pg_stores[0].audit.verify().ok


def test_a_record_that_must_be_on_disk_takes_the_lock(pg_stores: list[Storage],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    taken: list[list[str]] = []
    locked = pg.PostgresAuditLog._append_locked

    def spy(self: pg.PostgresAuditLog, items: list[tuple[str, str, str]], *rest: object) -> list[int]:
        taken.append([kind for kind, _r, _t in items])
        return locked(self, items, *rest)  # type: ignore[arg-type]

    monkeypatch.setattr(pg.PostgresAuditLog, "_append_locked", spy)
    pg_stores[0].audit.append_many([("trigger", "r", {}), ("call", "r", {"tool": "t"})])
    assert taken == [["trigger", "call"]]
