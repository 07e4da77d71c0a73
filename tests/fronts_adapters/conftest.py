"""A real plangate service (uvicorn on loopback) with a two-tool policy, and a grant for the
owner's plan: look up the weather in Paris, mail it to the owner."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

pytest.importorskip("uvicorn", reason="the service extra is not installed")

import uvicorn

from plangate import load_policy
from plangate.fronts.adapters import ServiceGrant
from plangate.service import create_app
from plangate.service.auth import Credentials, token_hash
from plangate.storage import open_storage

HERE = Path(__file__).resolve().parent
TOKEN = "pgt_adapter-agent-0123456789"
PLAN = {"version": 1, "steps": [
    {"id": "look", "tool": "get_weather", "args": {"city": {"literal": "Paris", "origin": "instruction"}}},
    {"id": "mail", "tool": "send_email", "args": {
        "to": {"literal": ["owner@home.example"], "origin": "instruction"},
        "body": {"literal": "Sunny in Paris", "origin": "instruction"}}}]}
TRIGGER = {"channel": "api", "principal": "owner@home.example", "payload": "",
           "instruction": "Look up the weather in Paris and mail 'Sunny in Paris' to owner@home.example"}


@pytest.fixture
def service_url(tmp_path: Path) -> Iterator[str]:
    storage = open_storage(str(tmp_path / "plangate.db"))
    creds = Credentials.parse({"session_secret": "s" * 64, "credential": [
        {"name": "agent", "role": "agent", "sha256": token_hash(TOKEN), "rate": 10_000}]})
    app = create_app(policy=load_policy(HERE / "policy.yaml"), storage=storage, credentials=creds)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 20
    while not server.started:
        assert time.time() < deadline and thread.is_alive(), "the plangate service did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)
    storage.close()


@pytest.fixture
def grant(service_url: str) -> Iterator[ServiceGrant]:
    answer = httpx.post(f"{service_url}/v1/plans", json={"trigger": TRIGGER, "plan": PLAN}, timeout=10,
                        headers={"Authorization": f"Bearer {TOKEN}"}).json()
    assert answer["verdict"] == "approve", answer
    with ServiceGrant(service_url, TOKEN, answer["grant"]) as g:
        yield g
