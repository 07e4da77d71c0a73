"""Redis: a plan submission's admission runs on a connection kept for it (`_Direct`). It
survives Redis losing its scripts (loaded again, run once) and a connection the server
closed between calls (seen before use, replaced: no call fails), and it is never retried
after a failure once its command was sent (a script that may have counted is not run twice)."""

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


def test_a_connection_the_server_closed_is_replaced_before_anything_is_sent(
        redis_pair: tuple[RedisRunCounter, RedisLimiter]) -> None:
    """A Redis restart or an idle timeout closes the kept connection between two calls: the
    next call sees it (nothing was sent on it) and takes a new one. No request fails."""
    runs, limiter = redis_pair
    assert runs.admit(limiter, METER, LIMIT, principal="p", trust_class="public") == (None, None)
    runs.client.client_kill_filter(skipme=True, _type="normal")  # every other connection: the kept one
    assert runs.admit(limiter, METER, LIMIT, principal="p", trust_class="public") == (None, None)
    assert _runs(runs) == 2


def test_a_call_that_fails_after_its_command_was_sent_is_not_retried(
        redis_pair: tuple[RedisRunCounter, RedisLimiter], monkeypatch: pytest.MonkeyPatch) -> None:
    """The connection is lost after the script was sent (and ran, and counted): the call
    fails closed and is not sent again, so the run is counted once, not twice."""
    runs, limiter = redis_pair
    assert runs.admit(limiter, METER, LIMIT, principal="p", trust_class="public") == (None, None)
    kept = runs._direct._conn
    real = kept.read_response

    def lost(*args: object, **kwargs: object) -> object:
        real(*args, **kwargs)  # the script ran and counted; its answer never arrives
        raise ConnectionError("connection lost while reading the reply")

    monkeypatch.setattr(kept, "read_response", lost)
    with pytest.raises(StorageUnavailable):
        runs.admit(limiter, METER, LIMIT, principal="p", trust_class="public")
    assert runs._direct._conn is None  # dropped: the next call takes a new connection
    monkeypatch.undo()  # (the pool may hand the same object out again)
    assert _runs(runs) == 2  # counted by the one run, not run again
    assert runs.admit(limiter, METER, LIMIT, principal="p", trust_class="public") == (None, None)
    assert _runs(runs) == 3
