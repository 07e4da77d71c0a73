"""Checkpointing a SQLite audit log's write-ahead log away from the requests.

By default SQLite checkpoints in the connection that commits once the log passes 1,000 pages:
that commit copies the pages into the database while it holds the writer lock, so every
writer, in every worker, waits for it. The service writes ~18 pages a review, so under load
that happened ~35 times a second; with the automatic checkpoint off, `bench service` gave
1,996 instead of 1,815 reviews/s and a p99 of 15.5 instead of 19.6 ms at concurrency 16.

`Checkpointer` is a thread with a connection of its own. Every `every` seconds:

1. a PASSIVE checkpoint without the writer lock copies what it can while writers go on;
2. if the log has grown past `restart_frames`, a RESTART checkpoint under the writer lock
   copies the few frames appended since step 1 and, unless a reader is still in the log,
   has the next writer start the log over from the beginning. Without step 2, under steady
   writes the log is never fully copied at the moment a writer begins, so it never starts
   over, and the file grows until the backstop below checkpoints in a commit after all.

Measured with `bench service` (SQLite, two workers, concurrency 16): the log was copied
every 20 ms and started over at 1,000 frames, 1,770-1,866 reviews/s; every 50 ms and at 4,000
frames (~16 MB), 1,980-2,020 reviews/s (a frame is a page: copying less often copies a page
changed by many commits once).

The main connection keeps SQLite's own checkpoint at a high mark (`BACKSTOP_FRAMES`), so a
checkpointer that stops (or falls behind) cannot let the log grow without bound either.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from typing import Any

BACKSTOP_FRAMES = 20_000
"""The main connection's `wal_autocheckpoint` while a checkpointer runs (~80 MB of log)."""


class Checkpointer:
    """Checkpoints `path`'s write-ahead log from a thread; `lock` is the log's writer lock."""

    def __init__(self, path: str, lock: Any, *, every: float = 0.05, restart_frames: int = 4000) -> None:
        self.every, self.restart_frames = every, restart_frames
        self._lock = lock
        # No busy timeout: step 2 runs under the writer lock, and a RESTART would wait (up to
        # the timeout, every round) for any reader still in the log - a long `audit verify`
        # or a backup would stall every writer. Busy, it copies what it can and says so.
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=0)
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._stop = threading.Event()
        #: Checkpoints that failed (the thread goes on; SQLite's own backstop still holds).
        self.failures = 0
        #: Step 2s that copied the whole log with no reader left in it: the next writer starts
        #: the log over.
        self.restarts = 0
        self._thread = threading.Thread(target=self._run, name="plangate-wal-checkpoint", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            try:
                self.checkpoint()
            except Exception:  # a locked or vanished file: try again next time
                self.failures += 1

    def checkpoint(self) -> tuple[int, int]:
        """One round (steps 1 and 2): (frames in the log, frames copied) after it. (The log
        is started over by the next writer, so the figures after a step 2 are those before.)"""
        _busy, frames, copied = self._db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        if frames >= self.restart_frames:
            with self._lock:
                busy, frames, copied = self._db.execute("PRAGMA wal_checkpoint(RESTART)").fetchone()
            self.restarts += busy == 0  # a reader still in the log: not this time
        return frames, copied

    def close(self) -> None:
        self._stop.set()
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout=5)
        with contextlib.suppress(sqlite3.Error):
            self._db.close()


__all__ = ["BACKSTOP_FRAMES", "Checkpointer"]
