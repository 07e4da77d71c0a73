"""The command-line parts of the areas above the core: deployments, fronts, their benches.

Each area owns one module here with `add(top, bench, parents)`, which adds its
subcommands to `plangate` (`top`) and to `plangate bench` (`bench`) with
`parser.sub_command` and sets each one's function. Modules import only the command
line at import time; the work is imported when a command runs, so `plangate --help`
stays fast.
"""

from __future__ import annotations

import importlib
from typing import Any

AREAS = (
    "plangate.cli.area_support",
    "plangate.cli.area_incident",
    "plangate.cli.area_agentdyn",
    "plangate.cli.area_mcp",
    "plangate.cli.area_claude_code",
)


def add_areas(*, top: Any, bench: Any, parents: dict[str, Any]) -> None:
    for name in AREAS:
        importlib.import_module(name).add(top=top, bench=bench, parents=parents)
