"""The assistant's structured state in one SQLite file: calendar, ledger, mail rules,
shares and the record of what the web and shell tools were asked to do.

One file keeps a scenario's state easy to copy, inspect and reset. Every write is its
own committed transaction, so a run that halts half-way leaves exactly the effects of
the calls that completed (which is what the audit log says ran).
"""

from __future__ import annotations

import json
import secrets
import sqlite3
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
  n INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE NOT NULL, title TEXT NOT NULL,
  start TEXT NOT NULL, "end" TEXT NOT NULL, attendees TEXT NOT NULL,
  description TEXT NOT NULL, tentative INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS account (k TEXT PRIMARY KEY, v TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS history (
  n INTEGER PRIMARY KEY AUTOINCREMENT, date TEXT NOT NULL, counterparty TEXT NOT NULL,
  amount REAL NOT NULL, memo TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS payments (
  n INTEGER PRIMARY KEY AUTOINCREMENT, to_account TEXT NOT NULL, amount REAL NOT NULL,
  memo TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS rules (
  n INTEGER PRIMARY KEY AUTOINCREMENT, match TEXT NOT NULL, forward_to TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS shares (
  n INTEGER PRIMARY KEY AUTOINCREMENT, path TEXT NOT NULL, recipients TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS fetches (n INTEGER PRIMARY KEY AUTOINCREMENT, url TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS commands (n INTEGER PRIMARY KEY AUTOINCREMENT, command TEXT NOT NULL);
"""


class State:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._db = sqlite3.connect(str(path))
        self._db.executescript(_SCHEMA)
        self._db.commit()

    def close(self) -> None:
        self._db.close()

    def _write(self, sql: str, params: tuple[Any, ...]) -> int:
        with self._db:
            cur = self._db.execute(sql, params)
        return int(cur.lastrowid or 0)

    def _rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        return list(self._db.execute(sql, params))

    # ---- calendar -------------------------------------------------------------------
    def add_event(self, *, title: str, start: str, end: str, attendees: list[str],
                  description: str, tentative: bool, event_id: str | None = None) -> str:
        with self._db:
            if event_id is None:
                # Random, not the next row number: an id handed to whoever the event is for
                # (a stranger's hold, an invitation) must not count the owner's other events.
                event_id = f"evt-{secrets.token_hex(6)}"
                while self._db.execute("SELECT 1 FROM events WHERE id = ?", (event_id,)).fetchone():
                    event_id = f"evt-{secrets.token_hex(6)}"
            self._db.execute(
                'INSERT INTO events (id, title, start, "end", attendees, description, tentative)'
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (event_id, title, start, end, json.dumps(attendees), description, int(tentative)))
        return event_id

    def event(self, event_id: str) -> dict[str, Any] | None:
        rows = self._rows('SELECT id, title, start, "end", attendees, description, tentative'
                          " FROM events WHERE id = ?", (event_id,))
        return _event(rows[0]) if rows else None

    def events(self, day: str | None = None) -> list[dict[str, Any]]:
        sql = 'SELECT id, title, start, "end", attendees, description, tentative FROM events'
        if day is None:
            return [_event(r) for r in self._rows(sql + " ORDER BY n")]
        return [_event(r) for r in self._rows(sql + " WHERE substr(start, 1, 10) = ?"
                                              " ORDER BY start, n", (day,))]

    def update_event(self, event_id: str, **fields: str) -> None:
        for key, value in fields.items():
            column = {"title": "title", "start": "start", "end": '"end"'}[key]
            self._write(f"UPDATE events SET {column} = ? WHERE id = ?", (value, event_id))

    # ---- ledger ---------------------------------------------------------------------
    def set_opening_balance(self, amount: float) -> None:
        self._write("INSERT OR REPLACE INTO account (k, v) VALUES ('opening', ?)", (repr(amount),))

    def add_history(self, *, date: str, counterparty: str, amount: float, memo: str) -> None:
        self._write("INSERT INTO history (date, counterparty, amount, memo) VALUES (?, ?, ?, ?)",
                    (date, counterparty, amount, memo))

    def balance(self) -> float:
        rows = self._rows("SELECT v FROM account WHERE k = 'opening'")
        opening = float(rows[0][0]) if rows else 0.0
        paid = self._rows("SELECT COALESCE(SUM(amount), 0) FROM payments")[0][0]
        return round(opening - float(paid), 2)

    def history(self) -> list[dict[str, Any]]:
        return [{"date": d, "counterparty": c, "amount": a, "memo": m}
                for d, c, a, m in self._rows(
                    "SELECT date, counterparty, amount, memo FROM history ORDER BY n")]

    def add_payment(self, *, to_account: str, amount: float, memo: str) -> int:
        return self._write("INSERT INTO payments (to_account, amount, memo) VALUES (?, ?, ?)",
                           (to_account, amount, memo))

    def payments(self) -> list[dict[str, Any]]:
        return [{"to_account": t, "amount": a, "memo": m}
                for t, a, m in self._rows("SELECT to_account, amount, memo FROM payments ORDER BY n")]

    # ---- rules, shares, records -----------------------------------------------------
    def add_rule(self, match: str, forward_to: str) -> int:
        return self._write("INSERT INTO rules (match, forward_to) VALUES (?, ?)", (match, forward_to))

    def rules(self) -> list[dict[str, str]]:
        return [{"match": m, "forward_to": f}
                for m, f in self._rows("SELECT match, forward_to FROM rules ORDER BY n")]

    def add_share(self, path: str, recipients: list[str]) -> int:
        return self._write("INSERT INTO shares (path, recipients) VALUES (?, ?)",
                           (path, json.dumps(recipients)))

    def shares(self) -> list[dict[str, Any]]:
        return [{"path": p, "with": json.loads(r)}
                for p, r in self._rows("SELECT path, recipients FROM shares ORDER BY n")]

    def record_fetch(self, url: str) -> None:
        self._write("INSERT INTO fetches (url) VALUES (?)", (url,))

    def fetches(self) -> list[str]:
        return [u for (u,) in self._rows("SELECT url FROM fetches ORDER BY n")]

    def record_command(self, command: str) -> None:
        self._write("INSERT INTO commands (command) VALUES (?)", (command,))

    def commands(self) -> list[str]:
        return [c for (c,) in self._rows("SELECT command FROM commands ORDER BY n")]


def _event(row: tuple[Any, ...]) -> dict[str, Any]:
    eid, title, start, end, attendees, description, tentative = row
    return {"id": eid, "title": title, "start": start, "end": end,
            "attendees": json.loads(attendees), "description": description,
            "tentative": bool(tentative)}
