"""The service under test: an app on SQLite (or the backend a test asks for), credentials for
each role, the example assistant policy and its triggers and plans."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

pytest.importorskip("fastapi", reason="the service extra is not installed")

from fastapi.testclient import TestClient

from plangate import load_policy
from plangate.service import create_app
from plangate.service.auth import Credentials, token_hash
from plangate.storage import Storage, open_storage

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
TOKENS = {"agent": "pgt_agent-token-0123456789", "agent2": "pgt_agent2-token-0123456789",
          "approver": "pgt_approver-token-0123456789", "admin": "pgt_admin-token-0123456789"}
ROLES = {"agent": "agent", "agent2": "agent", "approver": "approver", "admin": "admin"}
_POLICY: Any = None


def policy() -> Any:
    global _POLICY
    if _POLICY is None:
        _POLICY = load_policy(EXAMPLES / "assistant-policy.yaml")
    return _POLICY


def credentials(rate: int = 10_000, sessions: bool = True) -> Credentials:
    """The test credentials; agents name their sessions (as the fronts do) unless told not to."""
    return Credentials.parse({"session_secret": "s" * 64, "credential": [
        {"name": name, "role": ROLES[name], "sha256": token_hash(tok), "rate": rate,
         **({"sessions": sessions} if ROLES[name] == "agent" else {})}
        for name, tok in TOKENS.items()]})


def example(name: str) -> dict[str, Any]:
    """An example's trigger and plan, as a session of its own (each example is a separate
    conversation: the service reviews a session's plans with all it was shown before) and
    a message of its own (its own trigger id: one message's runs share its budget)."""
    folder = EXAMPLES / name
    n = next(_SESSIONS)
    return {"trigger": {**yaml.safe_load((folder / "trigger.yaml").read_text()), "id": f"<{name}-{n}@example>"},
            "plan": json.loads((folder / "plan.json").read_text()),
            "session": f"example-{name}-{n}"}


_SESSIONS = itertools.count(1)


def auth(who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[who]}"}


def make_client(storage: Storage, **kw: Any) -> TestClient:
    app = create_app(policy=policy(), storage=storage, credentials=kw.pop("credentials", credentials()), **kw)
    return TestClient(app, raise_server_exceptions=False)


@pytest.fixture
def storage(tmp_path: Path) -> Iterator[Storage]:
    store = open_storage(str(tmp_path / "plangate.db"), witness=str(tmp_path / "witness" / "heads.db"))
    yield store
    store.close()


@pytest.fixture
def client(storage: Storage) -> TestClient:
    return make_client(storage)
