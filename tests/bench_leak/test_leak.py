"""The control-flow leak bench on the shipped assistant policy (sampled): no plan lets a
non-owner tell private worlds apart, while the approve-all baseline over the same plans
does leak, so the plans do reach the data and the measurement can see a leak."""

from __future__ import annotations

from plangate.bench.inbox import shipped_policy
from plangate.bench.leak import plans, report, roles


def test_generated_plans_cover_every_role_of_the_catalog() -> None:
    """Plans come from the catalog: every private read, recipient egress and write."""
    policy = shipped_policy()
    r = roles(policy.catalog)
    assert {"mail_read", "file_read", "calendar_list"} <= set(r.private_reads)
    assert "mail_reply" in r.egress and "calendar_hold" in r.writes
    shapes = {shape for shape, _ in plans(policy.catalog)}
    assert shapes == {"loop-egress", "extract-egress", "loop-write", "fail-then-egress"}


def test_shipped_policy_leaks_no_bit_through_control_flow() -> None:
    """Sampled: max bits per run is 0 for every class; the baseline leaks."""
    out = report(shipped_policy(), every=9)
    assert out["max_bits_per_run"] == 0.0, [c["leaks"] for c in out["classes"].values()]
    assert all(c["max_bits_per_day"] == 0.0 for c in out["classes"].values())
    assert max(c["baseline_max_bits_per_run"] for c in out["classes"].values()) >= 1.0
