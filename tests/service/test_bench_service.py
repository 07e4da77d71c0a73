"""`plangate bench service` end to end, short: the server in its own process with two
workers, every level answered without errors, the figures the issue names present. (With
tests/service/test_workers.py, the test of `plangate serve --workers 2`; the only one of its
TCP_NODELAY listening sockets.)"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("uvicorn", reason="the service extra is not installed")


def test_bench_service_reports_every_level_without_errors(tmp_path: Path) -> None:
    out = tmp_path / "service.json"
    done = subprocess.run([sys.executable, "-m", "plangate", "bench", "service", "--seconds", "0.5",
                           "--soak-seconds", "1", "--json", str(out)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    figures = json.loads(out.read_text())
    assert figures["errors"] == 0 and figures["workers"] == 2
    for level in (1, 16, 64):
        assert figures[f"reviews_per_s_c{level}"] > 0
        assert 0 < figures[f"p50_ms_c{level}"] <= figures[f"p99_ms_c{level}"]
    # No ~40 ms delayed-ACK stall per response (Nagle on the listening sockets): at concurrency 1
    # a review takes a few milliseconds; 30 ms leaves room for a loaded CI machine.
    assert figures["p50_ms_c1"] < 30, figures
    assert "rss_growth_mb" in figures and figures["rss_start_mb"] > 0
    assert figures["server_cpu_ms_per_review_c16"] > 0
    assert figures["database_cpu_ms_per_review_c16"] >= 0 and figures["kernel_cpu_ms_per_review_c16"] >= 0


def test_bench_service_on_postgres_and_redis(tmp_path: Path) -> None:
    """`--backend postgres`: the bench starts its own PostgreSQL and Redis from the Debian
    packages, the workers share them, every level is answered without errors."""
    from servers import PG_BIN, _missing

    if not PG_BIN:
        _missing("PostgreSQL (Debian package postgresql)")
    out = tmp_path / "service.json"
    done = subprocess.run([sys.executable, "-m", "plangate", "bench", "service", "--backend", "postgres",
                           "--seconds", "0.5", "--soak-seconds", "1", "--json", str(out)],
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr
    figures = json.loads(out.read_text())
    assert figures["errors"] == 0 and figures["storage"] == "postgresql+redis"
    assert all(figures[f"reviews_per_s_c{level}"] > 0 for level in (1, 16, 64))
    # PostgreSQL's and Redis's own CPU is counted beside the server's (they share the machine).
    assert figures["database_cpu_ms_per_review_c16"] > 0
