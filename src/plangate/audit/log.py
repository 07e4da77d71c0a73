"""The audit log: append-only, tamper-evident, SQLite by default.

Every event is chained to the one before by SHA-256 over (previous hash, sequence number,
time, kind, run id, canonical JSON of the data). `verify()` recomputes the chain; editing,
deleting or reordering any row breaks it from that row on. SQLite triggers also refuse
UPDATE and DELETE, so an honest mistake cannot rewrite history either.

The chain also covers the approvals table and the stored resource labels (see
`plangate.audit.coverage`): their changes are events written in the same transaction, and
`verify()` compares the tables with what the chain says. Records written before a side
effect (`DURABLE_KINDS`: a call, an owner's decision, an approval used, a stored label) are
committed with `synchronous=FULL`; the rest with WAL's NORMAL (durable at the next FULL
commit or checkpoint), which keeps reviews fast.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import json
import os
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from plangate.audit.checkpoint import BACKSTOP_FRAMES, Checkpointer
from plangate.audit.coverage import (
    APPROVAL_IN,
    APPROVAL_KINDS,
    ChainState,
    approval_digest,
    filing_problems,
    prefix_problems,
)
from plangate.errors import AuditError, UserError

GENESIS = "0" * 64

class Raced(AuditError):
    """An append's guard changed no row: what its records depend on changed since it was read
    (nothing was appended). An `AuditError`, so a caller that does not retry fails closed."""


DURABLE_KINDS = frozenset({"call", "approval_decided", "approval_used", "label_stored"})
"""Events that precede a side effect or decide one: fsynced before `append` returns."""

InTransaction = Callable[[sqlite3.Connection, int], None]

_SCHEMA = f"""
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
DROP INDEX IF EXISTS audit_events_approval;
CREATE INDEX IF NOT EXISTS audit_events_approval_kinds ON audit_events(json_extract(data, '$.approval'))
    WHERE kind IN {APPROVAL_IN};
CREATE TRIGGER IF NOT EXISTS audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
"""


def _utcnow() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")


class EncodedEvent(dict[str, Any]):
    """An event's data with its `event_text` made already (`encoded_event`): a sink that
    writes `event_text` takes it from here instead of encoding the data a second time. (A
    plan is the biggest record, and the gate encodes it anyway to learn whether it is JSON.)
    Any other sink sees a plain dict."""

    __slots__ = ("text",)
    text: str


def _canonical(data: dict[str, Any], *, strict: bool) -> str:
    """Sorted keys, no spaces, UTF-8; a lone surrogate (valid JSON input, no UTF-8 form)
    written escaped. `strict`: plain JSON only (TypeError or ValueError otherwise), else
    what JSON lacks is written as its repr."""
    default = None if strict else repr
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=not strict, default=default)
    if not text.isascii():
        try:
            text.encode()
        except UnicodeEncodeError:
            text = json.dumps(data, sort_keys=True, separators=(",", ":"), allow_nan=not strict,
                              default=default)
    return text


def encoded_event(data: Mapping[str, Any]) -> EncodedEvent:
    """`data`, with its text, when it is plain JSON (no NaN, no type JSON lacks, keys that
    sort): TypeError, ValueError or RecursionError otherwise."""
    event = EncodedEvent(data)
    event.text = _canonical(event, strict=True)
    return event


def event_text(data: Mapping[str, Any]) -> str:
    """An event's data as the chain hashes and stores it, on every backend: canonical JSON
    (sorted keys, no spaces, UTF-8), a lone surrogate written escaped (it has no UTF-8 form).
    AuditError if it cannot be written (keys that do not sort, a circular reference)."""
    if type(data) is EncodedEvent:
        return data.text
    try:
        return _canonical(dict(data), strict=False)
    except (TypeError, ValueError) as exc:
        raise AuditError(f"audit event is not serialisable: {exc}") from None


def event_hash(prev: str, seq: int, ts: str, kind: str, run_id: str, data: str) -> str:
    body = json.dumps([prev, seq, ts, kind, run_id, data], separators=(",", ":"),
                      ensure_ascii=False)
    return hashlib.sha256(body.encode()).hexdigest()


def chain_rows(last_seq: int, last_hash: str, items: Iterable[tuple[str, str, str]],
               clock: Callable[[], str]) -> list[tuple[int, str, str, str, str, str, str]]:
    """The rows (seq, ts, kind, run id, data, previous hash, hash) that chain `items`
    (kind, run id, data as its canonical text) after the event (last_seq, last_hash)."""
    rows = []
    seq, prev = last_seq, last_hash
    for kind, run_id, text in items:
        seq += 1
        ts = clock()
        digest = event_hash(prev, seq, ts, kind, run_id, text)
        rows.append((seq, ts, kind, run_id, text, prev, digest))
        prev = digest
    return rows


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


_HELD = threading.local()


class WriterLock:
    """One writer at a time on a SQLite file, across threads and processes, without sleeps.

    SQLite's own answer to a second writer is to make it sleep and retry (1, 2, 5, 10, 15,
    20, 25 ms ...): with two workers on one file most of a request's latency was those
    sleeps. Every plangate connection to a file takes this lock (a thread lock, then an
    exclusive `flock` on `<file>-plangate-lock`) around its transactions, so a waiting
    writer wakes the moment the other commits. The kernel drops the flock of a process that
    dies. A thread that already holds the file's lock through another connection gets an
    error rather than waiting for itself forever."""

    def __init__(self, path: str) -> None:
        self._thread = threading.Lock()
        self._fd: int | None = None
        self._key: tuple[int, int] | None = None
        if path not in ("", ":memory:") and not path.startswith("file:"):
            try:
                self._fd = os.open(path + "-plangate-lock", os.O_RDWR | os.O_CREAT, 0o600)
            except OSError:  # a read-only folder: SQLite's own (sleeping) locking still holds
                return
            st = os.fstat(self._fd)
            self._key = (st.st_dev, st.st_ino)

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        if not self._thread.acquire(blocking, timeout):
            return False
        if self._fd is not None:
            held: set[tuple[int, int]] = _HELD.__dict__.setdefault("keys", set())
            if self._key in held:
                self._thread.release()
                raise AuditError("this thread already writes to this database through another connection")
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX)
            except OSError as exc:
                self._thread.release()
                raise AuditError(f"cannot lock the database for writing: {exc}") from None
            assert self._key is not None
            held.add(self._key)
        return True

    def release(self) -> None:
        if self._fd is not None:
            _HELD.__dict__.setdefault("keys", set()).discard(self._key)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        self._thread.release()

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(self, *_exc: object) -> None:
        self.release()

    def close(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None


class AuditLog:
    """A SQLite-backed `AuditSink`. Safe to share between threads of one process."""

    def __init__(self, path: str | Path, *, clock: Callable[[], str] = _utcnow,
                 checkpoint_in_thread: bool = False) -> None:
        """`checkpoint_in_thread`: copy the write-ahead log into the database from a thread
        (see `plangate.audit.checkpoint`), not in whichever commit passes 1,000 pages: for
        a long-running writer under load (the service)."""
        self.path = str(path)
        self._checkpointer: Checkpointer | None = None
        self._clock = clock
        # Moves by one when an append starts and by one when it ends (appends on this
        # connection are serialised by `lock`): odd while one is open. Answers kept from
        # this connection are valid only while it stands still, as a commit on the same
        # connection does not move SQLite's `data_version`.
        self.generation = 0
        try:
            if self.path != ":memory:":
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            self._lock = WriterLock(self.path)
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
            if checkpoint_in_thread and self.path != ":memory:" and not self.path.startswith("file:"):
                self._db.execute(f"PRAGMA wal_autocheckpoint={BACKSTOP_FRAMES}")
                self._checkpointer = Checkpointer(self.path, self._lock)
        except sqlite3.Error as exc:
            raise AuditError(f"cannot open audit log {self.path}: {exc}") from None

    @property
    def connection(self) -> sqlite3.Connection:
        return self._db

    @property
    def lock(self) -> WriterLock:
        """Held while an append's transaction is open: take it to run other statements
        on `connection` from another thread without landing inside that transaction."""
        return self._lock

    def close(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.close()
        self._db.close()
        self._lock.close()

    def transaction(self) -> contextlib.AbstractContextManager[sqlite3.Connection]:
        """A write transaction under the writer lock, with no event: for a table a store
        keeps beside the log that no event vouches for (an index it derives)."""
        return self._transaction(False)

    @contextlib.contextmanager
    def _transaction(self, durable: bool) -> Iterator[sqlite3.Connection]:
        """One write transaction under the writer lock, fsynced on commit when `durable`;
        any failure rolls back and is an `AuditError` (or the `UserError` raised inside)."""
        with self._lock:
            self.generation += 1
            try:
                if durable:
                    self._db.execute("PRAGMA synchronous=FULL")
                self._db.execute("BEGIN IMMEDIATE")
                yield self._db
                self._db.execute("COMMIT")
            except Exception as exc:
                with contextlib.suppress(sqlite3.Error):
                    self._db.execute("ROLLBACK")
                if isinstance(exc, AuditError | UserError):
                    raise
                raise AuditError(f"audit write failed: {exc}") from None
            finally:
                self.generation += 1
                if durable:
                    with contextlib.suppress(sqlite3.Error):
                        self._db.execute("PRAGMA synchronous=NORMAL")

    def _last(self) -> tuple[int, str]:
        row = self._db.execute("SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1").fetchone()
        return (row[0], row[1]) if row else (0, GENESIS)

    def append(self, kind: str, run_id: str, data: Mapping[str, Any], *,
               also: InTransaction | None = None,
               prepare: Callable[[sqlite3.Connection], Mapping[str, Any]] | None = None) -> int:
        """Append one event; `also(connection, seq)` runs in the same transaction (the
        table change the event vouches for), so both land or neither does. `prepare`, if
        given, computes the data inside the transaction (from rows it reads there)."""
        text = "" if prepare is not None else event_text(data)
        with self._transaction(kind in DURABLE_KINDS) as db:
            if prepare is not None:
                text = event_text(prepare(db))
            [row] = chain_rows(*self._last(), [(kind, run_id, text)], self._clock)
            db.execute("INSERT INTO audit_events(seq, ts, kind, run_id, data, prev_hash, hash) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?)", row)
            if also is not None:
                also(db, row[0])
        return row[0]

    def append_many(self, events: Iterable[tuple[str, str, Mapping[str, Any]]], *,
                    also: tuple[str, Sequence[Any]] | None = None,
                    guard: tuple[str, Sequence[Any]] | None = None) -> list[int]:
        """Append several events (kind, run id, data) in order in one transaction: all land
        or none does, and one commit instead of one each (a review writes three). `also`:
        one more statement (SQL, parameters) in that transaction (the service's grant).
        `guard`: a statement run first in it that must change exactly one row (a trigger's
        charge, `plangate.audit.spend`), else nothing lands and `Raced` is raised."""
        items = [(kind, run_id, event_text(data)) for kind, run_id, data in events]
        if not items and (also is not None or guard is not None):
            raise ValueError("append_many: `also` needs an event to vouch for it")
        with self._transaction(any(kind in DURABLE_KINDS for kind, _r, _t in items)) as db:
            if guard is not None and db.execute(guard[0], guard[1]).rowcount != 1:
                raise Raced("another review changed what this one's records depend on")
            rows = chain_rows(*self._last(), items, self._clock)
            db.executemany("INSERT INTO audit_events(seq, ts, kind, run_id, data, prev_hash, hash) "
                           "VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
            if also is not None:
                db.execute(also[0], also[1])
        return [row[0] for row in rows]

    def approval_events(self, approval_id: str) -> list[tuple[str, dict[str, Any]]]:
        """(kind, data) of every event about one approval, in chain order (indexed)."""
        rows = self._db.execute(
            f"SELECT kind, data FROM audit_events WHERE kind IN {APPROVAL_IN} AND json_extract(data, '$.approval') = ? "
            "ORDER BY seq", (approval_id,)).fetchall()
        return [(k, json.loads(d)) for k, d in rows if k in APPROVAL_KINDS]

    def event(self, seq: int) -> Event | None:
        row = self._db.execute("SELECT seq, ts, kind, run_id, data, hash FROM audit_events "
                               "WHERE seq = ?", (seq,)).fetchone()
        return Event(row[0], row[1], row[2], row[3], json.loads(row[4]), row[5]) if row else None

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

    def verify(self, *, anchor: tuple[int, str] | None = None,
               anchors: Iterable[tuple[int, str]] = ()) -> Verification:
        """Recompute the chain and compare the approvals and stored labels with it; with
        `anchor` (an exported `head()`) or `anchors` (the heads a witness holds), also
        require each of those events to still be there with the same hash: a rewrite
        anywhere before the newest anchor, or a cut, is then found."""
        state = ChainState()
        result = self._verify_chain(state)
        if not result.ok:
            return result
        labels = self._label_rows()
        problems = state.problems(self._approval_rows(), labels)
        if labels and "wild" in {r[1] for r in self._db.execute("PRAGMA table_info(resource_labels)")}:
            problems += filing_problems(self._db.execute("SELECT name, wild FROM resource_labels").fetchall())
        if self._table("resource_label_prefixes"):
            problems += prefix_problems(
                [(p, json.loads(t) if t is not None else None) for p, t in self._db.execute(
                    "SELECT prefix, label FROM resource_label_prefixes").fetchall()], labels)
        if problems:
            return Verification(False, result.events, None, "; ".join(problems[:5]))
        for seq, digest in sorted({*anchors, *([anchor] if anchor else [])}):
            found = check_anchor(seq, digest, self.event(seq) if seq else None, result.events)
            if found is not None:
                return found
        return result

    def _table(self, name: str) -> bool:
        return self._db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                                (name,)).fetchone() is not None

    def _approval_rows(self) -> list[tuple[str, str, str]]:
        if not self._table("approvals"):
            return []
        rows = self._db.execute("SELECT id, run_id, plan_hash, trust_class, summary, trigger_json, "
                                "plan_json, review_json, status FROM approvals").fetchall()
        return [(r[0], approval_digest(approval_id=r[0], run_id=r[1], plan_hash=r[2],
                                       trust_class=r[3], summary=r[4], trigger=json.loads(r[5]),
                                       plan=json.loads(r[6]), review=json.loads(r[7])), r[8])
                for r in rows]

    def _label_rows(self) -> list[tuple[str, Any]]:
        if not self._table("resource_labels"):
            return []
        return [(n, json.loads(t)) for n, t in
                self._db.execute("SELECT name, label FROM resource_labels").fetchall()]

    def _verify_chain(self, state: ChainState | None = None) -> Verification:
        return verify_rows(self._db.execute(
            "SELECT seq, ts, kind, run_id, data, prev_hash, hash FROM audit_events ORDER BY seq"), state)[0]


def check_anchor(seq: int, digest: str, found: Event | None, events: int) -> Verification | None:
    """A failed verification if the anchored event (seq, digest) is gone or differs."""
    if seq == 0:
        return None
    if found is None:
        return Verification(False, events, seq, f"anchored event {seq} is gone (the log was truncated)")
    if found.hash != digest:
        return Verification(False, events, seq, f"anchored event {seq} has another hash "
                            "(the log was rewritten)")
    return None


def verify_rows(rows: Iterable[tuple[Any, ...]], state: ChainState | None = None
                ) -> tuple[Verification, str]:
    """Recompute a chain from its rows (seq, ts, kind, run_id, data, prev_hash, hash) in
    order, feeding `state` the events that vouch for approvals and stored labels; with
    the verification, the last hash."""
    prev = GENESIS
    expected_seq = 1
    count = 0
    for seq, ts, kind, run_id, data, prev_hash, digest in rows:
        count += 1
        if seq != expected_seq:
            return Verification(False, count, seq, f"sequence gap before {seq}"), prev
        if prev_hash != prev:
            return Verification(False, count, seq, "previous-hash link broken"), prev
        if event_hash(prev, seq, ts, kind, run_id, data) != digest:
            return Verification(False, count, seq, "event content does not match its hash"), prev
        if state is not None and (kind in APPROVAL_KINDS or kind == "label_stored"):
            state.feed(kind, json.loads(data))
        prev = digest
        expected_seq += 1
    return Verification(True, count), prev


def append_all(sink: Any, events: Iterable[tuple[str, str, Mapping[str, Any]]]) -> list[int]:
    """Append events in order: in one transaction where the sink can (`append_many`),
    else one by one."""
    many = getattr(sink, "append_many", None)
    if many is not None:
        return list(many(events))
    return [sink.append(kind, run_id, data) for kind, run_id, data in events]
