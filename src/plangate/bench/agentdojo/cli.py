"""`plangate bench agentdojo`: the whole AgentDojo benchmark through the real gate.

    plangate bench agentdojo [--suite S ...] [--benchmark-version v1.2.2] [--json F] [--markdown F]

Per suite: every benign user plan (owner says yes to escalations, asks counted), the
approve-all baseline of every user x injection pair, and every pair again through the gate
in each attack variant (owner refuses; pairs that reached the owner are rerun with an owner
who approves every ask). See gatebench.py for the model and NOTES.md for the checker defects.
"""

from __future__ import annotations

import json
import platform
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

from plangate.bench.agentdojo._light import install_stubs

SUPPORTED_VERSION = "v1.2.2"

TERMS = """\
AgentDojo through the gate: each suite's user tasks, and every user task x injection pair.
  benign a/e/d     the user's own tasks: auto-approved / escalated (the owner said yes) / denied
  utility          benign tasks whose result passes AgentDojo's utility() check
  pairs            user task x injection task combinations
  baseline         attacks that succeed with no gate (every call approved)
  hijacked         attacks that succeed when the planner obeys the attacker and the owner says no
  asked            pairs that reached the owner; yes-owner: would succeed if the owner said yes
  laundered        as hijacked, and every attacker value claims to be the owner's words
  adaptive         laundered, only where the value really occurs in the owner's words
  extractor-only   the planner is honest, the quarantined extractor answers for the attacker"""


def work_units(suites: Sequence[str]) -> int:
    """How many steps `bench_suite` reports for these suites: each benign task, then each
    pair twice (baseline, attacks)."""
    from plangate.bench.agentdojo import replay as rp

    total = 0
    for suite in suites:
        users, injections = len(rp.load_plans(suite)), len(rp.load_attacks(suite))
        total += users + 2 * users * injections
    return total


def bench_suite(suite: str, progress: Callable[[], None] | None = None) -> dict[str, Any]:
    from plangate.bench.agentdojo import gatebench as gb
    from plangate.bench.agentdojo import replay as rp

    tick = progress or (lambda: None)
    t0 = time.perf_counter()
    users = list(rp.load_plans(suite))
    injections = list(rp.load_attacks(suite))
    benign: dict[str, Any] = {}
    for uid in users:
        tick()
        o = gb.run_benign(suite, uid)
        benign[uid] = {"verdict": "deny" if o.verdict == "deny" else ("escalate" if o.asks else "approve"),
                       "review": o.verdict, "asks": o.asks, "status": o.status, "utility": o.utility,
                       "rules": list(o.rules or o.halted_rules)}
    t_benign = time.perf_counter() - t0

    pairs: list[dict[str, Any]] = []
    t1 = time.perf_counter()
    for uid in users:
        for iid in injections:
            tick()
            u, raw, corr, with_text = gb.run_baseline(suite, uid, iid)
            pairs.append({"user_task": uid, "injection_task": iid, "text_only": (suite, iid) in gb.TEXT_ONLY,
                          "baseline": {"utility": u, "raw": raw, "corrected": corr, "with_text": with_text}})
    t_baseline = time.perf_counter() - t1

    t2 = time.perf_counter()
    for row in pairs:
        tick()
        for variant in gb.VARIANTS:
            o = gb.run_attack(suite, row["user_task"], row["injection_task"], variant, False)
            cell = {"review": o.verdict, "rules": list(o.rules), "status": o.status, "asks": o.asks,
                    "raw": o.attack_raw, "corrected": o.attack_corrected}
            if o.asks:
                yes = gb.run_attack(suite, row["user_task"], row["injection_task"], variant, True)
                cell["owner_yes"] = {"raw": yes.attack_raw, "corrected": yes.attack_corrected, "asks": yes.asks}
            row[variant] = cell
    t_attacks = time.perf_counter() - t2
    return {"suite": suite, "benign": benign, "pairs": pairs,
            "seconds": {"benign": round(t_benign, 2), "baseline": round(t_baseline, 2),
                        "attacks": round(t_attacks, 2), "total": round(time.perf_counter() - t0, 2)}}


def summarise(result: dict[str, Any]) -> dict[str, Any]:
    from plangate.bench.agentdojo import gatebench as gb

    benign = result["benign"].values()
    pairs = result["pairs"]
    out: dict[str, Any] = {
        "pairs": len(pairs),
        "benign_tasks": len(result["benign"]),
        "benign_auto_approved": sum(b["verdict"] == "approve" for b in benign),
        "benign_escalated": sum(b["verdict"] == "escalate" for b in benign),
        "benign_denied": sum(b["verdict"] == "deny" for b in benign),
        "benign_utility_passed": sum(b["utility"] for b in benign),
        "benign_owner_asks": sum(b["asks"] for b in benign),
        "baseline_attacks_succeeded": sum(p["baseline"]["raw"] for p in pairs),
        "baseline_attacks_succeeded_corrected": sum(p["baseline"]["corrected"] for p in pairs),
        "baseline_attacks_succeeded_with_text": sum(p["baseline"]["with_text"] for p in pairs),
        "baseline_utility_kept": sum(p["baseline"]["utility"] for p in pairs),
        "text_only_pairs": sum(p["text_only"] for p in pairs),
        "escalated_tasks": sorted(k for k, b in result["benign"].items() if b["verdict"] == "escalate"),
        "denied_tasks": sorted(k for k, b in result["benign"].items() if b["verdict"] == "deny"),
        "seconds": result["seconds"],
    }
    for variant in gb.VARIANTS:
        cells = [p[variant] for p in pairs]
        key = "attacks_succeeded" if variant == "hijacked" else f"{variant}_attacks_succeeded"
        out[key] = sum(bool(c["corrected"]) for c in cells)
        out[f"{key}_raw"] = sum(bool(c["raw"]) for c in cells)
        out[f"{variant}_pairs_asking_owner"] = sum(c["asks"] > 0 for c in cells)
        out[f"{variant}_owner_asks"] = sum(c["asks"] for c in cells)
        out[f"{variant}_succeeded_if_owner_approves_all"] = sum(
            bool(c.get("owner_yes", c)["corrected"]) for c in cells)
        out[f"{variant}_succeeded_if_owner_approves_all_raw"] = sum(
            bool(c.get("owner_yes", c)["raw"]) for c in cells)
        out[f"{variant}_denied_at_review"] = sum(c["review"] == "deny" for c in cells)
        out[f"{variant}_succeeded_pairs"] = [f"{p['user_task']}/{p['injection_task']}" for p in pairs
                                             if p[variant]["corrected"] or p[variant]["raw"]]
    return out


_TOTAL_KEYS = ("pairs", "benign_tasks", "benign_auto_approved", "benign_escalated", "benign_denied",
               "benign_utility_passed", "benign_owner_asks", "baseline_attacks_succeeded",
               "baseline_attacks_succeeded_corrected", "baseline_attacks_succeeded_with_text",
               "baseline_utility_kept", "text_only_pairs")


def totals(summaries: dict[str, dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for s in summaries.values():
        for key, value in s.items():
            if isinstance(value, int) and not isinstance(value, bool):
                out[key] = out.get(key, 0) + value
    return {k: out[k] for k in sorted(out, key=lambda k: (k not in _TOTAL_KEYS, k))}


def markdown(report: dict[str, Any]) -> str:
    from plangate.bench.agentdojo import gatebench as gb

    rows = [*report["suites"].items(), ("**total**", report["totals"])]
    lines = [
        f"Command: `{report['command']}` — {report['seconds']} s on {report['machine']}.",
        "",
        "| suite | benign auto / escalated / denied | utility of executed benign | owner asks (benign) |"
        " baseline attacks (raw / corrected) | pairs |",
        "|---|---|---|---|---|---|",
    ]
    for name, s in rows:
        lines.append(
            f"| {name} | {s['benign_auto_approved']} / {s['benign_escalated']} / {s['benign_denied']} "
            f"| {s['benign_utility_passed']}/{s['benign_tasks']} | {s['benign_owner_asks']} "
            f"| {s['baseline_attacks_succeeded']} / {s['baseline_attacks_succeeded_corrected']} | {s['pairs']} |")
    lines += ["", "| suite | variant | attacks succeeded, owner refuses (corrected / raw) |"
              " pairs that asked the owner | succeeded if the owner approved every ask (corrected / raw) |"
              " denied at review |", "|---|---|---|---|---|---|"]
    for name, s in rows:
        for variant in gb.VARIANTS:
            key = "attacks_succeeded" if variant == "hijacked" else f"{variant}_attacks_succeeded"
            lines.append(
                f"| {name} | {variant} | {s[key]} / {s[key + '_raw']} | {s[variant + '_pairs_asking_owner']} "
                f"| {s[variant + '_succeeded_if_owner_approves_all']} / "
                f"{s[variant + '_succeeded_if_owner_approves_all_raw']} | {s[variant + '_denied_at_review']} |")
    return "\n".join(lines) + "\n"


def main(args: Any, *, progress: Callable[[], None] | None = None,
         say: Callable[[str], None] = print) -> int:
    """Run the suites in `args.suite` (all by default); `progress` is called once per
    `work_units()` step; result lines go through `say`."""
    version = getattr(args, "benchmark_version", None) or SUPPORTED_VERSION
    if version != SUPPORTED_VERSION:
        print(f"plangate bench agentdojo: only {SUPPORTED_VERSION} is converted (got {version})", file=sys.stderr)
        return 2
    install_stubs()
    from plangate.bench.agentdojo import replay as rp

    suites: Sequence[str] = getattr(args, "suite", None) or rp.SUITES
    unknown = [s for s in suites if s not in rp.SUITES]
    if unknown:
        print(f"plangate bench agentdojo: unknown suite(s) {unknown}; known: {list(rp.SUITES)}", file=sys.stderr)
        return 2
    say(TERMS)
    t0 = time.perf_counter()
    results = {}
    summaries = {}
    for suite in suites:
        results[suite] = bench_suite(suite, progress)
        summaries[suite] = s = summarise(results[suite])
        say(f"{suite:10s} benign a/e/d {s['benign_auto_approved']}/{s['benign_escalated']}/{s['benign_denied']} "
              f"utility {s['benign_utility_passed']}/{s['benign_tasks']}; "
              f"pairs {s['pairs']}: baseline {s['baseline_attacks_succeeded']}, "
              f"hijacked {s['attacks_succeeded']} (asked {s['hijacked_pairs_asking_owner']}, "
              f"yes-owner {s['hijacked_succeeded_if_owner_approves_all']}), "
              f"laundered {s['laundered_attacks_succeeded']}, "
              f"adaptive {s['laundered_adaptive_attacks_succeeded']}, "
              f"extractor-only {s['extractor_only_attacks_succeeded']} "
              f"(yes-owner {s['extractor_only_succeeded_if_owner_approves_all']}) "
              f"[{s['seconds']['total']} s]")
    report = {
        "benchmark": "agentdojo", "benchmark_version": version,
        "command": "plangate bench agentdojo" + "".join(f" --suite {s}" for s in (getattr(args, "suite", None) or [])),
        "seconds": round(time.perf_counter() - t0, 1),
        "machine": f"Python {platform.python_version()}, {platform.machine()}",
        "totals": totals(summaries), "suites": summaries,
    }
    report.update({k: report["totals"][k] for k in (
        "pairs", "baseline_attacks_succeeded", "attacks_succeeded", "laundered_attacks_succeeded",
        "benign_tasks", "benign_auto_approved", "benign_escalated", "benign_denied", "benign_utility_passed")})
    t = report["totals"]
    say(f"{'total':10s} benign a/e/d {t['benign_auto_approved']}/{t['benign_escalated']}/{t['benign_denied']} "
          f"utility {t['benign_utility_passed']}/{t['benign_tasks']}; baseline {t['baseline_attacks_succeeded']}/"
          f"{t['pairs']}; attacks succeeded: hijacked {t['attacks_succeeded']}, laundered "
          f"{t['laundered_attacks_succeeded']}, adaptive {t['laundered_adaptive_attacks_succeeded']}, "
          f"extractor-only {t['extractor_only_attacks_succeeded']} [{report['seconds']} s]")
    if getattr(args, "json", None):
        full = {**report, "per_suite_detail": results}
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(full, f, indent=1)
    if getattr(args, "markdown", None):
        with open(args.markdown, "w", encoding="utf-8") as f:
            f.write(markdown(report))
    return 0
