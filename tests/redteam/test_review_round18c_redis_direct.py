"""Red-team review, round 18c: `_Direct` (the kept Redis connection of a plan submission's
admission, redis_limits.py, commits c81ac14 + fd04aac).

Finding: a failed call drops its connection (`self._conn = None; conn.disconnect()`) but
never gives it back to the client's pool, which still counts it as in use. redis-py's pool
holds at most `max_connections` (100 by default, as `connect` builds it) connections, so
after that many transient failures (a killed connection, a reply slower than the socket
timeout, a Redis restart, a script error) the pool is full of dead connections: every Redis
command of that client -- admissions, rate limits, run counts, the witness, the approvals
page, the sweeper -- fails with "Too many connections" for as long as the worker lives,
although Redis is back and healthy. Before c81ac14 every call went through the pool, which
released its connection whatever happened."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("redis", reason="the service extra is not installed")

from plangate.policy.model import RateLimit
from plangate.storage.redis_limits import RedisLimiter, RedisRunCounter, connect

LIMIT = RateLimit(per_class_per_hour=100_000)
METER = ("cred:a", 100_000, 3600.0)


@pytest.fixture
def admin(redis_server: str) -> Iterator[Any]:
    """Another Redis client: the operator (or Redis itself) that kills the worker's connections."""
    client = connect(redis_server)
    yield client
    client.close()


@pytest.fixture
def redis_pair(redis_server: str) -> Iterator[tuple[RedisRunCounter, RedisLimiter]]:
    client = connect(redis_server)
    client.flushdb()
    yield RedisRunCounter(client, prefix="t18c:"), RedisLimiter(client, prefix="t18c:")
    client.close()
    cleanup = connect(redis_server)  # the one above may be the leaked one
    cleanup.flushdb()
    cleanup.close()


def _admit(runs: RedisRunCounter, limiter: RedisLimiter) -> tuple[float | None, str | None]:
    return runs.admit(limiter, METER, LIMIT, principal="p", trust_class="public")


def test_transient_redis_failures_do_not_leak_the_pool_into_a_permanent_outage(
        redis_pair: tuple[RedisRunCounter, RedisLimiter], admin: Any) -> None:
    runs, limiter = redis_pair
    client = runs.client
    assert _admit(runs, limiter) == (None, None)  # the kept connection
    for _ in range(client.connection_pool.max_connections):
        admin.client_kill_filter(skipme=True, _type="normal")  # Redis drops it (a restart, an idle
        # timeout, a proxy). Since the kept connection is looked at before use, the next call
        # takes a new one and succeeds; the dropped one must still go back to the pool.
        assert _admit(runs, limiter) == (None, None)
        assert client.ping()
        assert _admit(runs, limiter) == (None, None)
    assert client.connection_pool._created_connections <= 3  # given back each time, not leaked


def test_submissions_during_a_redis_error_spell_leave_the_service_503_after_redis_recovers(
        pg_server: str, redis_server: str, tmp_path: Any) -> None:
    """End to end, and fast: while Redis answers the admission script with an error (here
    over its `maxmemory`; equally `-LOADING` after a restart, `-READONLY` after a failover,
    `-BUSY`), every submission gets a connection, an error reply, and leaks that connection.
    An agent credential sending ~100 submissions in that spell (a second's work) leaves
    the worker's Redis client with no connection to give: once Redis is fine again, every
    submission is still a 503 until the worker is restarted."""
    pytest.importorskip("fastapi", reason="the service extra is not installed")
    from plangate.storage import open_storage
    from servers import new_database
    from service.conftest import auth, credentials, example, make_client

    admin = connect(redis_server)
    admin.flushdb()
    store = open_storage(new_database(pg_server, f"r18c_{id(tmp_path)}"), redis=redis_server)
    try:
        client = make_client(store, credentials=credentials(rate=100_000))

        def submit() -> int:
            r = client.post("/v1/plans", json=example("meeting-reply"), headers=auth("agent"))
            return int(r.status_code)

        assert submit() == 200
        admin.config_set("maxmemory", 1)  # Redis refuses writes: the admission fails closed
        try:
            statuses = [submit() for _ in range(store.redis.connection_pool.max_connections)]
            assert set(statuses) == {503}
        finally:
            admin.config_set("maxmemory", 0)
        assert admin.ping()
        assert submit() == 200, "Redis is healthy again, yet the worker still answers 503"
    finally:
        store.close()
        admin.flushdb()
        admin.close()
