"""Real upstream MCP servers for the gateway's tests, and the gateway started as the agent's
host would: `plangate mcp-gateway --config FILE` over stdio (or --http), driven by the
official `mcp` client.

Upstreams: npm `@modelcontextprotocol/server-filesystem` and `server-memory` (installed by
scripts/setup.d/mcp.sh into .cache/mcp, run with the machine's Node) and PyPI
`mcp-server-time` (the dev extra). Tests skip, saying why, only when they are absent and
the session is not root; as root or under CI an absent server is a failure.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

pytest.importorskip("mcp")

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(__file__).parent / "data"
NODE_MODULES = ROOT / ".cache" / "mcp" / "node_modules" / "@modelcontextprotocol"
FS_JS = NODE_MODULES / "server-filesystem" / "dist" / "index.js"
MEMORY_JS = NODE_MODULES / "server-memory" / "dist" / "index.js"
TIME = Path(sys.executable).parent / "mcp-server-time"
OWNER = {"channel": "chat", "principal": "owner@home.example", "evidence": {"paired": True},
         "payload": "Summarise my notes and remember the summary."}
STRANGER = {"channel": "email", "principal": "Eve <eve@elsewhere.example>",
            "evidence": {"dmarc": "pass"},
            "payload": "Please leave a note for the owner saying hello from Eve."}


def missing(what: str) -> None:
    if os.geteuid() == 0 or os.environ.get("CI"):
        pytest.fail(f"{what} is not installed: run PLANGATE_SETUP_SERVICES=1 scripts/setup")
    pytest.skip(f"{what} is not installed and this session is not root to install it "
                "(PLANGATE_SETUP_SERVICES=1 scripts/setup)")


@pytest.fixture(scope="session")
def upstream_binaries() -> dict[str, Path]:
    node = shutil.which("node")
    if node is None:
        missing("Node (Debian package nodejs)")
    if not (FS_JS.exists() and MEMORY_JS.exists()):
        if os.geteuid() == 0 and shutil.which("npm"):
            subprocess.run(["bash", str(ROOT / "scripts" / "setup.d" / "mcp.sh")], check=True,
                           timeout=300)
        if not (FS_JS.exists() and MEMORY_JS.exists()):
            missing("the npm MCP servers (scripts/setup.d/mcp.sh)")
    if not TIME.exists():
        missing("mcp-server-time (the dev extra)")
    return {"node": Path(str(node)), "fs": FS_JS, "memory": MEMORY_JS, "time": TIME}


@dataclass
class World:
    """A gateway's folder: configuration, workspace, memory file, audit log."""

    root: Path
    config: Path
    ws: Path
    memory: Path
    audit: Path

    def files(self) -> dict[str, str]:
        return {str(p.relative_to(self.ws)): p.read_text() for p in sorted(self.ws.rglob("*"))
                if p.is_file()}

    def graph(self) -> list[dict[str, Any]]:
        if not self.memory.exists():
            return []
        return [json.loads(line) for line in self.memory.read_text().splitlines() if line.strip()]

    def events(self, kind: str) -> list[dict[str, Any]]:
        import sqlite3

        with sqlite3.connect(self.audit) as db:
            rows = db.execute("SELECT data FROM audit_events WHERE kind = ? ORDER BY seq",
                              (kind,)).fetchall()
        return [json.loads(r[0]) for r in rows]


def make_world(root: Path, bins: dict[str, Path], *, trigger: dict[str, Any] | None = None,
               extra: dict[str, Any] | None = None) -> World:
    ws = root / "ws"
    ws.mkdir(parents=True)
    (ws / "notes.txt").write_text("Meeting with Bob on Tuesday. Door code 4711.\n")
    world = World(root=root, config=root / "gateway.yaml", ws=ws, memory=root / "memory.jsonl",
                  audit=root / "audit.db")
    config: dict[str, Any] = {
        "policy": str(DATA / "policy.yaml"),
        "overrides": str(DATA / "overrides.yaml"),
        "audit": "audit.db",
        "trigger": trigger or OWNER,
        "upstreams": {
            "fs": {"command": [str(bins["node"]), str(bins["fs"]), str(ws)]},
            "memory": {"command": [str(bins["node"]), str(bins["memory"])],
                       "env": {"MEMORY_FILE_PATH": str(world.memory)}},
            "time": {"command": [str(bins["time"]), "--local-timezone", "UTC"]},
        },
        "timeouts": {"start_s": 30, "call_s": 20, "idle_s": 60},
    }
    config.update(extra or {})
    world.config.write_text(yaml.safe_dump(config))
    return world


@pytest.fixture
def world(tmp_path: Path, upstream_binaries: dict[str, Path]) -> World:
    return make_world(tmp_path, upstream_binaries)


def gateway_command(config: Path, *more: str) -> list[str]:
    return [sys.executable, "-m", "plangate", "mcp-gateway", "--config", str(config), *more]


@asynccontextmanager
async def gateway(config: Path, *more: str) -> AsyncIterator[Any]:
    """The official MCP client connected to `plangate mcp-gateway` over stdio."""
    from mcp import Client, StdioServerParameters

    cmd = gateway_command(config, *more)
    params = StdioServerParameters(command=cmd[0], args=cmd[1:],
                                   env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
    async with Client(params, read_timeout_seconds=60) as client:
        yield client


async def names(client: Any) -> list[str]:
    return [t.name for t in (await client.list_tools(cache_mode="refresh")).tools]


def text(result: Any) -> str:
    return " ".join(getattr(c, "text", "") for c in result.content)


def plan(request_type: str, *steps: dict[str, Any]) -> dict[str, Any]:
    return {"version": 1, "request_type": request_type, "steps": list(steps)}


def lit(value: Any) -> dict[str, Any]:
    return {"literal": value, "origin": "planner"}
