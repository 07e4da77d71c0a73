"""The support desk's database: customers, orders, invoices, tickets, refunds, account
changes, the knowledge base, and what the desk sent. SQLite embedded, PostgreSQL in tests
and production (the same SQL; `?` placeholders become `%s` for psycopg).

Every row carries its readers (`readers`: a JSON list; `owner` stands for the support
staff, plus the canonical address of the customer the row belongs to). The labels of
what the tools read come from this column (`labels.RowLabels`), so a customer's data is
readable by that customer and the staff, whoever's run reads it.

Money is stored in cents (integers): no rounding drift between the two databases.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from plangate.identity import parse_address

STAFF = "owner"
"""The reader name of the support staff (the deployment's owners)."""

KINDS = ("profile", "orders", "invoices", "tickets", "refunds")
"""What a customer's records are split into; each is one stored resource per customer
(`customer:<address>/<kind>`), so reading one's orders does not pull in one's tickets'
untrusted text."""

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS customers (
        id TEXT PRIMARY KEY, email TEXT NOT NULL UNIQUE, name TEXT NOT NULL,
        address TEXT NOT NULL, payout_account TEXT NOT NULL, readers TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS orders (
        id TEXT PRIMARY KEY, customer_id TEXT NOT NULL, placed TEXT NOT NULL,
        status TEXT NOT NULL, items TEXT NOT NULL, total_cents INTEGER NOT NULL,
        ship_to TEXT NOT NULL, readers TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS invoices (
        id TEXT PRIMARY KEY, customer_id TEXT NOT NULL, order_id TEXT NOT NULL,
        issued TEXT NOT NULL, total_cents INTEGER NOT NULL, billing TEXT NOT NULL,
        readers TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS tickets (
        id TEXT PRIMARY KEY, customer_id TEXT NOT NULL, subject TEXT NOT NULL,
        status TEXT NOT NULL, readers TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS ticket_messages (
        ticket_id TEXT NOT NULL, seq INTEGER NOT NULL, author TEXT NOT NULL,
        body TEXT NOT NULL, readers TEXT NOT NULL, PRIMARY KEY (ticket_id, seq))""",
    # `attended`: 1 when a human agent approved the run (or asked for it), 0 when the
    # policy let it run unattended (SupportGate says which: runtime.UNATTENDED).
    """CREATE TABLE IF NOT EXISTS refunds (
        id TEXT PRIMARY KEY, customer_id TEXT NOT NULL, order_id TEXT NOT NULL,
        amount_cents INTEGER NOT NULL, reason TEXT NOT NULL, readers TEXT NOT NULL,
        attended INTEGER NOT NULL DEFAULT 1)""",
    """CREATE TABLE IF NOT EXISTS account_changes (
        seq INTEGER PRIMARY KEY, customer_id TEXT NOT NULL, field TEXT NOT NULL,
        old_value TEXT NOT NULL, new_value TEXT NOT NULL, readers TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS kb (
        slug TEXT PRIMARY KEY, title TEXT NOT NULL, body TEXT NOT NULL,
        audience TEXT NOT NULL, readers TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS sent (
        seq INTEGER PRIMARY KEY, kind TEXT NOT NULL, to_addr TEXT NOT NULL,
        subject TEXT NOT NULL, body TEXT NOT NULL)""",
)

TABLES = ("customers", "orders", "invoices", "tickets", "ticket_messages", "refunds",
          "account_changes", "kb", "sent")


def canonical(address: str) -> str:
    """A customer's canonical address (the reader name and the lookup key): NFKC,
    case-folded, plus-tag dropped, as the gate normalises principals."""
    return parse_address(str(address)).canonical


def readers_json(*readers: str) -> str:
    return json.dumps(sorted(set(readers)))


def cents(amount: Any) -> int:
    return round(float(amount) * 100)


class SupportDB:
    """One connection to the desk's database, SQLite or PostgreSQL."""

    def __init__(self, conn: Any, *, dialect: str) -> None:
        self.conn = conn
        self.dialect = dialect
        for statement in _SCHEMA:
            self._exec(statement, ())
        self._migrate()
        self.conn.commit()

    def _migrate(self) -> None:
        """A desk database made before refunds recorded `attended` gets the column; its
        old refunds count as unattended (0), so they count toward the cap on what a
        customer collects without a human, never around it."""
        if self.dialect == "sqlite":
            columns = {row[1] for row in self._exec("PRAGMA table_info(refunds)", ()).fetchall()}
        else:
            columns = {row[0] for row in self._exec(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_name = 'refunds' AND table_schema = current_schema()",
                ()).fetchall()}
        if "attended" not in columns:
            self._exec("ALTER TABLE refunds ADD COLUMN attended INTEGER NOT NULL DEFAULT 0", ())

    @classmethod
    def sqlite(cls, path: str = ":memory:") -> SupportDB:
        conn = sqlite3.connect(path, isolation_level="DEFERRED", check_same_thread=False)
        return cls(conn, dialect="sqlite")

    @classmethod
    def postgres(cls, url: str) -> SupportDB:
        import psycopg

        return cls(psycopg.connect(url, connect_timeout=10), dialect="postgres")

    def _sql(self, sql: str) -> str:
        return sql.replace("?", "%s") if self.dialect == "postgres" else sql

    def _exec(self, sql: str, params: Sequence[Any]) -> Any:
        cur = self.conn.cursor()
        cur.execute(self._sql(sql), tuple(params))
        return cur

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        cur = self._exec(sql, params)
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    def one(self, sql: str, params: Sequence[Any] = ()) -> dict[str, Any] | None:
        found = self.rows(sql, params)
        return found[0] if found else None

    def write(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one change and commit it; returns the rows touched."""
        try:
            cur = self._exec(sql, params)
            count = int(cur.rowcount)
            self.conn.commit()
        except Exception:
            self.conn.rollback()
            raise
        return count

    @contextmanager
    def locked(self, table: str, key: str) -> Iterator[None]:
        """One writer at a time on a row, from the check to the write: what a refund reads
        as left on an order cannot change before its own write (another worker's refund
        waits). PostgreSQL locks the row (`FOR UPDATE`); SQLite the database (`BEGIN
        IMMEDIATE`). Committed on success (a `write` inside commits too), rolled back on
        any error, so a refusal never leaves the lock held."""
        assert table in TABLES
        try:
            if self.dialect == "postgres":
                self._exec(f"SELECT id FROM {table} WHERE id = ? FOR UPDATE", (key,))
            else:
                if self.conn.in_transaction:
                    self.conn.commit()
                self.conn.execute("BEGIN IMMEDIATE")
            yield
        except BaseException:
            self.conn.rollback()
            raise
        self.conn.commit()

    def next_seq(self, table: str, column: str = "seq", where: str = "",
                 params: Sequence[Any] = ()) -> int:
        assert table in TABLES and column.isidentifier()
        row = self.one(f"SELECT COALESCE(MAX({column}), 0) AS n FROM {table} {where}", params)
        return int(row["n"] if row else 0) + 1

    def clear(self) -> None:
        for table in TABLES:
            self._exec(f"DELETE FROM {table}", ())
        self.conn.commit()

    def close(self) -> None:
        self.conn.close()

    # ---- readers ---------------------------------------------------------------------
    def customer(self, address: str) -> dict[str, Any] | None:
        return self.one("SELECT * FROM customers WHERE email = ?", (canonical(address),))

    def readers_of(self, address: str, kind: str) -> frozenset[str] | None:
        """Who may read a customer's records of one kind: the readers every such row
        (and the customer row) carries, met. None when there is no such customer."""
        who = self.customer(address)
        if who is None:
            return None
        found = [who["readers"]]
        table = {"orders": "orders", "invoices": "invoices", "tickets": "tickets",
                 "refunds": "refunds"}.get(kind)
        if table is not None:
            found += [r["readers"] for r in self.rows(
                f"SELECT DISTINCT readers FROM {table} WHERE customer_id = ?", (who["id"],))]
        if kind == "tickets":
            found += [r["readers"] for r in self.rows(
                "SELECT DISTINCT m.readers FROM ticket_messages m JOIN tickets t ON t.id = m.ticket_id "
                "WHERE t.customer_id = ?", (who["id"],))]
        out: frozenset[str] | None = None
        for text in found:
            readers = frozenset(str(r) for r in json.loads(text))
            out = readers if out is None else out & readers
        return out or frozenset()

    # ---- seeding ---------------------------------------------------------------------
    def seed(self, world: dict[str, Any]) -> None:
        """Load a world (the bench's `world`, the demo's shop): customers with their
        orders, invoices and tickets, and knowledge-base articles."""
        for c in world.get("customers", []):
            email = canonical(c["email"])
            readers = readers_json(STAFF, email)
            self.write("INSERT INTO customers VALUES (?, ?, ?, ?, ?, ?)",
                       (c["id"], email, c["name"], c["address"], c.get("payout_account", ""), readers))
            for o in c.get("orders", []):
                self.write("INSERT INTO orders VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                           (o["id"], c["id"], o["placed"], o["status"], o["items"],
                            cents(o["total"]), c["address"], readers))
                if o.get("invoice"):
                    self.write("INSERT INTO invoices VALUES (?, ?, ?, ?, ?, ?, ?)",
                               (o["invoice"], c["id"], o["id"], o["placed"], cents(o["total"]),
                                f"{c['name']}, {c['address']}", readers))
            for r in c.get("refunds", []):
                self.write("INSERT INTO refunds VALUES (?, ?, ?, ?, ?, ?, ?)",
                           (r["id"], c["id"], r["order"], cents(r["amount"]), r["reason"], readers, 1))
            for t in c.get("tickets", []):
                self.write("INSERT INTO tickets VALUES (?, ?, ?, ?, ?)",
                           (t["id"], c["id"], t["subject"], t.get("status", "open"), readers))
                for n, (author, body) in enumerate(_messages(t, email), 1):
                    self.write("INSERT INTO ticket_messages VALUES (?, ?, ?, ?, ?)",
                               (t["id"], n, author, body, readers))
        for a in world.get("kb", []):
            audience = a.get("audience", "public")
            readers = readers_json("*") if audience == "public" else readers_json(STAFF)
            self.write("INSERT INTO kb VALUES (?, ?, ?, ?, ?)",
                       (a["slug"], a["title"], a["body"], audience, readers))


def _messages(ticket: dict[str, Any], email: str) -> Iterable[tuple[str, str]]:
    for m in ticket.get("messages", []):
        if isinstance(m, str):
            yield email, m
        else:
            yield str(m.get("author", email)), str(m["body"])
