"""`catalog verify` on the support desk: the shipped catalog passes, taking annotations away
is caught, and so is a tool that forgets to scope to the customer it names."""

from __future__ import annotations

from typing import Any

import pytest

from plangate.deployments.support.runtime import SupportRuntime, support_catalog
from plangate.verify import verify_catalog
from plangate.verify.shipped import adapter, environment_for, shipped_catalog
from plangate.verify.support import SupportAdapter

from .conftest import without


def test_the_shipped_catalog_has_no_undeclared_flow() -> None:
    report = verify_catalog(SupportAdapter())
    assert report.ok, "\n".join(report.lines())
    assert {t.tool for t in report.tools} == set(support_catalog().tools)
    assert all(t.ran for t in report.tools), [t.tool for t in report.tools if not t.ran]
    assert report.counts()["flows_declared"] > 80
    assert environment_for(support_catalog()) == "support"
    assert shipped_catalog("support") is support_catalog()
    assert isinstance(adapter("support"), SupportAdapter)


@pytest.mark.parametrize(("tool", "changes", "kind"), [
    ("invoices_list", {"reads": ["customer:{customer}/invoices"]}, "undeclared-read"),
    ("refunds_list", {"reads": ["customer:{customer}/refunds"]}, "undeclared-read"),
    ("account_update", {"writes": ["customer:{customer}/profile"]}, "undeclared-write"),
    ("ticket_create", {"writes": []}, "undeclared-write"),
    ("kb_search", {"reads": []}, "undeclared-read"),
    ("refund_issue", {"effects": ["write"]}, "undeclared-egress"),
])
def test_a_missing_annotation_is_caught(tool: str, changes: dict[str, Any], kind: str) -> None:
    report = verify_catalog(SupportAdapter(without(support_catalog(), tool, **changes)), tools=[tool])
    assert not report.ok
    assert kind in {p.kind for p in report.problems}, "\n".join(report.lines())


def test_a_tool_that_ignores_the_customer_it_names_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    """order_get returning any customer's order with that id (the scoping forgotten) shows
    the other customer's stored order in its output: an undeclared read."""

    def leaky(self: SupportRuntime, a: Any) -> Any:
        row = self.db.one("SELECT id, items FROM orders ORDER BY customer_id DESC")
        return row

    monkeypatch.setattr(SupportRuntime, "_t_order_get", leaky)
    report = verify_catalog(SupportAdapter(), tools=["order_get"])
    assert "undeclared-read" in {p.kind for p in report.problems}, "\n".join(report.lines())
