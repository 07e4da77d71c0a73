"""Run counts per principal and trust class, for the policy's cross-run rate limits.

Kept beside the audit log (same SQLite file), so every worker sharing the log shares the
counts. The clock is injected: tests and benchmarks move time without sleeping.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable

from plangate.audit.log import AuditLog
from plangate.errors import AuditError
from plangate.policy.model import RateLimit

_SCHEMA = """
CREATE TABLE IF NOT EXISTS run_starts (
    ts REAL NOT NULL,
    principal TEXT NOT NULL,
    trust_class TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS run_starts_principal ON run_starts(principal, ts);
CREATE INDEX IF NOT EXISTS run_starts_class ON run_starts(trust_class, ts);
"""

HOUR = 3600.0
DAY = 86400.0


def window_wait(count: int, limit: int, win: int, window: float, now: float) -> float | None:
    """A fixed window's answer: None while `count` is within `limit`, else the seconds until
    the window after `win` opens (every request limiter's `hit`)."""
    return max(0.001, (win + 1) * window - now) if count > limit else None


def rate_windows(limit: RateLimit, *, principal: str, trust_class: str
                 ) -> list[tuple[str, int, str, str, float]]:
    """The limits that apply, as (name, allowed, column, value, window seconds): the one
    definition every run-counter backend counts against."""
    checks = (
        ("per_principal_per_hour", limit.per_principal_per_hour, "principal", principal, HOUR),
        ("per_principal_per_day", limit.per_principal_per_day, "principal", principal, DAY),
        ("per_class_per_hour", limit.per_class_per_hour, "trust_class", trust_class, HOUR),
    )
    return [(n, allowed, c, v, w) for n, allowed, c, v, w in checks if allowed is not None]


class RunCounter:
    def __init__(self, log: AuditLog, *, clock: Callable[[], float] = time.time) -> None:
        self._db: sqlite3.Connection = log.connection
        self._db.executescript(_SCHEMA)
        self._clock = clock

    def exceeded(self, limit: RateLimit, *, principal: str, trust_class: str) -> str | None:
        """The name of the first limit this new run would exceed, or None."""
        now = self._clock()
        for name, allowed, column, value, window in rate_windows(
                limit, principal=principal, trust_class=trust_class):
            (count,) = self._db.execute(
                f"SELECT COUNT(*) FROM run_starts WHERE {column} = ? AND ts > ?",  # column is one of two constants
                (value, now - window)).fetchone()
            if count >= allowed:
                return name
        return None

    def record(self, *, principal: str, trust_class: str) -> None:
        try:
            self._db.execute("INSERT INTO run_starts(ts, principal, trust_class) VALUES (?, ?, ?)",
                             (self._clock(), principal, trust_class))
        except sqlite3.Error as exc:
            raise AuditError(f"cannot count the run: {exc}") from None
