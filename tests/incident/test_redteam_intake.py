"""Red team on intake: which parts of an Alertmanager notification and of a chat message
are trusted, exactly."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest

from plangate.audit import AuditLog
from plangate.bench.incident import shipped_policy
from plangate.bench.incident.authoring import ALERT_ID, WORLD, call, lit, notification, plan
from plangate.deployments.incident.intake import (
    alert_signature,
    alerts_from_webhook,
    render_body,
    trigger_from_chat,
    trusted_fields,
)
from plangate.deployments.incident.receiver import AlertReceiver, SigningRelay
from plangate.deployments.incident.runtime import IncidentRuntime
from plangate.gate import Gate
from plangate.trigger import Trigger

SECRET = b"redteam"


def test_a_trusted_label_with_a_trailing_newline_is_not_trusted() -> None:
    """`$` in a Python regex also matches before a final newline: shapes are checked whole."""
    assert trusted_fields({"alertname": "HighErrorRate\n", "service": "checkout\n", "namespace": "prod\n",
                           "severity": "critical\n"}) == {}
    body = render_body(notification("HighErrorRate", "prod", "checkout", labels={"service": "payments\n"}))
    (alert,) = alerts_from_webhook(body, alert_signature(body, SECRET), SECRET)
    assert "service" not in alert.fields and "service" not in alert.trigger.meta


def test_quoted_and_pasted_text_in_chat_is_not_the_engineers_own() -> None:
    trigger = trigger_from_chat("alice@acme.example", "look:\n> scale payments to 0\n```\nERROR x\n```\nthoughts?",
                                ["alice@acme.example"])
    assert "scale payments" not in trigger.own_words() and "ERROR x" not in trigger.own_words()
    assert "".join(s.text for s in trigger.segments) == trigger.payload
    assert trigger.evidence.paired
    slack = trigger_from_chat("alice@acme.example", "see:\n&gt; rotate db-password\nok?", ["alice@acme.example"])
    assert "rotate" not in slack.own_words() and "rotate" in slack.payload


def _post(url: str, body: bytes, signature: str | None = None) -> dict[str, object]:
    headers = {"Content-Type": "application/json"}
    if signature:
        headers["X-Plangate-Signature"] = signature
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)
    with urllib.request.urlopen(request, timeout=5) as answer:
        return dict(json.loads(answer.read()))


def test_a_replayed_signed_alert_does_not_run_its_runbook_again(tmp_path: Path) -> None:
    """A captured signed body posted again (three times) is the same alert: one run, one
    restart. An unsigned copy posted first (by anyone on the host) does not take the real
    alert's place; an hour later the same alert runs again."""
    now = [1_000_000.0]
    runtime = IncidentRuntime(tmp_path, clock=lambda: now[0])
    runtime.seed(WORLD)
    gate = Gate(shipped_policy(), runtime, audit=AuditLog(":memory:"))
    restart = plan("alert", call("r", "runbook_step", alert=ALERT_ID, step=lit("restart")))

    def on_trigger(trigger: Trigger) -> None:
        gate.submit(trigger, restart)

    body = render_body(notification("PodCrashLooping", "prod", "auth"))
    signature = alert_signature(body, SECRET)
    with AlertReceiver(SECRET, runtime, on_trigger, clock=lambda: now[0]) as receiver:
        assert _post(receiver.url, body)["verified"] == 0
        answers = [_post(receiver.url, body, signature) for _ in range(3)]
        assert runtime.snapshot()["deployments"]["prod/auth"]["restarts"] == 1
        now[0] += 3601
        _post(receiver.url, body, signature)
    assert [a["repeats"] for a in answers] == [0, 1, 1]
    assert runtime.snapshot()["deployments"]["prod/auth"]["restarts"] == 2
    runtime.close()


def test_no_endpoint_starts_without_its_secret(tmp_path: Path) -> None:
    runtime = IncidentRuntime(tmp_path)
    with pytest.raises(ValueError, match="shared secret"):
        AlertReceiver(b"", runtime, lambda t: None)
    with pytest.raises(ValueError, match="shared secret"):
        SigningRelay("http://127.0.0.1:9/", b"", "token")
    with pytest.raises(ValueError, match="bearer token"):
        SigningRelay("http://127.0.0.1:9/", b"s", "")
    runtime.close()


def test_an_alert_id_says_which_alert_and_deployment_it_is(tmp_path: Path) -> None:
    """An engineer asked about `runbook_step(alert=...)` sees which deployment the step
    would act on in the id itself (the names only when they are trusted fields)."""
    body = render_body(notification("Kube_PodNotReady", "prod", "checkout", labels={"user_agent": "x"}))
    (alert,) = alerts_from_webhook(body, alert_signature(body, SECRET), SECRET)
    assert alert.trigger.id.startswith("alert-Kube_PodNotReady-prod.checkout-")
    body = render_body(notification("HighErrorRate", "prod", "checkout", labels={"service": "Pay ments"}))
    (alert,) = alerts_from_webhook(body, alert_signature(body, SECRET), SECRET)
    assert alert.trigger.id.startswith("alert-") and "checkout" not in alert.trigger.id
    runtime = IncidentRuntime(tmp_path)
    runtime.seed(WORLD)
    runtime.record_alert("alert-Kube_PodNotReady-prod.checkout-0123", {
        "alertname": "HighErrorRate", "service": "checkout", "namespace": "prod", "status": "firing"})
    runtime.call("runbook_step", {"alert": "alert-Kube_PodNotReady-prod.checkout-0123", "step": "restart"})
    assert runtime.snapshot()["deployments"]["prod/checkout"]["restarts"] == 1
    runtime.close()


def test_every_catalog_verification_case_runs() -> None:
    """A verification case whose call the runtime refuses observes no flow and raises no
    problem: a runtime bound added later (a scale step never scales down) silently took
    one of `runbook_step`'s cases out. Every case must run."""
    from plangate.verify import verify_catalog
    from plangate.verify.incident import IncidentAdapter

    report = verify_catalog(IncidentAdapter())
    assert [(t.tool, t.cases, t.ran, t.errors) for t in report.tools if t.ran != t.cases] == []
