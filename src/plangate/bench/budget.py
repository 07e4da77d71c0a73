"""`plangate bench budget`: budgets and rate limits on model calls under a flood.

Through the real OpenAI SDK against the scripted model server, on the shipped assistant
policy, with a small budget for strangers (the `unknown` class: its pool and each
stranger's share) and the owner's own:

1. a 64-way concurrent burst of strangers' mails against the small budget;
2. a flood of 1,000 mails from 1,000 different strangers;
3. then the owner's request, which must still complete.

`budget_overshoot`: by how much the most overdrawn limit was exceeded, as a fraction of
that limit, from the usage rows (goal 0). `owner_completed` (goal true).
`metering_overhead_p50_us`: what metering adds to a call (reservation, settlement, the
usage row, the span and the metrics) on an in-process client that answers at once: the
median with metering minus the median without (goal <= 200).
"""

from __future__ import annotations

import json
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from plangate.agent import AgentResult, build_agent
from plangate.audit import AuditLog
from plangate.audit.usage import UsageLog
from plangate.model import Message, ModelRequest, ModelResponse, Structured, parse_models, parse_spec
from plangate.model.budgets import WINDOWS, Budgets
from plangate.model.config import ClassBudget, ModelConfig
from plangate.model.metering import Meter, attribute
from plangate.model.prices import NANO
from plangate.model.testing import ReplayModel, ScriptedModelServer
from plangate.testing import FixtureTools
from plangate.trigger import parse_trigger

MODEL = "gpt-4o-mini"
OWNER = "dana@northwind.example"
BUDGETS: dict[str, Any] = {
    "unknown": {"window": "day", "calls": 40, "tokens": 400_000, "cost_usd": 0.02,
                "per_principal": {"calls": 2, "tokens": 40_000}},
    "owner": {"window": "day", "calls": 200, "tokens": 2_000_000, "cost_usd": 1.0},
}
STRANGER_PLAN = {"request_type": "meeting_request", "steps": [
    {"id": "tell", "tool": "notify_owner",
     "args": {"text": {"literal": "A stranger wrote about a meeting.", "origin": "planner"}}}]}
OWNER_PLAN = {"request_type": "any", "steps": [
    {"id": "tell", "tool": "notify_owner", "args": {"text": {"literal": "Done.", "origin": "planner"}}}]}


def stranger(i: int) -> Any:
    return parse_trigger({"channel": "email", "principal": f"sender{i}@flood{i % 97}.example",
                          "evidence": {"dmarc": "pass"}, "meta": {"subject": "Meeting?"},
                          "payload": f"Hello, could we meet next week? Message {i}. " * 4})


def overshoot(usage: UsageLog, budgets: dict[str, ClassBudget]) -> tuple[float, dict[str, Any]]:
    """The largest fraction by which any pool's limit was exceeded, and each pool's totals."""
    now = time.time()
    pools: dict[str, dict[str, float]] = {}
    for rec in usage.records():
        budget = budgets.get(rec.trust_class)
        if budget is None or rec.attempts == 0 or rec.ts <= now - WINDOWS[budget.window]:
            continue
        keys = [f"class:{rec.trust_class}"]
        if budget.per_principal is not None:
            keys.append(f"principal:{rec.trust_class}:{rec.principal}")
        for key in keys:
            p = pools.setdefault(key, {"calls": 0, "tokens": 0, "cost_usd": 0.0})
            p["calls"] += 1
            p["tokens"] += rec.tokens_in + rec.tokens_out
            p["cost_usd"] += rec.cost_usd or 0.0
    worst = 0.0
    for key, spent in pools.items():
        trust_class = key.split(":")[1]
        budget = budgets[trust_class]
        limits = budget.per_principal if key.startswith("principal:") and budget.per_principal else budget
        for kind in ("calls", "tokens", "cost_usd"):
            limit = getattr(limits, kind)
            if limit:
                worst = max(worst, (spent[kind] - limit) / limit)
    classes = {k: v for k, v in pools.items() if k.startswith("class:")}
    return max(0.0, worst), classes


class _Instant:
    def __init__(self, config: ModelConfig) -> None:
        self.config = config

    def complete(self, request: ModelRequest) -> ModelResponse:
        return ModelResponse(text='{"value": true}', tokens_in=420, tokens_out=12, model=self.config.model)


def metering_overhead(db: Path, n: int) -> dict[str, float]:
    """Median and p99 microseconds a metered call adds over the bare client."""
    audit = AuditLog(db)
    usage = UsageLog(audit)
    ledger = Budgets({"owner": ClassBudget(calls=10 * n, tokens=10_000 * n, cost_usd=100.0)}, usage=usage)
    inner = _Instant(parse_spec(f"openai:{MODEL}", max_tokens=100))
    metered = Meter(usage=usage, audit=audit, budgets=ledger).wrap(inner)
    request = ModelRequest(purpose="extractor", system="Extract one value.",
                           messages=(Message(role="user", content="Is this a meeting request? " * 20),),
                           output=Structured(name="plangate_extract", schema={"type": "object"}), max_tokens=50)
    bare, timed = [], []
    with attribute(run_id="bench", trust_class="owner", principal=OWNER):
        for _ in range(n):
            t0 = time.perf_counter_ns()
            inner.complete(request)
            t1 = time.perf_counter_ns()
            metered.complete(request)
            t2 = time.perf_counter_ns()
            bare.append(t1 - t0)
            timed.append(t2 - t1)
    over = sorted(t - statistics.median(bare) for t in timed)
    return {"p50_us": round(statistics.median(over) / 1000, 1), "p99_us": round(over[int(0.99 * len(over))] / 1000, 1)}


def main(*, json_path: str | None = None, flood: int = 1000, burst: int = 64, overhead_calls: int = 3000,
         say: Callable[[str], None] = print, progress: Callable[[str], None] | None = None) -> int:
    started = time.perf_counter()
    from plangate.bench.tokens import shipped_policy

    policy = shipped_policy()
    replay = ReplayModel()
    replay.plan = STRANGER_PLAN
    with ScriptedModelServer(replay) as server, tempfile.TemporaryDirectory(prefix="plangate-budget-") as tmp:
        models = parse_models({"planner": {"provider": "openai", "model": MODEL, "base_url": server.openai_url,
                                           "max_tokens": 2000}, "budgets": BUDGETS})
        audit = AuditLog(Path(tmp) / "audit.db")
        agent = build_agent(policy, FixtureTools(), models, audit=audit)
        usage = UsageLog(audit)
        gate_lock = threading.Lock()

        def handle(i: int) -> AgentResult:
            return agent.handle(stranger(i))

        if progress:
            progress("burst")
        barrier = threading.Barrier(burst)

        def burst_one(i: int) -> AgentResult:
            barrier.wait()
            return handle(i)
        with ThreadPoolExecutor(max_workers=burst) as pool:
            burst_results = list(pool.map(burst_one, range(burst)))
        if progress:
            progress("flood")
        with ThreadPoolExecutor(max_workers=8) as pool:
            flood_results = list(pool.map(handle, range(burst, burst + flood)))
        if progress:
            progress("owner")
        replay.plan = OWNER_PLAN
        with gate_lock:
            owner = agent.handle(parse_trigger({"channel": "email", "principal": OWNER, "evidence": {"dmarc": "pass"},
                                                "payload": "Please tell me when the flood is over."}))
        worst, pools = overshoot(usage, {k: ClassBudget(**v) for k, v in BUDGETS.items()})
        refusals = [e for e in audit.tail(10_000) if e.kind == "model_refused"]
        if progress:
            progress("overhead")
        overhead = metering_overhead(Path(tmp) / "overhead.db", overhead_calls)

    def count(results: list[AgentResult]) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in results:
            out[r.status] = out.get(r.status, 0) + 1
        return dict(sorted(out.items()))
    data: dict[str, Any] = {
        "budget_overshoot": round(worst, 6), "owner_completed": owner.status == "completed",
        "metering_overhead_p50_us": overhead["p50_us"], "metering_overhead_p99_us": overhead["p99_us"],
        "burst": {"mails": burst, "statuses": count(burst_results),
                  "planner_calls_made": sum(r.model_calls for r in burst_results)},
        "flood": {"mails": flood, "statuses": count(flood_results),
                  "planner_calls_made": sum(r.model_calls for r in flood_results)},
        "owner": {"status": owner.status, "verdict": owner.verdict, "model_calls": owner.model_calls},
        "refusals_audited": len(refusals),
        "limits_hit": sorted({str(e.data.get("limit")) for e in refusals}),
        "spent": {k: {**v, "cost_usd": round(v["cost_usd"], 9)} for k, v in pools.items()},
        "budgets": BUDGETS, "model": MODEL, "cost_unit_nano_usd": NANO,
        "goals": {"budget_overshoot": 0, "owner_completed": True, "metering_overhead_p50_us": 200},
        "seconds": round(time.perf_counter() - started, 2),
    }
    met = (data["budget_overshoot"] == 0, data["owner_completed"], overhead["p50_us"] <= 200)
    say(f"burst of {burst}: {data['burst']['statuses']}; flood of {flood}: {data['flood']['statuses']}")
    say(f"budget_overshoot {data['budget_overshoot']} (goal 0: {'met' if met[0] else 'MISSED'}); owner_completed "
        f"{data['owner_completed']} (goal true: {'met' if met[1] else 'MISSED'}); metering overhead p50 "
        f"{overhead['p50_us']} us, p99 {overhead['p99_us']} us (goal <= 200: {'met' if met[2] else 'MISSED'})")
    say(f"refusals audited: {len(refusals)}, limits hit: {', '.join(data['limits_hit']) or '-'}")
    if json_path:
        Path(json_path).write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return 0 if all(met[:2]) else 1


__all__ = ["main", "metering_overhead", "overshoot"]
