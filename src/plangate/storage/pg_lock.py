"""The stored resources' lock on PostgreSQL: every process, on every machine, that shares one
database.

`plangate.resource_lock` explains the lock: a call that writes, runs, loads or discloses
stored content holds it from its check to its end, a writer alone and the others together, so
no other run's write lands in between. A SQLite store's lock is an `flock` beside its file:
one machine. Workers that share a PostgreSQL database may sit on many machines, so their
store's lock is PostgreSQL's own: a session-level advisory lock on one key, shared by
readers and exclusive for a writer.

* **One connection a hold** (a few are kept idle for the next ones). The lock belongs to a
  session: two threads of one process hold it apart as two processes do, and when a process
  dies its connections close and PostgreSQL lets its lock go.
* **Order.** PostgreSQL queues lock requests, and a request that conflicts with one already
  waiting waits behind it: a waiting writer goes before readers that come after it.
* **Bounded.** The wait is `lock_timeout`: past it the call is not made (`ResourcesBusy`), as
  with the other locks. A database that cannot be reached, or stops answering (`GRACE` past
  the wait, its connection is cut), is `ResourcesBusy` too (fail closed). The session sits
  idle while the call runs: the lock's connections turn `idle_session_timeout` off.
* **Not covered.** A session ended from outside while its call runs (an operator's
  `pg_terminate_backend`, a failover, a proxy that drops idle connections) takes its lock
  with it and the holder cannot know: another worker's writer may then get in beside the
  call. Run the lock's connections where nothing ends sessions by itself (no transaction
  pooling in front of them); a lease with an expiry would close this (a known limit).
* **Let go.** After the call the lock is released; where that fails the connection is closed,
  which ends the session and its lock, and is not kept.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
from collections.abc import Iterator
from typing import Any

from plangate.resource_lock import WAIT, ResourcesBusy, one_hold_per_thread

KEY = 0x706C67745F726573
"""The advisory lock's key ("plgt_res"); the migrations take another (7460921)."""

KEEP = 4
"""Idle lock connections kept per store for the next holds."""

GRACE = 5.0
"""Seconds a lock statement may take past the lock's own wait before its connection is cut
(the database stopped answering), and an unlock in all."""


class PostgresLock:
    """A readers-writer lock for every session on the database at `url` (see the module)."""

    def __init__(self, url: str, wait: float = WAIT, *, keep: int = KEEP) -> None:
        self.url, self.wait, self._keep = url, wait, keep
        self._idle: list[Any] = []
        self._mutex = threading.Lock()
        self._closed = False

    @contextlib.contextmanager
    def hold(self, exclusive: bool) -> Iterator[None]:
        # A thread that holds it through one connection and asks through another would wait
        # for itself: refused at once (as the other locks do).
        with one_hold_per_thread(("postgresql", self.url)):
            conn = self._locked(exclusive)
            try:
                yield
            finally:
                self._release(conn, exclusive)

    def close(self) -> None:
        with self._mutex:
            self._closed = True
            idle, self._idle = self._idle, []
        for conn in idle:
            _close(conn)

    def _locked(self, exclusive: bool) -> Any:
        """A connection whose session holds the lock. A kept connection that fails (the
        database restarted since) is dropped and the lock asked for once more on a new one."""
        kept = self._kept()
        if kept is not None:
            try:
                self._lock(kept, exclusive)
                return kept
            except _Busy as exc:
                _close(kept)
                if exc.timed_out:
                    raise
            except BaseException:  # interrupted while it waited: the session goes, its lock too
                _close(kept)
                raise
        conn = self._connect()
        try:
            self._lock(conn, exclusive)
        except BaseException:
            _close(conn)
            raise
        return conn

    def _lock(self, conn: Any, exclusive: bool) -> None:
        import psycopg

        try:
            _bounded(conn, "SELECT pg_advisory_lock(%s)" if exclusive else "SELECT pg_advisory_lock_shared(%s)",
                     self.wait + GRACE)
        except psycopg.errors.LockNotAvailable:
            raise _Busy(f"the stored resources stayed busy for {self.wait:g} s", timed_out=True) from None
        except Exception as exc:
            raise _Busy(f"cannot lock the stored resources: postgresql: {type(exc).__name__}: {exc}"[:300]) from None

    def _release(self, conn: Any, exclusive: bool) -> None:
        try:
            row = _bounded(conn, "SELECT pg_advisory_unlock(%s)" if exclusive
                           else "SELECT pg_advisory_unlock_shared(%s)", GRACE)
            released = bool(row and row[0])
        except Exception:  # the session ends with its connection, and its lock with it
            released = False
        if released:
            with self._mutex:
                if not self._closed and len(self._idle) < self._keep:
                    self._idle.append(conn)
                    return
        _close(conn)

    def _kept(self) -> Any:
        with self._mutex:
            return self._idle.pop() if self._idle else None

    def _connect(self) -> Any:
        try:
            import psycopg

            # lock_timeout bounds the wait for the lock (and only waits for locks). The session
            # holds the lock while the call runs, idle: a server that ends idle sessions
            # (`idle_session_timeout`, common on managed servers) would drop it mid-call.
            options = f"-c lock_timeout={max(1, int(self.wait * 1000))}"
            try:
                return psycopg.connect(self.url, autocommit=True, connect_timeout=5,
                                       options=options + " -c idle_session_timeout=0")
            except psycopg.OperationalError as exc:
                if "idle_session_timeout" not in str(exc):
                    raise
                # Before PostgreSQL 14 there is no such setting (and no such timeout to end it).
                return psycopg.connect(self.url, autocommit=True, connect_timeout=5, options=options)
        except Exception as exc:
            raise _Busy(f"cannot lock the stored resources: postgresql: cannot connect: {exc}"[:300]) from None


def _bounded(conn: Any, sql: str, seconds: float) -> Any:
    """`sql` on `conn` (the key as its parameter), its first row, within `seconds`: past
    them the connection's socket is shut, which ends the statement with an error.
    `lock_timeout` bounds a wait for the lock; a database that stops answering without
    closing anything (a partition, a failover, a silent proxy) is bounded only here. A
    statement that answered as the socket was shut counts as failed: its session is gone."""
    state = {"done": False, "cut": False}
    guard = threading.Lock()

    def cut() -> None:
        with guard:
            if state["done"]:
                return
            state["cut"] = True
        with contextlib.suppress(OSError, ValueError):
            dup = socket.socket(fileno=os.dup(conn.pgconn.socket))
            try:
                dup.shutdown(socket.SHUT_RDWR)
            finally:
                dup.close()

    timer = threading.Timer(seconds, cut)
    timer.daemon = True
    timer.start()
    try:
        row = conn.execute(sql, (KEY,)).fetchone()
    finally:
        with guard:
            state["done"] = True
        timer.cancel()
    if state["cut"]:
        raise TimeoutError(f"no answer from the database within {seconds:g} s")
    return row


class _Busy(ResourcesBusy):
    def __init__(self, message: str, *, timed_out: bool = False) -> None:
        super().__init__(message)
        self.timed_out = timed_out


def _close(conn: Any) -> None:
    with contextlib.suppress(Exception):
        conn.close()


__all__ = ["KEY", "PostgresLock"]
