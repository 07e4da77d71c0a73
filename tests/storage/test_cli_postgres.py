"""`plangate audit` and `plangate approvals` on the PostgreSQL database `plangate serve`
shares: tail, head, verify (a tampered row found), list and decide (chained)."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from typing import Any

import pytest

from plangate.cli import main
from plangate.storage import Storage, open_storage

pytest.importorskip("psycopg", reason="the service extra is not installed")

_names = itertools.count()


@pytest.fixture
def store(pg_server: str) -> Iterator[Storage]:
    from servers import new_database

    opened = open_storage(new_database(pg_server, f"cli{next(_names)}"))
    yield opened
    opened.close()


def url(store: Storage) -> str:
    info = store.sql.connection.info
    return f"postgresql://{info.user}@{info.host}:{info.port}/{info.dbname}"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def _approval(store: Storage) -> str:
    ident: str = store.approvals.create(
        run_id="run_cli", plan_hash="h" * 64, trust_class="stranger", summary="Pay 40 EUR to a plumber",
        trigger={"channel": "email", "principal": "x@y.example", "payload": "pay me"},
        plan={"version": 1, "steps": []}, review={"verdict": "escalate", "rules": ["pay-asks"]})
    return ident


def test_audit_and_approvals_read_and_decide_on_postgres(store: Storage, capsys: pytest.CaptureFixture[str]) -> None:
    """List shows the pending approval; approve records a chained decision the service then
    reads; tail, head and verify read the same chain; an approval flipped behind plangate's
    back fails verify (exit 1)."""
    db = url(store)
    ident = _approval(store)
    code, out, _ = run(capsys, "approvals", "list", "--json", "--db", db)
    assert code == 0 and [a["id"] for a in json.loads(out)] == [ident]
    code, out, _ = run(capsys, "approvals", "approve", ident, "--note", "expected", "--db", db)
    assert code == 0 and f"{ident}: approved" in out and "/v1/approvals/" in out
    assert store.approvals.get(ident).status == "approved"
    code, out, _ = run(capsys, "audit", "tail", "--json", "--db", db)
    kinds: list[Any] = [e["kind"] for e in json.loads(out)]
    assert kinds[-2:] == ["approval_requested", "approval_decided"]
    code, head, _ = run(capsys, "audit", "head", "--db", db)
    assert code == 0 and head.strip() == f"{store.audit.head()[0]}:{store.audit.head()[1]}"
    code, out, _ = run(capsys, "audit", "verify", "--anchor", head.strip(), "--db", db)
    assert code == 0 and out.startswith("ok:")
    with store.sql.connection.cursor() as cur:
        cur.execute("UPDATE approvals SET status = 'pending' WHERE id = %s", (ident,))
    code, _, err = run(capsys, "audit", "verify", "--db", db)
    assert code == 1 and "TAMPERED" in err


def test_a_database_without_a_plangate_log_is_refused(pg_server: str, capsys: pytest.CaptureFixture[str]) -> None:
    """A PostgreSQL database plangate never set up is not created from here: one line, exit 2."""
    from servers import new_database

    empty = new_database(pg_server, f"empty{next(_names)}")
    code, _, err = run(capsys, "audit", "tail", "--db", empty)
    assert code == 2 and "no plangate audit log" in err and "Traceback" not in err
