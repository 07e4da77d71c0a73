"""The audit log's write-ahead log checkpointed from a thread (`checkpoint_in_thread`, what
the service opens): under steady writes the log still starts over, so its file stays small;
nothing written is lost; closing stops the thread."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from plangate.audit import AuditLog
from plangate.audit.checkpoint import Checkpointer

BODY = {"text": "x" * 3000}  # a plan-sized record: a page and an overflow page
LIMIT_MB = 200 * 4096 * 20 / 1e6  # 20 times the mark that starts the log over


def _write_steadily(log: AuditLog, seconds: float) -> int:
    """Appends from two threads for `seconds`, each pausing 0.2 ms between appends (a busy
    service: its event loop does other work between commits; two threads that never let go
    of the lock starve the checkpointer of it)."""
    counts = [0, 0]
    end = time.monotonic() + seconds

    def writer(i: int) -> None:
        while time.monotonic() < end:
            log.append("plan", f"run-{i}", BODY)
            counts[i] += 1
            time.sleep(0.0002)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(counts)


def _wal_mb(path: Path) -> float:
    wal = Path(str(path) + "-wal")
    return wal.stat().st_size / 1e6 if wal.exists() else 0.0


def test_under_steady_writes_the_log_starts_over_and_stays_small(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    # Small marks, so a short test writes many times what would start the log over.
    monkeypatch.setattr("plangate.audit.checkpoint.BACKSTOP_FRAMES", 100_000)
    monkeypatch.setattr("plangate.audit.log.BACKSTOP_FRAMES", 100_000)
    monkeypatch.setattr(Checkpointer.__init__, "__kwdefaults__", {"every": 0.01, "restart_frames": 200})
    path = tmp_path / "audit.db"
    log = AuditLog(path, checkpoint_in_thread=True)
    try:
        written = _write_steadily(log, 2.0)
        checkpointer = log._checkpointer
        assert checkpointer is not None
        # ~3 frames a record: without starting over, the log would hold them all.
        assert written * 3 > 10 * 200, written
        assert checkpointer.restarts > 0 and checkpointer.failures == 0
        assert _wal_mb(path) < LIMIT_MB, (_wal_mb(path), written)
    finally:
        log.close()
    reopened = AuditLog(path)
    try:
        assert reopened.head()[0] == written
        assert reopened.verify().ok
    finally:
        reopened.close()


def test_without_the_locked_step_the_log_never_starts_over(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """The same load with step 2 taken away: the log only grows. (What the test above would
    catch if step 2 broke.)"""
    monkeypatch.setattr("plangate.audit.log.BACKSTOP_FRAMES", 100_000)
    monkeypatch.setattr(Checkpointer.__init__, "__kwdefaults__", {"every": 0.01, "restart_frames": 10**9})
    path = tmp_path / "audit.db"
    log = AuditLog(path, checkpoint_in_thread=True)
    try:
        written = _write_steadily(log, 2.0)
        assert _wal_mb(path) > LIMIT_MB, (_wal_mb(path), written)
    finally:
        log.close()


def test_closing_stops_the_thread(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.db", checkpoint_in_thread=True)
    checkpointer = log._checkpointer
    assert checkpointer is not None and checkpointer._thread.is_alive()
    log.close()
    assert not checkpointer._thread.is_alive()


def test_a_log_in_memory_or_by_default_has_no_thread(tmp_path: Path) -> None:
    for log in (AuditLog(":memory:", checkpoint_in_thread=True), AuditLog(tmp_path / "a.db")):
        assert log._checkpointer is None
        log.close()
