"""Session-wide real servers (PostgreSQL, Redis) for the storage and service tests; started
only when a test asks for them (see servers.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    from servers import postgres

    with postgres() as url:
        yield url


@pytest.fixture(scope="session")
def redis_server() -> Iterator[str]:
    from servers import redis

    with redis() as url:
        yield url
