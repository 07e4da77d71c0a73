"""`plangate bench perf`: how much time the gate adds, measured in one run.

Figures (microseconds, p50 and p99 over many iterations):

* static review of 5-, 20- and 100-step plans, with the decision cache cleared before
  each review so every Cedar decision is really made (`review_*`);
* the per-call runtime check as the executor does it: resolve arguments, build the facts,
  decide, with a cold cache (`check_*`) and a warm one (`check_warm_*`);
* one audit append to a SQLite file (`audit_append_*`);
* the baseline: one bare `cedarpy.is_authorized` call on a prepared request against the
  same compiled policy (`baseline_cedar_*`), so the overhead shows as a ratio.
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from plangate.audit import AuditLog
from plangate.plan.codec import check_plan, parse_plan
from plangate.policy import CompiledPolicy, load_policy
from plangate.review.flow import FlowContext, Resolved
from plangate.review.reviewer import deployment_of, plan_bounds, review_checked
from plangate.trigger import classify, parse_trigger

POLICY = Path(__file__).resolve().parent / "perf_policy.yaml"


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return statistics.median(ordered), p99


def _time(fn: Callable[[], Any], iterations: int, *, before: Callable[[], None] | None = None
          ) -> tuple[float, float]:
    for _ in range(min(50, iterations)):  # warm up imports, caches of Python itself
        if before:
            before()
        fn()
    samples = []
    for _ in range(iterations):
        if before:
            before()
        t0 = time.perf_counter_ns()
        fn()
        samples.append((time.perf_counter_ns() - t0) / 1000)
    return _percentiles(samples)


def make_plan(steps: int) -> dict[str, Any]:
    """A realistic owner plan: reads, extractions, writes and sends in a repeating mix."""
    out: list[dict[str, Any]] = []
    i = 0
    while len(out) < steps:
        n = len(out)
        kind = i % 5
        if kind == 0:
            out.append({"id": f"s{n}", "tool": "mail_search",
                        "args": {"query": {"literal": f"invoice {i}", "origin": "planner"}}})
        elif kind == 1:
            out.append({"id": f"s{n}", "tool": "file_read",
                        "args": {"path": {"literal": f"reports/r{i}.md", "origin": "planner"}}})
        elif kind == 2:
            out.append({"id": f"s{n}", "tool": "file_write",
                        "args": {"path": {"literal": f"notes/n{i}.md", "origin": "planner"},
                                 "content": {"ref": f"s{n - 1}"}}})
        elif kind == 3:
            out.append({"id": f"s{n}", "tool": "calendar_hold",
                        "args": {"title": {"literal": f"focus {i}", "origin": "planner"},
                                 "start": {"literal": "2026-12-01T09:00", "origin": "planner"},
                                 "end": {"literal": "2026-12-01T10:00", "origin": "planner"}}})
        else:
            out.append({"id": f"s{n}", "tool": "notify_owner",
                        "args": {"text": {"concat": [{"literal": "done: ", "origin": "planner"},
                                                     {"ref": f"s{n - 3}"}]}}})
        i += 1
    return {"version": 1, "steps": out[:steps]}


OWNER_TRIGGER = {"channel": "chat", "principal": "owner@home.example",
                 "evidence": {"paired": True}, "payload": "tidy up my week"}


STAGES = 7
"""How many times `run` calls its `progress`: three reviews, two checks, baseline, audit."""


def run(iterations: int, progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Every figure; `progress(stage)` is called after each of the `STAGES` stages."""
    done = progress or (lambda stage: None)
    policy: CompiledPolicy = load_policy(POLICY)
    deployment = deployment_of(policy)
    classified = classify(parse_trigger(OWNER_TRIGGER), deployment)
    figures: dict[str, Any] = {}

    clear = policy.clear_cache

    verdicts = {}
    for n in (5, 20, 100):
        checked = check_plan(parse_plan(make_plan(n)), policy.catalog)
        result = review_checked(classified, checked, policy, deployment)
        verdicts[n] = result.verdict
        its = max(50, iterations // (n // 5))
        def one(c: Any = checked) -> None:
            review_checked(classified, c, policy, deployment)

        p50, p99 = _time(one, its, before=clear)
        suffix = "" if n == 20 else f"_{n}"
        figures[f"review{suffix}_p50_us"] = round(p50, 1)
        figures[f"review{suffix}_p99_us"] = round(p99, 1)
        done(f"review of a {n}-step plan")
    figures["review_verdicts"] = verdicts

    # The per-call runtime check: one concrete notify_owner carrying a private file.
    checked = check_plan(parse_plan(make_plan(5)), policy.catalog)
    flow = FlowContext(classified, deployment)
    bounds = plan_bounds(checked, policy.catalog)
    spec = policy.catalog.tools["mail_send"]
    step_args = {"to": {"list": [{"literal": "colleague@home.example", "origin": "planner"}]},
                 "subject": {"literal": "weekly report", "origin": "planner"},
                 "body": {"ref": "s1"}}
    parsed_args = parse_plan({"steps": [{"id": "x", "tool": "mail_send", "args": step_args}]}
                             ).steps[0].args  # type: ignore[union-attr]
    env = {"s1": Resolved("the weekly numbers: 42", policy.catalog.tools["file_read"].output_label)}

    def check() -> None:
        args = {name: flow.resolve(arg, env) for name, arg in parsed_args.items()}
        facts = flow.call_facts(spec=spec, args=args, request_type="any", bounds=bounds,
                                executes_tainted=False)
        policy.decide(facts)

    figures["check_p50_us"], figures["check_p99_us"] = (
        round(x, 1) for x in _time(check, iterations, before=clear))
    done("per-call check")
    figures["check_warm_p50_us"], figures["check_warm_p99_us"] = (
        round(x, 1) for x in _time(check, iterations))
    done("per-call check, warm cache")

    # Baseline: the bare policy engine on the same, already prepared request.
    args = {name: flow.resolve(arg, env) for name, arg in parsed_args.items()}
    request = policy.cedar_request(flow.call_facts(spec=spec, args=args, request_type="any",
                                                   bounds=bounds, executes_tainted=False))
    figures["baseline_cedar_p50_us"], figures["baseline_cedar_p99_us"] = (
        round(x, 1) for x in _time(lambda: policy.bare_decision(request), iterations))
    done("bare Cedar decision")

    with tempfile.TemporaryDirectory() as tmp:
        log = AuditLog(Path(tmp) / "audit.db")
        payload = {"step": "s3", "tool": "mail_send", "verdict": "approve", "rules": ["owner"],
                   "args": {"to": ["colleague@home.example"], "subject": "weekly report"}}
        figures["audit_append_p50_us"], figures["audit_append_p99_us"] = (
            round(x, 1) for x in _time(lambda: log.append("call", "run_bench", payload),
                                       min(iterations, 2000)))
        log.close()
    done("audit append")

    base = figures["baseline_cedar_p50_us"]
    figures["ratio_check_to_baseline"] = round(figures["check_p50_us"] / base, 2)
    figures["ratio_review20_to_baseline"] = round(figures["review_p50_us"] / base, 2)
    figures["goals"] = {"review_p50_us<=1000": figures["review_p50_us"] <= 1000,
                        "check_p50_us<=100": figures["check_p50_us"] <= 100}
    figures["iterations"] = iterations
    return figures


_ROWS = (("review", "review of a 5-step plan", "review_5"),
         ("review", "review of a 20-step plan", "review"),
         ("review", "review of a 100-step plan", "review_100"),
         ("check", "per-call check, cold decision cache", "check"),
         ("check", "per-call check, warm decision cache", "check_warm"),
         ("baseline", "one bare Cedar decision (baseline)", "baseline_cedar"),
         ("audit", "one audit append (SQLite)", "audit_append"))


def report(figures: dict[str, Any]) -> list[str]:
    """The figures as a table a person reads: what was timed, p50 and p99, the goals."""
    width = max(len(label) for _, label, _ in _ROWS)
    lines = [f"{'what (microseconds)':<{width}}  {'p50':>9}  {'p99':>9}"]
    for _, label, key in _ROWS:
        lines.append(f"{label:<{width}}  {figures[key + '_p50_us']:>9.1f}  {figures[key + '_p99_us']:>9.1f}")
    verdicts = ", ".join(f"{n} steps {v}" for n, v in figures["review_verdicts"].items())
    lines += ["",
              f"verdicts of the timed plans: {verdicts}",
              f"per-call check / bare Cedar decision: {figures['ratio_check_to_baseline']}x; "
              f"20-step review / bare decision: {figures['ratio_review20_to_baseline']}x"]
    for goal, met in figures["goals"].items():
        name, _, limit = goal.partition("<=")
        lines.append(f"goal {name.removesuffix('_us')} <= {limit} us: {'met' if met else 'MISSED'} "
                     f"({figures[name]} us)")
    lines.append(f"({figures['iterations']} iterations per figure; p50 = median, p99 = 99th percentile)")
    return lines


def main(*, json_path: str | None = None, quick: bool = False,
         progress: Callable[[str], None] | None = None, say: Callable[[str], None] = print) -> int:
    """Run, print the table (through `say`), write the figures as JSON. Exit 0 even if a
    goal is missed: the figures depend on the machine; the table says MISSED."""
    figures = run(300 if quick else 3000, progress)
    say("\n".join(report(figures)))
    if json_path:
        Path(json_path).write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return 0
