"""`plangate agent` and `plangate usage` from the command line, against the scripted server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from plangate.cli import main
from plangate.model.testing import Reply, ScriptedModelServer

from .conftest import HERE, meeting_plan

TRIGGER = """channel: email
principal: "Carol <carol@newclient.example>"
evidence: {dmarc: pass}
payload: Could we meet on 2026-12-02? Thanks, Carol
"""


def test_agent_then_usage(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    trigger = tmp_path / "trigger.yaml"
    trigger.write_text(TRIGGER)
    db = str(tmp_path / "audit.db")
    with ScriptedModelServer([Reply(json=meeting_plan(), usage=(900, 80))]) as server:
        code = main(["agent", "--trigger", str(trigger), "--policy", str(HERE / "policy.yaml"),
                     "--model", "openai:gpt-4o-mini", "--base-url", server.openai_url, "--db", db, "--json"])
    data = json.loads(capsys.readouterr().out)
    assert code == 0
    assert {k: data[k] for k in ("verdict", "status", "model_calls", "tokens_in", "tokens_out")} == {
        "verdict": "approve", "status": "completed", "model_calls": 1, "tokens_in": 900, "tokens_out": 80}
    assert data["cost"] > 0
    assert main(["usage", "--by", "class", "--json", "--db", db]) == 0
    (row,) = json.loads(capsys.readouterr().out)["rows"]
    assert (row["key"], row["calls"], row["tokens_in"]) == ("unknown", 1, 900)
    assert main(["usage", "--db", db]) == 0
    assert "unknown" not in capsys.readouterr().out.splitlines()[0]


def test_agent_with_a_failing_model_exits_1_and_says_why(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    trigger = tmp_path / "trigger.yaml"
    trigger.write_text(TRIGGER)
    with ScriptedModelServer(lambda ex: Reply(status=500)) as server:
        code = main(["agent", "--trigger", str(trigger), "--policy", str(HERE / "policy.yaml"),
                     "--model", "openai:gpt-4o-mini", "--base-url", server.openai_url,
                     "--db", str(tmp_path / "a.db")])
    out = capsys.readouterr().out
    assert code == 1 and "model_unavailable" in out and "HTTP 500" in out


def test_agent_needs_a_model(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PLANGATE_MODEL", raising=False)
    monkeypatch.chdir(tmp_path)
    trigger = tmp_path / "trigger.yaml"
    trigger.write_text(TRIGGER)
    code = main(["agent", "--trigger", str(trigger), "--policy", str(HERE / "policy.yaml")])
    assert code == 2 and "PROVIDER:MODEL" in capsys.readouterr().err
    code = main(["agent", "--trigger", str(trigger), "--policy", str(HERE / "policy.yaml"), "--model", "gpt-4o"])
    assert code == 2 and "expected PROVIDER:MODEL" in capsys.readouterr().err


def test_bench_tokens_meets_its_goal(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "tokens.json"
    assert main(["bench", "tokens", "--json", str(out)]) == 0
    data = json.loads(out.read_text())
    assert data["ratio_tokens"] <= 1.3 and data["tasks"] == 7 and data["ratio_calls"] < 1


def test_bench_budget_meets_its_goals(tmp_path: Path) -> None:
    """The burst and the flood never overdraw a pool; the owner's request still completes."""
    out = tmp_path / "budget.json"
    assert main(["bench", "budget", "--json", str(out)]) == 0
    data = json.loads(out.read_text())
    assert data["budget_overshoot"] == 0 and data["owner_completed"] is True
    assert data["flood"]["statuses"].get("over_budget", 0) > 900 and data["refusals_audited"] > 900
