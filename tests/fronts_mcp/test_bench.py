"""`plangate bench mcp` end to end, reduced (as CI runs it): the JSON has the issue's keys,
the gated calls really went through a granted plan, and --json is checked before the run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from fronts_mcp.conftest import ROOT


def test_bench_mcp_writes_added_latency_figures(tmp_path: Path,
                                                upstream_binaries: dict[str, Path]) -> None:
    out = tmp_path / "mcp.json"
    done = subprocess.run([sys.executable, "-m", "plangate", "bench", "mcp", "--calls", "8",
                           "--rounds", "1", "--audit-dir", str(tmp_path), "--json", str(out)],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    figures = json.loads(out.read_text())
    for key in ("added_p50_ms", "added_p99_ms", "direct_p50_ms", "gated_p50_ms", "submit_p50_ms"):
        assert isinstance(figures[key], float), key
    assert figures["gated_p50_ms"] > 0 and figures["calls_per_round"] == 8
    assert figures["audit_folder"] == str(tmp_path.resolve())


def test_bench_mcp_checks_its_output_before_running(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "plangate", "bench", "mcp", "--json",
                           str(tmp_path / "missing" / "mcp.json")],
                          capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert done.returncode == 2 and "does not exist" in done.stderr
