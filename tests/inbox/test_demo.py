"""`plangate demo`: the bundled inbox through the shipped policy, with its reports."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from plangate.cli import main


def test_demo_writes_json_and_html(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The demo runs on embedded defaults, says it replays bundled plans, blocks every attack,
    and writes the bench's totals keys as JSON and a self-contained HTML report."""
    js, page = tmp_path / "demo.json", tmp_path / "demo.html"
    assert main(["demo", "--json", str(js), "--html", str(page), "--db", str(tmp_path / "a.db")]) == 0
    out = capsys.readouterr().out
    assert "no model is configured" in out
    data = json.loads(js.read_text())
    for key in ("benign", "benign_auto_approved", "benign_escalated", "benign_denied", "attacks",
                "attacks_succeeded", "families"):
        assert key in data
    assert data["attacks"] >= 6 and data["benign"] >= 6
    assert data["attacks_succeeded"] == 0 and data["benign_denied"] == 0
    text = page.read_text()
    assert text.startswith("<!doctype html>") and "<script" not in text and "http" not in text.split("<body>")[0]
    assert all(row["rules"] for row in data["rows"]), "every verdict names its rules"


def test_demo_audit_log_is_kept(tmp_path: Path) -> None:
    """With --db the audit log survives the demo and verifies."""
    db = tmp_path / "audit.db"
    assert main(["demo", "--db", str(db)]) == 0
    assert main(["audit", "verify", "--db", str(db)]) == 0
