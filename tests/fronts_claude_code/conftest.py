"""A real plangate service (uvicorn on loopback, SQLite) serving the Claude Code policy, the
hook's settings pointed at it, and helpers to bind sessions and feed hook events."""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi", reason="the service extra is not installed")
pytest.importorskip("uvicorn", reason="the service extra is not installed")

import uvicorn

from plangate import load_policy
from plangate.fronts.claude_code import POLICY
from plangate.fronts.claude_code.client import ServiceClient
from plangate.fronts.claude_code.config import HookConfig, load_hook_config
from plangate.fronts.claude_code.decide import ClaudeCodeGate
from plangate.fronts.claude_code.state import SessionStore
from plangate.fronts.claude_code.submit import Bound, submit_plan
from plangate.service import create_app
from plangate.service.auth import Credentials, token_hash
from plangate.storage import open_storage

AGENT = "pgt_cc-agent-token-0123456789"
APPROVER = "pgt_cc-approver-token-0123456789"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Service:
    url: str
    folder: Path

    def approve(self, approval: str) -> None:
        import httpx

        r = httpx.post(f"{self.url}/v1/approvals/{approval}/decision", timeout=10,
                       headers={"Authorization": f"Bearer {APPROVER}"},
                       json={"decision": "approve", "reason": "looked at it"})
        assert r.status_code == 200, r.text


@pytest.fixture
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """A fresh service per test: stored labels (what was written from whose text) carry over
    between runs, as they should, so tests do not share one."""
    folder = tmp_path_factory.mktemp("cc-service")
    storage = open_storage(str(folder / "plangate.db"), witness=str(folder / "witness.db"))
    creds = Credentials.parse({"session_secret": "s" * 64, "credential": [
        {"name": "claude-code", "role": "agent", "sha256": token_hash(AGENT), "rate": 10_000, "sessions": True},
        {"name": "ana", "role": "approver", "sha256": token_hash(APPROVER), "rate": 10_000}]})
    app = create_app(policy=load_policy(POLICY), storage=storage, credentials=creds)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 20
    while not server.started:
        if time.time() > deadline or not thread.is_alive():
            raise RuntimeError("the plangate service did not start")
        time.sleep(0.05)
    yield Service(url=f"http://127.0.0.1:{port}", folder=folder)
    server.should_exit = True
    thread.join(10)
    storage.close()


def write_config(folder: Path, service_url: str, **extra: Any) -> Path:
    token = folder / "agent.token"
    token.write_text(AGENT)
    lines = [f'service = "{service_url}"', f'token_file = "{token}"', f'state_dir = "{folder / "state"}"']
    lines += [f"{k} = {json.dumps(v)}" for k, v in extra.items()]
    path = folder / "claude-code.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def hook_config(tmp_path: Path, service: Service) -> Path:
    return write_config(tmp_path, service.url, deadline=4.0)


@pytest.fixture
def settings(hook_config: Path) -> HookConfig:
    return load_hook_config(hook_config)


def owner_trigger(instruction: str) -> dict[str, Any]:
    return {"channel": "api", "principal": "operator@localhost", "instruction": instruction, "payload": ""}


def stranger_trigger(payload: str) -> dict[str, Any]:
    return {"channel": "webhook", "principal": "stranger@evil.example", "payload": payload}


def step(sid: str, tool: str, origin: str = "instruction", **args: Any) -> dict[str, Any]:
    return {"id": sid, "tool": tool, "args": {k: {"literal": v, "origin": origin} for k, v in args.items()}}


def bind(settings: HookConfig, trigger: dict[str, Any], *steps: dict[str, Any],
         session: str | None = None) -> tuple[str, Bound]:
    session = session or str(uuid.uuid4())
    client = ServiceClient(settings.service, settings.token)
    try:
        bound = submit_plan(client, SessionStore(settings.state_dir), session, trigger,
                            {"version": 1, "steps": list(steps)})
    finally:
        client.close()
    return session, bound


def event(session: str, tool: str, tool_input: dict[str, Any], *, kind: str = "PreToolUse",
          use_id: str = "toolu_1", **more: Any) -> dict[str, Any]:
    """A hook input as Claude Code documents it."""
    return {"session_id": session, "transcript_path": "/tmp/transcript.jsonl", "cwd": "/tmp",
            "permission_mode": "default", "hook_event_name": kind, "tool_name": tool,
            "tool_input": tool_input, "tool_use_id": use_id, **more}


def gate_for(settings: HookConfig) -> ClaudeCodeGate:
    return ClaudeCodeGate(ServiceClient(settings.service, settings.token, timeout=settings.request_timeout),
                          SessionStore(settings.state_dir), protect=settings.protect)
