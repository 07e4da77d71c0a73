"""State the service keeps beside the audit log, in SQL that SQLite and PostgreSQL share:
grants (an approved plan an agent is running, with the results it reported), idempotency
keys, per-credential request windows and run counts.

`Sql` hides the two drivers: `?` placeholders, one connection per store guarded by a lock
(SQLite's is the audit log's, so no statement lands inside an append's transaction), and
every driver error turned into `StorageUnavailable` (the service answers 503).
"""

from __future__ import annotations

import contextlib
import json
import secrets
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

from plangate.audit.rate import rate_windows, window_wait
from plangate.errors import AuditError, UserError
from plangate.labels import Label, join_all
from plangate.policy.model import RateLimit
from plangate.storage.errors import StorageUnavailable

Row = tuple[Any, ...]


class Sql:
    """One connection, one lock, `?` placeholders, errors as `StorageUnavailable`."""

    def __init__(self, connection: Any, lock: Any, *, dialect: Literal["sqlite", "postgresql"],
                 reconnect: Callable[[], Any] | None = None,
                 begin: Callable[[], contextlib.AbstractContextManager[Any]] | None = None) -> None:
        """`begin`: SQLite's write transaction on `connection` (the audit log's, under its
        writer lock); PostgreSQL's is the driver's."""
        self.connection = connection
        self.lock = lock
        self.dialect = dialect
        self._reconnect = reconnect
        self._begin = begin

    def _sql(self, sql: str) -> str:
        return sql.replace("?", "%s") if self.dialect == "postgresql" else sql

    @contextmanager
    def cursor(self) -> Iterator[Any]:
        with self.lock:
            try:
                if self.dialect == "postgresql" and self.connection.closed and self._reconnect:
                    self.connection = self._reconnect()
                yield self.connection.cursor()
            except (AuditError, UserError):
                raise
            except Exception as exc:
                if self.dialect == "postgresql" and self._reconnect is not None:
                    self._drop()
                raise StorageUnavailable(f"{self.dialect}: {type(exc).__name__}: {exc}"[:300]) from None

    def _drop(self) -> None:
        with contextlib.suppress(Exception):  # already gone
            self.connection.close()

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        """A cursor in one write transaction: committed when the block ends, rolled back if
        it raises."""
        if self._begin is not None:
            with self._begin() as db:
                yield db.cursor()
            return
        if self.dialect != "postgresql":
            raise UserError("a SQLite store writes transactions through its audit log (Sql(begin=...))")
        with self.cursor() as cur, self.connection.transaction():
            yield cur

    def all(self, sql: str, params: tuple[Any, ...] = ()) -> list[Row]:
        with self.cursor() as cur:
            cur.execute(self._sql(sql), params)
            return list(cur.fetchall())

    def one(self, sql: str, params: tuple[Any, ...] = ()) -> Row | None:
        with self.cursor() as cur:
            cur.execute(self._sql(sql), params)
            row = cur.fetchone()
            return tuple(row) if row is not None else None

    def run(self, sql: str, params: tuple[Any, ...] = ()) -> int:
        with self.cursor() as cur:
            cur.execute(self._sql(sql), params)
            return int(cur.rowcount)

    def script(self, sql: str) -> None:
        with self.cursor() as cur:
            if self.dialect == "sqlite":
                assert isinstance(self.connection, sqlite3.Connection)
                self.connection.executescript(sql)
            else:
                cur.execute(sql)


SCHEMA = """
CREATE TABLE IF NOT EXISTS grants (
    id TEXT PRIMARY KEY,
    created DOUBLE PRECISION NOT NULL,
    run_id TEXT NOT NULL,
    approval TEXT,
    credential TEXT NOT NULL,
    trigger_json TEXT NOT NULL,
    plan_json TEXT NOT NULL,
    review_json TEXT NOT NULL,
    results_json TEXT NOT NULL DEFAULT '[]',
    status TEXT NOT NULL DEFAULT 'open',
    lease_until DOUBLE PRECISION NOT NULL DEFAULT 0,
    lease_owner TEXT,
    deadline DOUBLE PRECISION
);
CREATE TABLE IF NOT EXISTS idempotency_keys (
    key TEXT PRIMARY KEY,
    credential TEXT NOT NULL,
    request_sha256 TEXT NOT NULL,
    state TEXT NOT NULL,
    response TEXT,
    status_code INTEGER,
    created DOUBLE PRECISION NOT NULL
);
CREATE TABLE IF NOT EXISTS request_windows (
    key TEXT NOT NULL,
    win BIGINT NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (key, win)
);
CREATE TABLE IF NOT EXISTS run_starts (
    ts DOUBLE PRECISION NOT NULL,
    principal TEXT NOT NULL,
    trust_class TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS run_starts_principal ON run_starts(principal, ts);
CREATE INDEX IF NOT EXISTS run_starts_class ON run_starts(trust_class, ts);
"""
GRANT_DEADLINES = "CREATE INDEX IF NOT EXISTS grants_deadline ON grants(deadline)"
GRANT_RUNS = ("DROP INDEX IF EXISTS grants_run",
              "CREATE UNIQUE INDEX IF NOT EXISTS grants_run_once ON grants(run_id)")
"""Run after `SCHEMA` once the `deadline` column exists (added to older grant tables). One
grant per run, whichever worker writes it (a second would replay the first's calls)."""

AGENT_CONTEXT = """
CREATE TABLE IF NOT EXISTS agent_context (
    id TEXT PRIMARY KEY,
    credential TEXT NOT NULL,
    session TEXT NOT NULL,
    label_json TEXT NOT NULL,
    created DOUBLE PRECISION NOT NULL
);
CREATE INDEX IF NOT EXISTS agent_context_session ON agent_context(credential, session);
"""
"""What each agent session's planner has been shown (see `SqlAgentContext`); and which session
each grant is for (`grants.session`, added to older tables)."""
GRANT_SESSION = "ALTER TABLE grants ADD COLUMN session TEXT NOT NULL DEFAULT ''"
#: A session's newest grant, asked at every check (`SqlGrants.newest`) without a scan.
GRANT_SESSION_INDEX = "CREATE INDEX IF NOT EXISTS grants_by_session ON grants(credential, session, created)"

GrantStatus = Literal["open", "finished"]


@dataclass(frozen=True, slots=True)
class GrantRow:
    id: str
    run_id: str
    approval: str | None
    credential: str
    trigger: dict[str, Any]
    plan: dict[str, Any]
    review: dict[str, Any]
    results: Any  # the service's run state (see service/runs.py)
    status: str
    session: str = ""  # the agent session it is for (SqlAgentContext)


class SqlGrants:
    """Grants: an approved plan an agent runs itself, step by step (see service/runs.py)."""

    def __init__(self, sql: Sql) -> None:
        self.sql = sql

    def create(self, *, grant_id: str, run_id: str, approval: str | None, credential: str,
               trigger: Any, plan: Any, review: Any, session: str = "") -> None:
        self.sql.run(*self.insert(grant_id=grant_id, run_id=run_id, approval=approval,
                                  credential=credential, trigger=trigger, plan=plan, review=review,
                                  session=session))

    @staticmethod
    def insert(*, grant_id: str, run_id: str, approval: str | None, credential: str,
               trigger: Any, plan: Any, review: Any, session: str = "") -> tuple[str, tuple[Any, ...]]:
        """The statement that creates a grant (`?` placeholders), for `create` or for the
        transaction of the audit records that vouch for it (`append_many(also=...)`)."""
        return ("INSERT INTO grants(id, created, run_id, approval, credential, trigger_json, "
                "plan_json, review_json, session) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (grant_id, time.time(), run_id, approval, credential, json.dumps(trigger),
                 json.dumps(plan), json.dumps(review), session))

    def get(self, grant_id: str) -> GrantRow | None:
        row = self.sql.one("SELECT id, run_id, approval, credential, trigger_json, plan_json, "
                           "review_json, results_json, status, session FROM grants WHERE id = ?", (grant_id,))
        if row is None:
            return None
        return GrantRow(row[0], row[1], row[2], row[3], json.loads(row[4]), json.loads(row[5]),
                        json.loads(row[6]), json.loads(row[7]), row[8], row[9])

    def lease(self, grant_id: str, owner: str, seconds: float) -> bool:
        """Take the grant for one request (atomic across workers); False if another holds it."""
        now = time.time()
        return self.sql.run("UPDATE grants SET lease_until = ?, lease_owner = ? "
                            "WHERE id = ? AND lease_until < ?",
                            (now + seconds, owner, grant_id, now)) == 1

    def save(self, grant_id: str, owner: str, *, results: Any,
             status: str) -> None:
        """Store the results and status and release the lease, if still ours."""
        outstanding = results.get("outstanding") if isinstance(results, dict) else None
        deadline = outstanding.get("deadline") if isinstance(outstanding, dict) and status == "open" else None
        changed = self.sql.run("UPDATE grants SET results_json = ?, "
                               "status = ?, "
                               "deadline = ?, lease_until = 0, lease_owner = NULL WHERE id = ? AND lease_owner = ?",
                               (json.dumps(results), status, deadline, grant_id, owner))
        if changed != 1:
            raise StorageUnavailable(f"grant {grant_id}: the lease ran out before the request ended")

    def overdue(self, now: float, limit: int = 50) -> list[tuple[str, str]]:
        """(id, credential) of open grants whose outstanding call is past its deadline."""
        rows = self.sql.all("SELECT id, credential FROM grants WHERE deadline < ? AND status = 'open' "
                            "ORDER BY deadline LIMIT ?", (now, limit))
        return [(r[0], r[1]) for r in rows]

    def newest(self, credential: str, session: str) -> str | None:
        """The id of a session's newest grant."""
        row = self.sql.one("SELECT id FROM grants WHERE credential = ? AND session = ? "
                           "ORDER BY created DESC, id DESC LIMIT 1", (credential, session))
        return str(row[0]) if row is not None else None

    def release(self, grant_id: str, owner: str) -> None:
        self.sql.run("UPDATE grants SET lease_until = 0, lease_owner = NULL "
                     "WHERE id = ? AND lease_owner = ?", (grant_id, owner))


@dataclass(frozen=True, slots=True)
class Claim:
    state: Literal["new", "running", "done", "mismatch"]
    response: dict[str, Any] | None = None
    status_code: int | None = None


class SqlIdempotency:
    """Idempotency keys: the first request with a key runs; a retry with the same key and
    body gets the stored answer; one still running (or whose worker died) gets `running`,
    never a second execution."""

    def __init__(self, sql: Sql) -> None:
        self.sql = sql

    def claim(self, key: str, credential: str, request_sha256: str) -> Claim:
        scoped = _scoped(credential, key)
        inserted = self.sql.run(
            "INSERT INTO idempotency_keys(key, credential, request_sha256, state, created) "
            "VALUES (?, ?, ?, 'running', ?) ON CONFLICT (key) DO NOTHING",
            (scoped, credential, request_sha256, time.time()))
        if inserted == 1:
            return Claim("new")
        row = self.sql.one("SELECT request_sha256, state, response, status_code FROM idempotency_keys "
                           "WHERE key = ?", (scoped,))
        if row is None:  # pragma: no cover - deleted between the two statements
            return Claim("running")
        if row[0] != request_sha256:
            return Claim("mismatch")
        if row[1] == "done":
            return Claim("done", json.loads(row[2]), int(row[3]))
        return Claim("running")

    def finish(self, key: str, credential: str, response: dict[str, Any], status_code: int) -> None:
        self.sql.run("UPDATE idempotency_keys SET state = 'done', response = ?, status_code = ? "
                     "WHERE key = ?", (json.dumps(response), status_code, _scoped(credential, key)))

    def forget(self, key: str, credential: str) -> None:
        """A request that failed before anything happened (a 4xx) frees its key."""
        self.sql.run("DELETE FROM idempotency_keys WHERE key = ? AND state = 'running'",
                     (_scoped(credential, key),))


def _scoped(credential: str, key: str) -> str:
    return json.dumps([credential, key])


class SqlLimiter:
    """Fixed-window request counts per credential, shared by every worker on the database."""

    def __init__(self, sql: Sql, clock: Callable[[], float] = time.time) -> None:
        self.sql = sql
        self._clock = clock

    def hit(self, key: str, limit: int, window: float) -> float | None:
        """Count one request; None if within `limit` per `window` seconds, else the seconds
        to wait."""
        with self.sql.cursor() as cur:
            return self.count(cur, key, limit, window)

    def count(self, cur: Any, key: str, limit: int, window: float) -> float | None:
        """`hit`, with a cursor of the caller's (its transaction)."""
        now = self._clock()
        win = int(now // window)
        cur.execute(self.sql._sql("INSERT INTO request_windows(key, win, count) VALUES (?, ?, 1) "
                                  "ON CONFLICT (key, win) DO UPDATE SET count = request_windows.count + 1 "
                                  "RETURNING count"), (key, win))
        row = cur.fetchone()
        count = int(row[0]) if row else 1
        if win % 64 == 0 and count == 1:
            cur.execute(self.sql._sql("DELETE FROM request_windows WHERE win < ?"), (win - 2,))
        return window_wait(count, limit, win, window, now)




class SqlRunCounter:
    """`plangate.audit.rate.RunCounter` on either database: runs started per principal and
    trust class, for the policy's cross-run rate limits."""

    def __init__(self, sql: Sql, *, clock: Callable[[], float] = time.time) -> None:
        self.sql = sql
        self._clock = clock

    def exceeded(self, limit: RateLimit, *, principal: str, trust_class: str) -> str | None:
        with self.sql.cursor() as cur:
            return self._exceeded(cur, limit, principal, trust_class)

    def record(self, *, principal: str, trust_class: str) -> None:
        with self.sql.cursor() as cur:
            self._record(cur, principal, trust_class)

    def admit(self, limiter: SqlLimiter, meter: tuple[str, int, float], limit: RateLimit, *,
              principal: str, trust_class: str) -> tuple[float | None, str | None]:
        """`limiter.hit(*meter)` and, within that limit, `exceeded` then `record`, in one
        transaction (one commit; under SQLite's writer lock or a PostgreSQL advisory lock,
        so two workers cannot both take a run's last place): (seconds to wait, None) when
        over the request limit (no run counted), else (None, the run limit hit or None)."""
        with self.sql.transaction() as cur:
            if self.sql.dialect == "postgresql":  # as SQLite's writer lock: one admission at a time
                cur.execute("SELECT pg_advisory_xact_lock(7460922)")
            wait = limiter.count(cur, *meter)
            if wait is not None:
                return wait, None
            hit = self._exceeded(cur, limit, principal, trust_class)
            if hit is None:
                self._record(cur, principal, trust_class)
        return None, hit

    def _exceeded(self, cur: Any, limit: RateLimit, principal: str, trust_class: str) -> str | None:
        now = self._clock()
        for name, allowed, column, value, window in rate_windows(
                limit, principal=principal, trust_class=trust_class):
            cur.execute(self.sql._sql(f"SELECT COUNT(*) FROM run_starts WHERE {column} = ? AND ts > ?"),  # a constant
                        (value, now - window))
            row = cur.fetchone()
            if row is not None and int(row[0]) >= allowed:
                return name
        return None

    def _record(self, cur: Any, principal: str, trust_class: str) -> None:
        cur.execute(self.sql._sql("INSERT INTO run_starts(ts, principal, trust_class) VALUES (?, ?, ?)"),
                    (self._clock(), principal, trust_class))


class SqlAgentContext:
    """What an agent session's planner has been shown: the triggers of its plans and the
    results of the calls it ran on its grants, as labels. Its next plan is reviewed with
    their join as `planner_context`, so a secret it read on one grant cannot come back as
    the agent's own words in the next plan. A session is named by the agent (one model
    context); one that names none is its credential's one session, which keeps it all.

    Rows are only added (the join of a session is the join of its rows: concurrent adds by
    several workers lose nothing); a reader that finds more than `KEEP` rows replaces those
    it read by their join."""

    KEEP = 16

    def __init__(self, sql: Sql) -> None:
        self.sql = sql

    def label(self, credential: str, session: str) -> Label | None:
        rows = self.sql.all("SELECT id, label_json FROM agent_context WHERE credential = ? AND session = ?",
                            (credential, session))
        if not rows:
            return None
        try:
            label = join_all([Label.from_json(json.loads(text)) for _id, text in rows])
        except (ValueError, TypeError, KeyError) as exc:
            raise AuditError(f"agent context of {credential!r}: unreadable label: {exc}"[:300]) from None
        if len(rows) > self.KEEP:
            with self.sql.transaction() as cur:
                for ident, _text in rows:
                    cur.execute(self.sql._sql("DELETE FROM agent_context WHERE id = ?"), (ident,))
                statement, params = self.insert(credential, session, label)
                cur.execute(self.sql._sql(statement), params)
        return label

    @staticmethod
    def insert(credential: str, session: str, label: Label) -> tuple[str, tuple[Any, ...]]:
        return ("INSERT INTO agent_context(id, credential, session, label_json, created) VALUES (?, ?, ?, ?, ?)",
                (secrets.token_hex(12), credential, session, json.dumps(label.to_json()), time.time()))

    def add(self, credential: str, session: str, label: Label) -> None:
        self.sql.run(*self.insert(credential, session, label))


__all__ = ["AGENT_CONTEXT", "GRANT_SESSION", "GRANT_SESSION_INDEX", "SCHEMA", "Claim", "GrantRow", "Sql",
           "SqlAgentContext", "SqlGrants", "SqlIdempotency", "SqlLimiter", "SqlRunCounter"]
