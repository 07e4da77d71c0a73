"""The storage suites' fixture: one fresh store per backend, opened by as many workers as a
test asks for."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from plangate.storage import Storage, open_storage

BACKENDS = ["sqlite", "postgresql", "postgresql+redis"]
_names = itertools.count()


@pytest.fixture(params=BACKENDS)
def opener(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], Storage]]:
    """Opens a new connection to one fresh store (call it again: another worker)."""
    witness = str(tmp_path / "witness.db")
    if request.param == "sqlite":
        url, redis = str(tmp_path / "plangate.db"), None
    else:
        from servers import new_database

        url = new_database(request.getfixturevalue("pg_server"), f"t{next(_names)}_{id(tmp_path)}")
        redis = request.getfixturevalue("redis_server") if "redis" in request.param else None
        if redis:
            import redis as redis_client

            redis_client.Redis.from_url(redis).flushdb()
    opened: list[Storage] = []

    def open_one() -> Storage:
        store = open_storage(url, redis=redis, witness=witness)
        opened.append(store)
        return store

    yield open_one
    for store in opened:
        store.close()
