"""Red team on the HTTP service: routes between agent credentials and around the role checks
now that credential checks run on the event loop."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from plangate.errors import AuditError
from plangate.labels import Label
from plangate.storage import Storage

from .conftest import auth, example
from .test_api import HOLD, REPLY, TELL


def _escalated(client: TestClient) -> str:
    r = client.post("/v1/plans", json=example("payment-escalates"), headers=auth("agent"))
    assert r.status_code == 200 and r.json()["verdict"] == "escalate", r.text
    return str(r.json()["approval"])


def test_another_agent_cannot_take_or_read_an_approval(client: TestClient, storage: Storage) -> None:
    """`agent2` learns the id of `agent`'s escalated payment (a log line, a shared chat):
    it took the owner-approved grant (the run, its review and summary) before `agent`
    could, and read its status. Now both answer 404 to it; `agent` still gets its grant."""
    ident = _escalated(client)
    assert client.get(f"/v1/approvals/{ident}/status", headers=auth("agent2")).status_code == 404
    r = client.post(f"/v1/approvals/{ident}/decision", json={"decision": "approve", "reason": "ok"},
                    headers=auth("approver"))
    assert r.status_code == 200, r.text
    r = client.post(f"/v1/approvals/{ident}/grant", headers=auth("agent2"))
    assert r.status_code == 404, r.text
    assert "grant" not in r.json() and "review" not in r.json()
    assert client.get(f"/v1/approvals/{ident}/status", headers=auth("agent")).json()["status"] == "approved"
    r = client.post(f"/v1/approvals/{ident}/grant", headers=auth("agent"))
    assert r.status_code == 200 and r.json()["grant"], r.text
    assert storage.audit.verify().ok


def test_an_approval_made_outside_the_service_is_no_agents(client: TestClient, storage: Storage) -> None:
    """An approval with no holder record (an in-process gate on the same log, or one from
    before holders were recorded) is not handed to whichever agent asks."""
    ident = storage.approvals.create(run_id="run_outside", plan_hash="0" * 64, trust_class="owner",
                                     summary="s", trigger={}, plan={}, review={})
    for who in ("agent", "agent2"):
        assert client.post(f"/v1/approvals/{ident}/grant", headers=auth(who)).status_code == 404
        assert client.get(f"/v1/approvals/{ident}/status", headers=auth(who)).status_code == 404


def test_every_role_check_still_refuses_on_the_event_loop(client: TestClient) -> None:
    """The credential dependencies became coroutines: each route still refuses a missing,
    unknown or wrong-role credential (a dependency that returned instead of raising would
    let any of them through)."""
    routes = [("post", "/v1/plans", "agent"), ("get", "/v1/grants/g1", "agent"),
              ("post", "/v1/grants/g1/check", "agent"), ("post", "/v1/grants/g1/results", "agent"),
              ("get", "/v1/approvals/ap_x/status", "agent"), ("post", "/v1/approvals/ap_x/grant", "agent"),
              ("get", "/v1/approvals", "approver"), ("get", "/v1/approvals/ap_x", "approver"),
              ("post", "/v1/approvals/ap_x/decision", "approver"), ("get", "/v1/audit/tail", "admin"),
              ("get", "/v1/audit/verify", "admin"), ("get", "/metrics", "admin")]
    for method, path, role in routes:
        assert getattr(client, method)(path).status_code == 401, path
        assert getattr(client, method)(path, headers={"Authorization": "Bearer pgt_nobody"}).status_code == 401
        for who in ("agent", "approver", "admin"):
            if who != role:
                assert getattr(client, method)(path, headers=auth(who)).status_code == 403, (path, who)


def test_a_write_label_lost_with_its_worker_is_stored_on_the_retry(client: TestClient, storage: Storage,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The `call` record commits, then the label of what the call writes fails (the database
    drops, the worker dies between the two commits): the agent gets 503 and retries. The
    retry replays the logged call, and writes of replayed calls were dropped as "already
    stored", so the calendar hold ran with no label on it (an email's words, stored clean)."""
    grant = client.post("/v1/plans", json=example("meeting-reply"), headers=auth("agent")).json()["grant"]
    assert grant
    real = storage.resources.record
    failed: list[str] = []

    def once(name: str, label: Label) -> None:
        if not failed:
            failed.append(name)
            raise AuditError("the database went away")
        real(name, label)

    monkeypatch.setattr(storage.resources, "record", once)
    r = client.post(f"/v1/grants/{grant}/check", json=HOLD, headers=auth("agent"))
    assert r.status_code == 503 and failed == ["calendar:*"], r.text
    assert storage.resources.label_of("calendar:2026-12-02") is None  # nothing stored yet
    r = client.post(f"/v1/grants/{grant}/check", json=HOLD, headers=auth("agent"))
    assert r.status_code == 200 and r.json()["allowed"], r.text
    stored = storage.resources.label_of("calendar:2026-12-02")
    assert stored is not None and stored.untrusted, stored
    r = client.post(f"/v1/grants/{grant}/results", json={"call": 0, "value": "ok"}, headers=auth("agent"))
    assert r.status_code == 200, r.text
    run_through_rest(client, grant)
    stored_events = [e for e in storage.audit.tail(1000) if e.kind == "label_stored"]
    assert [e.data["name"] for e in stored_events].count("calendar:*") == 1  # once, not per replay
    assert storage.audit.verify().ok


def run_through_rest(client: TestClient, grant: str) -> None:
    for i, call in enumerate((REPLY, TELL), start=1):
        r = client.post(f"/v1/grants/{grant}/check", json=call, headers=auth("agent"))
        assert r.status_code == 200 and r.json()["call"] == i, r.text
        r = client.post(f"/v1/grants/{grant}/results", json={"call": i, "value": "ok"}, headers=auth("agent"))
        assert r.status_code == 200, r.text
    assert r.json()["run_status"] == "completed"


def test_a_run_id_with_a_grant_or_another_agents_escalation_is_refused(client: TestClient) -> None:
    """`agent2` submits its own plan under the run id of `agent`'s granted run (or of its
    escalated payment, whose grant would run there later): its calls were logged in that
    run, and the victim's replay took them for its own. Refused; the same agent may still
    replace its own refused or escalated plan under its run id (the OpenClaw plugin does)."""
    first = client.post("/v1/plans", json=example("meeting-reply"), headers=auth("agent")).json()
    for who in ("agent2", "agent"):
        r = client.post("/v1/plans", json={**example("meeting-reply"), "run_id": first["run_id"]},
                        headers=auth(who))
        assert r.status_code == 409 and "already has a grant" in r.json()["error"], r.text
    escalated = client.post("/v1/plans", json={**example("payment-escalates"), "run_id": "pay-1"},
                            headers=auth("agent")).json()
    assert escalated["approval"]
    r = client.post("/v1/plans", json={**example("meeting-reply"), "run_id": "pay-1"}, headers=auth("agent2"))
    assert r.status_code == 409 and "another credential" in r.json()["error"], r.text
    again = client.post("/v1/plans", json={**example("meeting-reply"), "run_id": "pay-1"}, headers=auth("agent"))
    assert again.status_code == 200 and again.json()["grant"], again.text
    r = client.post(f"/v1/approvals/{escalated['approval']}/decision", json={"decision": "approve", "reason": "ok"},
                    headers=auth("approver"))
    assert r.status_code == 200, r.text
    r = client.post(f"/v1/approvals/{escalated['approval']}/grant", headers=auth("agent"))
    assert r.status_code == 409 and "already has a grant" in r.json()["error"], r.text
    assert client.get(f"/v1/approvals/{escalated['approval']}/status",
                      headers=auth("agent")).json()["status"] == "approved"  # not used up
    r = client.post(f"/v1/grants/{first['grant']}/check", json=HOLD, headers=auth("agent"))
    assert r.status_code == 200 and r.json()["call"] == 0, r.text
