"""One step from the check to the end of a call, across runs: the stored resources' lock.

The executor decides a call with the stored labels of what it reads, runs, loads and
discloses, then runs it. Another run that writes in between records its label first and
its content next, so a *read* sees the new label when it looks again after the call; but a
command that already *ran* a file, or a share that already *sent* it, cannot be called
back, and a command that copies a file has already labelled its copy. So a call that
touches stored resources holds this lock from its check to the end of the call: a writer
(a tool with `writes`) alone, anything else that reads, runs, loads or discloses stored
content together with the others like it. A write then lands before the check (which sees
its label) or after the call, never in between.

One lock for every name, not one per name: a call's names are patterns that an argument
may widen to anything, and most calls are short. A run waits at most `WAIT` seconds for it
and then stops, its call not made (`ResourcesBusy`). An agent that runs its own tools (the
MCP gateway, the service's grants) does not take it: its check and its call are two
requests apart, and a lock held across them would be the agent's to keep.

* `LocalLock`: threads of one process (the in-memory store, and a store with no lock of its
  own through `lock_of`).
* `FileLock`: every process on one machine that opens the same SQLite file (`flock` on a
  file beside it; the kernel drops the lock of a process that dies).
* `plangate.storage.pg_lock.PostgresLock`: every process on every machine that shares one
  PostgreSQL database (an advisory lock; PostgreSQL drops it with its holder's session).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
import time
from collections.abc import Iterator
from typing import Any, Protocol

WAIT = 300.0
"""Seconds a call waits for the lock before its run stops: longer than any shipped tool may
run (commands 10 s, test suites 60 s), so a call waits for the one before it to end, and
"busy" is not an outcome another run can choose (only how long it waited: timing, a known
limit). A holder that outlives it is a hung tool."""

_HELD = threading.local()


class ResourcesBusy(Exception):
    """The stored resources' lock was not had in time (or this thread holds it already)."""


class ResourceLock(Protocol):
    def hold(self, exclusive: bool) -> contextlib.AbstractContextManager[None]:
        """Held by a writer alone (`exclusive`) or by readers together."""


def _enter(key: object) -> None:
    held: set[object] = _HELD.__dict__.setdefault("keys", set())
    if key in held:  # waiting would be waiting for itself
        raise ResourcesBusy("this thread already holds the stored resources' lock")
    held.add(key)


def _leave(key: object) -> None:
    _HELD.__dict__.setdefault("keys", set()).discard(key)


@contextlib.contextmanager
def one_hold_per_thread(key: object) -> Iterator[None]:
    """For a lock of another module: `ResourcesBusy` at once if this thread holds the lock
    `key` names already (it would wait for itself)."""
    _enter(key)
    try:
        yield
    finally:
        _leave(key)


class LocalLock:
    """A readers-writer lock for the threads of one process; a waiting writer goes before
    readers that come after it."""

    def __init__(self, wait: float = WAIT) -> None:
        self._cond = threading.Condition()
        self._readers = 0
        self._writer = False
        self._writers_waiting = 0
        self.wait = wait

    @contextlib.contextmanager
    def hold(self, exclusive: bool) -> Iterator[None]:
        _enter(self)
        try:
            deadline = time.monotonic() + self.wait
            with self._cond:
                if exclusive:
                    self._writers_waiting += 1
                try:
                    while self._writer or (self._readers if exclusive else self._writers_waiting):
                        left = deadline - time.monotonic()
                        if left <= 0 or not self._cond.wait(left):
                            raise ResourcesBusy(f"the stored resources stayed busy for {self.wait:g} s")
                finally:
                    if exclusive:
                        self._writers_waiting -= 1
                        self._cond.notify_all()  # readers held back behind it may go in
                if exclusive:
                    self._writer = True
                else:
                    self._readers += 1
            try:
                yield
            finally:
                with self._cond:
                    if exclusive:
                        self._writer = False
                    else:
                        self._readers -= 1
                    self._cond.notify_all()
        finally:
            _leave(self)


class FileLock:
    """A readers-writer lock for every process that opens the file at `path`: `flock` on
    it, one descriptor a hold (so threads of one process exclude each other too), tried
    without blocking and again after a short sleep until `wait` has passed. A writer first
    takes `<path>-w` alone and keeps it while it waits; a reader passes through it shared on
    its way in, so readers that come after a waiting writer wait behind it (no stream of
    overlapping readers keeps a writer out)."""

    def __init__(self, path: str, wait: float = WAIT) -> None:
        self.path = path
        self.wait = wait

    @contextlib.contextmanager
    def hold(self, exclusive: bool) -> Iterator[None]:
        deadline = time.monotonic() + self.wait
        main = _open(self.path)
        try:
            st = os.fstat(main)
            key = ("file", st.st_dev, st.st_ino)
            _enter(key)
            try:
                gate = _open(self.path + "-w")
                try:
                    if exclusive:
                        _flock(gate, fcntl.LOCK_EX, deadline, self.wait)
                        _flock(main, fcntl.LOCK_EX, deadline, self.wait)
                    else:
                        _flock(gate, fcntl.LOCK_SH, deadline, self.wait)
                        fcntl.flock(gate, fcntl.LOCK_UN)
                        _flock(main, fcntl.LOCK_SH, deadline, self.wait)
                finally:
                    os.close(gate)  # a writer in: the next one may queue
                yield
            finally:
                _leave(key)
        finally:
            os.close(main)  # closing the descriptor drops its flock


def _open(path: str) -> int:
    try:
        return os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise ResourcesBusy(f"cannot open the stored resources' lock {path}: {exc}") from None


def _flock(fd: int, mode: int, deadline: float, wait: float) -> None:
    pause = 0.0005
    while True:
        try:
            fcntl.flock(fd, mode | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise ResourcesBusy(f"the stored resources stayed busy for {wait:g} s") from None
            time.sleep(pause)
            pause = min(pause * 2, 0.02)
        except OSError as exc:
            raise ResourcesBusy(f"cannot lock the stored resources: {exc}") from None


_FALLBACK = LocalLock()


def lock_of(resources: Any) -> ResourceLock:
    """The lock of a label store: its own (`lock`), else one lock for the whole process."""
    lock = getattr(resources, "lock", None)
    return lock if lock is not None else _FALLBACK
