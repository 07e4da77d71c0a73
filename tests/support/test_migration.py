"""A desk database made before refunds recorded `attended` opens with the column added,
and its old refunds count as unattended (toward the cap on what a customer collects
without a human), on SQLite and on PostgreSQL."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import psycopg

from plangate.deployments.support.db import SupportDB

OLD_REFUNDS = """CREATE TABLE refunds (
    id TEXT PRIMARY KEY, customer_id TEXT NOT NULL, order_id TEXT NOT NULL,
    amount_cents INTEGER NOT NULL, reason TEXT NOT NULL, readers TEXT NOT NULL)"""
OLD_ROW = "INSERT INTO refunds VALUES ('R-1', 'C-1', 'O-1', 4000, 'late', '[]')"


def test_an_old_sqlite_desk_gets_the_column(tmp_path: Path) -> None:
    path = tmp_path / "desk.db"
    with sqlite3.connect(path) as old:
        old.execute(OLD_REFUNDS)
        old.execute(OLD_ROW)
    db = SupportDB.sqlite(str(path))
    assert db.rows("SELECT id, attended FROM refunds") == [{"id": "R-1", "attended": 0}]
    db.close()
    SupportDB.sqlite(str(path)).close()  # a second open adds nothing


def test_an_old_postgres_desk_gets_the_column(pg_server: str) -> None:
    with psycopg.connect(pg_server, autocommit=True) as old:
        old.execute("DROP TABLE IF EXISTS refunds")
        old.execute(OLD_REFUNDS)
        old.execute(OLD_ROW)
    db = SupportDB.postgres(pg_server)
    try:
        assert db.rows("SELECT id, attended FROM refunds") == [{"id": "R-1", "attended": 0}]
    finally:
        db.clear()
        db.close()
