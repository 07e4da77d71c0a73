"""`plangate bench search` over AgentDyn (`search/agentdyn.py`), reduced: one suite, three
plans per goal, in the AgentDyn child as the CLI runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from plangate.bench.agentdyn.checkout import child_environment, default_path, source_dir

if not (default_path() / "src" / "agentdojo").is_dir():
    pytest.skip(f"no AgentDyn checkout at {default_path()} (set PLANGATE_AGENTDYN)", allow_module_level=True)

SRC = source_dir(None)


def test_search_finds_no_unasked_route_in_github(tmp_path: Path) -> None:
    out = tmp_path / "search.json"
    done = subprocess.run([sys.executable, "-m", "plangate.bench.search.agentdyn", "--src", str(SRC), "--suite",
                           "github", "--sample", "3", "--json", str(out)], env=child_environment(SRC),
                          capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    data = json.loads(out.read_text())
    world = data["by_world"]["agentdyn/github"]
    assert world["goals"] == 9 and world["plans_tried"] > 0
    assert world["goals_reachable_asked"] > 0  # the search does reach goals, through the owner
    assert data["unasked_routes"] == [] and world["reachable_unasked"] == 0


def test_agentdyn_suites_do_not_mix_with_others() -> None:
    done = subprocess.run([sys.executable, "-m", "plangate", "bench", "search", "--suite", "agentdyn-github",
                           "--suite", "banking"], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2 and "run alone" in done.stderr and "Traceback" not in done.stderr
