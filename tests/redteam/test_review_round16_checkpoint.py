"""Review round 16: the SQLite checkpointer (src/plangate/audit/checkpoint.py).

Step 2 (RESTART) runs under the log's writer lock on a connection opened with Python's
default `timeout=5.0`, i.e. SQLite's busy handler waits up to 5 s. A RESTART (like FULL)
waits, through that busy handler, for every reader still using the write-ahead log. So any
read transaction that outlives a checkpoint round (`plangate audit verify` on a big log, a
backup, a replicator such as Litestream, an unfinished cursor) makes the checkpointer hold
the writer lock - which every append of every worker needs - for 5 s per round, every
round, for as long as the reader stays.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from plangate.audit import AuditLog
from plangate.audit.checkpoint import Checkpointer

BODY = {"text": "x" * 3000}


def test_a_long_reader_must_not_stall_every_writer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Checkpointer.__init__, "__kwdefaults__", {"every": 0.01, "restart_frames": 50})
    path = tmp_path / "audit.db"
    log = AuditLog(path, checkpoint_in_thread=True)
    reader = sqlite3.connect(str(path), isolation_level=None)
    try:
        for _ in range(30):
            log.append("plan", "r", BODY)
        # Another process's long read (an `audit verify`, a backup): a read transaction open
        # on the log.
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM audit_events").fetchone()
        for _ in range(30):  # the log passes restart_frames while the reader stays
            log.append("plan", "r", BODY)
        worst = 0.0
        end = time.monotonic() + 3.0
        while time.monotonic() < end:
            started = time.monotonic()
            log.append("plan", "r", BODY)
            worst = max(worst, time.monotonic() - started)
        reader.execute("ROLLBACK")
        # Without the checkpointer an append here takes well under a millisecond.
        assert worst < 1.0, f"an append waited {worst:.2f} s for the checkpointer's RESTART"
    finally:
        reader.close()
        log.close()
    reopened = AuditLog(path)
    try:
        assert reopened.verify().ok
    finally:
        reopened.close()


def test_the_restart_waits_with_the_writer_lock_held(tmp_path: Path) -> None:
    """The mechanism, directly: one checkpoint round with a reader in the log holds the
    writer lock for about the connection's busy timeout (5 s)."""
    path = tmp_path / "audit.db"
    log = AuditLog(path)
    reader = sqlite3.connect(str(path), isolation_level=None)
    checkpointer = Checkpointer(str(path), log.lock, every=3600, restart_frames=1)
    try:
        log.append("plan", "r", BODY)
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM audit_events").fetchone()
        log.append("plan", "r", BODY)
        started = time.monotonic()
        checkpointer.checkpoint()
        took = time.monotonic() - started
        assert took < 1.0, f"one checkpoint round held the writer lock for {took:.2f} s"
    finally:
        reader.close()
        checkpointer.close()
        log.close()
