"""Audit log: append-only, hash-chained, and tamper-evident."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from plangate.audit import AuditLog
from plangate.errors import AuditError


def _log(tmp_path: Path) -> AuditLog:
    log = AuditLog(tmp_path / "a.db")
    for i in range(5):
        log.append("call", f"run{i % 2}", {"i": i, "text": "héllo"})
    return log


def test_chain_verifies_and_tail_reads_back(tmp_path: Path) -> None:
    """A fresh log verifies; tail returns the last events in order, per run if asked."""
    log = _log(tmp_path)
    assert log.verify().ok and log.verify().events == 5
    assert [e.data["i"] for e in log.tail(3)] == [2, 3, 4]
    assert [e.data["i"] for e in log.tail(10, run_id="run1")] == [1, 3]


def test_update_and_delete_are_refused(tmp_path: Path) -> None:
    """SQLite triggers refuse UPDATE and DELETE on the events table."""
    log = _log(tmp_path)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        log.connection.execute("UPDATE audit_events SET kind = 'x' WHERE seq = 1")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        log.connection.execute("DELETE FROM audit_events WHERE seq = 1")
    assert log.verify().ok


def _tamper(path: Path, sql: str) -> None:
    db = sqlite3.connect(path)
    db.execute("DROP TRIGGER audit_events_no_update")
    db.execute("DROP TRIGGER audit_events_no_delete")
    db.execute(sql)
    db.commit()
    db.close()


@pytest.mark.parametrize(("sql", "bad", "problem"), [
    ("UPDATE audit_events SET data = '{\"i\":99}' WHERE seq = 3", 3, "content does not match"),
    ("UPDATE audit_events SET kind = 'result' WHERE seq = 2", 2, "content does not match"),
    ("DELETE FROM audit_events WHERE seq = 4", 5, "sequence gap"),
    # Flip the hash's first character (always to a different one: the hash is random).
    ("UPDATE audit_events SET hash = (CASE WHEN substr(hash, 1, 1) = 'f' THEN '0' ELSE 'f' END)"
     " || substr(hash, 2) WHERE seq = 1", 1, "content does not match"),
])
def test_tampering_is_detected_naming_the_event(tmp_path: Path, sql: str, bad: int,
                                                problem: str) -> None:
    """Editing or deleting a row with the triggers dropped breaks the chain at that event."""
    _log(tmp_path).close()
    _tamper(tmp_path / "a.db", sql)
    result = AuditLog(tmp_path / "a.db").verify()
    assert not result.ok and result.first_bad == bad and problem in result.problem


def test_rewriting_a_row_with_a_fresh_hash_breaks_the_next_link(tmp_path: Path) -> None:
    """Recomputing one event's own hash does not help: the next event's link breaks."""
    from plangate.audit.log import event_hash

    _log(tmp_path).close()
    db = sqlite3.connect(tmp_path / "a.db")
    seq, ts, kind, run_id, prev = db.execute(
        "SELECT seq, ts, kind, run_id, prev_hash FROM audit_events WHERE seq = 2").fetchone()
    db.close()
    digest = event_hash(prev, seq, ts, kind, run_id, '{"i":42}')
    _tamper(tmp_path / "a.db",
            f"UPDATE audit_events SET data = '{{\"i\":42}}', hash = '{digest}' WHERE seq = 2")
    result = AuditLog(tmp_path / "a.db").verify()
    assert not result.ok and result.first_bad == 3 and "link broken" in result.problem


def test_unserialisable_event_and_unwritable_log_raise_audit_error(tmp_path: Path) -> None:
    """Failures to record are AuditError, never a silent skip."""
    log = AuditLog(":memory:")
    loop: dict[str, object] = {}
    loop["self"] = loop
    with pytest.raises(AuditError, match="serialisable"):
        log.append("x", "r", loop)
    log.close()
    with pytest.raises(AuditError, match="audit write failed"):
        log.append("x", "r", {})
    (tmp_path / "dir.db").mkdir()
    with pytest.raises(AuditError, match="cannot open"):
        AuditLog(tmp_path / "dir.db")


def test_a_review_records_the_plan_as_it_came(tmp_path: Path) -> None:
    """The plan event holds the plan exactly as submitted when it is JSON, in one
    transaction with the trigger and the verdict; a plan that is not JSON (NaN) is denied
    and recorded as its repr, and the log still verifies (no non-standard JSON in it)."""
    import json

    from .conftest import lit, make_gate, owner_trigger, plan

    gate, _tools = make_gate(audit=str(tmp_path / "a.db"))
    good = plan({"id": "n", "tool": "notify_owner", "args": {"text": lit("hi")}})
    gate.review(owner_trigger(), good)
    bad = plan({"id": "n", "tool": "notify_owner", "args": {"text": lit(float("nan"))}})
    assert gate.review(owner_trigger(), bad).verdict == "deny"
    events = gate.audit.tail(10)
    assert [e.kind for e in events] == ["trigger", "plan", "verdict"] * 2
    assert events[1].data["plan"] == good
    assert isinstance(events[4].data["plan"], str) and "nan" in events[4].data["plan"]
    # Keys that do not sort (a number beside a word): the canonical text cannot be made, so
    # the plan is recorded as its repr (it failed the whole audit write before).
    odd = {**good, 7: "seven"}
    assert gate.review(owner_trigger(), odd).verdict == "deny"
    recorded = gate.audit.tail(2)[0]
    assert recorded.kind == "plan" and isinstance(recorded.data["plan"], str) and "seven" in recorded.data["plan"]
    rows = gate.audit.connection.execute("SELECT data FROM audit_events").fetchall()
    for (text,) in rows:
        json.loads(text, parse_constant=lambda c: pytest.fail(f"non-standard JSON {c}"))
    assert gate.audit.verify().ok
