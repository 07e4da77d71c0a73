"""The gateway over streamable HTTP on both sides: the agent connects to
`plangate mcp-gateway --http 127.0.0.1:PORT` with its bearer token (a request without it,
or with another, gets 401), and one upstream is an HTTP MCP server
(tests/fronts_mcp/notes_server.py, on the official SDK) next to mcp-server-time on stdio.
A refused call leaves the notes untouched; an upstream that goes away mid-plan fails its
step with an error, nothing half-done, and the steps that depend on it do not run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx
import yaml

from fronts_mcp.conftest import OWNER, ROOT, TIME, lit, plan, text
from servers import free_port

POLICY = {
    "name": "mcp-http-tests",
    "deployment": {"owner": ["owner@home.example"],
                   "classes": [{"name": "owner", "principals": ["owner@home.example"]}],
                   "lowest": "unknown"},
    "request_types": {"notes": {"description": "notes", "tools": [
        "notes__add_note", "notes__count_notes", "time__get_current_time"]}},
    "classes": {"owner": {"request_types": ["notes"], "budget": {"max_calls": 10}}},
    "rules": [{"id": "owner-notes", "permit": {"classes": ["owner"]}, "reason": "the owner's notes"}],
}
OVERRIDES = {
    "notes__add_note": {"effects": ["write"], "writes": ["notes"],
                        "output": {"readers": ["owner"], "untrusted": False}},
    "notes__count_notes": {"effects": ["read"], "reads": ["notes"],
                           "output": {"readers": ["owner"], "untrusted": False}},
    "time__get_current_time": {"effects": ["read"], "output": {"readers": "public"}},
}


def _wait(port: int, proc: subprocess.Popen[bytes], seconds: float = 30.0) -> None:
    import socket

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"exited with {proc.returncode} before listening on {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port}")


TOKEN = "agent-token-0123456789abcdef"


@contextmanager
def _process(cmd: list[str], port: int, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT,
                                stdin=subprocess.DEVNULL, env={**os.environ, "GW_TOKEN": TOKEN})
    try:
        _wait(port, proc)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def test_http_agent_and_http_upstream_refusal_and_upstream_gone(
        tmp_path: Path, upstream_binaries: dict[str, Path]) -> None:
    notes = tmp_path / "notes.json"
    up_port, gw_port = free_port(), free_port()
    (tmp_path / "policy.yaml").write_text(yaml.safe_dump(POLICY))
    (tmp_path / "gateway.yaml").write_text(yaml.safe_dump({
        "policy": "policy.yaml", "audit": "audit.db", "trigger": OWNER, "overrides": OVERRIDES,
        "upstreams": {"notes": {"url": f"http://127.0.0.1:{up_port}/mcp",
                                "headers": {"X-Request-Source": "plangate-test"}},
                      "time": {"command": [str(TIME), "--local-timezone", "UTC"]}},
        "timeouts": {"start_s": 30, "call_s": 10}, "http_token_env": "GW_TOKEN"}))
    steps = plan("notes",
                 {"id": "first", "tool": "notes__add_note", "args": {"text": lit("buy milk")}},
                 {"id": "now", "tool": "time__get_current_time", "args": {"timezone": lit("UTC")}},
                 {"id": "second", "tool": "notes__add_note", "args": {"text": lit("call Bob")}},
                 {"id": "after", "tool": "notes__add_note",
                  "args": {"text": {"ref": "second"}}})
    upstream = [sys.executable, str(Path(__file__).parent / "notes_server.py"), str(up_port),
                str(notes)]
    gateway = [sys.executable, "-m", "plangate", "mcp-gateway", "--config",
               str(tmp_path / "gateway.yaml"), "--http", f"127.0.0.1:{gw_port}"]

    with _process(upstream, up_port, tmp_path / "upstream.log") as up, \
            _process(gateway, gw_port, tmp_path / "gateway.log"):
        url = f"http://127.0.0.1:{gw_port}/mcp"
        anonymous = httpx.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
                               timeout=10)
        assert anonymous.status_code == 401
        forged = httpx.post(url, headers={"Authorization": "Bearer " + TOKEN[:-1] + "X"},
                            json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"}, timeout=10)
        assert forged.status_code == 401

        async def go() -> dict[str, Any]:
            import httpx2
            from mcp import Client
            from mcp.client.streamable_http import streamable_http_client

            async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {TOKEN}"},
                                          timeout=httpx2.Timeout(30.0, read=120.0)) as http, \
                    Client(streamable_http_client(url, http_client=http),
                           read_timeout_seconds=60) as c:
                r = await c.call_tool("notes__add_note", {"text": "pwned"})
                assert r.is_error
                r = await c.call_tool("submit_plan", {"plan": steps})
                assert r.structured_content["verdict"] == "approve", text(r)
                r = await c.call_tool("notes__add_note", {"text": "exfiltrated"})
                assert r.is_error and "nothing was forwarded" in text(r)
                r = await c.call_tool("notes__add_note", {"text": "buy milk"})
                assert not r.is_error, text(r)
                assert json.loads(notes.read_text()) == ["buy milk"]
                r = await c.call_tool("time__get_current_time", {"timezone": "UTC"})
                assert not r.is_error and r.meta["dev.plangate/label"]["taint"] == "high"
                up.terminate()
                up.wait(10)
                r = await c.call_tool("notes__add_note", {"text": "call Bob"})
                assert r.is_error and "failed" in text(r), text(r)
                r = await c.call_tool("notes__add_note", {"text": "call Bob"})
                assert r.is_error and "nothing was forwarded" in text(r)
                return dict((await c.call_tool("plan_status", {})).structured_content)

        status = anyio.run(go)
    assert status["status"] == "failed" and status["halted_step"] == "second", status
    assert status["skipped"] == ["after"]
    assert json.loads(notes.read_text()) == ["buy milk"]
