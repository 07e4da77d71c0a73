"""`plangate demo --deployment support`: the morning runs, every attack is blocked, the
escalations wait for a human agent, and the reports are written."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from plangate.deployments.support.demo import main


def test_the_demo_blocks_every_attack_and_writes_its_reports(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    out, page, db = tmp_path / "demo.json", tmp_path / "demo.html", tmp_path / "audit.db"
    assert main(argparse.Namespace(json=str(out), html=str(page), db=str(db))) == 0
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["attacks"] >= 6 and data["attacks_succeeded"] == 0
    assert data["benign_denied"] == 0 and data["benign_escalated"] >= 1
    verdicts = {r["title"]: r["verdict"] for r in data["rows"]}
    assert verdicts["Mal asks for Ben's order, naming Ben's account"] == "deny"
    assert verdicts["Mal asks for his whole order back (above the threshold)"] == "escalate"
    text = capsys.readouterr().out
    assert "hash chain intact" in text and "customers-touch-only-their-own-records" in text
    assert "<script" not in page.read_text(encoding="utf-8") and db.exists()
