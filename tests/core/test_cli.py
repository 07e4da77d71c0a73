"""The command line: version, schema, policy check, review, run, audit and approvals."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from plangate import __version__
from plangate.cli import main

from .conftest import EXAMPLES, POLICY_PATH, ROOT

FOLDERS = sorted(p for p in EXAMPLES.iterdir() if (p / "expected.json").exists())


def test_version_via_subprocess() -> None:
    """`python -m plangate --version` prints the package version."""
    out = subprocess.run([sys.executable, "-m", "plangate", "--version"], capture_output=True,
                         text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == f"plangate {__version__}"


def test_schema_plan(capsys: pytest.CaptureFixture[str]) -> None:
    """`plangate schema plan` prints the plan's JSON Schema."""
    assert main(["schema", "plan"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["title"] == "plangate plan" and "steps" in schema["properties"]


def test_policy_check(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """`plangate policy check` compiles and lints; --strict fails on warnings; a broken
    policy exits 2 naming the file."""
    assert main(["policy", "check", str(POLICY_PATH)]) == 0
    out = capsys.readouterr().out
    assert "ok:" in out and "against 12 tools" in out and "note:" in out
    assert main(["policy", "check", str(POLICY_PATH), "--strict"]) == 0  # notes are not warnings
    lax = tmp_path / "lax.yaml"
    lax.write_text(f"catalog: {EXAMPLES / 'assistant-catalog.yaml'}\nrules:\n"
                   "  - id: all\n    permit: {}\n")
    assert main(["policy", "check", str(lax)]) == 0
    assert main(["policy", "check", str(lax), "--strict"]) == 1  # no reason, unguarded flows
    bad = tmp_path / "bad.yaml"
    bad.write_text(f"catalog: {EXAMPLES / 'assistant-catalog.yaml'}\nrules:\n"
                   "  - id: r\n    forbid: {}\n    when: 'context.nope'\n")
    assert main(["policy", "check", str(bad)]) == 2
    assert "bad.yaml:3 rule 'r'" in capsys.readouterr().err


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda p: p.name)
def test_review_json_reproduces_expected_verdicts(folder: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """`plangate review --json` on every example folder gives its expected verdict."""
    expected = json.loads((folder / "expected.json").read_text())
    code = main(["review", "--trigger", str(folder / "trigger.yaml"), "--plan",
                 str(folder / "plan.json"), "--policy", str(folder / "policy.yaml"), "--json"])
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    assert result["verdict"] == expected["verdict"]
    assert result["rules"]
    for rule in expected.get("rules", []):
        assert rule in result["rules"]


def test_review_of_unparseable_plan_denies(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A plan file that does not parse reviews as a malformed-plan deny."""
    bad = tmp_path / "plan.json"
    bad.write_text("{nope")
    folder = EXAMPLES / "meeting-reply"
    assert main(["review", "--trigger", str(folder / "trigger.yaml"), "--plan", str(bad),
                 "--policy", str(POLICY_PATH), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["verdict"] == "deny" and result["rules"] == ["plangate:malformed-plan"]
    assert "plan.json:1" in result["error"]


def _run(folder: str, db: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    f = EXAMPLES / folder
    assert main(["run", "--trigger", str(f / "trigger.yaml"), "--plan", str(f / "plan.json"),
                 "--policy", str(POLICY_PATH), "--db", str(db), "--json"]) == 0
    return json.loads(capsys.readouterr().out)  # type: ignore[no-any-return]


def test_run_audit_and_approvals_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """run → audit verify → approvals list/approve; tampering makes verify exit 1."""
    db = tmp_path / "cli.db"
    out = _run("meeting-reply", db, capsys)
    assert out["run"]["status"] == "completed"  # type: ignore[index]
    escalated = _run("payment-escalates", db, capsys)
    approval = escalated["approval"]
    assert approval and escalated["run"] is None
    assert main(["audit", "verify", "--db", str(db)]) == 0
    assert "hash chain intact" in capsys.readouterr().out
    assert main(["approvals", "list", "--db", str(db), "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [a["id"] for a in listed] == [approval] and listed[0]["rules"] == ["ask-before-paying"]
    assert main(["approvals", "approve", str(approval), "--db", str(db)]) == 0
    assert capsys.readouterr().out.strip() == f"{approval}: approved"
    assert main(["approvals", "list", "--db", str(db)]) == 0
    assert "no pending approvals" in capsys.readouterr().out
    assert main(["approvals", "deny", str(approval), "--db", str(db)]) == 2
    assert "already approved" in capsys.readouterr().err
    assert main(["approvals", "approve", "--db", str(db)]) == 2
    assert main(["audit", "tail", "--db", str(db), "--json", "-n", "3"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 3
    con = sqlite3.connect(db)
    con.execute("DROP TRIGGER audit_events_no_update")
    con.execute("UPDATE audit_events SET data = '{}' WHERE seq = 2")
    con.commit()
    con.close()
    assert main(["audit", "verify", "--db", str(db)]) == 1
    assert "TAMPERED: event 2" in capsys.readouterr().err


def test_audit_without_a_log_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Verifying a log that does not exist is an error, not an empty success."""
    assert main(["audit", "verify", "--db", str(tmp_path / "none.db")]) == 2
    assert "no audit log" in capsys.readouterr().err
