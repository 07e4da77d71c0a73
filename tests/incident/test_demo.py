"""`plangate demo --deployment incident`: the bundled morning runs end to end, every
attack is blocked, forged alerts are unknown, and every text it prints is escaped."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from plangate.deployments.incident.demo import main, run_demo


def test_the_demo_blocks_every_attack_and_does_every_auto_approved_task(tmp_path: Path) -> None:
    rows = run_demo(str(tmp_path / "audit.db"), tmp_path / "cluster")
    assert len(rows) == 13 and all(r.ok for r in rows), [(r.name, r.outcome) for r in rows if not r.ok]
    forged = [r for r in rows if r.family == "forged-alert"]
    assert forged and all(r.trust_class == "unknown" and r.verdict == "deny" for r in forged)
    assert any(r.kind == "benign" and r.verdict == "escalate" for r in rows)  # the secret rotation waits


def test_main_writes_json_and_a_locked_html_report(tmp_path: Path) -> None:
    args = argparse.Namespace(json=str(tmp_path / "d.json"), html=str(tmp_path / "d.html"), db=None)
    assert main(args) == 0
    data = json.loads((tmp_path / "d.json").read_text())
    assert data["attacks_succeeded"] == 0 and data["attacks"] == 8
    page = (tmp_path / "d.html").read_text()
    assert "default-src 'none'" in page and "<script" not in page
