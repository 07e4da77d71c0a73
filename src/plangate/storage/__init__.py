"""Storage backends: where the gate keeps everything that must outlive a request.

    storage = open_storage("plangate.db")                        # SQLite, the embedded default
    storage = open_storage("postgresql://...", redis="redis://...", witness="redis://...")

A `Storage` bundles the audit chain, approvals, stored resource labels, run counters,
grants, idempotency keys and per-credential request limits, so any number of stateless
workers pointed at the same database (and Redis) share all state. SQLite needs nothing
beyond the standard library; PostgreSQL needs psycopg and Redis the redis client (the
`service` extra). The same test suite runs against every backend
(tests/storage/test_suite.py).
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from plangate.audit.spend import SQLITE_SCHEMA as SPEND_SCHEMA
from plangate.config import ConfigError, sqlite_path
from plangate.storage.errors import StorageUnavailable
from plangate.storage.sql import (
    AGENT_CONTEXT,
    GRANT_DEADLINES,
    GRANT_RUNS,
    GRANT_SESSION,
    GRANT_SESSION_INDEX,
    SCHEMA,
    Sql,
    SqlAgentContext,
    SqlGrants,
    SqlIdempotency,
    SqlLimiter,
    SqlRunCounter,
)
from plangate.storage.witness import SqliteWitness, Witness, WitnessedAudit


@dataclass(kw_only=True)
class Storage:
    kind: str
    audit: Any
    approvals: Any
    resources: Any
    runs: Any
    grants: SqlGrants
    context: SqlAgentContext
    keys: SqlIdempotency
    limiter: Any
    sql: Sql
    witness: Witness | None = None
    redis: Any = None
    lock: threading.RLock = field(default_factory=threading.RLock)
    #: Called by `close` before the connection closes (SQLite: the audit log, its thread).
    closers: list[Callable[[], None]] = field(default_factory=list)

    def ping(self) -> None:
        """Raise `StorageUnavailable` unless every backend answers."""
        self.sql.one("SELECT 1")
        if self.redis is not None:
            try:
                self.redis.ping()
            except Exception as exc:
                raise StorageUnavailable(f"redis: {type(exc).__name__}: {exc}"[:300]) from None
        if self.witness is not None:
            self.witness.ping()

    def close(self) -> None:
        for close in self.closers:
            with contextlib.suppress(Exception):  # closing what is already gone
                close()
        with contextlib.suppress(Exception):
            self.sql.connection.close()


def open_storage(db: str, *, redis: str | None = None, witness: str | None = None,
                 migrate: bool = True) -> Storage:
    """Open (and for PostgreSQL, migrate) the storage a database URL names; with `redis`,
    request limits and run counts live there; `witness`: a SQLite path or redis:// URL that
    receives the chain's heads."""
    if db.startswith(("postgresql://", "postgres://")):
        store = _postgres(db, migrate=migrate)
    else:
        store = _sqlite(sqlite_path(db, source="db"))
    if redis:
        from plangate.storage.redis_limits import RedisLimiter, RedisRunCounter
        from plangate.storage.redis_limits import connect as redis_connect

        client = redis_connect(redis)
        store.redis = client
        store.limiter = RedisLimiter(client)
        store.runs = RedisRunCounter(client)
    if witness:
        store.witness = open_witness(witness, client=store.redis)
        store.audit = WitnessedAudit(store.audit, store.witness)
        # The executor, approvals and labels append through the witnessed log.
        for part in (store.approvals, store.resources):
            part._log = store.audit
    return store


def open_witness(url: str, *, client: Any = None) -> Witness:
    if url.startswith("redis://") or url.startswith("rediss://"):
        from plangate.storage.redis_limits import RedisWitness
        from plangate.storage.redis_limits import connect as redis_connect

        return RedisWitness(redis_connect(url))
    if "://" in url and not url.startswith("sqlite://"):
        raise ConfigError(f"witness: {url.split('://')[0]}:// is not supported; use a SQLite path or redis://")
    return SqliteWitness(sqlite_path(url, source="witness"))


def _sqlite(path: str) -> Storage:
    from plangate.audit import AuditLog, OwnerConsole, SqliteResourceLabels

    log = AuditLog(path, checkpoint_in_thread=True)  # a long-running writer
    sql = Sql(log.connection, log.lock, dialect="sqlite", begin=log.transaction)
    with log.lock:
        log.connection.execute("PRAGMA busy_timeout = 10000")
        log.connection.executescript(SCHEMA)
        columns = {r[1] for r in log.connection.execute("PRAGMA table_info(grants)")}
        if "deadline" not in columns:
            log.connection.execute("ALTER TABLE grants ADD COLUMN deadline DOUBLE PRECISION")
        if "session" not in columns:
            log.connection.execute(GRANT_SESSION)
        log.connection.execute(GRANT_SESSION_INDEX)
        log.connection.executescript(AGENT_CONTEXT)
        log.connection.execute(SPEND_SCHEMA)
        log.connection.execute(GRANT_DEADLINES)
        try:
            for statement in GRANT_RUNS:
                log.connection.execute(statement)
        except sqlite3.IntegrityError:
            log.close()
            raise ConfigError(f"{path}: the grants table holds two grants for one run (written by an "
                              "older plangate); remove one to open it") from None
    return Storage(kind="sqlite", audit=log, approvals=OwnerConsole(log), resources=SqliteResourceLabels(log),
                   runs=SqlRunCounter(sql), grants=SqlGrants(sql), context=SqlAgentContext(sql),
                   keys=SqlIdempotency(sql), limiter=SqlLimiter(sql), sql=sql, closers=[log.close])


def _postgres(url: str, *, migrate: bool) -> Storage:
    from plangate.storage.pg_lock import PostgresLock
    from plangate.storage.postgres import (
        PostgresApprovals,
        PostgresAuditLog,
        PostgresResourceLabels,
        postgres_sql,
    )
    from plangate.storage.postgres import migrate as run_migrations

    sql = postgres_sql(url)
    if migrate:
        run_migrations(sql)
    log = PostgresAuditLog(sql)
    lock = PostgresLock(url)  # the stored resources' lock, across machines
    return Storage(kind="postgresql", audit=log, approvals=PostgresApprovals(log),
                   resources=PostgresResourceLabels(log, lock), runs=SqlRunCounter(sql), grants=SqlGrants(sql),
                   context=SqlAgentContext(sql), keys=SqlIdempotency(sql), limiter=SqlLimiter(sql), sql=sql,
                   closers=[lock.close])


__all__ = ["Storage", "StorageUnavailable", "open_storage", "open_witness"]
