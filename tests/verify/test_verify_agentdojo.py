"""`catalog verify` on the four AgentDojo suites: every shipped catalog passes, and taking
an annotation away is caught."""

from __future__ import annotations

import pytest

pytest.importorskip("plangate.bench.agentdojo._light")
from plangate.bench.agentdojo._light import install_stubs

install_stubs()
pytest.importorskip("agentdojo.task_suite.load_suites")

from plangate.verify import verify_catalog  # noqa: E402
from plangate.verify.agentdojo import SUITES, AgentDojoAdapter, suite_catalog  # noqa: E402

from .conftest import without  # noqa: E402


@pytest.mark.parametrize("suite", SUITES)
def test_the_shipped_catalog_has_no_undeclared_flow(suite: str) -> None:
    report = verify_catalog(AgentDojoAdapter(suite))
    assert report.ok, "\n".join(report.lines())
    assert all(t.ran for t in report.tools), [(t.tool, t.errors) for t in report.tools if not t.ran]
    assert report.counts()["verified"] == len(suite_catalog(suite).tools)


@pytest.mark.parametrize(("suite", "tool", "field", "kind", "resource"), [
    # The flows the tester's report was about: user data read or written with no resource.
    ("workspace", "share_file", "discloses", "undeclared-disclosure", "drive:"),
    ("workspace", "add_calendar_event_participants", "discloses", "undeclared-disclosure", "calendar:"),
    ("workspace", "send_email", "discloses", "undeclared-disclosure", "drive:"),
    ("workspace", "get_received_emails", "reads", "undeclared-read", "mail:"),
    ("workspace", "create_file", "writes", "undeclared-write", "drive:"),
    ("travel", "reserve_hotel", "discloses", "undeclared-disclosure", "user:profile"),
    ("travel", "get_user_information", "reads", "undeclared-read", "user:profile"),
    ("banking", "get_balance", "reads", "undeclared-read", "bank:balance"),
    ("banking", "update_password", "writes", "undeclared-write", "user:password"),
    ("banking", "update_scheduled_transaction", "discloses", "undeclared-disclosure", "bank:scheduled"),
    ("slack", "add_user_to_channel", "discloses", "undeclared-disclosure", "channel:"),
    ("slack", "send_channel_message", "writes", "undeclared-write", "channel:"),
])
def test_a_missing_annotation_fails_naming_tool_and_flow(suite: str, tool: str, field: str, kind: str,
                                                         resource: str) -> None:
    catalog = without(suite_catalog(suite), tool, **{field: []})
    report = verify_catalog(AgentDojoAdapter(suite, catalog), tools=[tool])
    assert not report.ok
    hits = [p for p in report.problems if p.tool == tool and p.kind == kind]
    assert hits, report.lines()
    where = hits[0].origin if kind != "undeclared-write" else hits[0].where
    assert where.startswith(resource), hits[0].line()


def test_a_false_from_args_claim_fails() -> None:
    """`Restaurant in <city>: ...`: the city is echoed, whatever the directory holds."""
    catalog = without(suite_catalog("travel"), "get_all_restaurants_in_city", output={
        "readers": "public", "untrusted": True, "from_args": [], "reason": "selects, not echoed"})
    report = verify_catalog(AgentDojoAdapter("travel", catalog), tools=["get_all_restaurants_in_city"])
    assert [(p.kind, p.origin) for p in report.problems] == [("output-arg", "argument 'city'")]
