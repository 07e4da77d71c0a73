"""`plangate demo`: the gate over the bundled examples, on embedded defaults.

For each example it shows the trigger's trust class, what the plan would do, the
verdict and why, and what actually ran (on fixture tools; no model is configured, so the
bundled worst-case plans are replayed as they are).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path
from typing import Any

from plangate.documents import load_document
from plangate.gate import Gate
from plangate.plan.codec import load_plan
from plangate.policy import load_policy
from plangate.testing import FixtureTools, ScriptedExtractor
from plangate.trigger import load_trigger

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def run_examples(examples: Path, db: str) -> list[dict[str, Any]]:
    rows = []
    for folder in sorted(p for p in examples.iterdir() if (p / "expected.json").exists()):
        policy = load_policy(folder / "policy.yaml")
        tools = FixtureTools({"read_inbox": [{"sender": "x@example.org", "body": "text"}]})
        gate = Gate(policy, tools, audit=db, extractor=ScriptedExtractor())
        trigger = load_trigger(folder / "trigger.yaml")
        outcome = gate.submit(trigger, load_plan(folder / "plan.json"))
        expected = load_document(folder / "expected.json")["verdict"]
        rows.append({
            "example": folder.name,
            "trust_class": outcome.review.trust_class,
            "verdict": outcome.review.verdict,
            "expected": expected,
            "rules": list(outcome.review.rules),
            "summary": outcome.review.summary,
            "executed": [c.tool for c in (outcome.run.calls if outcome.run else []) if c.ok],
            "approval": outcome.approval,
        })
    return rows


def main(args: argparse.Namespace) -> int:
    print("plangate demo: no model is configured, so the bundled worst-case plans are "
          "replayed as written.\n")
    with tempfile.TemporaryDirectory() as tmp:
        db = args.db or str(Path(tmp) / "demo.db")
        rows = run_examples(EXAMPLES, db)
    width = max(len(r["example"]) for r in rows)
    for r in rows:
        mark = "ok " if r["verdict"] == r["expected"] else "MISMATCH"
        print(f"{mark} {r['example']:<{width}}  {r['trust_class']:<8} {r['verdict']:<8} "
              f"{', '.join(r['rules'])}")
        print(f"    ran: {', '.join(r['executed']) or 'nothing'}")
    totals = {"examples": len(rows),
              "matched": sum(r["verdict"] == r["expected"] for r in rows),
              "verdicts": {v: sum(r["verdict"] == v for r in rows)
                           for v in ("approve", "deny", "escalate")}}
    print(f"\n{totals['matched']}/{totals['examples']} examples reproduce their expected verdict")
    if args.json:
        Path(args.json).write_text(json.dumps({**totals, "rows": rows}, indent=2) + "\n")
    return 0 if totals["matched"] == totals["examples"] else 1
