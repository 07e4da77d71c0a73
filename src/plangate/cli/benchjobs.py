"""Shared running of a scenario bench (`plangate bench support`, `bench incident`)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from plangate.cli.parser import reports

BenchMain = Callable[..., int]


def add_scenario_options(parser: Any) -> None:
    """The options every scenario bench takes: `--json`, `--markdown`, `--quick`."""
    reports(parser, "write the figures to FILE as JSON", "write a Markdown report to FILE")
    parser.add_argument("--quick", action="store_true",
                        help="every fourth scenario of each family (what CI runs)")


def run_scenario_bench(args: argparse.Namespace, name: str, main: BenchMain) -> int:
    """Check the report paths, then run `main(args, progress=, say=)` under a progress bar."""
    from plangate.cli.files import output_path
    from plangate.cli.progress import Progress

    output_path(args.json, "--json")
    output_path(getattr(args, "markdown", None), "--markdown")
    bar = Progress(f"bench {name}", unit="scenarios")

    def tick(done: int, total: int) -> None:
        bar.total = total
        bar.step()

    code = main(args, progress=tick, say=bar.echo)
    bar.finish()
    return code
