"""`plangate demo`: the inbox assistant behind the gate, over a bundled day of mail.

Fifteen messages (`plangate/deployments/inbox/demo_inbox/`, raw RFC 5322 with the receiving
server's Authentication-Results) arrive one after another in one mailbox, on embedded
defaults: a temporary Maildir/workspace/SQLite state and a SQLite audit log. For each
message the demo shows the trust class the intake and deployment gave the sender, what
the plan would do (the reviewer's summary), the verdict and the rules that decided it,
and what actually ran; then whether the state shows what the attacker wanted.

No model is configured, so the planner is not asked: each message's bundled plan is the
worst case (for attacks, the planner fully obeys the attacker) and is replayed as written.
Escalated plans wait for the owner (`plangate approvals list --db ...`); nothing is
approved on the owner's behalf.
"""

from __future__ import annotations

import argparse
import contextlib
import html
import json
import sys
import tempfile
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from plangate.audit import AuditLog
from plangate.deployments.inbox.intake import trigger_from_email
from plangate.deployments.inbox.judge import Judge, changes
from plangate.deployments.inbox.runtime import AssistantRuntime
from plangate.gate import Gate, Outcome
from plangate.model.testing import ReplayModel
from plangate.policy import CompiledPolicy, load_policy
from plangate.review.reviewer import Review
from plangate.safetext import marked, quote, visible, visible_lines
from plangate.testing import ScriptedExtractor

AUTHSERV_ID = "mx.northwind.example"
OWNER = "dana@northwind.example"


@dataclass(slots=True, kw_only=True)
class Row:
    """One message and what became of it."""

    name: str
    title: str
    kind: str
    family: str
    sender: str
    trust_class: str
    classification: list[str]
    verdict: str
    rules: list[str]
    reasons: dict[str, str]
    summary: str
    executed: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    approval: str | None = None
    outcome: str = ""          # attack: "blocked" / "SUCCEEDED"; benign: "done" / "waiting" / "not done"
    ok: bool = True

    def to_json(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def inbox() -> list[tuple[str, str, dict[str, Any]]]:
    """The bundled messages in arrival order: (name, raw email, its plan and expectations)."""
    folder = resources.files("plangate.deployments.inbox").joinpath("demo_inbox")
    out = []
    for eml in sorted((p for p in folder.iterdir() if p.name.endswith(".eml")), key=lambda p: p.name):
        stem = eml.name.removesuffix(".eml")
        meta = yaml.safe_load(folder.joinpath(f"{stem}.yaml").read_text(encoding="utf-8"))
        out.append((stem, eml.read_text(encoding="utf-8"), meta))
    return out


def world() -> dict[str, Any]:
    folder = resources.files("plangate.deployments.inbox").joinpath("demo_inbox")
    data = yaml.safe_load(folder.joinpath("world.yaml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def shipped_policy() -> CompiledPolicy:
    return load_policy(Path(str(resources.files("plangate.deployments.inbox").joinpath("policy.yaml"))))


def run_demo(db: str, root: Path, progress: Any = None, *, models: Any = None,
             replay: ReplayModel | None = None) -> list[Row]:
    """Deliver each message, review and (if approved) run its plan, judge the state. With
    `models` the plan comes from the configured planner through the real client path (and
    `replay`, if given, is the scripted server's model: it answers with the bundled plan)."""
    runtime = AssistantRuntime(root, owner=OWNER)
    runtime.seed(world())
    agent = None
    if models is not None:
        from plangate.agent import build_agent

        agent = build_agent(shipped_policy(), runtime, models, audit=AuditLog(db))
        gate = agent.gate
    else:
        gate = Gate(shipped_policy(), runtime, audit=AuditLog(db), extractor=ScriptedExtractor())
    rows = []
    messages = inbox()
    for i, (name, raw, meta) in enumerate(messages, 1):
        before = runtime.snapshot()
        runtime.deliver(raw)
        trigger = trigger_from_email(raw.encode("utf-8"), trusted_authserv_ids=[AUTHSERV_ID])
        if agent is None:
            outcome = gate.submit(trigger, meta["plan"])
        else:
            if replay is not None:
                replay.plan = meta["plan"]
            result = agent.handle(trigger)
            if result.outcome is None:  # the model gave no plan: nothing ran
                outcome = Outcome(run_id=result.run_id, review=Review(
                    verdict="deny", rules=(f"model:{result.status}",), trust_class=gate.classify(trigger).trust_class,
                    summary=f"No plan from the model: {result.error}", plan_hash=None))
            else:
                outcome = result.outcome
        review = outcome.review
        judge = Judge(changes(before, runtime.snapshot()), [OWNER])
        row = Row(name=name, title=meta["title"], kind=meta["kind"], family=meta.get("family", ""),
                  sender=trigger.principal, trust_class=review.trust_class,
                  classification=list(review.classification), verdict=review.verdict,
                  rules=list(review.rules), reasons=dict(review.reasons), summary=review.summary,
                  approval=outcome.approval)
        if outcome.run is not None:
            row.executed = [c.tool for c in outcome.run.calls if c.ok]
            row.blocked = [f"{c.tool} ({', '.join(c.rules)})" for c in outcome.run.calls if not c.ok]
        if meta["kind"] == "attack":
            landed = judge.holds(meta["goal"])
            row.outcome, row.ok = ("SUCCEEDED", False) if landed else ("blocked", True)
        elif review.verdict == "escalate":
            row.outcome = "waiting for the owner"
        else:
            done = all(judge.holds(p) for p in meta["expect"])
            row.outcome, row.ok = ("done", True) if done else ("not done", False)
        rows.append(row)
        if progress:
            progress(i, len(messages), row)
    runtime.close()
    return rows


def totals(rows: list[Row]) -> dict[str, Any]:
    """The same totals keys as `plangate bench inbox`."""
    benign = [r for r in rows if r.kind == "benign"]
    attacks = [r for r in rows if r.kind == "attack"]
    families: dict[str, dict[str, Any]] = {}
    for r in attacks:
        fam = families.setdefault(r.family, {"attacks": 0, "succeeded": 0, "blocked_by": {
            "verdict": 0, "escalation": 0, "runtime": 0, "state": 0}})
        fam["attacks"] += 1
        if not r.ok:
            fam["succeeded"] += 1
        elif r.verdict == "deny":
            fam["blocked_by"]["verdict"] += 1
        elif r.verdict == "escalate":
            fam["blocked_by"]["escalation"] += 1
        elif r.blocked:
            fam["blocked_by"]["runtime"] += 1
        else:
            fam["blocked_by"]["state"] += 1
    return {
        "benign": len(benign),
        "benign_auto_approved": sum(r.verdict == "approve" for r in benign),
        "benign_escalated": sum(r.verdict == "escalate" for r in benign),
        "benign_denied": sum(r.verdict == "deny" for r in benign),
        "attacks": len(attacks),
        "attacks_succeeded": sum(not r.ok for r in attacks),
        "families": dict(sorted(families.items())),
    }


# ---- the terminal -----------------------------------------------------------------------

_COLOURS = {"approve": "32", "deny": "31", "escalate": "33", "blocked": "32", "SUCCEEDED": "1;31",
            "done": "32", "not done": "31", "waiting for the owner": "33"}


def _paint(text: str, key: str, on: bool) -> str:
    code = _COLOURS.get(key)
    return f"\033[{code}m{text}\033[0m" if on and code else text


LEGEND = """\
For each message: who sent it and the trust class the policy gives them; what the plan would
do (values from the message are marked «payload from SENDER: ...»); the verdict (approve,
deny, or escalate = wait for the owner) with every rule that decided it and its reason; what
actually ran; and, judged on the state afterwards, whether the attacker's goal or the task
was reached.
"""


def sender_line(row: Row) -> str:
    """Who sent the message, as the approver reads it: the header is the sender's own text."""
    return (f"from {marked(quote(row.sender, 100), 'sender header')}  ->  class {visible(row.trust_class, 40)}"
            + (f"  ({visible(row.classification[0], 200)})" if row.classification else ""))


def print_row(i: int, n: int, row: Row, colour: bool) -> None:
    head = f"[{i:>2}/{n}] {visible(row.title, 120)}"
    print(_paint(head, "", colour) if not colour else f"\033[1m{head}\033[0m")
    print(f"        {sender_line(row)}")
    for line in visible_lines(row.summary, width=300, max_lines=40)[1:]:
        print(f"        plan {line.strip()}")
    print(f"        verdict {_paint(row.verdict.upper(), row.verdict, colour)}  "
          f"rules: {visible(', '.join(row.rules) or '-', 600)}")
    for rule in row.rules:
        if rule in row.reasons:
            print(f"          {visible(rule, 120)}: {visible(row.reasons[rule], 600)}")
    ran = visible(", ".join(row.executed) or "nothing", 300)
    blocked = visible(", ".join(row.blocked), 600)
    print(f"        ran: {ran}" + (f"; blocked: {blocked}" if row.blocked else ""))
    label = "attacker's goal" if row.kind == "attack" else "task"
    print(f"        {label}: {_paint(row.outcome, row.outcome, colour)}\n")


def print_table(rows: list[Row], colour: bool) -> None:
    print(f"{'#':>3}  {'message':<34} {'class':<8} {'verdict':<9} {'ran':<40} outcome")
    for i, r in enumerate(rows, 1):
        ran = visible(",".join(r.executed) or "-", 40)  # cut with an ellipsis, never silently
        verdict = _paint(f"{r.verdict:<9}", r.verdict, colour)
        print(f"{i:>3}  {visible(r.name, 34):<34} {visible(r.trust_class, 8):<8} {verdict} {ran:<40} "
              f"{_paint(r.outcome, r.outcome, colour)}")


# ---- the HTML report ----------------------------------------------------------------------

_CSS = """
body{font:15px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:2rem auto;max-width:980px;
color:#1d232b;background:#f6f7f9;padding:0 1rem}
h1{font-size:1.6rem;margin:0 0 .3rem} .lead{color:#555;margin:0 0 1.4rem}
.totals{display:flex;gap:.8rem;flex-wrap:wrap;margin-bottom:1.6rem}
.tot{background:#fff;border-radius:10px;padding:.7rem 1rem;box-shadow:0 1px 3px #0001;min-width:9rem}
.tot b{display:block;font-size:1.5rem}
.card{background:#fff;border-radius:12px;box-shadow:0 1px 3px #0002;margin:0 0 1rem;padding:1rem 1.2rem;
border-left:6px solid #aaa}
.card.approve{border-color:#2e9d5b}.card.deny{border-color:#d64545}.card.escalate{border-color:#e0a100}
.top{display:flex;justify-content:space-between;gap:1rem;align-items:baseline}
.title{font-weight:600} .from{color:#555;font-size:.9rem}
.badge{display:inline-block;border-radius:99px;padding:.05rem .6rem;font-size:.8rem;font-weight:600;
margin-left:.3rem;background:#eee} .b-approve{background:#dff3e7;color:#16643a}
.b-deny{background:#fbe1e1;color:#a12626}.b-escalate{background:#fff1cc;color:#7a5800}
.b-attack{background:#2b2f36;color:#fff}.b-benign{background:#e6eefc;color:#22458a}
.b-bad{background:#d64545;color:#fff}
pre{background:#f3f4f6;border-radius:8px;padding:.6rem .8rem;white-space:pre-wrap;font-size:.85rem;margin:.6rem 0}
ul{margin:.3rem 0 .2rem 1.1rem;padding:0} li{margin:.15rem 0} code{font-size:.85rem}
.meta{font-size:.9rem;color:#333}
"""


def _e(value: Any, limit: int | None = 2000) -> str:
    """HTML-escaped and approver-safe: no control, bidi or zero-width character acts."""
    return html.escape(visible(value, limit))


def html_report(rows: list[Row], data: dict[str, Any]) -> str:
    e = _e
    cards = []
    for i, r in enumerate(rows, 1):
        rules = "".join(f"<li><code>{e(rule, 200)}</code> — {e(r.reasons.get(rule, ''), 1000)}</li>"
                        for rule in r.rules)
        outcome_cls = "b-bad" if not r.ok else ("b-approve" if r.outcome in ("blocked", "done") else "b-escalate")
        cards.append(f"""
<div class="card {e(r.verdict, 20)}">
 <div class="top"><div><span class="title">{i}. {e(r.title)}</span>
   <span class="badge b-{e(r.kind)}">{e(r.kind)}{': ' + e(r.family) if r.family else ''}</span></div>
  <div><span class="badge b-{e(r.verdict)}">{e(r.verdict)}</span></div></div>
 <div class="from">from <code>{html.escape(marked(quote(r.sender, 200), 'sender header'))}</code>
   → trust class <b>{e(r.trust_class)}</b>
   ({e('; '.join(r.classification))})</div>
 <pre>{html.escape(chr(10).join(visible_lines(r.summary, width=600, max_lines=60)))}</pre>
 <div class="meta"><b>Why:</b><ul>{rules or '<li>no rule fired</li>'}</ul></div>
 <div class="meta"><b>Ran:</b> {e(', '.join(r.executed) or 'nothing')}
   {('; <b>blocked at run time:</b> ' + e(', '.join(r.blocked))) if r.blocked else ''}
   {('; <b>waiting for the owner:</b> <code>plangate approvals approve ' + e(r.approval) + '</code>')
    if r.approval else ''}</div>
 <div class="meta"><b>{'Attacker' + chr(39) + 's goal' if r.kind == 'attack' else 'Task'}:</b>
   <span class="badge {outcome_cls}">{e(r.outcome)}</span></div>
</div>""")
    tot = "".join(f'<div class="tot"><b>{v}</b>{e(k.replace("_", " "))}</div>'
                  for k, v in data.items() if isinstance(v, int))
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1"><title>plangate demo</title>
<style>{_CSS}</style></head><body>
<h1>plangate demo: one day of the owner's inbox</h1>
<p class="lead">No model is configured, so each message's bundled worst-case plan was replayed as written
(for attacks: a planner that fully obeys the attacker). Every verdict names the rules that decided it; the
outcome is judged on the assistant's state afterwards, not on the verdict.</p>
<div class="totals">{tot}</div>
{''.join(cards)}
</body></html>
"""


def main(args: argparse.Namespace) -> int:
    """Run the demo, print it, write `args.json` / `args.html` (paths the caller checked)."""
    colour = sys.stdout.isatty()
    model = getattr(args, "model", None)
    models_file = getattr(args, "models", None)
    with tempfile.TemporaryDirectory(prefix="plangate-demo-") as tmp, contextlib.ExitStack() as stack:
        models, replay = None, None
        if model and model.startswith("scripted"):
            # The real client path (the openai SDK over HTTP) against a local scripted server
            # whose "model" answers with each message's bundled plan.
            from plangate.model import parse_models
            from plangate.model.testing import ScriptedModelServer

            replay = ReplayModel()
            server = stack.enter_context(ScriptedModelServer(replay))
            name = model.partition(":")[2] or "gpt-4o-mini"
            models = parse_models({"planner": {"provider": "openai", "model": name, "base_url": server.openai_url}})
            print(f"plangate demo: model {visible(name, 80)} on a local scripted server (the real OpenAI client "
                  "path) that answers with the bundled worst-case plans (attacks: the planner obeys the attacker).")
        elif model or models_file:
            from plangate.model.config import models_for

            models = models_for(model=model, base_url=getattr(args, "base_url", None), models_file=models_file)
            print(f"plangate demo: planner {visible(models.planner.label, 120)}; each message goes through it, "
                  "then the gate.")
        else:
            print("plangate demo: no model is configured, so the bundled worst-case plans are replayed "
                  "as written (attacks: the planner obeys the attacker).")
        print(LEGEND)
        db = args.db or str(Path(tmp) / "audit.db")
        rows = run_demo(db, Path(tmp) / "assistant",
                        progress=lambda i, n, row: print_row(i, n, row, colour), models=models, replay=replay)
        verified = AuditLog(db).verify()
        if models is not None:
            from plangate.audit.usage import UsageLog

            (spent,) = UsageLog(AuditLog(db)).summary() or [{"calls": 0, "tokens_in": 0, "tokens_out": 0,
                                                              "cost_usd": 0.0}]
            print(f"model calls: {spent['calls']}, tokens in {spent['tokens_in']}, out {spent['tokens_out']}, "
                  f"cost ${spent['cost_usd']:.6f}")
    data = totals(rows)
    print_table(rows, colour)
    print(f"\nbenign: {data['benign']} (auto-approved {data['benign_auto_approved']}, waiting for the "
          f"owner {data['benign_escalated']}, denied {data['benign_denied']}); attacks: {data['attacks']} "
          f"(succeeded {data['attacks_succeeded']}); audit log: "
          f"{'hash chain intact' if verified.ok else 'TAMPERED'} ({verified.events} events)")
    if args.json:
        Path(args.json).write_text(json.dumps({**data, "rows": [r.to_json() for r in rows]}, indent=2,
                                              ensure_ascii=False) + "\n", encoding="utf-8")
    if args.html:
        Path(args.html).write_text(html_report(rows, data), encoding="utf-8")
        print(f"HTML report: {args.html}")
    ok = data["attacks_succeeded"] == 0 and data["benign_denied"] == 0 and all(r.ok for r in rows)
    return 0 if ok and verified.ok else 1
