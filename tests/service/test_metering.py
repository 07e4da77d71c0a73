"""A plan submission is counted against its credential's request rate exactly once: with
the run it starts (on Redis, in the same script: one round trip), or, when it ends before
that (a body that does not validate, a trigger that does not parse, a replayed idempotent
request), as it ends. Over the rate, nothing is counted as a run, reviewed or recorded."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from plangate.storage import Storage, open_storage

from .conftest import auth, credentials, example, make_client

_names = itertools.count()
NOW = 1_000_000.25  # one fixed request window (1 s) for the whole test


@pytest.fixture(params=["sqlite", "postgresql+redis"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Storage]:
    if request.param == "sqlite":
        opened = open_storage(str(tmp_path / "plangate.db"), witness=str(tmp_path / "witness.db"))
    else:
        import redis as redis_client

        from servers import new_database

        url = new_database(request.getfixturevalue("pg_server"), f"meter{next(_names)}_{id(tmp_path)}")
        redis = request.getfixturevalue("redis_server")
        redis_client.Redis.from_url(redis).flushdb()
        opened = open_storage(url, redis=redis, witness=redis)
    opened.limiter._clock = lambda: NOW
    yield opened
    opened.close()


def counted(store: Storage) -> int:
    """Requests counted for the agent credential in the fixed window."""
    if store.redis is not None:
        return int(store.redis.get(store.limiter.window_key("cred:agent", int(NOW))) or 0)
    row = store.sql.one("SELECT count FROM request_windows WHERE key = ? AND win = ?", ("cred:agent", int(NOW)))
    return int(row[0]) if row else 0


def runs_counted(store: Storage) -> int:
    if store.redis is not None:
        return sum(int(store.redis.zcard(k)) for k in store.redis.keys("plangate:runs:c:*"))
    row = store.sql.one("SELECT COUNT(*) FROM run_starts")
    return int(row[0]) if row else 0


def post(client: TestClient, body: Any, **headers: str) -> Any:
    return client.post("/v1/plans", json=body, headers={**auth("agent"), **headers})


def test_every_submit_is_counted_once_whichever_way_it_ends(store: Storage) -> None:
    client = make_client(store, credentials=credentials(rate=6))
    good = example("meeting-reply")
    assert post(client, good).json()["verdict"] == "approve"
    assert counted(store) == 1 and runs_counted(store) == 1
    assert post(client, {"plan": good["plan"]}).status_code == 422  # no trigger
    assert counted(store) == 2
    assert post(client, {**good, "trigger": {"channel": "carrier-pigeon"}}).status_code in (400, 422)
    assert counted(store) == 3
    fresh = example("meeting-reply")  # another conversation: its own session
    first = post(client, fresh, **{"Idempotency-Key": "k1"})
    again = post(client, fresh, **{"Idempotency-Key": "k1"})
    assert first.status_code == again.status_code == 200 and again.headers.get("Idempotent-Replay") == "true"
    assert counted(store) == 5 and runs_counted(store) == 2  # the replay ran nothing
    grant = first.json()["grant"]
    assert client.get(f"/v1/grants/{grant}", headers=auth("agent")).status_code == 200  # the 6th
    over = post(client, good)
    assert over.status_code == 429 and "over its rate of 6" in over.json()["error"]
    assert int(over.headers["Retry-After"]) >= 1
    assert counted(store) == 7 and runs_counted(store) == 2


def test_a_submit_over_its_rate_starts_no_run_and_records_nothing(store: Storage) -> None:
    client = make_client(store, credentials=credentials(rate=1))
    assert post(client, example("meeting-reply")).status_code == 200
    head, runs = store.audit.head(), runs_counted(store)
    for body in (example("meeting-reply"), {"plan": {}}, {**example("meeting-reply"), "trigger": {}}):
        r = post(client, body)
        assert r.status_code == 429, r.text
    assert store.audit.head() == head and runs_counted(store) == runs
    assert store.sql.one("SELECT COUNT(*) FROM grants")[0] == 1  # type: ignore[index]


def test_approvers_and_admins_cannot_submit_and_are_counted(store: Storage) -> None:
    client = make_client(store, credentials=credentials(rate=1))
    r = client.post("/v1/plans", json=example("meeting-reply"), headers=auth("approver"))
    assert r.status_code == 403
    r = client.post("/v1/plans", json=example("meeting-reply"), headers=auth("approver"))
    assert r.status_code == 429 and store.audit.head()[0] == 0


def test_on_redis_a_submit_is_metered_and_its_run_counted_in_one_round_trip(store: Storage) -> None:
    if store.redis is None:
        pytest.skip("Redis only")
    client = make_client(store, credentials=credentials(rate=100))

    def scripts_run() -> int:  # as the server counts them
        stats = store.redis.info("commandstats")
        return sum(int(stats.get(f"cmdstat_{name}", {}).get("calls", 0)) for name in ("evalsha", "eval"))

    before = scripts_run()
    assert post(client, example("meeting-reply")).json()["verdict"] == "approve"
    assert scripts_run() - before == 1
    assert counted(store) == 1 and runs_counted(store) == 1


def test_a_malformed_body_is_counted_too(store: Storage) -> None:
    """A body that is not JSON ends before any dependency runs: it is still counted
    against its credential (else an agent could send them without limit)."""
    client = make_client(store, credentials=credentials(rate=6))
    headers = {**auth("agent"), "content-type": "application/json"}
    codes = [client.post("/v1/plans", content=b'{"trigger": ', headers=headers).status_code for _ in range(8)]
    assert codes[:6] == [400] * 6, codes
    assert codes[6:] == [429, 429], codes
    assert counted(store) == 8
    # No credential: not counted, and told so before anything else.
    r = client.post("/v1/plans", content=b'{"trigger": ', headers={"content-type": "application/json"})
    assert r.status_code in (400, 401) and counted(store) == 8


def test_a_request_that_does_not_validate_is_counted_once(store: Storage) -> None:
    """Its credential was counted as its dependencies ran; the 422 does not count it again,
    and a body that is not JSON on the same route is counted once too."""
    client = make_client(store, credentials=credentials(rate=50))
    headers = {**auth("agent"), "content-type": "application/json"}
    assert client.post("/v1/grants/g-1/check", json={"tool": 7}, headers=headers).status_code == 422
    assert counted(store) == 1
    assert client.post("/v1/grants/g-1/check", content=b"{", headers=headers).status_code == 400
    assert counted(store) == 2
