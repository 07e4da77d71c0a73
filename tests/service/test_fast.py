"""`FastPlans`: a submit FastAPI would hand its endpoint is answered without FastAPI's
machinery, and exactly as FastAPI's path answers it; everything else takes FastAPI's path.

The same app answers both ways: a body sent as `application/json; charset=utf-8` is JSON to
FastAPI but not one the fast path takes, so each pair below is one request through each path."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from plangate.service import asgi as fast
from plangate.storage import Storage

from .conftest import auth, credentials, example, make_client

FASTAPI_ONLY = "application/json; charset=utf-8"


@pytest.fixture
def taken(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Whether the fast path took each submit, in order."""
    seen: list[bool] = []
    accepted = fast.FastPlans._accepted

    def spy(self: fast.FastPlans, scope: Any, body: bytes) -> Any:
        found = accepted(self, scope, body)
        seen.append(found is not None)
        return found

    monkeypatch.setattr(fast.FastPlans, "_accepted", spy)
    return seen


def _post(client: TestClient, body: Any, content_type: str, **headers: str) -> Any:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.post("/v1/plans", content=raw, headers={"content-type": content_type, **headers})


def _same(a: Any, b: Any) -> None:
    """Two answers alike but for the ids each request made (run, grant, approval)."""
    assert a.status_code == b.status_code, (a.text, b.text)
    assert a.headers.get("retry-after") == b.headers.get("retry-after")
    left, right = a.json(), b.json()
    for body in (left, right):
        for key in ("run_id", "grant", "approval"):
            if body.get(key) is not None:
                body[key] = "<id>"
    assert left == right


def _events(storage: Storage, run_id: str) -> list[tuple[str, Any]]:
    out = []
    for e in storage.audit.tail(1000, run_id=run_id):
        # Ids, and what holds them (an approval's content names its run), and the session.
        data = {k: v for k, v in e.data.items() if k not in ("approval", "grant", "content_sha256", "session")}
        out.append((e.kind, data))
    return out


@pytest.mark.parametrize("name", ["meeting-reply", "payment-escalates", "exfiltrate-private-file",
                                  "spoofed-owner", "laundered-literal"])
def test_a_submit_is_answered_and_recorded_alike_either_way(storage: Storage, taken: list[bool],
                                                            name: str) -> None:
    client = make_client(storage)
    body = example(name)
    quick = _post(client, body, "application/json", **auth("agent"))
    # Another session and another message (one message's runs share its budget).
    other = {**body, "session": body["session"] + "-b",
             "trigger": {**body["trigger"], "id": body["trigger"]["id"] + "-b"}}
    slow = _post(client, other, FASTAPI_ONLY, **auth("agent"))
    assert taken == [True, False]
    _same(quick, slow)
    assert _events(storage, quick.json()["run_id"]) == _events(storage, slow.json()["run_id"])


def test_what_the_fast_path_leaves_to_fastapi_is_answered_as_before(storage: Storage,
                                                                    taken: list[bool]) -> None:
    """Each refusal comes from FastAPI's path, worded as it words it; nothing is recorded."""
    client = make_client(storage)
    body = example("meeting-reply")
    cases = [
        (b"{not json", auth("agent"), 400),
        ({"plan": {}}, auth("agent"), 422),
        ({**body, "extra": 1}, auth("agent"), 422),
        ({**body, "run_id": "no spaces allowed"}, auth("agent"), 422),
        ({**body, "plan": "a string"}, auth("agent"), 422),
        ({**body, "trigger": {"channel": "email", "principal": "a@b.example", "payload": "x\u0000"}},
         auth("agent"), 422),
        (body, {}, 401),
        (body, {"Authorization": "Bearer nope"}, 401),
        (body, {"Authorization": "Basic " + "x" * 10}, 401),
        (body, auth("approver"), 403),
        (body, auth("admin"), 403),
    ]
    for sent, headers, status in cases:
        quick = _post(client, sent, "application/json", **headers)
        slow = _post(client, sent, FASTAPI_ONLY, **headers)
        assert quick.status_code == status, (sent, quick.text)
        _same(quick, slow)
    assert not any(taken)
    assert [e.kind for e in storage.audit.tail(100)] == []


def test_the_apps_own_errors_are_answered_alike(storage: Storage, taken: list[bool]) -> None:
    """Errors the endpoint raises (a rate limit, a run id in use, a replayed idempotency key,
    storage down) get the app's handlers' answers on the fast path too."""
    client = make_client(storage, credentials=credentials(rate=2))
    body = example("meeting-reply")
    answers = [_post(client, {**body, "run_id": "r-1"}, content, **auth("agent"))
               for content in ("application/json", FASTAPI_ONLY)]
    assert answers[0].status_code == 200, answers[0].text
    assert answers[1].status_code == 409 and "already has a grant" in answers[1].json()["error"]
    again = [_post(client, {**body, "run_id": "r-1"}, content, **auth("agent"))
             for content in ("application/json", FASTAPI_ONLY)]
    _same(*again)  # over the rate of 2 a second: 429 with Retry-After, both ways
    assert again[0].status_code == 429 and again[0].headers["Retry-After"]

    client = make_client(storage)
    keyed = [_post(client, body, content, **auth("agent"), **{"Idempotency-Key": "k"})
             for content in ("application/json", "application/json")]
    assert keyed[1].headers.get("Idempotent-Replay") == "true" and keyed[0].json() == keyed[1].json()
    other = [_post(client, example("payment-escalates"), content, **auth("agent"), **{"Idempotency-Key": "k"})
             for content in ("application/json", FASTAPI_ONLY)]
    _same(*other)
    assert other[0].status_code == 422

    storage.sql.connection.close()  # the database goes away
    down = [_post(client, example("meeting-reply"), content, **auth("agent"))
            for content in ("application/json", FASTAPI_ONLY)]
    _same(*down)
    assert down[0].status_code == 503
    assert taken[:2] == [True, False]


def test_fast_submits_are_counted_under_their_route(client: TestClient, taken: list[bool]) -> None:
    assert _post(client, example("meeting-reply"), "application/json", **auth("agent")).status_code == 200
    assert taken == [True]
    text = client.get("/metrics", headers=auth("admin")).text
    assert 'plangate_http_requests_total{route="/v1/plans",status="200"} 1.0' in text


def test_a_body_over_the_limit_is_refused_on_the_way_in(storage: Storage, taken: list[bool]) -> None:
    client = make_client(storage, max_body=1000)
    big = {**example("meeting-reply"), "padding": "x" * 2000}
    raw = json.dumps(big).encode()

    def chunks() -> Any:  # no Content-Length: the limit is met while the body is read
        yield raw[:500]
        yield raw[500:]
    r = client.post("/v1/plans", content=chunks(), headers={"content-type": "application/json", **auth("agent")})
    assert r.status_code == 413 and "over 1000 bytes" in r.json()["error"]
    assert taken == []
