"""`catalog verify` on the incident assistant: the shipped catalog passes, and taking an
annotation away (a read, a write, a load-bearing `from_args`, the egress effect) is caught."""

from __future__ import annotations

from typing import Any

import pytest

from plangate.deployments.incident.runtime import incident_catalog
from plangate.verify import verify_catalog
from plangate.verify.incident import IncidentAdapter
from plangate.verify.shipped import adapter, environment_for, shipped_catalog

from .conftest import without


def test_the_shipped_catalog_has_no_undeclared_flow() -> None:
    report = verify_catalog(IncidentAdapter())
    assert report.ok, "\n".join(report.lines())
    assert {t.tool for t in report.tools} == set(incident_catalog().tools)
    assert all(t.ran for t in report.tools), [t.tool for t in report.tools if not t.ran]
    assert report.counts()["flows_declared"] >= 40
    assert environment_for(incident_catalog()) == "incident"
    assert shipped_catalog("incident") is incident_catalog()
    assert isinstance(adapter("incident"), IncidentAdapter)


@pytest.mark.parametrize(("tool", "changes", "kind"), [
    ("logs_query", {"reads": []}, "undeclared-read"),
    ("secret_read", {"reads": []}, "undeclared-read"),
    ("runbook_step", {"reads": ["runbooks:*", "cluster:*"]}, "undeclared-read"),
    ("runbook_edit", {"writes": []}, "undeclared-write"),
    ("alert_silence", {"writes": [], "effects": ["read"]}, "undeclared-change"),
    ("incident_post", {"effects": ["write"], "sends_to": []}, "undeclared-egress"),
    ("metrics_query", {"reads": []}, "undeclared-read"),
    ("deploy_scale", {"writes": [], "effects": ["read"]}, "undeclared-change"),
    ("chat_post", {"effects": ["read"]}, "undeclared-egress"),
])
def test_a_missing_annotation_is_caught(tool: str, changes: dict[str, Any], kind: str) -> None:
    report = verify_catalog(IncidentAdapter(without(incident_catalog(), tool, **changes)), tools=[tool])
    assert not report.ok
    assert kind in {p.kind for p in report.problems}, "\n".join(report.lines())
