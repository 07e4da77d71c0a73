"""Redis: a plan submission's admission runs on a connection kept for it (`_Direct`). It
survives Redis losing its scripts (loaded again, run once) and a dropped connection (that
call fails closed, the next takes a new connection), and it is never retried after a
failure (a script that may have counted is not run twice)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

pytest.importorskip("redis", reason="the service extra is not installed")

from plangate.policy.model import RateLimit
from plangate.storage.errors import StorageUnavailable
from plangate.storage.redis_limits import RedisLimiter, RedisRunCounter, connect

LIMIT = RateLimit(per_class_per_hour=100)
METER = ("cred:a", 1000, 3600.0)


@pytest.fixture
def redis_pair(redis_server: str) -> Iterator[tuple[RedisRunCounter, RedisLimiter]]:
    client = connect(redis_server)
    client.flushdb()
    yield RedisRunCounter(client, prefix="t:"), RedisLimiter(client, prefix="t:")
    client.close()


def _runs(runs: RedisRunCounter) -> int:
    return int(runs.client.zcard("t:runs:c:public"))


def test_the_admission_survives_redis_losing_its_scripts(redis_pair: tuple[RedisRunCounter, RedisLimiter]) -> None:
    runs, limiter = redis_pair
    assert runs.admit(limiter, METER, LIMIT, principal="p", trust_class="public") == (None, None)
    runs.client.script_flush()
    assert runs.admit(limiter, METER, LIMIT, principal="p", trust_class="public") == (None, None)
    assert _runs(runs) == 2


def test_a_dropped_connection_fails_one_call_closed_and_is_replaced(
        redis_pair: tuple[RedisRunCounter, RedisLimiter]) -> None:
    runs, limiter = redis_pair
    assert runs.admit(limiter, METER, LIMIT, principal="p", trust_class="public") == (None, None)
    runs.client.client_kill_filter(skipme=True, _type="normal")  # every other connection: the kept one
    with pytest.raises(StorageUnavailable):
        runs.admit(limiter, METER, LIMIT, principal="p", trust_class="public")
    assert _runs(runs) == 1  # not retried on the dead connection, not counted
    assert runs.admit(limiter, METER, LIMIT, principal="p", trust_class="public") == (None, None)
    assert _runs(runs) == 2
