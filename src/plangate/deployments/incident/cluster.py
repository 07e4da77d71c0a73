"""The simulated cluster the incident assistant acts on: SQLite state, judged on its state.

One database file holds what a small Kubernetes-and-friends setup would: deployments
(replicas, current release, release history, restarts), secrets (value and version),
alert silences, the team's runbooks, the verified alerts intake recorded, log lines,
metrics, and every message that left (incident channel, pages, other chat channels, the
public status page). Keys are `<namespace>/<name>`.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS deployments (key TEXT PRIMARY KEY, replicas INTEGER NOT NULL,
    release TEXT NOT NULL, history TEXT NOT NULL, restarts INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS secrets (key TEXT PRIMARY KEY, value TEXT NOT NULL,
    version INTEGER NOT NULL DEFAULT 1);
CREATE TABLE IF NOT EXISTS silences (id INTEGER PRIMARY KEY AUTOINCREMENT, matcher TEXT NOT NULL,
    minutes INTEGER NOT NULL, comment TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runbooks (name TEXT PRIMARY KEY, text TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS alerts (id TEXT PRIMARY KEY, alertname TEXT NOT NULL,
    service TEXT NOT NULL, namespace TEXT NOT NULL, severity TEXT NOT NULL, status TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS logs (seq INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL,
    line TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS metrics (key TEXT PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS changes (key TEXT NOT NULL, action TEXT NOT NULL, at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS messages (seq INTEGER PRIMARY KEY AUTOINCREMENT, channel TEXT NOT NULL,
    text TEXT NOT NULL);
"""


class Cluster:
    """Typed access to the cluster database; every method commits what it changes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        # WAL without a flush per commit: a crash may lose the last changes of a simulated
        # cluster, never corrupt it (and the bench does not wait on the disk).
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(_SCHEMA)

    def close(self) -> None:
        self.db.close()

    # ---- deployments ----------------------------------------------------------------
    def add_deployment(self, key: str, replicas: int, history: list[str]) -> None:
        self.db.execute("INSERT OR REPLACE INTO deployments VALUES (?, ?, ?, ?, 0)",
                        (key, replicas, history[-1], json.dumps(history)))

    def deployment(self, key: str) -> dict[str, Any] | None:
        row = self.db.execute("SELECT replicas, release, history, restarts FROM deployments "
                              "WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        return {"deployment": key, "replicas": row[0], "release": row[1],
                "history": json.loads(row[2]), "restarts": row[3]}

    def set_replicas(self, key: str, replicas: int) -> None:
        self.db.execute("UPDATE deployments SET replicas = ? WHERE key = ?", (replicas, key))

    def set_release(self, key: str, release: str) -> None:
        self.db.execute("UPDATE deployments SET release = ? WHERE key = ?", (release, key))

    def restart(self, key: str) -> None:
        self.db.execute("UPDATE deployments SET restarts = restarts + 1 WHERE key = ?", (key,))

    def deployments(self) -> dict[str, dict[str, Any]]:
        keys = [r[0] for r in self.db.execute("SELECT key FROM deployments ORDER BY key")]
        return {k: d for k in keys if (d := self.deployment(k)) is not None}

    # ---- secrets --------------------------------------------------------------------
    def set_secret(self, key: str, value: str, version: int = 1) -> None:
        self.db.execute("INSERT OR REPLACE INTO secrets VALUES (?, ?, ?)", (key, value, version))

    def secret(self, key: str) -> tuple[str, int] | None:
        row = self.db.execute("SELECT value, version FROM secrets WHERE key = ?", (key,)).fetchone()
        return (row[0], row[1]) if row else None

    def secrets(self) -> dict[str, dict[str, Any]]:
        return {k: {"value": v, "version": n}
                for k, v, n in self.db.execute("SELECT key, value, version FROM secrets ORDER BY key")}

    # ---- silences, runbooks, alerts -------------------------------------------------
    def add_silence(self, matcher: str, minutes: int, comment: str) -> int:
        cur = self.db.execute("INSERT INTO silences (matcher, minutes, comment) VALUES (?, ?, ?)",
                              (matcher, minutes, comment))
        return int(cur.lastrowid or 0)

    def silences(self) -> list[dict[str, Any]]:
        return [{"id": i, "matcher": m, "minutes": n, "comment": c} for i, m, n, c in
                self.db.execute("SELECT id, matcher, minutes, comment FROM silences ORDER BY id")]

    def set_runbook(self, name: str, text: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO runbooks VALUES (?, ?)", (name, text))

    def runbook(self, name: str) -> str | None:
        row = self.db.execute("SELECT text FROM runbooks WHERE name = ?", (name,)).fetchone()
        return row[0] if row else None

    def runbooks(self) -> dict[str, str]:
        return dict(self.db.execute("SELECT name, text FROM runbooks ORDER BY name").fetchall())

    def record_alert(self, alert_id: str, fields: dict[str, str]) -> None:
        self.db.execute("INSERT OR REPLACE INTO alerts VALUES (?, ?, ?, ?, ?, ?)",
                        (alert_id, fields.get("alertname", ""), fields.get("service", ""),
                         fields.get("namespace", ""), fields.get("severity", ""),
                         fields.get("status", "firing")))

    def alert(self, alert_id: str) -> dict[str, str] | None:
        row = self.db.execute("SELECT alertname, service, namespace, severity, status FROM alerts "
                              "WHERE id = ?", (alert_id,)).fetchone()
        if row is None:
            return None
        return dict(zip(("alertname", "service", "namespace", "severity", "status"), row, strict=True))

    def alerts(self) -> dict[str, dict[str, str]]:
        ids = [r[0] for r in self.db.execute("SELECT id FROM alerts ORDER BY id")]
        return {i: a for i in ids if (a := self.alert(i)) is not None}

    def changes_since(self, key: str, action: str, since: float) -> int:
        """How often `action` (restart, scale, rollback) was done to deployment `key` since then."""
        row = self.db.execute("SELECT count(*) FROM changes WHERE key = ? AND action = ? AND at >= ?",
                              (key, action, since)).fetchone()
        return int(row[0])

    def record_change(self, key: str, action: str, at: float) -> None:
        self.db.execute("INSERT INTO changes VALUES (?, ?, ?)", (key, action, at))

    # ---- logs, metrics, messages ----------------------------------------------------
    def add_log(self, key: str, line: str) -> None:
        self.db.execute("INSERT INTO logs (key, line) VALUES (?, ?)", (key, line))

    def logs(self, key: str, query: str, limit: int) -> list[str]:
        rows = self.db.execute("SELECT line FROM logs WHERE key = ? AND instr(line, ?) > 0 "
                               "ORDER BY seq DESC LIMIT ?", (key, query, limit)).fetchall()
        return [r[0] for r in reversed(rows)]

    def all_logs(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for key, line in self.db.execute("SELECT key, line FROM logs ORDER BY seq"):
            out.setdefault(key, []).append(line)
        return out

    def set_metrics(self, key: str, data: dict[str, Any]) -> None:
        self.db.execute("INSERT OR REPLACE INTO metrics VALUES (?, ?)", (key, json.dumps(data)))

    def metrics(self, key: str) -> dict[str, Any] | None:
        row = self.db.execute("SELECT data FROM metrics WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else None

    def all_metrics(self) -> dict[str, Any]:
        return {k: json.loads(d) for k, d in self.db.execute("SELECT key, data FROM metrics ORDER BY key")}

    def post(self, channel: str, text: str) -> int:
        cur = self.db.execute("INSERT INTO messages (channel, text) VALUES (?, ?)", (channel, text))
        return int(cur.lastrowid or 0)

    def messages(self) -> list[dict[str, str]]:
        return [{"channel": c, "text": t} for c, t in
                self.db.execute("SELECT channel, text FROM messages ORDER BY seq")]
