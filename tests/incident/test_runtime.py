"""The incident runtime: a runbook step acts only on the recorded alert's trusted
service, within the step's bounds, and a rollback goes back one release, once."""

from __future__ import annotations

from pathlib import Path

import pytest

from plangate.bench.incident.authoring import WORLD
from plangate.deployments.incident.errors import ToolCallError
from plangate.deployments.incident.runtime import IncidentRuntime


@pytest.fixture()
def rt(tmp_path: Path) -> IncidentRuntime:
    runtime = IncidentRuntime(tmp_path)
    runtime.seed(WORLD)
    runtime.record_alert("a1", {"alertname": "HighLatency", "service": "search", "namespace": "prod",
                                "severity": "critical", "status": "firing"})
    runtime.record_alert("a2", {"alertname": "HighErrorRate", "service": "checkout", "namespace": "prod",
                                "severity": "critical", "status": "firing"})
    runtime.record_alert("a3", {"alertname": "QueueBacklog", "service": "checkout", "namespace": "prod",
                                "severity": "critical", "status": "firing"})
    return runtime


def test_scale_step_stays_within_the_runbooks_bounds(rt: IncidentRuntime) -> None:
    """high-latency scales search within 3..8: 0, 2 and 9 are refused, 6 runs."""
    for bad in (0, 2, 9):
        with pytest.raises(ToolCallError, match="between 3 and 8"):
            rt.call("runbook_step", {"alert": "a1", "step": "scale-up", "replicas": bad})
    rt.call("runbook_step", {"alert": "a1", "step": "scale-up", "replicas": 6})
    assert rt.snapshot()["deployments"]["prod/search"]["replicas"] == 6


def test_rollback_goes_back_one_release_once(rt: IncidentRuntime) -> None:
    """Repeating the rollback step never walks the history back (v42 -> v41, then refused)."""
    rt.call("runbook_step", {"alert": "a2", "step": "rollback"})
    assert rt.snapshot()["deployments"]["prod/checkout"]["release"] == "v41"
    with pytest.raises(ToolCallError, match="already rolled back"):
        rt.call("runbook_step", {"alert": "a2", "step": "rollback"})


def test_a_step_the_runbook_lacks_or_an_unknown_alert_is_refused(rt: IncidentRuntime) -> None:
    with pytest.raises(ToolCallError, match="no step 'rollback'"):
        rt.call("runbook_step", {"alert": "a1", "step": "rollback"})
    with pytest.raises(ToolCallError, match="no firing verified alert"):
        rt.call("runbook_step", {"alert": "nope", "step": "restart"})


def test_a_runbook_acts_only_on_the_services_it_lists(rt: IncidentRuntime) -> None:
    """queue-backlog covers batch only: an alert naming checkout runs nothing."""
    with pytest.raises(ToolCallError, match="does not cover prod/checkout"):
        rt.call("runbook_step", {"alert": "a3", "step": "scale-up", "replicas": 3})
    assert rt.snapshot()["deployments"]["prod/checkout"]["replicas"] == 4


def test_a_runbook_that_does_not_parse_answers_no_alert(rt: IncidentRuntime) -> None:
    """A scale step without bounds (or any invalid runbook) is not a runbook."""
    rt.cluster.set_runbook("high-latency", "name: high-latency\nalert: HighLatency\nservices: [search]\n"
                           "namespaces: [prod]\nsteps:\n  scale-up: {action: scale}\n")
    with pytest.raises(ToolCallError, match="no runbook answers"):
        rt.call("runbook_step", {"alert": "a1", "step": "scale-up", "replicas": 4})


def test_arguments_are_checked_before_anything_runs(rt: IncidentRuntime) -> None:
    with pytest.raises(ToolCallError, match="is required"):
        rt.call("deploy_scale", {"namespace": "prod", "deployment": "search"})
    with pytest.raises(ToolCallError, match="lower-case DNS"):
        rt.call("deploy_restart", {"namespace": "prod", "deployment": "../x"})
    with pytest.raises(ToolCallError, match="not a channel"):
        rt.call("chat_post", {"channel": "#a b", "text": "x"})


def test_a_step_runs_at_most_max_per_hour_on_one_deployment(tmp_path: Path) -> None:
    """However many alerts fire, a runbook step runs `max_per_hour` times an hour per
    deployment (default 2); an hour later it may run again."""
    now = [1_000_000.0]
    rt = IncidentRuntime(tmp_path, clock=lambda: now[0])
    rt.seed(WORLD)
    for alert in ("x1", "x2"):
        rt.record_alert(alert, {"alertname": "PodCrashLooping", "service": "auth", "namespace": "prod",
                                "severity": "critical", "status": "firing"})
    rt.call("runbook_step", {"alert": "x1", "step": "restart"})
    rt.call("runbook_step", {"alert": "x2", "step": "restart"})
    with pytest.raises(ToolCallError, match="already ran 2 times"):
        rt.call("runbook_step", {"alert": "x1", "step": "restart"})
    assert rt.snapshot()["deployments"]["prod/auth"]["restarts"] == 2
    now[0] += 3601
    rt.call("runbook_step", {"alert": "x2", "step": "restart"})
    assert rt.snapshot()["deployments"]["prod/auth"]["restarts"] == 3
