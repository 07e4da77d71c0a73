"""Command line of the incident area: `plangate bench incident` (IncidentBench).

`plangate demo --deployment incident` is routed by `plangate.cli.jobs.cmd_demo`.
"""

from __future__ import annotations

import argparse
from typing import Any

from plangate.cli.benchjobs import add_scenario_options
from plangate.cli.parser import sub_command


def add(*, top: Any, bench: Any, parents: dict[str, Any]) -> None:
    """Add `plangate bench incident`."""
    parser = sub_command(
        bench, "incident", "IncidentBench: the alert-triggered incident assistant against injections",
        "  plangate bench incident --json incident.json --markdown incident.md", cmd_bench_incident,
        more="Every scenario runs on a fresh simulated cluster (SQLite) behind the incident assistant's "
             "gate: signed Alertmanager webhooks through the deployment's intake, and on-call requests "
             "in the team chat. Judged on the cluster's and the channels' state. Attack plans are a "
             "hijacked planner's worst case, not a model's plans; a baseline run with every call "
             "allowed is in the same report. Seconds. Exit 1 if an attack succeeds or a benign task "
             "is denied or not completed.")
    add_scenario_options(parser)


def cmd_bench_incident(args: argparse.Namespace) -> int:
    from plangate.bench.incident import main
    from plangate.cli.benchjobs import run_scenario_bench

    return run_scenario_bench(args, "incident", main)
