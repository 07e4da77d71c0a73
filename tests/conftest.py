"""Session-wide real servers (PostgreSQL, Redis) for the storage and service tests; started
only when a test asks for them (see servers.py)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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


_pg_stores = itertools.count()


@pytest.fixture
def pg_stores(pg_server: str, tmp_path: Path) -> Iterator[list[Any]]:
    """Six connections (as six workers would open them) to one fresh PostgreSQL database."""
    from plangate.storage import open_storage
    from servers import new_database

    url = new_database(pg_server, f"stores{next(_pg_stores)}_{id(tmp_path)}")
    opened = [open_storage(url) for _ in range(6)]
    yield opened
    for store in opened:
        store.close()
