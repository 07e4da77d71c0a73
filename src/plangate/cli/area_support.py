"""Command line of the support area: `plangate bench support` (SupportBench).

`plangate demo --deployment support` is routed by `plangate.cli.jobs.cmd_demo`.
"""

from __future__ import annotations

import argparse
from typing import Any

from plangate.cli.benchjobs import add_scenario_options
from plangate.cli.parser import sub_command


def add(*, top: Any, bench: Any, parents: dict[str, Any]) -> None:
    """Add `plangate bench support`."""
    parser = sub_command(
        bench, "support", "SupportBench: the support desk against benign tasks and attacks",
        "  plangate bench support --json support.json --markdown support.md", cmd_bench_support,
        more="Every scenario runs on a fresh database (SQLite in memory) behind the desk's gate and "
             "is judged on the state it leaves (replies, tickets, refunds, account changes, articles). "
             "Attack plans are a hijacked planner's worst case, not a model's plans. A few seconds. "
             "Exit 1 if an attack succeeds or a benign task is denied.")
    add_scenario_options(parser)


def cmd_bench_support(args: argparse.Namespace) -> int:
    from plangate.bench.support import main
    from plangate.cli.benchjobs import run_scenario_bench

    return run_scenario_bench(args, "support", main)
