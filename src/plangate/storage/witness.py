"""The witness: the audit chain's head, shipped automatically to a second store.

The chain alone cannot see a rewrite that recomputes every hash after the edit, nor its
own tail cut off. A witness the log's writer does not control (another disk, Redis, another
database) keeps the heads: `WitnessedAudit` ships the head after every record that precedes
a side effect or decides one (a call, an owner's decision, an approval used, a stored label)
and at least every `every` events; `verify()` then requires every witnessed head to still
be in the chain with the same hash, so a rewrite anywhere before the newest witnessed head,
or a truncation below it, fails `audit verify`.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Protocol

from plangate.audit.log import DURABLE_KINDS, Event, Verification, append_all
from plangate.storage.errors import StorageUnavailable


class Witness(Protocol):
    def record(self, seq: int, digest: str, *, durable: bool = True) -> None: ...
    def heads(self) -> list[tuple[int, str]]: ...
    def ping(self) -> None: ...


class SqliteWitness:
    """Heads in a SQLite file of their own (put it where the log's writer cannot write)."""

    def __init__(self, path: str | Path) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None,
                                   timeout=10)
        self._lock = threading.Lock()
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS heads (seq INTEGER PRIMARY KEY, hash TEXT NOT NULL)")

    def record(self, seq: int, digest: str, *, durable: bool = True) -> None:
        """Keep a head. `durable`: the head of a record that precedes a side effect, on disk
        before this returns; the periodic heads in between are committed without waiting for
        the disk (WAL, synchronous=NORMAL: they survive a crash of the process, and reach the
        disk with the next durable head or checkpoint), which kept an fsync off every 64th
        event's request."""
        with self._lock:
            try:
                self._db.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
                self._db.execute("INSERT OR IGNORE INTO heads(seq, hash) VALUES (?, ?)", (seq, digest))
            except sqlite3.Error as exc:
                raise StorageUnavailable(f"witness: {exc}") from None

    def heads(self) -> list[tuple[int, str]]:
        with self._lock:
            return [(int(s), h) for s, h in self._db.execute("SELECT seq, hash FROM heads ORDER BY seq")]

    def ping(self) -> None:
        self.heads()


class AuditStore(Protocol):
    def append(self, kind: str, run_id: str, data: Mapping[str, Any]) -> int: ...
    def tail(self, n: int = 20, *, run_id: str | None = None) -> list[Event]: ...
    def head(self) -> tuple[int, str]: ...
    def verify(self, *, anchor: tuple[int, str] | None = None,
               anchors: Iterable[tuple[int, str]] = ()) -> Verification: ...


class WitnessedAudit:
    """An audit log whose heads are shipped to a witness; everything else passes through."""

    def __init__(self, inner: Any, witness: Witness, *, every: int = 64) -> None:
        self.inner = inner
        self.witness = witness
        self.every = every

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def append(self, kind: str, run_id: str, data: Mapping[str, Any], **kw: Any) -> int:
        seq = int(self.inner.append(kind, run_id, data, **kw))
        if kind in DURABLE_KINDS or seq % self.every == 0:
            self.ship(durable=kind in DURABLE_KINDS)
        return seq

    def append_many(self, events: Iterable[tuple[str, str, Mapping[str, Any]]], **kw: Any) -> list[int]:
        events = list(events)
        seqs = [int(seq) for seq in (self.inner.append_many(events, **kw) if kw else append_all(self.inner, events))]
        durable = any(kind in DURABLE_KINDS for kind, _r, _d in events)
        if durable or any(seq % self.every == 0 for seq in seqs):
            self.ship(durable=durable)
        return seqs

    def ship(self, *, durable: bool = True) -> None:
        seq, digest = self.inner.head()
        if seq:
            self.witness.record(seq, digest, durable=durable)

    def verify(self, *, anchor: tuple[int, str] | None = None,
               anchors: Iterable[tuple[int, str]] = ()) -> Verification:
        return self.inner.verify(anchor=anchor, anchors=[*anchors, *self.witness.heads()])  # type: ignore[no-any-return]


__all__ = ["AuditStore", "SqliteWitness", "Witness", "WitnessedAudit"]
