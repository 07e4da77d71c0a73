"""The audit log: append-only, tamper-evident, SQLite by default.

Every event is chained to the one before by SHA-256 over (previous hash, sequence number,
time, kind, run id, canonical JSON of the data). `verify()` recomputes the chain; editing,
deleting or reordering any row breaks it from that row on. SQLite triggers also refuse
UPDATE and DELETE, so an honest mistake cannot rewrite history either.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import sqlite3
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from plangate.errors import AuditError

GENESIS = "0" * 64

_SCHEMA = """
CREATE TABLE IF NOT EXISTS audit_events (
    seq INTEGER PRIMARY KEY,
    ts TEXT NOT NULL,
    kind TEXT NOT NULL,
    run_id TEXT NOT NULL,
    data TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_events_run ON audit_events(run_id);
CREATE TRIGGER IF NOT EXISTS audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
"""


def _utcnow() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")


def event_hash(prev: str, seq: int, ts: str, kind: str, run_id: str, data: str) -> str:
    body = json.dumps([prev, seq, ts, kind, run_id, data], separators=(",", ":"),
                      ensure_ascii=False)
    return hashlib.sha256(body.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Event:
    seq: int
    ts: str
    kind: str
    run_id: str
    data: dict[str, Any]
    hash: str

    def to_json(self) -> dict[str, Any]:
        return {"seq": self.seq, "ts": self.ts, "kind": self.kind, "run_id": self.run_id,
                "data": self.data, "hash": self.hash}


@dataclass(frozen=True, slots=True)
class Verification:
    ok: bool
    events: int
    first_bad: int | None = None
    problem: str = ""


class AuditLog:
    """A SQLite-backed `AuditSink`. Safe to share between threads of one process."""

    def __init__(self, path: str | Path, *, clock: Callable[[], str] = _utcnow) -> None:
        self.path = str(path)
        self._clock = clock
        self._lock = threading.Lock()
        try:
            if self.path != ":memory:":
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            raise AuditError(f"cannot open audit log {self.path}: {exc}") from None

    @property
    def connection(self) -> sqlite3.Connection:
        return self._db

    def close(self) -> None:
        self._db.close()

    def append(self, kind: str, run_id: str, data: Mapping[str, Any]) -> int:
        try:
            text = json.dumps(dict(data), sort_keys=True, separators=(",", ":"),
                              ensure_ascii=False, default=repr)
        except (TypeError, ValueError) as exc:
            raise AuditError(f"audit event is not serialisable: {exc}") from None
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                row = self._db.execute(
                    "SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1").fetchone()
                seq, prev = (row[0] + 1, row[1]) if row else (1, GENESIS)
                ts = self._clock()
                digest = event_hash(prev, seq, ts, kind, run_id, text)
                self._db.execute(
                    "INSERT INTO audit_events(seq, ts, kind, run_id, data, prev_hash, hash) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)", (seq, ts, kind, run_id, text, prev, digest))
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                with contextlib.suppress(sqlite3.Error):
                    self._db.execute("ROLLBACK")
                raise AuditError(f"audit write failed: {exc}") from None
        return seq

    def tail(self, n: int = 20, *, run_id: str | None = None) -> list[Event]:
        query = "SELECT seq, ts, kind, run_id, data, hash FROM audit_events"
        params: tuple[Any, ...] = ()
        if run_id is not None:
            query += " WHERE run_id = ?"
            params = (run_id,)
        query += " ORDER BY seq DESC LIMIT ?"
        rows = self._db.execute(query, (*params, n)).fetchall()
        return [Event(r[0], r[1], r[2], r[3], json.loads(r[4]), r[5]) for r in reversed(rows)]

    def head(self) -> tuple[int, str]:
        """(sequence number, hash) of the newest event: export it somewhere the log's
        writer cannot reach, and `verify(anchor=...)` later proves nothing before it was
        cut off or rewritten (the chain alone cannot see its own tail truncated)."""
        row = self._db.execute(
            "SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1").fetchone()
        return (row[0], row[1]) if row else (0, GENESIS)

    def verify(self, *, anchor: tuple[int, str] | None = None) -> Verification:
        """Recompute the chain; with `anchor` (an exported `head()`), also require that
        event to still be there with the same hash."""
        result = self._verify_chain()
        if not result.ok or anchor is None:
            return result
        seq, digest = anchor
        if seq == 0:
            return result
        row = self._db.execute("SELECT hash FROM audit_events WHERE seq = ?", (seq,)).fetchone()
        if row is None:
            return Verification(False, result.events, seq, f"anchored event {seq} is gone "
                                "(the log was truncated)")
        if row[0] != digest:
            return Verification(False, result.events, seq, f"anchored event {seq} has another hash")
        return result

    def _verify_chain(self) -> Verification:
        prev = GENESIS
        expected_seq = 1
        count = 0
        cursor = self._db.execute(
            "SELECT seq, ts, kind, run_id, data, prev_hash, hash FROM audit_events ORDER BY seq")
        for seq, ts, kind, run_id, data, prev_hash, digest in cursor:
            count += 1
            if seq != expected_seq:
                return Verification(False, count, seq, f"sequence gap before {seq}")
            if prev_hash != prev:
                return Verification(False, count, seq, "previous-hash link broken")
            if event_hash(prev, seq, ts, kind, run_id, data) != digest:
                return Verification(False, count, seq, "event content does not match its hash")
            prev = digest
            expected_seq += 1
        return Verification(True, count)
