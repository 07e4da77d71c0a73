"""The AgentDyn world of the search: every injection task of shopping, github and dailylife.

    plangate bench search --suite agentdyn-shopping ...      # runs the child below
    python -m plangate.bench.search.agentdyn --src DIR/src [--suite S] [--sample N] [--seed N]
                                             [--budget-seconds S] [--json F] [--markdown F]

AgentDyn installs as `agentdojo` (the name of the wheel the AgentDojo world uses), so this
world runs only in a child process whose import path starts with the checkout's `src`
(`plangate.bench.agentdyn.checkout`). There `plangate.bench.agentdyn.gate.bind()` points the
AgentDojo bench's data seams at AgentDyn's plans, attack plans, policies and dynamic
extractor, and the AgentDojo world (`search.agentdojo.AgentDojoWorld`) runs unchanged on
them: goals are AgentDyn's injection tasks (targets from their ground truth, else the
committed attack plans), contexts its converted user tasks, judged by AgentDyn's own
`security()`.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from plangate.bench.search.agentdojo import AgentDojoWorld

#: `--suite` names of the AgentDyn suites in `plangate bench search`.
SUITES = ("agentdyn-shopping", "agentdyn-github", "agentdyn-dailylife")


class AgentDynWorld(AgentDojoWorld):
    """One AgentDyn suite (only inside the AgentDyn child)."""

    def __init__(self, suite: str, **kwargs: Any) -> None:
        from plangate.bench.agentdyn import gate

        gate.bind()
        super().__init__(suite, **kwargs)
        self.name = f"agentdyn/{suite}"

    def goal_calls(self, user_task: str, injection_task: str, env: Any) -> list[Any]:
        """The calls of the committed attack plan (`attacks_<suite>.json`): AgentDyn's
        `ground_truth` holds placeholders (an empty recipient, a token amount), not the calls
        its `security()` checks for, so the AgentDojo world's fallback is taken always."""
        task = self.rp.get_suite(self.suite).get_injection_task_by_id(injection_task)
        task.ground_truth = lambda _env: []  # this instance only, in this child process
        try:
            return super().goal_calls(user_task, injection_task, env)
        finally:
            del task.ground_truth


def run_child(suites: Sequence[str], args: Any) -> int:
    """`plangate bench search` for AgentDyn suites: the same search in the AgentDyn child."""
    from plangate.bench.agentdyn.checkout import child_environment, source_dir

    src = source_dir(getattr(args, "path", None))
    argv = [sys.executable, "-m", __name__, "--src", str(src)]
    for suite in suites:
        argv += ["--suite", suite.removeprefix("agentdyn-")]
    for flag, name in (("--sample", "sample"), ("--seed", "seed"), ("--budget-seconds", "budget_seconds"),
                       ("--json", "json"), ("--markdown", "markdown")):
        value = getattr(args, name, None)
        if value is not None:
            argv += [flag, str(value)]
    return subprocess.run(argv, env=child_environment(src), check=False).returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="bench search over AgentDyn (child process)")
    parser.add_argument("--src", required=True)
    parser.add_argument("--suite", action="append", choices=[s.removeprefix("agentdyn-") for s in SUITES])
    parser.add_argument("--sample", type=int)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--budget-seconds", type=float)
    parser.add_argument("--json")
    parser.add_argument("--markdown")
    args = parser.parse_args(argv)
    from plangate.bench.agentdyn.checkout import check_imported

    check_imported(Path(args.src).resolve())
    from plangate.bench.search import cli
    from plangate.bench.search.engine import Search, Settings

    suites = args.suite or [s.removeprefix("agentdyn-") for s in SUITES]
    settings = Settings(seed=args.seed, sample=args.sample, budget_seconds=args.budget_seconds)
    command = "plangate bench search" + "".join(f" --suite agentdyn-{s}" for s in suites)
    for flag, value in (("--sample", args.sample), ("--seed", args.seed or None),
                        ("--budget-seconds", args.budget_seconds)):
        if value is not None:
            command += f" {flag} {value}"
    t0 = time.perf_counter()
    worlds = [AgentDynWorld(s) for s in suites]
    results = Search(settings, progress=lambda m: print(m, flush=True)).run(worlds)
    data = cli.report(results, time.perf_counter() - t0, command, settings)
    print(cli.markdown(data))
    if args.json:
        Path(args.json).write_text(json.dumps(data, indent=1, ensure_ascii=False, default=str) + "\n",
                                   encoding="utf-8")
    if args.markdown:
        Path(args.markdown).write_text(cli.markdown(data), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
