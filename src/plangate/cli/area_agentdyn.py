"""Command line of the agentdyn area: `plangate bench agentdyn`.

AgentDyn installs as the package `agentdojo`, like the AgentDojo wheel `bench agentdojo`
uses, so the work runs in a child process whose import path starts with the AgentDyn
checkout's `src` (`plangate.bench.agentdyn.checkout`). Nothing is downloaded.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from typing import Any

from plangate.cli.parser import reports, sub_command

SUITES = ("shopping", "github", "dailylife")
#: The whole bench takes well under a minute; a child that runs this long is stuck.
TIMEOUT_SECONDS = 900


def add(*, top: Any, bench: Any, parents: dict[str, Any]) -> None:
    """Add `plangate bench agentdyn`."""
    ad = sub_command(
        bench, "agentdyn", "AgentDyn's new suites (shopping, github, dailylife) through the gate, model-free",
        "  plangate bench agentdyn --json agentdyn.json --markdown agentdyn.md", cmd_bench_agentdyn,
        more="Benign plans are oracle plans (AgentDyn's ground truth converted by hand); attacker plans are a "
             "fully hijacked planner's, one per injection task, judged by AgentDyn's own checks. Runs in a "
             "child process with the AgentDyn checkout first on the import path (it installs as `agentdojo`). "
             "Exit 1 if an attack lands without the owner being asked.")
    ad.add_argument("--path", metavar="DIR",
                    help="AgentDyn checkout [default: $PLANGATE_AGENTDYN, else ../shared/third_party/agentdyn]")
    ad.add_argument("--suite", action="append", metavar="NAME", choices=SUITES,
                    help="run only this suite (shopping, github, dailylife); repeatable")
    reports(ad, "write the figures and per-pair detail to FILE (same keys as bench agentdojo)",
            "write the report tables to FILE")


def cmd_bench_agentdyn(args: argparse.Namespace) -> int:
    import importlib.util

    from plangate.bench.agentdyn.checkout import child_environment, source_dir
    from plangate.cli.files import InputError, output_path

    output_path(args.json, "--json")
    output_path(getattr(args, "markdown", None), "--markdown")
    src = source_dir(args.path)
    if importlib.util.find_spec("pydantic") is None or importlib.util.find_spec("deepdiff") is None:
        raise InputError("bench agentdyn needs AgentDojo's libraries: pip install 'plangate[agentdojo]'")
    command = [sys.executable, "-m", "plangate.bench.agentdyn.run", "--src", str(src)]
    for suite in args.suite or []:
        command += ["--suite", suite]
    if args.json:
        command += ["--json", args.json]
    if getattr(args, "markdown", None):
        command += ["--markdown", args.markdown]
    try:
        done = subprocess.run(command, env=child_environment(src), timeout=TIMEOUT_SECONDS, check=False)
    except subprocess.TimeoutExpired:
        raise InputError(f"bench agentdyn: the AgentDyn child process ran over {TIMEOUT_SECONDS} s") from None
    if done.returncode not in (0, 1):  # 1: an attack landed unasked (the child said which)
        raise InputError(f"bench agentdyn: the AgentDyn child process failed (exit {done.returncode})")
    return done.returncode
