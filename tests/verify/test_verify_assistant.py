"""`catalog verify` on the inbox assistant: the shipped catalog passes, and taking any
annotation away is caught, naming the tool and the flow."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from plangate.catalog import Catalog
from plangate.deployments.inbox.runtime import assistant_catalog
from plangate.verify import Report, verify_catalog, verify_tool
from plangate.verify.assistant import AssistantAdapter

from .conftest import without


@pytest.fixture(scope="module")
def adapter() -> Iterator[AssistantAdapter]:
    a = AssistantAdapter()
    yield a
    a.close()


def _verify(adapter: AssistantAdapter, catalog: Catalog, *tools: str) -> Report:
    adapter.catalog = catalog
    try:
        return verify_catalog(adapter, tools=tools or None)
    finally:
        adapter.catalog = assistant_catalog()


def test_the_shipped_catalog_has_no_undeclared_flow(adapter: AssistantAdapter) -> None:
    report = verify_catalog(adapter)
    assert report.ok, "\n".join(report.lines())
    assert {t.tool for t in report.tools} == set(assistant_catalog().tools)
    assert all(t.ran for t in report.tools), [t.tool for t in report.tools if not t.ran]
    counts = report.counts()
    assert counts["verified"] == counts["tools"] and counts["flows_declared"] > 50
    # What the adapter could not exercise is said, not silently passed.
    assert set(report.tools[0].unexercised) == {"limit"}


def test_the_fixed_flows_are_observed(adapter: AssistantAdapter) -> None:
    """The flows the annotations were missing before `catalog verify` existed."""
    report = verify_catalog(adapter, tools=["memory_load", "calendar_update", "pay", "shell_run"])
    kinds = {(p.tool, p.kind) for t in report.tools for p in t.flows}
    assert {("memory_load", "read"), ("calendar_update", "read"), ("calendar_update", "write"),
            ("calendar_update", "disclosure"), ("pay", "read"), ("pay", "write"),
            ("pay", "storage-flow"), ("shell_run", "read")} <= kinds


def test_a_missing_discloses_fails_naming_tool_and_resource(adapter: AssistantAdapter) -> None:
    report = _verify(adapter, without(assistant_catalog(), "mail_forward", discloses=[]), "mail_forward")
    assert not report.ok
    [problem, *_] = report.problems
    assert problem.tool == "mail_forward" and problem.kind == "undeclared-disclosure"
    assert problem.origin.startswith("mail:") and "mail (forward) to" in problem.where
    assert any(line.startswith("FAIL mail_forward: undeclared-disclosure: stored mail:")
               for line in report.lines())


def test_a_missing_reads_fails(adapter: AssistantAdapter) -> None:
    for tool in ("file_read", "mail_list", "ledger_balance"):
        report = _verify(adapter, without(assistant_catalog(), tool, reads=[]), tool)
        assert {(p.tool, p.kind) for p in report.problems} == {(tool, "undeclared-read")}, report.lines()


def test_a_missing_writes_fails_in_storage_and_in_a_later_read(adapter: AssistantAdapter) -> None:
    report = _verify(adapter, without(assistant_catalog(), "file_write", writes=[]), "file_write")
    kinds = {p.kind for p in report.problems}
    assert kinds == {"undeclared-write", "undeclared-storage-flow"}
    assert any("later file_read" in p.where for p in report.problems)


def test_a_reader_that_forgets_what_it_reads_fails_on_the_writers_later_read(
        adapter: AssistantAdapter) -> None:
    report = _verify(adapter, without(assistant_catalog(), "memory_load", reads=[]), "note_save")
    assert {(p.tool, p.kind) for p in report.problems} == {("note_save", "undeclared-storage-flow")}
    assert "memory_load declares no `reads`" in report.problems[0].detail


def test_a_false_from_args_claim_fails(adapter: AssistantAdapter) -> None:
    catalog = without(assistant_catalog(), "file_write",
                      output={"readers": "public", "from_args": ["content"], "reason": "claimed"})
    report = _verify(adapter, catalog, "file_write")
    assert [(p.kind, p.origin) for p in report.problems] == [("output-arg", "argument 'path'")]


def test_a_true_from_args_claim_passes(adapter: AssistantAdapter) -> None:
    catalog = without(assistant_catalog(), "file_read", output={
        "readers": ["owner"], "from_args": [], "reason": "returns the content, not the path"})
    report = _verify(adapter, catalog, "file_read")
    assert report.ok, report.lines()


def test_an_unverifiable_tool_is_not_run_and_is_said(adapter: AssistantAdapter) -> None:
    catalog = without(assistant_catalog(), "web_fetch", unverifiable="needs the internet")
    adapter.catalog = catalog
    try:
        result = verify_tool(adapter, "web_fetch")
    finally:
        adapter.catalog = assistant_catalog()
    assert result.status == "unverifiable" and result.ran == 0
    assert catalog.tools["web_fetch"].effective_reads == ("*",)


def test_json_report_per_tool(adapter: AssistantAdapter) -> None:
    data = verify_catalog(adapter, tools=["mail_reply", "mail_list"]).to_json()
    assert data["ok"] and data["counts"]["tools"] == 2
    reply, listing = data["tools"]
    assert reply["status"] == "verified" and not reply["problems"]
    assert {n["kind"] for n in reply["notes"]} == {"egress", "echo"}  # it sends its arguments only
    assert listing["unexercised_args"] == {"limit": listing["unexercised_args"]["limit"]}


def test_a_send_whose_success_depends_on_undeclared_state_fails(adapter: AssistantAdapter,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """A reply that looks its original up (as `mail_reply` once did) goes out only when the
    mailbox holds it: its recipients learn that. The catalog declares no state for it, so
    `catalog verify` fails it, naming the argument; the shipped reply looks nothing up."""
    from plangate.deployments.inbox.runtime import AssistantRuntime

    shipped = AssistantRuntime._mail_reply

    def looks_up(self: AssistantRuntime, args: dict[str, object]) -> dict[str, object]:
        self._message("mail_reply", str(args["in_reply_to"]), arg="in_reply_to")
        return shipped(self, args)

    assert verify_tool(adapter, "mail_reply").status == "verified"
    monkeypatch.setattr(AssistantRuntime, "_mail_reply", looks_up)
    report = verify_tool(adapter, "mail_reply")
    assert [(p.kind, p.origin) for p in report.flows if p.failing] == [("undeclared-dependence", "arg in_reply_to")]
