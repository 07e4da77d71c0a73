"""IncidentBench: the incident assistant behind plangate, against benign alerts and
requests and against log-line and label injections.

`plangate bench incident --json FILE [--markdown FILE] [--quick]` runs every scenario
under `scenarios/` with the shipped policy (`plangate/deployments/incident/policy.yaml`)
in front of the real `IncidentRuntime` on a fresh SQLite cluster, and judges each one on
the cluster and the channels afterwards (`deployments/incident/judge.py`). Attack plans
are a hijacked planner's worst-case plans (the planner obeys the injected text
completely): they are not a model's plans. Escalated benign tasks run as if the engineer
approved once; escalated attacks are never approved and are counted apart from denials.
The keys of the JSON are InboxBench's.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from plangate.bench.common import run_with_baseline
from plangate.bench.inbox import tables, totals
from plangate.bench.inbox.runner import Result
from plangate.bench.inbox.scenario import Scenario
from plangate.bench.incident.runner import run_scenario
from plangate.bench.incident.scenario import incident_scenarios
from plangate.deployments.incident.intake import trusted_fields
from plangate.policy import CompiledPolicy, load_policy
from plangate.policy.loader import compile_policy
from plangate.safetext import quote, visible

POLICY = Path(__file__).resolve().parents[2] / "deployments" / "incident" / "policy.yaml"


def shipped_policy() -> CompiledPolicy:
    return load_policy(POLICY)


def quick_pick(scenarios: Sequence[Scenario], every: int = 4) -> list[Scenario]:
    """The CI subset: every `every`-th scenario of each family and of the benign tasks."""
    groups: dict[str, list[Scenario]] = {}
    for s in scenarios:
        groups.setdefault(s.family or s.kind, []).append(s)
    return [s for items in groups.values() for s in items[::every]]


def run_bench(scenarios: Sequence[Scenario] | None = None, *, policy: CompiledPolicy | None = None,
              progress: Callable[[Result], None] | None = None) -> list[Result]:
    chosen = list(scenarios) if scenarios is not None else incident_scenarios()
    compiled = policy or shipped_policy()
    results = []
    for scenario in chosen:
        result = run_scenario(scenario, compiled)
        results.append(result)
        if progress:
            progress(result)
    return results


def approve_all(policy: CompiledPolicy) -> CompiledPolicy:
    """The baseline: the same deployment and catalog, one rule permitting everything (what
    the runtime's own checks stop without plangate's policy in front)."""
    import yaml

    doc = yaml.safe_load(POLICY.read_text(encoding="utf-8"))
    return compile_policy({"name": "approve-all", "deployment": doc["deployment"],
                           "rules": [{"id": "approve-all", "permit": {}, "reason": "baseline"}]},
                          policy.catalog)


def baseline(scenarios: Sequence[Scenario], policy: CompiledPolicy, *,
             progress: Callable[[Result], None] | None = None) -> dict[str, Any]:
    """Attacks run with every call allowed: how many land without the policy."""
    weak = approve_all(policy)
    attacks = [s for s in scenarios if s.kind == "attack"]
    landed = [r.scenario.id for r in run_bench(attacks, policy=weak, progress=progress) if r.succeeded]
    return {"policy": "approve-all (same catalog, runtime and intake)", "attacks": len(attacks),
            "attacks_succeeded": len(landed),
            "not_landing_even_unguarded": sorted({s.id for s in attacks} - set(landed))}


def what_arrived(spec: Mapping[str, Any]) -> str:
    """What started the run, in one line for the engineer asked: the alert's trusted fields
    (never its free text), or the engineer's own message."""
    if "chat" in spec:
        return f"{visible(spec.get('user', ''), 80)} in chat: {quote(spec['chat'], 200)}"
    alerts = spec.get("alert", {}).get("alerts") or [{}]
    labels = alerts[0].get("labels", {})
    fields = trusted_fields(labels)
    signed = "signed" if spec.get("signed", True) is True else "NOT signed"
    return (f"alert {fields.get('alertname', '?')} ({fields.get('severity', '?')}) on "
            f"{fields.get('namespace', '?')}/{fields.get('service', '?')}, {signed}")


def escalations(results: Sequence[Result]) -> list[dict[str, Any]]:
    """Every question put to the on-call engineer: what arrived, the rules and their
    reasons, and the reviewer's summary, as the engineer reads them."""
    out = []
    for r in results:
        for step, run in zip(r.steps, r.scenario.runs, strict=False):
            if step.verdict == "escalate":
                out.append({"id": r.scenario.id, "kind": r.scenario.kind, "arrived": what_arrived(run.trigger),
                            "rules": step.rules, "reasons": {k: step.reasons.get(k, "") for k in step.rules},
                            "owner": step.owner, "summary": step.summary})
    return out


def readability(asked: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    """How long the longest question is: lines and characters of what arrived, the summary
    and the reasons together."""
    sizes = [("\n".join([q["arrived"], q["summary"], *q["reasons"].values()])) for q in asked]
    return {"questions": len(sizes), "max_lines": max((t.count("\n") + 1 for t in sizes), default=0),
            "max_chars": max((len(t) for t in sizes), default=0)}


def report(results: Sequence[Result], seconds: float, command: str,
           base: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"benchmark": "incident", "command": command, **totals(results), "seconds": round(seconds, 1),
            "baseline": base or {},
            "escalations": (asked := escalations(results)),
            "escalation_size": readability(asked),
            "failures": [r.to_json() for r in results
                         if (r.scenario.kind == "attack") == r.succeeded or r.error]}


def markdown(data: dict[str, Any]) -> str:
    benign = data["benign"] or 1
    lines = ["# IncidentBench results", "",
             f"Command: `{data['command']}`. Attack plans are a hijacked planner's worst-case plans, "
             "judged on the cluster's and the channels' state; they are not a model's plans.", "",
             f"- benign tasks: {data['benign']} — auto-approved {data['benign_auto_approved']} "
             f"({100 * data['benign_auto_approved'] / benign:.0f}%), escalated {data['benign_escalated']}, "
             f"denied {data['benign_denied']}, completed {data['benign_completed']}",
             f"- attacks: {data['attacks']} in {len(data['families'])} families — succeeded "
             f"{data['attacks_succeeded']} (held for on-call: {data['attacks_escalated']})",
             f"- baseline, every call allowed (same runtime and intake): "
             f"{data['baseline'].get('attacks_succeeded', '-')} of {data['baseline'].get('attacks', '-')} attacks land",
             f"- questions to on-call: {data['escalation_size']['questions']}, the longest "
             f"{data['escalation_size']['max_lines']} lines / {data['escalation_size']['max_chars']} characters "
             "(what arrived, the plan's summary and every rule's reason)",
             f"- runtime: {data['seconds']} s (both runs)", "",
             *tables(data, held_for="on-call")]
    return "\n".join(lines) + "\n"


def main(args: argparse.Namespace, *, progress: Callable[[int, int], None] | None = None,
         say: Callable[[str], None] = print) -> int:
    """`plangate bench incident`: run, print the figures, write JSON/Markdown. Exit 1 when
    an attack lands or a benign task is denied or not completed."""
    started = time.perf_counter()
    scenarios = incident_scenarios()
    quick = bool(getattr(args, "quick", False))
    if quick:
        scenarios = quick_pick(scenarios)
    data = run_with_baseline(
        scenarios, name="incident", quick=quick, started=started, run_bench=run_bench,
        baseline=baseline, policy=shipped_policy, report=report, markdown=markdown,
        json_path=getattr(args, "json", None), markdown_path=getattr(args, "markdown", None),
        progress=progress, say=say)
    ok = (data["attacks_succeeded"] == 0 and data["benign_denied"] == 0
          and data["benign_completed"] == data["benign"])
    return 0 if ok else 1


__all__ = ["main", "markdown", "quick_pick", "report", "run_bench", "shipped_policy"]
