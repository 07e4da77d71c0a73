"""The HTTP API on SQLite: the agent's round trip, roles, bad input, limits, idempotency,
faults. (Every storage backend runs tests/storage/test_suite.py; test_faults.py and
test_bench_service.py run the API itself on PostgreSQL + Redis, and so does the test of
text no database can store below.)"""

from __future__ import annotations

import json
import time
from typing import Any

from fastapi.testclient import TestClient

from plangate.labels import Label
from plangate.storage import Storage

from .conftest import auth, example, make_client

HOLD = {"step": "hold", "tool": "create_hold", "args": {"day": "2026-12-02", "title": "Tentative: meeting request"}}
REPLY = {"step": "reply", "tool": "reply_email",
         "args": {"to": "carol@newclient.example",
                  "body": "Thanks, I've pencilled in 2026-12-02 and will confirm shortly."}}
TELL = {"step": "tell", "tool": "notify_owner", "args": {"text": "Meeting request from carol@newclient.example"}}


def submit(client: TestClient, name: str = "meeting-reply", **kw: Any) -> dict[str, Any]:
    r = client.post("/v1/plans", json=example(name), headers={**auth("agent"), **kw.get("headers", {})})
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def run_through(client: TestClient, grant: str) -> None:
    for i, call in enumerate((HOLD, REPLY, TELL)):
        r = client.post(f"/v1/grants/{grant}/check", json=call, headers=auth("agent"))
        assert r.status_code == 200 and r.json()["call"] == i, r.text
        r = client.post(f"/v1/grants/{grant}/results", json={"call": i, "value": "ok"}, headers=auth("agent"))
        assert r.status_code == 200, r.text
    assert r.json()["run_status"] == "completed"


def test_an_agent_runs_its_own_tools_on_a_grant(client: TestClient, storage: Storage) -> None:
    """Submit, then check and report each call: every call is recorded before it runs, the
    labels come back, the run finishes, and the chain (with the witness) verifies."""
    out = submit(client)
    assert out["verdict"] == "approve" and out["grant"]
    run_through(client, out["grant"])
    kinds = [e.kind for e in storage.audit.tail(50, run_id=out["run_id"])]
    assert kinds.count("call") == 3 and kinds.count("result") == 3 and kinds[-1] == "run_finished"
    verify = client.get("/v1/audit/verify", headers=auth("admin")).json()
    assert verify["ok"] and verify["witness"]


def test_calls_the_grant_does_not_allow_are_refused(client: TestClient) -> None:
    """Another recipient: 403; a step out of order: 409; a finished grant used again: 410;
    another agent's grant: 404. Nothing is recorded as a call."""
    grant = submit(client)["grant"]
    wrong = {**HOLD, "args": {**HOLD["args"], "day": "2026-12-24"}}
    r = client.post(f"/v1/grants/{grant}/check", json=wrong, headers=auth("agent"))
    assert r.status_code == 403 and "arguments" in r.json()["error"]
    r = client.post(f"/v1/grants/{grant}/check", json=REPLY, headers=auth("agent"))
    assert r.status_code == 409 and r.json()["expected_step"] == "hold"
    assert client.post(f"/v1/grants/{grant}/check", json=HOLD, headers=auth("agent2")).status_code == 404
    run_through(client, grant)
    r = client.post(f"/v1/grants/{grant}/check", json=HOLD, headers=auth("agent"))
    assert r.status_code == 410 and "used once" in r.json()["error"]
    r = client.post(f"/v1/grants/{grant}/results", json={"call": 9, "value": 1}, headers=auth("agent"))
    assert r.status_code == 410


def test_only_approvers_decide(client: TestClient) -> None:
    """An escalated payment: the agent cannot list or decide it, nor can an admin; the
    approver can; the agent then gets one grant for it, once."""
    out = submit(client, "payment-escalates")
    assert out["verdict"] == "escalate" and out["grant"] is None
    ident = out["approval"]
    for who in ("agent", "admin"):
        r = client.post(f"/v1/approvals/{ident}/decision", json={"decision": "approve"}, headers=auth(who))
        assert r.status_code == 403, who
        assert client.get("/v1/approvals", headers=auth(who)).status_code == 403
    assert client.get(f"/v1/approvals/{ident}/status", headers=auth("agent")).json()["status"] == "pending"
    r = client.post(f"/v1/approvals/{ident}/grant", headers=auth("agent"))
    assert r.status_code == 409 and "pending" in r.json()["error"]
    pending = client.get("/v1/approvals", headers=auth("approver")).json()
    assert [a["id"] for a in pending] == [ident]
    r = client.post(f"/v1/approvals/{ident}/decision", json={"decision": "approve", "reason": "plumber"},
                    headers=auth("approver"))
    assert r.status_code == 200 and r.json()["status"] == "approved"
    r = client.post(f"/v1/approvals/{ident}/decision", json={"decision": "deny"}, headers=auth("approver"))
    assert r.status_code == 409
    r = client.post(f"/v1/approvals/{ident}/grant", headers=auth("agent"))
    assert r.status_code == 200 and r.json()["grant"]
    assert client.post(f"/v1/approvals/{ident}/grant", headers=auth("agent")).status_code == 409


def test_bad_input_gets_a_clear_4xx_and_nothing_runs(client: TestClient, storage: Storage) -> None:
    cases = [
        (client.post("/v1/plans", content=b"{not json", headers={**auth("agent"), "content-type": "application/json"}),
         400, "malformed JSON"),
        (client.post("/v1/plans", json={"plan": {}}, headers=auth("agent")), 422, "trigger"),
        (client.post("/v1/plans", json=example("meeting-reply")), 401, "no credential"),
        (client.post("/v1/plans", json=example("meeting-reply"), headers={"Authorization": "Bearer nope"}),
         401, "unknown credential"),
        (client.post("/v1/plans", content=b"x" * 1_100_000,
                     headers={**auth("agent"), "content-type": "application/json"}),
         413, "over"),
        (client.post("/v1/plans", json={**example("meeting-reply"), "trigger": {"channel": 5}}, headers=auth("agent")),
         400, "trigger"),
        (client.get("/v1/approvals/ap_nope", headers=auth("approver")), 404, "no approval"),
        (client.post("/v1/approvals/ap_nope/decision", json={"decision": "approve"}, headers=auth("approver")),
         404, "no approval"),
        (client.post("/v1/approvals/ap_x/decision", json={"decision": "maybe"}, headers=auth("approver")),
         422, "decision"),
        (client.post("/v1/grants/gr_nope/check", json=HOLD, headers=auth("agent")), 404, "no grant"),
    ]
    for response, status, words in cases:
        assert response.status_code == status, (response.status_code, response.text)
        assert words in response.json()["error"], response.text
    assert [e.kind for e in storage.audit.tail(100)] == []


def test_rate_limits_answer_429_with_retry_after(storage: Storage) -> None:
    from .conftest import credentials

    client = make_client(storage, credentials=credentials(rate=3))
    # Twelve requests at 3 a second: at least two are refused however slowly a busy
    # machine answers the first ones (six were once answered over more than a second).
    codes = [client.get("/v1/audit/head", headers=auth("admin")) for _ in range(12)]
    assert [r.status_code for r in codes].count(429) >= 2
    limited = next(r for r in codes if r.status_code == 429)
    assert int(limited.headers["Retry-After"]) >= 1 and "rate" in limited.json()["error"]


def test_an_idempotency_key_runs_a_request_once(client: TestClient, storage: Storage) -> None:
    """A retried submit or check with the same key gets the first answer; nothing is
    reviewed or allowed twice; the same key with another body is refused."""
    body = example("meeting-reply")
    first = client.post("/v1/plans", json=body, headers={**auth("agent"), "Idempotency-Key": "k-1"}).json()
    again = client.post("/v1/plans", json=body, headers={**auth("agent"), "Idempotency-Key": "k-1"})
    assert again.json() == first and again.headers["Idempotent-Replay"] == "true"
    assert [e.kind for e in storage.audit.tail(100)].count("trigger") == 1
    other = client.post("/v1/plans", json=example("payment-escalates"),
                        headers={**auth("agent"), "Idempotency-Key": "k-1"})
    assert other.status_code == 422


def test_a_request_whose_worker_died_is_never_run_again(client: TestClient, storage: Storage) -> None:
    """A worker killed after claiming a key (and perhaps after recording a call) leaves the
    key running: the retry is refused and the run shows as incomplete in the audit log."""
    grant = submit(client)["grant"]
    import hashlib
    import json

    path = f"/v1/grants/{grant}/check"
    digest = hashlib.sha256(json.dumps([path, {"grant": grant, **HOLD}], sort_keys=True).encode()).hexdigest()
    with storage.lock:
        storage.keys.claim("k-dead", "agent", digest)  # the dead worker's claim
    r = client.post(f"/v1/grants/{grant}/check", json=HOLD, headers={**auth("agent"), "Idempotency-Key": "k-dead"})
    assert r.status_code == 409 and "not run again" in r.json()["error"]


def test_a_call_never_reported_times_out_and_stops_the_run(storage: Storage) -> None:
    client = make_client(storage, call_timeout=0.3)
    out = submit(client)
    assert client.post(f"/v1/grants/{out['grant']}/check", json=HOLD, headers=auth("agent")).status_code == 200
    time.sleep(0.4)
    r = client.post(f"/v1/grants/{out['grant']}/results", json={"call": 0, "value": "late"}, headers=auth("agent"))
    assert r.status_code == 410 and "timed out" in r.json()["error"]
    kinds = [e.kind for e in storage.audit.tail(50, run_id=out["run_id"])]
    assert "timeout" in kinds and kinds[-1] == "run_finished"
    assert storage.audit.tail(1)[0].data["status"] == "timed_out"


def test_storage_down_fails_closed_with_503(client: TestClient, storage: Storage) -> None:
    storage.close()
    r = client.post("/v1/plans", json=example("meeting-reply"), headers=auth("agent"))
    assert r.status_code == 503 and "nothing was approved or run" in r.json()["error"]
    assert client.get("/healthz").status_code == 503


def test_an_approved_plans_grant_is_written_with_its_review_records(
        client: TestClient, storage: Storage, monkeypatch: Any) -> None:
    """One transaction: the grant exists exactly when the review's records do. A grant
    that cannot be written (here its id is taken) fails the submit with nothing recorded;
    a later submit is unaffected."""
    import plangate.service.runs as runs

    out = submit(client)
    row = storage.grants.get(out["grant"])
    assert row is not None and row.run_id == out["run_id"] and row.credential == "agent"
    assert row.review["verdict"] == "approve" and row.plan["steps"][0]["tool"] == "create_hold"
    kinds = [e.kind for e in storage.audit.tail(3)]
    assert kinds == ["trigger", "plan", "verdict"]
    head = storage.audit.head()
    monkeypatch.setattr(runs.secrets, "token_hex", lambda _n: out["grant"][3:])
    with TestClient(client.app, raise_server_exceptions=False) as again:
        r = again.post("/v1/plans", json=example("meeting-reply"), headers=auth("agent"))
    assert r.status_code in (500, 503), r.text
    assert storage.audit.head() == head  # neither the review's records nor a grant
    monkeypatch.undo()
    assert submit(client)["grant"] != out["grant"]
    assert storage.audit.verify().ok


def test_health_metrics_and_openapi(client: TestClient) -> None:
    assert client.get("/healthz").json()["ok"]
    submit(client)
    metrics = client.get("/metrics", headers=auth("admin"))
    assert metrics.status_code == 200 and 'plangate_reviews_total{verdict="approve"} 1.0' in metrics.text
    assert 'plangate_http_requests_total{route="/v1/plans",status="200"} 1.0' in metrics.text
    assert client.get("/metrics", headers=auth("agent")).status_code == 403
    spec = client.get("/openapi.json").json()
    assert {"/v1/plans", "/v1/grants/{grant_id}/check", "/v1/approvals/{approval_id}/decision",
            "/v1/audit/verify", "/healthz", "/metrics", "/v1/usage"} <= set(spec["paths"])


def test_a_worker_freezes_what_it_built_at_start(storage: Storage) -> None:
    """Started, a worker moves what it built (modules, policy, app) out of the collector's
    sight, so a full collection under load does not walk it (one stalled every request in
    flight for ~26 ms)."""
    import gc

    gc.unfreeze()
    with TestClient(make_client(storage).app) as started:
        assert started.get("/healthz").status_code == 200
        assert gc.get_freeze_count() > 0
    gc.unfreeze()


def test_text_no_database_can_store_is_a_clear_422_on_every_backend(storage: Storage,
                                                                     pg_stores: list[Storage]) -> None:
    """`"\\ud800"` (a lone surrogate: no UTF-8 form) and `"\\u0000"` (NUL: PostgreSQL keeps
    it neither in text nor in JSON) are valid JSON. On PostgreSQL a review's records holding
    them could not be written: a 500 for the first, a 503 "storage unavailable" for the second.
    Every body that carries one is refused at the edge, naming where, on both backends, and
    nothing is recorded."""
    plan = example("meeting-reply")
    step_id = json.dumps(plan["plan"]["steps"][0]["id"])
    json_type = {"content-type": "application/json"}
    for store in (storage, pg_stores[0]):
        client = make_client(store)
        before = store.audit.head()
        cases = [
            (client.post("/v1/plans", content=json.dumps(plan).replace(step_id, '"hold\\ud800"', 1).encode(),
                         headers={**auth("agent"), **json_type}), "plan.steps.0.id", "lone surrogate"),
            (client.post("/v1/plans", content=json.dumps(plan).replace(step_id, '"hold\\u0000"', 1).encode(),
                         headers={**auth("agent"), **json_type}), "plan.steps.0.id", "NUL"),
            (client.post("/v1/grants/gr_x/check", content=b'{"step": "s", "tool": "t", "args": {"\\udfff": 1}}',
                         headers={**auth("agent"), **json_type}), "args", "lone surrogate"),
            (client.post("/v1/grants/gr_x/results", content=b'{"call": 0, "value": ["ok\\u0000"]}',
                         headers={**auth("agent"), **json_type}), "value.0", "NUL"),
            # A field typed `str`: pydantic refuses a lone surrogate itself.
            (client.post("/v1/approvals/ap_x/decision", content=b'{"decision": "deny", "reason": "no \\ud83d"}',
                         headers={**auth("approver"), **json_type}), "reason", "unicode string"),
        ]
        for response, where, what in cases:
            assert response.status_code == 422, (response.status_code, response.text)
            error = response.json()["error"]
            assert where in error and what in error, response.text
        assert store.audit.head() == before


def test_a_run_that_stops_tells_its_session_why(client: TestClient, storage: Storage) -> None:
    """The agent learns that (and where) its grant's run stopped, and whether a step halted
    depends on all the run had computed: each halt's label joins the session's context when
    the replay records it (a replay of a halt already on record adds nothing again)."""
    body = example("meeting-reply")
    out = client.post("/v1/plans", json=body, headers=auth("agent")).json()
    session = body["session"]
    r = client.post(f"/v1/grants/{out['grant']}/check", json=HOLD, headers=auth("agent"))
    assert r.status_code == 200, r.text
    # The tool failed: the run halts at the hold, and the halt's label is recorded ...
    r = client.post(f"/v1/grants/{out['grant']}/results", json={"call": 0, "ok": False, "error": "boom"},
                    headers=auth("agent"))
    assert r.status_code == 200, r.text
    halts = [e for e in storage.audit.tail(50, run_id=out["run_id"]) if e.kind == "halt"]
    assert halts and "label" in halts[0].data
    halt = Label.from_json(halts[0].data["label"])
    after = storage.context.label("agent", session)
    assert after is not None and after == after.join(halt)  # ... and joined into the session
    rows = storage.sql.one("SELECT COUNT(*) FROM agent_context WHERE credential = ? AND session = ?",
                           ("agent", session))
    assert rows is not None and rows[0] == 3  # the trigger, the hold's call, the halt


def test_what_a_result_adds_after_the_check_joins_the_session(client: TestClient, storage: Storage) -> None:
    """The check tells the session what the agent will see of a call (its label then); the
    result's label is looked up after the tool ran, and another run may have written what
    it read in between (its label recorded first). What the result adds joins the session:
    the agent's next plan is reviewed with it (red team round 21, stored labels)."""
    body = {**example("meeting-reply"), "plan": {"version": 1, "request_type": "meeting_request", "steps": [
        {"id": "look", "tool": "search_calendar", "args": {"day": {"literal": "2026-12-02", "origin": "payload"}}}]}}
    out = client.post("/v1/plans", json=body, headers=auth("agent")).json()
    assert out["verdict"] == "approve", out
    session = body["session"]
    call = {"step": "look", "tool": "search_calendar", "args": {"day": "2026-12-02"}}
    assert client.post(f"/v1/grants/{out['grant']}/check", json=call, headers=auth("agent")).status_code == 200
    told = storage.context.label("agent", session)
    assert told is not None and "bob@partner.example" not in told.readers
    # Another run writes into the calendar meanwhile: readable by the owner and bob only.
    storage.resources.record("calendar:evt-9", Label(readers=frozenset({"owner", "bob@partner.example"}),
                                                      sources=frozenset({"tool:other"})))
    r = client.post(f"/v1/grants/{out['grant']}/results", json={"call": 0, "value": []}, headers=auth("agent"))
    assert r.status_code == 200, r.text
    after = storage.context.label("agent", session)
    assert after is not None and "tool:other" in after.sources, after
