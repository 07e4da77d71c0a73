"""The command line: version, schema, policy check, review, run, audit and approvals."""

from __future__ import annotations

import argparse
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


EXIT = {"approve": 0, "deny": 3, "escalate": 4}


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda p: p.name)
def test_review_json_reproduces_expected_verdicts(folder: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """`plangate review --json` on every example folder gives its expected verdict, and the
    exit code says it: 0 approve, 3 deny, 4 escalate; 0 for all with --exit-zero."""
    expected = json.loads((folder / "expected.json").read_text())
    argv = ["review", "--trigger", str(folder / "trigger.yaml"), "--plan",
            str(folder / "plan.json"), "--policy", str(folder / "policy.yaml"), "--json"]
    assert main(argv) == EXIT[expected["verdict"]]
    result = json.loads(capsys.readouterr().out)
    assert result["verdict"] == expected["verdict"]
    assert result["rules"]
    for rule in expected.get("rules", []):
        assert rule in result["rules"]
    assert main([*argv, "--exit-zero"]) == 0


@pytest.mark.parametrize("folder", [f for f in FOLDERS if json.loads((f / "expected.json").read_text())[
    "verdict"] == "deny"], ids=lambda p: p.name)
def test_every_denial_explains_itself_in_text(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Text mode names each deciding rule with a non-empty reason and the step it fired on;
    plangate's built-in rules (origin-claim) carry the finding's detail too."""
    from plangate.cli.explain import BUILTIN_REASONS

    assert main(["review", "--trigger", str(folder / "trigger.yaml"), "--plan", str(folder / "plan.json"),
                 "--policy", str(POLICY_PATH), "--json"]) == 3
    result = json.loads(capsys.readouterr().out)
    assert main(["review", "--trigger", str(folder / "trigger.yaml"), "--plan", str(folder / "plan.json"),
                 "--policy", str(POLICY_PATH)]) == 3
    text = capsys.readouterr().out
    assert text.startswith("verdict: deny") and "why:" in text
    for rule in result["rules"]:
        line = next(line for line in text.splitlines() if line.strip().startswith(f"- {rule}:"))
        assert len(line.split(f"{rule}:", 1)[1].strip()) > 10, line
        assert result["reasons"].get(rule, BUILTIN_REASONS.get(rule, "")) in line
    for finding in result["findings"]:
        if finding["verdict"] == "deny":
            assert f"at step {finding['step']} ({finding['tool']})" in text
            if finding["detail"]:
                assert finding["detail"] in text


def test_origin_claim_denial_shows_its_detail(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A lone `plangate:origin-claim` denial prints what it means and which field lied."""
    folder = EXAMPLES / "laundered-literal"
    assert main(["review", "--trigger", str(folder / "trigger.yaml"), "--plan", str(folder / "plan.json"),
                 "--policy", str(POLICY_PATH)]) == 3
    out = capsys.readouterr().out
    assert "plangate:origin-claim: a literal claims to come from" in out
    assert "at step send (send_email): field 'to': literal claims origin 'instruction'" in out


def test_a_plan_that_does_not_parse_is_an_input_error(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """A plan file that cannot be read as JSON/YAML is an input error (exit 2, one line naming
    the file), for review and run alike: a verdict is for a plan that was read."""
    bad = tmp_path / "plan.json"
    bad.write_text("{nope")
    folder = EXAMPLES / "meeting-reply"
    for command in (["review"], ["run", "--db", str(tmp_path / "a.db")]):
        assert main([*command, "--trigger", str(folder / "trigger.yaml"), "--plan", str(bad),
                     "--policy", str(POLICY_PATH), "--json"]) == 2
        out, err = capsys.readouterr()
        assert out == "" and err.count("\n") == 1 and "plan.json:1: invalid JSON" in err


def test_a_plan_that_was_read_but_does_not_check_is_denied(tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    """A plan that parses but breaks the schema or names an unknown tool is a verdict:
    deny `plangate:malformed-plan` with the error, exit 3, in review and run alike."""
    folder = EXAMPLES / "meeting-reply"
    for body in ({"steps": [{"id": "a", "tool": "launch_rockets", "args": {}}]}, {"steps": "none"}):
        plan = tmp_path / "plan.json"
        plan.write_text(json.dumps(body))
        for command in (["review"], ["run", "--db", str(tmp_path / "a.db")]):
            assert main([*command, "--trigger", str(folder / "trigger.yaml"), "--plan", str(plan),
                         "--policy", str(POLICY_PATH)]) == 3
            out = capsys.readouterr().out
            assert "plangate:malformed-plan: the plan does not check" in out and "error:" in out


def _run(folder: str, db: Path, capsys: pytest.CaptureFixture[str], code: int = 0) -> dict[str, object]:
    f = EXAMPLES / folder
    assert main(["run", "--trigger", str(f / "trigger.yaml"), "--plan", str(f / "plan.json"),
                 "--policy", str(POLICY_PATH), "--db", str(db), "--json"]) == code
    return json.loads(capsys.readouterr().out)  # type: ignore[no-any-return]


def test_run_audit_and_approvals_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """run → audit verify → approvals list/approve; tampering makes verify exit 1."""
    db = tmp_path / "cli.db"
    out = _run("meeting-reply", db, capsys)
    assert out["run"]["status"] == "completed"  # type: ignore[index]
    escalated = _run("payment-escalates", db, capsys, code=4)
    approval = escalated["approval"]
    assert approval and escalated["run"] is None
    assert main(["audit", "verify", "--db", str(db)]) == 0
    assert "hash chain intact" in capsys.readouterr().out
    assert main(["approvals", "list", "--db", str(db), "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [a["id"] for a in listed] == [approval] and listed[0]["rules"] == ["ask-before-paying"]
    assert main(["approvals", "approve", str(approval), "--db", str(db)]) == 0
    decided = capsys.readouterr().out.splitlines()
    assert decided[0] == f"{approval}: approved" and f"plangate run --approval {approval}" in decided[1]
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


def _subparsers(parser: argparse.ArgumentParser, prefix: str = "plangate") -> list[tuple[str, argparse.ArgumentParser]]:
    out = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                out.append((f"{prefix} {name}", sub))
                out += _subparsers(sub, f"{prefix} {name}")
    return out


def test_every_option_has_help_and_every_command_an_example() -> None:
    """`--help` explains every option and argument, and ends each command with an example
    that starts with `plangate`; the top-level help documents the exit codes and settings."""
    from plangate.cli import parser

    top = parser()
    commands = _subparsers(top)
    assert len(commands) >= 14
    for name, sub in commands:
        assert sub.epilog and "example:\n  plangate " in sub.epilog, name
        for action in sub._actions:
            assert action.help, f"{name} {action.option_strings or action.dest} has no help"
    text = top.format_help()
    for needle in ("exit codes:", "3  denied", "4  escalated", "PLANGATE_POLICY", "PLANGATE_DB",
                   "PLANGATE_CONFIG", "plangate.toml"):
        assert needle in text


def test_schema_defaults_to_the_plan_and_knows_the_other_documents(capsys: pytest.CaptureFixture[str]) -> None:
    """`plangate schema` alone prints the plan's schema; trigger, catalog and policy too."""
    assert main(["schema"]) == 0
    assert json.loads(capsys.readouterr().out)["title"] == "plangate plan"
    for what in ("trigger", "catalog", "policy"):
        assert main(["schema", what]) == 0
        assert json.loads(capsys.readouterr().out)["title"] == f"plangate {what}"


def test_progress_reports_on_stderr_in_a_log(capsys: pytest.CaptureFixture[str]) -> None:
    """Not on a terminal: a line when the work starts, every few seconds, and at the end;
    `echo` prints results on stdout."""
    from plangate.cli.progress import Progress

    now = [0.0]
    progress = Progress("bench x", 3, unit="steps", clock=lambda: now[0], every=5)
    progress.step()
    now[0] = 6.0
    progress.step(note="second")
    progress.echo("a result")
    progress.step()
    progress.finish()
    out, err = capsys.readouterr()
    assert out == "a result\n"
    assert err.splitlines() == ["bench x: started (3 steps)", "bench x: 2/3 steps, 6 s (second)",
                                "bench x: done, 3/3 steps, 6 s"]


def test_escalation_says_what_to_do_next(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """After `run` escalates, the output names the approval and the commands that read,
    decide and run it, with the database it used."""
    db = tmp_path / "x.db"
    f = EXAMPLES / "payment-escalates"
    assert main(["run", "--trigger", str(f / "trigger.yaml"), "--plan", str(f / "plan.json"),
                 "--policy", str(POLICY_PATH), "--db", str(db)]) == 4
    out = capsys.readouterr().out
    approval = out.split("waiting for the owner: approval ")[1].split()[0]
    assert f"plangate approvals approve {approval} --db {db}" in out
    assert f"plangate run --approval {approval} --policy {POLICY_PATH} --db {db}" in out
    assert main(["approvals", "list", "--db", str(db), "--ids"]) == 0
    assert capsys.readouterr().out == f"{approval}\n"
