"""`plangate bench perf`, reduced: every figure is there, the timed plans are what the figures
say they are (20 distinct tools, each decided by Cedar, 10,000 stored names), the goals are
reported."""

from __future__ import annotations

from plangate.bench import perf


def test_a_short_run_has_every_figure_and_the_goals() -> None:
    figures = perf.run(20)
    for _stage, _label, key in perf._ROWS:
        assert 0 < figures[f"{key}_p50_us"] <= figures[f"{key}_p99_us"], key
    assert figures["review_public_verdict"] == "escalate"  # pay and shell_run ask the owner
    assert figures["review_public_distinct_tools"] == 20 and figures["stored_names"] == 10_000
    # Every call of a public review and the public check is decided by Cedar's engine.
    assert figures["review_public_cedar_requests"] == 20
    assert figures["check_public_cedar_requests"] == 1
    assert 0 < figures["review_public_cedar_engine_p50_us"] < figures["review_public_p50_us"] * 2
    assert figures["ratio_review_public_to_baseline"] > 1
    assert set(figures["goals"]) == {"review_public_p50_us<=1000", "check_public_p50_us<=100"}
    assert sum(line.startswith("goal ") for line in perf.report(figures)) == 2
