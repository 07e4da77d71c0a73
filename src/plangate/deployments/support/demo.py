"""`plangate demo --deployment support`: one morning at the support desk, behind the gate.

Twelve conversations (`demo_day.yaml`: customers in signed-in chats, mail that does or
does not authenticate, a stranger, support agents) arrive one after another at one
database (SQLite, temporary) with the desk's gate in front of the real tools and a SQLite
audit log (`--db` keeps it). For each: who asked and the trust class the evidence earns,
what the plan would do (the reviewer's summary), the verdict and every rule that decided
it, what ran, and, judged on the database and what was sent, whether the attacker's goal
or the task was reached. No model is configured: each conversation's bundled plan is the
worst case (attacks: the planner obeys the attacker). Escalations wait for a human agent
(`plangate approvals list --db PATH`); nothing is approved on their behalf.
"""

from __future__ import annotations

import argparse
import html
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

from plangate.audit import AuditLog
from plangate.deployments.support import POLICY_PATH
from plangate.deployments.support.db import SupportDB
from plangate.deployments.support.intake import trigger_from_spec
from plangate.deployments.support.judge import Judge
from plangate.deployments.support.labels import SupportGate
from plangate.deployments.support.runtime import SupportRuntime
from plangate.policy import load_policy
from plangate.safetext import marked, quote, visible, visible_lines
from plangate.testing import ScriptedExtractor

DAY = Path(__file__).with_name("demo_day.yaml")


def day() -> dict[str, Any]:
    data = yaml.safe_load(DAY.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def run_demo(db_path: str, progress: Any = None) -> list[dict[str, Any]]:
    """Every conversation in order on one database and one gate; one row each."""
    data = day()
    db = SupportDB.sqlite()
    runtime = SupportRuntime(db)
    runtime.seed(data["shop"])
    gate = SupportGate(load_policy(POLICY_PATH), runtime, db, audit=AuditLog(db_path),
                       extractor=ScriptedExtractor())
    rows = []
    talks = data["conversations"]
    for n, talk in enumerate(talks, 1):
        before = runtime.snapshot()
        trigger = trigger_from_spec(talk["trigger"], n)
        outcome = gate.submit(trigger, {"version": 1, **talk["plan"]})
        review = outcome.review
        judge = Judge(before, runtime.snapshot())
        ran = outcome.run
        row: dict[str, Any] = {
            "title": talk["title"], "kind": talk["kind"], "family": talk.get("family", ""),
            "sender": trigger.principal, "channel": trigger.channel, "trust_class": review.trust_class,
            "classification": list(review.classification), "verdict": review.verdict,
            "rules": list(review.rules), "reasons": dict(review.reasons), "summary": review.summary,
            "approval": outcome.approval,
            "executed": [c.tool for c in ran.calls if c.ok] if ran else [],
            "blocked": [f"{c.tool}: {c.error}" for c in ran.calls if not c.ok] if ran else [],
        }
        if talk["kind"] == "attack":
            landed = judge.holds(talk["goal"])
            row["outcome"], row["ok"] = ("SUCCEEDED", False) if landed else ("blocked", True)
        elif review.verdict == "escalate":
            row["outcome"], row["ok"] = "waiting for a human agent", True
        else:
            done = all(judge.holds(p) for p in talk["expect"])
            row["outcome"], row["ok"] = ("done", True) if done else ("not done", False)
        rows.append(row)
        if progress:
            progress(n, len(talks), row)
    db.close()
    return rows


def totals(rows: list[dict[str, Any]]) -> dict[str, Any]:
    benign = [r for r in rows if r["kind"] == "benign"]
    attacks = [r for r in rows if r["kind"] == "attack"]
    return {"benign": len(benign),
            "benign_auto_approved": sum(r["verdict"] == "approve" for r in benign),
            "benign_escalated": sum(r["verdict"] == "escalate" for r in benign),
            "benign_denied": sum(r["verdict"] == "deny" for r in benign),
            "attacks": len(attacks), "attacks_succeeded": sum(not r["ok"] for r in attacks)}


def print_row(n: int, total: int, row: dict[str, Any]) -> None:
    print(f"[{n:>2}/{total}] {visible(row['title'], 120)}")
    print(f"        from {marked(quote(row['sender'], 100), 'sender')} by {row['channel']}  ->  class "
          f"{visible(row['trust_class'], 40)}" + (f"  ({visible(row['classification'][0], 200)})"
                                                 if row["classification"] else ""))
    for line in visible_lines(row["summary"], width=300, max_lines=30)[1:]:
        print(f"        plan {line.strip()}")
    print(f"        verdict {row['verdict'].upper()}  rules: {visible(', '.join(row['rules']) or '-', 600)}")
    for rule in row["rules"]:
        if rule in row["reasons"]:
            print(f"          {visible(rule, 120)}: {visible(row['reasons'][rule], 600)}")
    blocked = f"; blocked: {visible(', '.join(row['blocked']), 400)}" if row["blocked"] else ""
    print(f"        ran: {visible(', '.join(row['executed']) or 'nothing', 300)}{blocked}")
    print(f"        {'attacker' + chr(39) + 's goal' if row['kind'] == 'attack' else 'task'}: {row['outcome']}\n")


def html_report(rows: list[dict[str, Any]], data: dict[str, Any]) -> str:
    def e(value: Any, limit: int = 2000) -> str:
        return html.escape(visible(value, limit))

    cards = []
    for n, r in enumerate(rows, 1):
        rules = "".join(f"<li><code>{e(rule, 200)}</code> — {e(r['reasons'].get(rule, ''), 1000)}</li>"
                        for rule in r["rules"])
        summary = html.escape("\n".join(visible_lines(r["summary"], width=600, max_lines=60)))
        cards.append(
            f'<section class="{e(r["verdict"], 20)}"><h2>{n}. {e(r["title"])} <small>{e(r["kind"])}'
            f'{": " + e(r["family"]) if r["family"] else ""}</small></h2>'
            f'<p>from <code>{html.escape(marked(quote(r["sender"], 200), "sender"))}</code> by {e(r["channel"])} '
            f'→ class <b>{e(r["trust_class"])}</b>; verdict <b>{e(r["verdict"])}</b></p><pre>{summary}</pre>'
            f'<ul>{rules or "<li>no rule fired</li>"}</ul>'
            f'<p>Ran: {e(", ".join(r["executed"]) or "nothing")}. Outcome: <b>{e(r["outcome"])}</b></p></section>')
    tot = " · ".join(f"{e(k.replace('_', ' '))}: {v}" for k, v in data.items())
    return ("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>plangate support desk demo"
            "</title><style>body{font:15px/1.45 system-ui,sans-serif;max-width:960px;margin:2rem auto;padding:0 1rem}"
            "section{border-left:6px solid #aaa;padding:.2rem 1rem;margin:1rem 0;background:#fafafa}"
            "section.approve{border-color:#2e9d5b}section.deny{border-color:#d64545}"
            "section.escalate{border-color:#e0a100}pre{white-space:pre-wrap;background:#f0f0f0;padding:.5rem}"
            "</style></head><body><h1>plangate: a morning at the support desk</h1>"
            "<p>Each conversation's bundled worst-case plan was replayed (attacks: a planner that obeys the "
            "attacker); outcomes are judged on the database and what was sent.</p>"
            f"<p>{tot}</p>{''.join(cards)}</body></html>\n")


def main(args: argparse.Namespace) -> int:
    """Run the demo, print it, write `args.json` / `args.html` (paths the caller checked)."""
    print("plangate demo --deployment support: no model is configured, so the bundled worst-case plans are "
          "replayed as written (attacks: the planner obeys the attacker).\n")
    with tempfile.TemporaryDirectory(prefix="plangate-support-demo-") as tmp:
        db_path = getattr(args, "db", None) or str(Path(tmp) / "audit.db")
        rows = run_demo(db_path, progress=print_row)
        verified = AuditLog(db_path).verify()
    data = totals(rows)
    sys.stdout.write(f"benign: {data['benign']} (auto-approved {data['benign_auto_approved']}, waiting for a human "
                     f"agent {data['benign_escalated']}, denied {data['benign_denied']}); attacks: "
                     f"{data['attacks']} (succeeded {data['attacks_succeeded']}); audit log: "
                     f"{'hash chain intact' if verified.ok else 'TAMPERED'} ({verified.events} events)\n")
    if getattr(args, "json", None):
        Path(args.json).write_text(json.dumps({**data, "rows": rows}, indent=2, ensure_ascii=False) + "\n",
                                   encoding="utf-8")
    if getattr(args, "html", None):
        Path(args.html).write_text(html_report(rows, data), encoding="utf-8")
        print(f"HTML report: {args.html}")
    ok = data["attacks_succeeded"] == 0 and data["benign_denied"] == 0 and all(r["ok"] for r in rows)
    return 0 if ok and verified.ok else 1
