"""Stored resource labels in SQLite, so taint survives between runs (persisted instructions)."""

from __future__ import annotations

import json
import sqlite3

from plangate.audit.log import AuditLog
from plangate.errors import AuditError
from plangate.labels import Label, join_all
from plangate.resources import overlaps

_SCHEMA = """
CREATE TABLE IF NOT EXISTS resource_labels (
    name TEXT PRIMARY KEY,
    label TEXT NOT NULL
);
"""


class SqliteResourceLabels:
    def __init__(self, log: AuditLog) -> None:
        self._db: sqlite3.Connection = log.connection
        self._db.executescript(_SCHEMA)

    def label_of(self, pattern: str) -> Label | None:
        rows = self._db.execute("SELECT name, label FROM resource_labels").fetchall()
        hits = [Label.from_json(json.loads(label)) for name, label in rows
                if overlaps(name, pattern)]
        return join_all(hits) if hits else None

    def record(self, name: str, label: Label) -> None:
        """Join the label of what was written into the resource's label. A write never
        washes taint away: the store cannot tell an overwrite from an append."""
        try:
            row = self._db.execute("SELECT label FROM resource_labels WHERE name = ?",
                                   (name,)).fetchone()
            if row is not None:
                label = Label.from_json(json.loads(row[0])).join(label)
            self._db.execute(
                "INSERT INTO resource_labels(name, label) VALUES (?, ?) "
                "ON CONFLICT(name) DO UPDATE SET label = excluded.label",
                (name, json.dumps(label.to_json())))
        except sqlite3.Error as exc:
            raise AuditError(f"cannot record the label of {name!r}: {exc}") from None
