"""Stored resource labels in SQLite, so taint survives between runs (persisted instructions).

Lookups are indexed: a concrete name is one primary-key read; a pattern reads the names
sharing its literal prefix (`workspace:notes/*` reads `workspace:notes/...` only); stored
names that are themselves patterns (an open or oversized argument) are few and always
compared. Overlap is `plangate.resources.overlaps` either way, as before.

Every write is a chained `label_stored` event carrying the label now stored, written in the
same transaction as the row, and the row keeps that event's sequence number: a label washed
clean in the database no longer matches its event and is refused on read; `AuditLog.verify()`
compares every row with the chain (`plangate.audit.coverage`).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from typing import Any

from plangate.audit.coverage import LABEL_KIND, canonical
from plangate.audit.log import AuditLog
from plangate.errors import AuditError
from plangate.labels import Label, join_all
from plangate.resources import has_wildcard, literal_prefix, overlaps, prefix_bound

_SCHEMA = """
CREATE TABLE IF NOT EXISTS resource_labels (
    name TEXT PRIMARY KEY,
    label TEXT NOT NULL
);
"""
_COLUMNS = (("wild", "INTEGER NOT NULL DEFAULT 1"), ("seq", "INTEGER"))
_INDEX = "CREATE INDEX IF NOT EXISTS resource_labels_wild ON resource_labels(wild)"


class SqliteResourceLabels:
    def __init__(self, log: AuditLog) -> None:
        self._log = log
        self._db: sqlite3.Connection = log.connection
        self._db.executescript(_SCHEMA)
        have = {r[1] for r in self._db.execute("PRAGMA table_info(resource_labels)")}
        for column, decl in _COLUMNS:
            if column not in have:  # a log from before indexed lookups: every row is compared
                self._db.execute(f"ALTER TABLE resource_labels ADD COLUMN {column} {decl}")
        self._db.execute(_INDEX)
        self._adopt_legacy_rows()

    def _adopt_legacy_rows(self) -> None:
        """Rows stored before labels were chained get their `label_stored` event once, on
        the first open by this version, and are vouched for from then on."""
        legacy = self._db.execute("SELECT name, label FROM resource_labels WHERE seq IS NULL").fetchall()
        for name, text in legacy:
            def adopt(db: sqlite3.Connection, seq: int, name: str = name) -> None:
                db.execute("UPDATE resource_labels SET seq = ?, wild = ? WHERE name = ?",
                           (seq, int(has_wildcard(name)), name))
            self._log.append(LABEL_KIND, "-", {"name": name, "label": json.loads(text),
                                               "adopted": True}, also=adopt)

    def label_of(self, pattern: str) -> Label | None:
        hits: list[Label] = []
        if has_wildcard(pattern):
            # Many names may match: SQLite matches them (GLOB reads fnmatch's `*`, `?` and
            # `[...]` alike, and the escapes `[*]`, `[?]`, `[[]`), over the prefix's index
            # range, and returns each distinct label once. Rows are checked against the
            # chain by `AuditLog.verify()`, not one by one here.
            prefix = literal_prefix(pattern)
            texts = self._db.execute(
                "SELECT DISTINCT label FROM resource_labels WHERE name >= ? AND name < ? AND wild = 0 "
                "AND name GLOB ?", (prefix, prefix_bound(prefix), pattern)).fetchall()
            hits += [Label.from_json(json.loads(t)) for (t,) in texts]
        else:
            row = self._db.execute("SELECT name, label, seq FROM resource_labels WHERE name = ? AND wild = 0",
                                   (pattern,)).fetchone()
            if row is not None:
                hits.append(self._checked(*row))
        for name, label, seq in self._db.execute(
                "SELECT name, label, seq FROM resource_labels WHERE wild = 1").fetchall():
            if overlaps(name, pattern):
                hits.append(self._checked(name, label, seq))
        return join_all(hits) if hits else None

    def _checked(self, name: str, text: str, seq: int | None) -> Label:
        """The stored label, if its `label_stored` event says the same (else an error: a
        label edited outside plangate must not decide anything)."""
        data = json.loads(text)
        event = self._log.event(seq) if seq is not None else None
        if (event is None or event.kind != LABEL_KIND or event.data.get("name") != name
                or canonical(event.data.get("label")) != canonical(data)):
            raise AuditError(f"stored label of {name!r} does not match the audit log "
                             "(edited outside plangate)")
        return Label.from_json(data)

    def record(self, name: str, label: Label) -> None:
        """Join the label of what was written into the resource's label. A write never
        washes taint away: the store cannot tell an overwrite from an append."""
        joined: dict[str, Any] = {}

        def prepare(db: sqlite3.Connection) -> Mapping[str, Any]:
            row = db.execute("SELECT label, seq FROM resource_labels WHERE name = ?", (name,)).fetchone()
            new = label
            if row is not None:
                new = self._checked(name, row[0], row[1]).join(label)
            joined["label"] = new.to_json()
            return {"name": name, "label": joined["label"]}

        def store(db: sqlite3.Connection, seq: int) -> None:
            db.execute(
                "INSERT INTO resource_labels(name, label, wild, seq) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(name) DO UPDATE SET label = excluded.label, seq = excluded.seq",
                (name, json.dumps(joined["label"]), int(has_wildcard(name)), seq))

        try:
            self._log.append(LABEL_KIND, "-", {}, prepare=prepare, also=store)
        except AuditError as exc:
            raise AuditError(f"cannot record the label of {name!r}: {exc}") from None
