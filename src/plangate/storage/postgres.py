"""PostgreSQL storage (psycopg 3): the audit chain, approvals, stored labels, grants,
idempotency keys and counters, shared by any number of stateless workers.

* **One linear chain.** An append locks the single row of `audit_head` (`SELECT ... FOR
  UPDATE`), writes the event chained to it and moves the head, in one transaction:
  concurrent appends from every worker queue on that row, so sequence numbers have no
  gaps and every event links to the one before (tests/storage/test_suite.py appends from
  many threads and processes and verifies). A review's records (`append_many`) are chained
  by the database in one statement (`plangate.storage.pg_chain`, checked here); where it
  cannot, by compare and swap on that row: one statement moves the head only if no one else
  did since it was read, so no lock is held across round trips.
* **Append-only.** A trigger refuses UPDATE and DELETE on `audit_events`.
* **Durable.** Records written before a side effect (`DURABLE_KINDS`) and escalations commit
  with `synchronous_commit=on` (`WAITED_FOR`): the WAL is on disk before `append` returns, so
  they survive a crash. Every other commit (a review's events, grants, idempotency keys)
  runs with `synchronous_commit=off`: durable with the next waited-for commit or within
  PostgreSQL's WAL writer delay (~0.2 s). A crash of PostgreSQL may lose the newest of them
  (an agent's grant then answers 404 and nothing runs on it: fail closed), never reorder
  them or break the chain (tests/service/test_faults.py kills PostgreSQL mid-service).
* **Covered tables.** Approvals and stored labels change only in the transaction of the
  event that vouches for them (`plangate.audit.coverage`), as in SQLite.
* **Migrations.** `MIGRATIONS` are applied in order under an advisory lock, once each,
  recorded in `plangate_migrations`.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import secrets
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Literal

from plangate.audit.approvals import Approval
from plangate.audit.coverage import (
    APPROVAL_IN,
    APPROVAL_KINDS,
    LABEL_KIND,
    ChainState,
    approval_digest,
    approval_problem,
    filing_problems,
    join_prefix,
    prefix_problems,
    prefix_query,
    trail_of,
    upper_bound,
)
from plangate.audit.log import (
    DURABLE_KINDS,
    GENESIS,
    Event,
    Raced,
    Verification,
    chain_rows,
    check_anchor,
    event_hash,
    event_text,
    verify_rows,
)
from plangate.audit.resource_labels import MAX_PREFIXES, ROWS, checked_row
from plangate.audit.spend import SCHEMA as SPEND_SCHEMA
from plangate.errors import AuditError, GrantError, UserError
from plangate.labels import Label, join_all
from plangate.resource_lock import ResourceLock
from plangate.resources import has_wildcard, literal_prefix, overlaps
from plangate.storage import pg_chain
from plangate.storage.errors import StorageUnavailable
from plangate.storage.sql import (
    AGENT_CONTEXT,
    GRANT_DEADLINES,
    GRANT_RUNS,
    GRANT_SESSION,
    GRANT_SESSION_INDEX,
    Sql,
)
from plangate.storage.sql import SCHEMA as SHARED_SCHEMA

# An approval event's approval. The CASE keeps PostgreSQL from parsing any other event's
# data as JSON (it may hold what jsonb refuses: a lone surrogate's escape) in a query that
# scans the table instead of the index.
_APPROVAL_OF = f"(CASE WHEN kind IN {APPROVAL_IN} THEN (data::jsonb) ->> 'approval' END)"

MIGRATIONS: tuple[tuple[int, str], ...] = (
    (1, f"""
CREATE TABLE audit_events (
    seq BIGINT PRIMARY KEY,
    ts TEXT NOT NULL,
    kind TEXT NOT NULL,
    run_id TEXT NOT NULL,
    data TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX audit_events_run ON audit_events(run_id);
CREATE INDEX audit_events_approval ON audit_events(((data::jsonb) ->> 'approval'));
CREATE TABLE audit_head (id INTEGER PRIMARY KEY CHECK (id = 1), seq BIGINT NOT NULL, hash TEXT NOT NULL);
INSERT INTO audit_head VALUES (1, 0, '{GENESIS}');
CREATE FUNCTION plangate_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'audit log is append-only'; END $$;
CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
FOR EACH ROW EXECUTE FUNCTION plangate_append_only();
CREATE TABLE approvals (
    id TEXT PRIMARY KEY,
    created TEXT NOT NULL,
    run_id TEXT NOT NULL,
    plan_hash TEXT NOT NULL,
    trust_class TEXT NOT NULL,
    summary TEXT NOT NULL,
    trigger_json TEXT NOT NULL,
    plan_json TEXT NOT NULL,
    review_json TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    decided TEXT,
    decided_by TEXT,
    note TEXT
);
CREATE TABLE resource_labels (
    name TEXT COLLATE "C" PRIMARY KEY,
    label TEXT NOT NULL,
    wild BOOLEAN NOT NULL,
    seq BIGINT NOT NULL
);
CREATE INDEX resource_labels_wild ON resource_labels(wild) WHERE wild;
{SHARED_SCHEMA.replace("IF NOT EXISTS ", "")}
"""),
    (2, """
CREATE TABLE resource_label_prefixes (
    prefix TEXT COLLATE "C" PRIMARY KEY,
    label TEXT
);
"""),
    (3, f"""
ALTER TABLE grants ADD COLUMN IF NOT EXISTS deadline DOUBLE PRECISION;
{GRANT_DEADLINES};
"""),
    (4, "CREATE INDEX IF NOT EXISTS grants_run ON grants(run_id);"),
    # A number every change to the label tables moves (statement triggers: any writer, this
    # code or not), so a review's lookups can be answered from what earlier reviews read.
    (5, """
CREATE TABLE resource_label_version (
    id INTEGER PRIMARY KEY CHECK (id = 0),
    version BIGINT NOT NULL
);
INSERT INTO resource_label_version(id, version) VALUES (0, 0);
CREATE FUNCTION plangate_label_version_moves() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE resource_label_version SET version = version + 1 WHERE id = 0;
    RETURN NULL;
END $$;
CREATE TRIGGER resource_labels_moves_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON resource_labels FOR EACH STATEMENT EXECUTE FUNCTION plangate_label_version_moves();
CREATE TRIGGER resource_label_prefixes_moves_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON resource_label_prefixes FOR EACH STATEMENT EXECUTE FUNCTION plangate_label_version_moves();
CREATE FUNCTION plangate_label_version_only_up() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'UPDATE' OR NEW.version <= OLD.version OR NEW.id <> OLD.id THEN
        RAISE EXCEPTION 'the stored labels'' version only goes up, and its row stays';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER resource_label_version_only_up BEFORE UPDATE OR DELETE ON resource_label_version
    FOR EACH ROW EXECUTE FUNCTION plangate_label_version_only_up();
CREATE TRIGGER resource_label_version_stays BEFORE TRUNCATE ON resource_label_version
    FOR EACH STATEMENT EXECUTE FUNCTION plangate_label_version_only_up();
CREATE INDEX resource_labels_seq ON resource_labels(seq);
"""),
    # The database chains a review's records itself, in the statement that sends them.
    (6, pg_chain.MIGRATION),
    # Only approval events are indexed by their approval: no other event's data (a plan's
    # above all) is parsed as JSON again when it goes in.
    (7, f"""
CREATE INDEX audit_events_approval_kinds ON audit_events(({_APPROVAL_OF})) WHERE kind IN {APPROVAL_IN};
DROP INDEX audit_events_approval;
"""),
    (8, ";\n".join(GRANT_RUNS) + ";"),
    # What each agent session's planner was shown, and the session of each grant.
    (9, f"{AGENT_CONTEXT}\n{GRANT_SESSION};"),
    (10, f"{GRANT_SESSION_INDEX};"),
    # What each trigger has spent across its runs (`plangate.audit.spend`).
    (11, f"{SPEND_SCHEMA};"),
)


HOLDER_KIND = "approval_holder"
"""The service's event naming the agent credential whose plan an approval is for."""

WAITED_FOR = DURABLE_KINDS | {"approval_requested", HOLDER_KIND}
"""Commits that wait for the disk: the records before a side effect, and an escalation with
its holder (the agent was told it waits for the owner: a database crash must not make it
vanish, nor leave it no agent's)."""


def connect(url: str) -> Any:
    """A psycopg connection in autocommit mode (transactions are explicit)."""
    try:
        import psycopg
    except ImportError:  # pragma: no cover - the `service` extra
        raise UserError("a postgresql:// database needs psycopg: pip install 'plangate[service]'") from None
    try:
        # Commits do not wait for the disk, except `WAITED_FOR` records (`append` turns it on
        # for them): a crash may lose the newest commits, never reorder them, and a waited-for
        # commit flushes every commit before it.
        return psycopg.connect(url, autocommit=True, connect_timeout=5, options="-c synchronous_commit=off")
    except Exception as exc:
        raise StorageUnavailable(f"postgresql: cannot connect: {exc}"[:300]) from None


def migrate(sql: Sql) -> list[int]:
    """Apply the migrations not yet applied; return their versions."""
    applied: list[int] = []
    with sql.cursor() as cur, sql.connection.transaction():
        cur.execute("SELECT pg_advisory_xact_lock(7460921)")
        cur.execute("CREATE TABLE IF NOT EXISTS plangate_migrations "
                    "(version INTEGER PRIMARY KEY, applied TIMESTAMPTZ NOT NULL DEFAULT now())")
        cur.execute("SELECT version FROM plangate_migrations")
        done = {r[0] for r in cur.fetchall()}
        for version, script in MIGRATIONS:
            if version not in done:
                cur.execute(script)
                cur.execute("INSERT INTO plangate_migrations(version) VALUES (%s)", (version,))
                applied.append(version)
    return applied


def _utcnow() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")


InTransaction = Callable[[Any, int], None]

SWAP_TRIES = 20
"""Compare-and-swap appends tried before `append_many` takes the head's lock instead."""

# The head moves from the one read to the last new row's, or nothing happens; the rows go in
# only if it moved (a data-modifying WITH: the INSERT sees the UPDATE's RETURNING rows). Under
# READ COMMITTED an UPDATE that waited for another writer re-reads the row and misses. The
# rows are parameters of a VALUES list, one statement text per row count (psycopg prepares
# each): as text[] arrays, quoting a plan's JSON into an array literal cost ~100 us a review.
@functools.cache
def _swap_sql(rows: int) -> str:
    values = ", ".join(["(?::bigint, ?, ?, ?, ?, ?, ?)"] * rows)
    return ("WITH moved AS (UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1 AND seq = ? AND hash = ? "
            "RETURNING 1) INSERT INTO audit_events(seq, ts, kind, run_id, data, prev_hash, hash) "
            f"SELECT * FROM (VALUES {values}) AS v WHERE EXISTS (SELECT 1 FROM moved)")


class PostgresAuditLog:
    """The hash-chained audit log on PostgreSQL; the same chain format as SQLite's."""

    def __init__(self, sql: Sql, *, clock: Callable[[], str] = _utcnow) -> None:
        self.sql = sql
        self._clock = clock
        # Whether the database chains events as plangate does (`pg_chain.probe`, asked at
        # the first append); False after any chained row fails its check.
        self.chains: bool | None = None

    def append(self, kind: str, run_id: str, data: Mapping[str, Any], *,
               also: InTransaction | None = None,
               prepare: Callable[[Any], Mapping[str, Any]] | None = None) -> int:
        with self.sql.cursor() as cur, self.sql.connection.transaction():
            if kind in WAITED_FOR:
                # The record before a side effect: on disk before `append` returns (the
                # session's other commits do not wait; see `connect`).
                cur.execute("SET LOCAL synchronous_commit = on")
            if prepare is not None:
                data = prepare(cur)
            text = event_text(data)
            cur.execute("SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE")
            last, prev = cur.fetchone()
            seq = int(last) + 1
            ts = self._clock()
            digest = event_hash(prev, seq, ts, kind, run_id, text)
            cur.execute("INSERT INTO audit_events(seq, ts, kind, run_id, data, prev_hash, hash) "
                        "VALUES (%s, %s, %s, %s, %s, %s, %s)", (seq, ts, kind, run_id, text, prev, digest))
            cur.execute("UPDATE audit_head SET seq = %s, hash = %s WHERE id = 1", (seq, digest))
            if also is not None:
                also(cur, seq)
        return seq

    def append_many(self, events: Iterable[tuple[str, str, Mapping[str, Any]]], *,
                    also: pg_chain.Also | None = None, guard: pg_chain.Also | None = None) -> list[int]:
        """Append several events in order, all or none, with `also` (one more statement,
        `?` placeholders) in the same transaction. One round trip: the database chains them
        (`pg_chain`). Where it cannot, two, and no lock held across them: read the head,
        then one statement that moves the head only if it is still the one read (compare
        and swap) and inserts the rows only if it moved; another worker's append in between
        makes the swap miss, and the head is read again. A record that must be on disk,
        `also` without the database's chaining, or `SWAP_TRIES` misses take the locking
        transaction of `_append_locked`."""
        items = [(kind, run_id, event_text(data)) for kind, run_id, data in events]
        if not items:
            if also is not None or guard is not None:
                raise ValueError("append_many: `also` needs an event to vouch for it")
            return []
        if also is not None:
            also = (self.sql._sql(also[0]), also[1])  # psycopg's placeholders from here on
        if guard is not None:
            guard = (self.sql._sql(guard[0]), guard[1])
        if not any(kind in WAITED_FOR for kind, _r, _t in items):
            if self.chains is None:
                with self.sql.cursor() as cur:
                    self.chains = pg_chain.probe(cur)
            if self.chains and (guard is None or also is None or pg_chain.guarded(also[0]) is not None):
                try:
                    with self.sql.cursor() as cur:
                        return pg_chain.chain(cur, items, self._clock, also, guard)
                except Raced:
                    raise
                except AuditError:
                    self.chains = False
                    raise
            if also is None and guard is None:
                for _ in range(SWAP_TRIES):
                    last, prev = self.head()
                    rows = chain_rows(last, prev, items, self._clock)
                    flat = [value for row in rows for value in row]
                    if self.sql.run(_swap_sql(len(rows)), (rows[-1][0], rows[-1][6], last, prev, *flat)) == len(rows):
                        return [row[0] for row in rows]
        return self._append_locked(items, also, guard)

    def _append_locked(self, items: list[tuple[str, str, str]], also: pg_chain.Also | None = None,
                       guard: pg_chain.Also | None = None) -> list[int]:
        with self.sql.cursor() as cur, self.sql.connection.transaction():
            if any(kind in WAITED_FOR for kind, _r, _t in items):
                cur.execute("SET LOCAL synchronous_commit = on")
            if guard is not None:
                cur.execute(guard[0], guard[1])
                if cur.rowcount != 1:
                    raise Raced("another review changed what this one's records depend on")
            cur.execute("SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE")
            last, prev = cur.fetchone()
            rows = chain_rows(int(last), prev, items, self._clock)
            cur.executemany("INSERT INTO audit_events(seq, ts, kind, run_id, data, prev_hash, hash) "
                            "VALUES (%s, %s, %s, %s, %s, %s, %s)", rows)
            cur.execute("UPDATE audit_head SET seq = %s, hash = %s WHERE id = 1", (rows[-1][0], rows[-1][6]))
            if also is not None:
                cur.execute(also[0], also[1])
        return [row[0] for row in rows]

    def tail(self, n: int = 20, *, run_id: str | None = None) -> list[Event]:
        query = "SELECT seq, ts, kind, run_id, data, hash FROM audit_events"
        params: tuple[Any, ...] = ()
        if run_id is not None:
            query += " WHERE run_id = ?"
            params = (run_id,)
        rows = self.sql.all(query + " ORDER BY seq DESC LIMIT ?", (*params, n))
        return [Event(int(r[0]), r[1], r[2], r[3], json.loads(r[4]), r[5]) for r in reversed(rows)]

    def head(self) -> tuple[int, str]:
        row = self.sql.one("SELECT seq, hash FROM audit_head WHERE id = 1")
        return (int(row[0]), row[1]) if row else (0, GENESIS)

    def event(self, seq: int) -> Event | None:
        r = self.sql.one("SELECT seq, ts, kind, run_id, data, hash FROM audit_events WHERE seq = ?", (seq,))
        return Event(int(r[0]), r[1], r[2], r[3], json.loads(r[4]), r[5]) if r else None

    def approval_events(self, approval_id: str) -> list[tuple[str, dict[str, Any]]]:
        rows = self.sql.all(f"SELECT kind, data FROM audit_events WHERE kind IN {APPROVAL_IN} "
                            f"AND {_APPROVAL_OF} = ? "
                            "ORDER BY seq", (approval_id,))
        return [(k, json.loads(d)) for k, d in rows if k in APPROVAL_KINDS]

    def verify(self, *, anchor: tuple[int, str] | None = None,
               anchors: Iterable[tuple[int, str]] = ()) -> Verification:
        state = ChainState()
        with self.sql.cursor() as cur:
            cur.execute("SELECT seq, ts, kind, run_id, data, prev_hash, hash FROM audit_events ORDER BY seq")
            chain, prev = verify_rows(cur, state)
        if not chain.ok:
            return chain
        count = chain.events
        head = self.head()
        if head[0] != count or (count and head[1] != prev):
            return Verification(False, count, head[0], "the chain's head record does not match its last event")
        rows = self.sql.all("SELECT id, run_id, plan_hash, trust_class, summary, trigger_json, plan_json, "
                            "review_json, status FROM approvals")
        approvals = [(r[0], approval_digest(approval_id=r[0], run_id=r[1], plan_hash=r[2], trust_class=r[3],
                                            summary=r[4], trigger=json.loads(r[5]), plan=json.loads(r[6]),
                                            review=json.loads(r[7])), r[8]) for r in rows]
        labels = [(n, json.loads(t)) for n, t in self.sql.all("SELECT name, label FROM resource_labels")]
        problems = state.problems(approvals, labels)
        problems += filing_problems(self.sql.all("SELECT name, wild FROM resource_labels"))
        problems += prefix_problems([(p, json.loads(t) if t is not None else None) for p, t in self.sql.all(
            "SELECT prefix, label FROM resource_label_prefixes")], labels)
        if problems:
            return Verification(False, count, None, "; ".join(problems[:5]))
        for seq, digest in sorted({*anchors, *([anchor] if anchor else [])}):
            found = check_anchor(seq, digest, self.event(seq) if seq else None, count)
            if found is not None:
                return found
        return Verification(True, count)


class PostgresApprovals:
    """`OwnerConsole` on PostgreSQL: create, read, consume and decide approvals."""

    def __init__(self, log: PostgresAuditLog) -> None:
        self._log = log
        self.sql = log.sql

    def create(self, *, run_id: str, plan_hash: str, trust_class: str, summary: str,
               trigger: dict[str, Any], plan: dict[str, Any], review: dict[str, Any]) -> str:
        approval_id = "ap_" + secrets.token_hex(6)
        now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        trigger, plan, review = (json.loads(json.dumps(x)) for x in (trigger, plan, review))
        digest = approval_digest(approval_id=approval_id, run_id=run_id, plan_hash=plan_hash,
                                 trust_class=trust_class, summary=summary, trigger=trigger,
                                 plan=plan, review=review)

        def insert(cur: Any, _seq: int) -> None:
            cur.execute("INSERT INTO approvals(id, created, run_id, plan_hash, trust_class, summary, "
                        "trigger_json, plan_json, review_json) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s)",
                        (approval_id, now, run_id, plan_hash, trust_class, summary, json.dumps(trigger),
                         json.dumps(plan), json.dumps(review)))

        self._log.append("approval_requested", run_id, {"approval": approval_id, "plan_hash": plan_hash,
                                                        "content_sha256": digest}, also=insert)
        return approval_id

    def get(self, approval_id: str) -> Approval:
        row = self.sql.one("SELECT id, created, run_id, plan_hash, trust_class, summary, trigger_json, "
                           "plan_json, review_json, status, decided_by FROM approvals WHERE id = ?",
                           (approval_id,))
        if row is None:
            raise UserError(f"no approval {approval_id!r}")
        approval = Approval(row[0], row[1], row[2], row[3], row[4], row[5], json.loads(row[6]),
                            json.loads(row[7]), json.loads(row[8]), row[9], row[10])
        digest = approval_digest(approval_id=approval.id, run_id=approval.run_id, plan_hash=approval.plan_hash,
                                 trust_class=approval.trust_class, summary=approval.summary,
                                 trigger=approval.trigger, plan=approval.plan, review=approval.review)
        problem = approval_problem(approval.id, digest, approval.status,
                                   trail_of(self._log.approval_events(approval.id)))
        if problem:
            raise GrantError(problem)
        return approval

    def consume(self, approval_id: str, run_id: str, *, guard: pg_chain.Also | None = None) -> None:
        def mark(cur: Any, _seq: int) -> None:
            cur.execute("UPDATE approvals SET status = 'executed' WHERE id = %s AND status = 'approved'",
                        (approval_id,))
            if cur.rowcount != 1:
                raise UserError(f"approval {approval_id!r} is not approved (or already used)")

        def guarded(cur: Any) -> Mapping[str, Any]:
            # Before the chain's head is locked, as in `append_many`'s guard: one lock order.
            assert guard is not None
            cur.execute(self.sql._sql(guard[0]), tuple(guard[1]))
            if cur.rowcount != 1:
                raise Raced("another plan for this trigger was charged since this one was read")
            return {"approval": approval_id}

        self._log.append("approval_used", run_id, {"approval": approval_id}, also=mark,
                         prepare=guarded if guard is not None else None)

    def list(self, status: Literal["pending", "approved", "denied", "executed"] | None = "pending"
             ) -> list[Approval]:
        query, params = "SELECT id FROM approvals", tuple[str, ...]()
        if status is not None:
            query, params = query + " WHERE status = ?", (status,)
        return [self.get(r[0]) for r in self.sql.all(query + " ORDER BY created, id", params)]

    def decide(self, approval_id: str, decision: Literal["approved", "denied"], *,
               by: str = "owner", note: str = "") -> Approval:
        current = self.get(approval_id)
        if current.status != "pending":
            raise UserError(f"approval {approval_id!r} is already {current.status}")
        now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")

        def mark(cur: Any, _seq: int) -> None:
            cur.execute("UPDATE approvals SET status = %s, decided = %s, decided_by = %s, note = %s "
                        "WHERE id = %s AND status = 'pending'", (decision, now, by, note, approval_id))
            if cur.rowcount != 1:
                raise UserError(f"approval {approval_id!r} was decided meanwhile")

        self._log.append("approval_decided", current.run_id, {
            "approval": approval_id, "decision": decision, "by": by,
            "plan_hash": current.plan_hash, "note": note}, also=mark)
        return self.get(approval_id)


class PostgresResourceLabels:
    """Stored labels on PostgreSQL: indexed lookups, chained writes (as in SQLite)."""

    def __init__(self, log: PostgresAuditLog, lock: ResourceLock | None = None) -> None:
        self._log = log
        self.sql = log.sql
        # Calls that write, run, load or disclose stored content, in every process on every
        # machine that shares the database (plangate.storage.pg_lock; `open_storage` gives
        # it). Without one, the threads of this process (`plangate.resource_lock.lock_of`).
        self.lock = lock
        # Answers of the lookups made at `version` of the label tables (see `moment`).
        self._answers: tuple[Any, dict[str, Label | None]] = (None, {})

    def moment(self) -> _PostgresMoment:
        """Lookups for one review: the version of the label tables is read once, now, and a
        pattern asked for at that version before (by an earlier review) is answered from
        memory; the others are read. Another worker's write after this read is as if it came
        just after the lookups: the run checks every call again with the labels of its
        moment (`label_of` reads the database every time)."""
        # With the newest chained label write (see plangate.audit.resource_labels._VERSION).
        row = self.sql.one("SELECT v.version, (SELECT max(seq) FROM resource_labels) "
                           "FROM resource_label_version v WHERE v.id = 0")
        if row is None:
            raise AuditError("the stored labels' version row is missing (edited outside plangate)")
        version = (int(row[0]), row[1])
        if self._answers[0] != version:
            self._answers = (version, {})
        return _PostgresMoment(self, version, self._answers[1])

    def label_of(self, pattern: str) -> Label | None:
        prefix = prefix_query(pattern)
        hits: list[Label] = []
        if prefix is not None:
            # One row: the join kept for the prefix (see plangate.audit.resource_labels), read
            # with the stored patterns in one round trip.
            both = self.sql.all("SELECT NULL, label, NULL, NULL, NULL FROM resource_label_prefixes "
                                "WHERE prefix = ? UNION ALL " + ROWS + "r.wild", (prefix,))
            kept = [r for r in both if r[0] is None]
            rows = [r for r in both if r[0] is not None]
            found = (self._prefix_label(prefix) if not kept else
                     Label.from_json(json.loads(kept[0][1])) if kept[0][1] is not None else None)
            hits += [found] if found is not None else []
        elif has_wildcard(pattern):
            prefix = literal_prefix(pattern)
            rows = self.sql.all(ROWS + "(r.name >= ? AND (r.name < ? OR ?::text IS NULL) AND NOT r.wild) "
                                "OR r.wild", (prefix, *[upper_bound(prefix)] * 2))
        else:
            rows = self.sql.all(ROWS + "r.name = ? OR r.wild", (pattern,))
        hits += [checked_row(n, t, int(s), k, d) for n, t, s, k, d in rows if overlaps(n, pattern)]
        return join_all(hits) if hits else None

    def _prefix_label(self, prefix: str) -> Label | None:
        row = self.sql.one("SELECT label FROM resource_label_prefixes WHERE prefix = ?", (prefix,))
        if row is None:
            with self.sql.cursor() as cur, self.sql.connection.transaction():
                # The chain's head lock first, as every label write takes it before joining
                # into the prefix rows: no write lands between the scan and the new row.
                cur.execute("SELECT seq FROM audit_head WHERE id = 1 FOR UPDATE")
                cur.execute("SELECT DISTINCT label FROM resource_labels WHERE name >= %s AND "
                            "(name < %s OR %s::text IS NULL) AND NOT wild", (prefix, *[upper_bound(prefix)] * 2))
                hits = [Label.from_json(json.loads(t)) for (t,) in cur.fetchall()]
                text = json.dumps(join_all(hits).to_json()) if hits else None
                cur.execute("SELECT count(*) FROM resource_label_prefixes")
                if cur.fetchone()[0] < MAX_PREFIXES:
                    cur.execute("INSERT INTO resource_label_prefixes(prefix, label) VALUES (%s, %s) "
                                "ON CONFLICT (prefix) DO NOTHING", (prefix, text))
            row = (text,)
        return Label.from_json(json.loads(row[0])) if row[0] is not None else None

    def record(self, name: str, label: Label) -> None:
        joined: dict[str, Any] = {}

        def prepare(cur: Any) -> Mapping[str, Any]:
            # The chain's head lock before reading the row: two workers writing one new name
            # at once both read "no row" otherwise, and the later INSERT ... ON CONFLICT
            # replaced the first's label with its own (tests/storage/test_redteam_labels.py).
            cur.execute("SELECT seq FROM audit_head WHERE id = 1 FOR UPDATE")
            cur.execute("SELECT label, seq FROM resource_labels WHERE name = %s FOR UPDATE", (name,))
            row = cur.fetchone()
            new = label if row is None else self._checked_in(cur, name, row[0], int(row[1])).join(label)
            joined["label"] = new.to_json()
            return {"name": name, "label": joined["label"]}

        def store(cur: Any, seq: int) -> None:
            cur.execute("INSERT INTO resource_labels(name, label, wild, seq) VALUES (%s, %s, %s, %s) "
                        "ON CONFLICT (name) DO UPDATE SET label = excluded.label, seq = excluded.seq",
                        (name, json.dumps(joined["label"]), has_wildcard(name), seq))
            if not has_wildcard(name):
                cur.execute("SELECT prefix, label FROM generate_series(0, length(%s)) AS i "
                            "JOIN resource_label_prefixes ON prefix = left(%s, i)", (name, name))
                for prefix, text in cur.fetchall():
                    cur.execute("UPDATE resource_label_prefixes SET label = %s WHERE prefix = %s",
                                (json.dumps(join_prefix(text, joined["label"])), prefix))

        self._log.append(LABEL_KIND, "-", {}, prepare=prepare, also=store)

    def _checked_in(self, cur: Any, name: str, text: str, seq: int) -> Label:
        cur.execute("SELECT kind, data FROM audit_events WHERE seq = %s", (seq,))
        row = cur.fetchone()
        return checked_row(name, text, seq, *(row if row is not None else (None, None)))


class _PostgresMoment:
    """`PostgresResourceLabels.moment()`. An answer read now is kept for the version read at
    the moment's start: it may be newer than that version (another worker wrote meanwhile),
    never older, and the next moment that reads a newer version drops every kept answer."""

    def __init__(self, store: PostgresResourceLabels, version: Any, answers: dict[str, Label | None]) -> None:
        self._store, self._version, self._answers = store, version, answers

    def label_of(self, pattern: str) -> Label | None:
        if pattern in self._answers:
            return self._answers[pattern]
        answer = self._store.label_of(pattern)
        if len(self._answers) < 4096:
            self._answers[pattern] = answer
        return answer

    def record(self, name: str, label: Label) -> None:
        self._answers.clear()  # and the version moves: the next moment reads everything again
        self._store.record(name, label)


def postgres_sql(url: str) -> Sql:
    return Sql(connect(url), threading.Lock(), dialect="postgresql", reconnect=lambda: connect(url))


__all__ = ["HOLDER_KIND", "MIGRATIONS", "PostgresApprovals", "PostgresAuditLog", "PostgresResourceLabels", "connect",
           "migrate", "postgres_sql"]
