"""The AgentDyn bench, run inside the AgentDyn child process.

    python -m plangate.bench.agentdyn.run --src DIR/src [--suite S ...] [--json F] [--markdown F]

`plangate bench agentdyn` starts this with AgentDyn's `src` first on the import path
(`checkout.child_environment`); it refuses to run if `agentdojo` resolves anywhere else.
Per suite it runs what `plangate bench agentdojo` runs (its `bench_suite`, `summarise`,
`totals` and `markdown`, unchanged): every benign oracle plan, the approve-all baseline of
every user x injection pair, and every pair through the gate in each attack variant.
The report has the same keys as `bench agentdojo`'s.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path
from typing import Any

from plangate.bench.agentdyn.checkout import check_imported

HEADER = """\
AgentDyn through the gate (model-free; benign plans are oracle plans converted by hand from
AgentDyn's ground truth, attacker plans are written from each injection task's goal and check)."""


def _line(name: str, s: dict[str, Any]) -> str:
    return (f"{name:10s} benign a/e/d {s['benign_auto_approved']}/{s['benign_escalated']}/{s['benign_denied']} "
            f"utility {s['benign_utility_passed']}/{s['benign_tasks']}; pairs {s['pairs']}: "
            f"baseline {s['baseline_attacks_succeeded']}, hijacked {s['attacks_succeeded']} "
            f"(asked {s['hijacked_pairs_asking_owner']}, yes-owner {s['hijacked_succeeded_if_owner_approves_all']}), "
            f"laundered {s['laundered_attacks_succeeded']}, adaptive {s['laundered_adaptive_attacks_succeeded']}, "
            f"extractor-only {s['extractor_only_attacks_succeeded']}")


def run(suites: list[str], *, path_label: str, limit_users: int | None = None) -> dict[str, Any]:
    """Bench `suites`; `limit_users` keeps only the first N user tasks of each (CI)."""
    from plangate.bench.agentdojo import cli as adcli
    from plangate.bench.agentdojo import replay as rp
    from plangate.bench.agentdyn import gate

    gate.bind()
    if limit_users is not None:
        _limit(limit_users)
    t0 = time.perf_counter()
    results: dict[str, Any] = {}
    summaries: dict[str, Any] = {}
    for suite in suites:
        results[suite] = adcli.bench_suite(suite)
        summaries[suite] = s = adcli.summarise(results[suite])
        print(_line(suite, s) + f" [{s['seconds']['total']} s]", flush=True)
    report: dict[str, Any] = {
        "benchmark": "agentdyn", "benchmark_version": rp.BENCHMARK_VERSION,
        "agentdyn_path": path_label,
        "command": "plangate bench agentdyn" + "".join(f" --suite {s}" for s in suites if suites != list(gate.SUITES)),
        "seconds": round(time.perf_counter() - t0, 1),
        "machine": f"Python {platform.python_version()}, {platform.machine()}",
        "oracle_plans": True,
        "not_converted": _not_converted(suites),
        "totals": adcli.totals(summaries), "suites": summaries,
    }
    report.update({k: report["totals"][k] for k in (
        "pairs", "baseline_attacks_succeeded", "attacks_succeeded", "laundered_attacks_succeeded",
        "benign_tasks", "benign_auto_approved", "benign_escalated", "benign_denied", "benign_utility_passed")})
    report["per_suite_detail"] = results
    print(_line("total", report["totals"]) + f" [{report['seconds']} s]", flush=True)
    return report


def _not_converted(suites: list[str]) -> dict[str, dict[str, str]]:
    """User tasks without an oracle plan, with the reason (from `oracle_<suite>.NOT_CONVERTED`)."""
    import importlib

    return {s: dict(importlib.import_module(f"plangate.bench.agentdyn.oracle_{s}").NOT_CONVERTED) for s in suites}


def _limit(n: int) -> None:
    from plangate.bench.agentdojo import replay as rp
    from plangate.bench.agentdyn import gate

    full = rp.load_plans

    def first(suite: str) -> dict[str, Any]:
        plans = full(suite)
        return dict(list(plans.items())[:n]) if suite in gate.SUITES else plans

    rp.load_plans = first  # type: ignore[assignment]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="AgentDyn bench (child process)")
    parser.add_argument("--src", required=True)
    parser.add_argument("--suite", action="append")
    parser.add_argument("--json")
    parser.add_argument("--markdown")
    parser.add_argument("--limit-users", type=int)
    args = parser.parse_args(argv)
    src = Path(args.src).resolve()
    check_imported(src)
    from plangate.bench.agentdojo import cli as adcli
    from plangate.bench.agentdojo._light import install_stubs
    from plangate.bench.agentdyn import gate

    install_stubs()
    suites = args.suite or list(gate.SUITES)
    # The terms are those of `bench agentdojo` (same runs, same keys) under AgentDyn's header.
    print(HEADER + "\n" + adcli.TERMS.split("\n", 1)[1], flush=True)
    report = run(suites, path_label=str(src.parent), limit_users=args.limit_users)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1), encoding="utf-8")
    if args.markdown:
        Path(args.markdown).write_text(adcli.markdown(report), encoding="utf-8")
    landed = sum(report["totals"][k] for k in ATTACK_KEYS)
    return 1 if landed else 0


#: Attacks that landed with an owner who refuses every ask, per variant (corrected counts).
ATTACK_KEYS = ("attacks_succeeded", "laundered_attacks_succeeded", "laundered_adaptive_attacks_succeeded",
               "extractor_only_attacks_succeeded")


if __name__ == "__main__":
    sys.exit(main())
