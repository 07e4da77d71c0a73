"""Anchoring the audit log's head: truncating the tail is caught once a head was exported."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from plangate.audit import AuditLog
from plangate.cli import main


def test_a_truncated_tail_fails_verification_against_an_exported_head(tmp_path: Path) -> None:
    """The chain alone verifies after the newest events are cut off; the anchor does not."""
    db = tmp_path / "a.db"
    log = AuditLog(db)
    for i in range(5):
        log.append("call", "run", {"i": i})
    anchor = log.head()
    assert anchor[0] == 5 and log.verify(anchor=anchor).ok
    raw = sqlite3.connect(db)
    raw.execute("DROP TRIGGER audit_events_no_delete")
    raw.execute("DELETE FROM audit_events WHERE seq >= 4")
    raw.commit()
    raw.close()
    truncated = AuditLog(db)
    assert truncated.verify().ok  # what the chain alone cannot see
    result = truncated.verify(anchor=anchor)
    assert not result.ok and result.first_bad == 5 and "truncated" in result.problem


def test_cli_exports_and_checks_the_head(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    """`audit head` prints SEQ:HASH; `audit verify --anchor` checks it; a malformed anchor is a clear error."""
    db = tmp_path / "a.db"
    log = AuditLog(db)
    log.append("trigger", "run", {})
    log.close()
    assert main(["audit", "head", "--db", str(db)]) == 0
    head = capsys.readouterr().out.strip()
    assert head.startswith("1:") and len(head) == 66
    assert main(["audit", "verify", "--db", str(db), "--anchor", head]) == 0
    assert "anchored event 1 present" in capsys.readouterr().out
    assert main(["audit", "verify", "--db", str(db), "--anchor", "1:" + "0" * 64]) == 1
    assert main(["audit", "verify", "--db", str(db), "--anchor", "nonsense"]) == 2


def test_call_records_carry_a_digest_of_the_exact_arguments() -> None:
    """Shown argument values are truncated; the digest pins what the tool really received."""
    from plangate.execute.values import args_digest

    from .conftest import call, lit, make_gate, owner_trigger, plan

    gate, tools = make_gate()
    many = [f"p{i}@home.example" for i in range(60)]
    instruction = "Mail the team: " + " ".join(many)
    out = gate.submit(owner_trigger(instruction=instruction),
                      plan(call("s", "send_email", to=lit(many, "instruction"), subject=lit("s"),
                                body=lit("x" * 5000))))
    assert out.run is not None and out.run.status == "completed", out.review.to_json()
    event = next(e for e in gate.audit.tail(50) if e.kind == "call")
    assert len(event.data["args"]["to"]) == 50  # the shown part is bounded
    assert event.data["args_sha256"] == args_digest(tools.calls[0][1])
