"""Model usage records: one row per model call (planner, extractor, reviewer), beside the
audit log in the same SQLite file, so `plangate usage` and the budgets read what was spent.

Each row holds the run id, purpose, provider and model, the trust class and principal the
call was made for, tokens in and out, cost in USD (None when no price is known), latency,
attempts, whether it succeeded and why not. Refused calls (over a budget) are rows too,
with no tokens and the limit in `error`; the refusal itself is also a hash-chained audit
event (`model_refused`), written by the model layer.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any, Literal

from plangate.audit.log import AuditLog
from plangate.errors import AuditError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS model_usage (
    id INTEGER PRIMARY KEY,
    ts REAL NOT NULL,
    run_id TEXT NOT NULL,
    purpose TEXT NOT NULL,
    provider TEXT NOT NULL,
    model TEXT NOT NULL,
    trust_class TEXT NOT NULL,
    principal TEXT NOT NULL,
    tokens_in INTEGER NOT NULL,
    tokens_out INTEGER NOT NULL,
    cost_usd REAL,
    latency_ms REAL NOT NULL,
    attempts INTEGER NOT NULL,
    streamed INTEGER NOT NULL,
    ok INTEGER NOT NULL,
    error TEXT
);
CREATE INDEX IF NOT EXISTS model_usage_ts ON model_usage(ts);
CREATE INDEX IF NOT EXISTS model_usage_run ON model_usage(run_id);
"""

GroupBy = Literal["class", "principal", "day", "model", "purpose", "run"]
_GROUP_SQL: dict[str, str] = {
    "class": "trust_class", "principal": "principal", "model": "provider || ':' || model",
    "purpose": "purpose", "run": "run_id",
    "day": "strftime('%Y-%m-%d', ts, 'unixepoch')",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class UsageRecord:
    ts: float
    run_id: str
    purpose: str
    provider: str
    model: str
    trust_class: str
    principal: str
    tokens_in: int
    tokens_out: int
    cost_usd: float | None
    latency_ms: float
    attempts: int = 1
    streamed: bool = False
    ok: bool = True
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class UsageLog:
    """Usage rows in the audit log's database. Safe to share between threads."""

    def __init__(self, log: AuditLog) -> None:
        self._db: sqlite3.Connection = log.connection
        # The audit log's connection is shared: writes take its lock, so a usage row never
        # lands inside (or is rolled back with) an audit append's transaction.
        self._lock: Any = getattr(log, "_lock", None) or threading.Lock()
        with self._lock:
            try:
                self._db.executescript(_SCHEMA)
            except sqlite3.Error as exc:
                raise AuditError(f"cannot create the usage table: {exc}") from None

    def record(self, rec: UsageRecord) -> None:
        row = (rec.ts, rec.run_id, rec.purpose, rec.provider, rec.model, rec.trust_class,
               rec.principal, rec.tokens_in, rec.tokens_out, rec.cost_usd, rec.latency_ms,
               rec.attempts, int(rec.streamed), int(rec.ok), rec.error)
        with self._lock:
            try:
                self._db.execute(
                    "INSERT INTO model_usage(ts, run_id, purpose, provider, model, trust_class, "
                    "principal, tokens_in, tokens_out, cost_usd, latency_ms, attempts, streamed, ok, "
                    "error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", row)
            except sqlite3.Error as exc:
                raise AuditError(f"cannot record model usage: {exc}") from None

    def records(self, *, run_id: str | None = None, since: float | None = None) -> Iterator[UsageRecord]:
        query = ("SELECT ts, run_id, purpose, provider, model, trust_class, principal, tokens_in, "
                 "tokens_out, cost_usd, latency_ms, attempts, streamed, ok, error FROM model_usage")
        where: list[str] = []
        params: list[Any] = []
        if run_id is not None:
            where.append("run_id = ?")
            params.append(run_id)
        if since is not None:
            where.append("ts > ?")
            params.append(since)
        if where:
            query += " WHERE " + " AND ".join(where)
        with self._lock:
            rows = self._db.execute(query + " ORDER BY id", params).fetchall()
        for r in rows:
            yield UsageRecord(ts=r[0], run_id=r[1], purpose=r[2], provider=r[3], model=r[4],
                              trust_class=r[5], principal=r[6], tokens_in=r[7], tokens_out=r[8],
                              cost_usd=r[9], latency_ms=r[10], attempts=r[11], streamed=bool(r[12]),
                              ok=bool(r[13]), error=r[14])

    def summary(self, by: GroupBy | None = None) -> list[dict[str, Any]]:
        """Totals, overall or per class / principal / day (UTC) / model / purpose / run."""
        key = _GROUP_SQL[by] if by else "'all'"
        query = (f"SELECT {key} AS k, COUNT(*), SUM(ok), SUM(tokens_in), SUM(tokens_out), "  # key: a constant above
                 "SUM(COALESCE(cost_usd, 0)), SUM(cost_usd IS NULL AND ok), "
                 "SUM(NOT ok AND error LIKE 'refused:%'), AVG(latency_ms) "
                 "FROM model_usage GROUP BY k ORDER BY k")
        with self._lock:
            rows = self._db.execute(query).fetchall()
        return [{"key": r[0], "calls": r[1], "ok": r[2] or 0, "tokens_in": r[3] or 0,
                 "tokens_out": r[4] or 0, "cost_usd": round(r[5] or 0.0, 9), "unpriced": r[6] or 0,
                 "refused": r[7] or 0, "latency_ms_avg": round(r[8] or 0.0, 3)} for r in rows]


def day_of(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%d")


__all__ = ["GroupBy", "UsageLog", "UsageRecord"]
