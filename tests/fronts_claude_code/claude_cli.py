"""Runs the real Claude Code CLI (from the claude-agent-sdk wheel, scripts/setup.d/claude_code.sh)
offline: its model is a scripted Anthropic server on loopback playing a hijacked agent that
calls Bash with the commands it is given, one per turn; any other traffic goes to a dead
proxy on loopback."""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from plangate.model.testing import Exchange, Reply, ScriptedModelServer

ROOT = Path(__file__).resolve().parents[2]
CLAUDE = ROOT / ".cache" / "claude-code" / "pkg" / "claude_agent_sdk" / "_bundled" / "claude"


def require_cli() -> Path:
    if CLAUDE.exists():
        return CLAUDE
    if os.geteuid() == 0 or os.environ.get("CI"):
        pytest.fail("the Claude Code CLI is not installed: run PLANGATE_SETUP_SERVICES=1 scripts/setup "
                    "(scripts/setup.d/claude_code.sh)")
    pytest.skip("the Claude Code CLI is not installed (bash scripts/setup.d/claude_code.sh)")


class HijackedModel:
    """Asks for `commands` one per turn — a string is a Bash command, a (tool, input) pair any
    tool call — then says it is done."""

    def __init__(self, commands: list[str | tuple[str, dict[str, Any]]]) -> None:  # see Call
        self.commands = commands

    def __call__(self, exchange: Exchange) -> Reply:
        tools = [t.get("name") for t in exchange.body.get("tools", []) if isinstance(t, dict)]
        if "Bash" not in tools:
            return Reply(text="ok")
        results = sum(1 for m in exchange.body.get("messages", []) if isinstance(m.get("content"), list)
                      for b in m["content"] if isinstance(b, dict) and b.get("type") == "tool_result")
        if results < len(self.commands):
            call = self.commands[results]
            if isinstance(call, str):
                call = ("Bash", {"command": call, "description": "as the email said"})
            return Reply(tool_calls=(call,))
        return Reply(text="done.")


@dataclass
class Outcome:
    code: int
    result: dict[str, Any]
    stderr: str
    tool_results: list[str]


Call = str | tuple[str, dict[str, Any]]


def run_claude(work: Path, settings: dict[str, Any], commands: list[Call], *, session: str | None = None,
               timeout: float = 120, setting_sources: str | None = "", extra: tuple[str, ...] = ()) -> Outcome:
    cli = require_cli()
    home = work / "home"
    home.mkdir(exist_ok=True)
    (work / "settings.json").write_text(json.dumps(settings))
    model = HijackedModel(commands)
    with ScriptedModelServer(model) as server:
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home),
               "ANTHROPIC_BASE_URL": server.anthropic_url, "ANTHROPIC_API_KEY": "sk-ant-scripted",
               "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1", "DISABLE_AUTOUPDATER": "1",
               "DISABLE_TELEMETRY": "1", "DISABLE_ERROR_REPORTING": "1",
               # anything but the model server goes to a dead proxy on loopback
               "HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9",
               "NO_PROXY": "127.0.0.1,localhost",
               "IS_SANDBOX": "1"}  # lets bypassPermissions run as root (the tests' machines)
        argv = [str(cli), "-p", "Handle the new email.", "--settings", str(work / "settings.json"),
                "--permission-mode", "bypassPermissions", "--output-format", "json", "--model", "claude-sonnet-4-5"]
        if setting_sources is not None:  # None: Claude Code's default (user, project and local settings)
            argv += ["--setting-sources", setting_sources]
        if session:
            argv += ["--session-id", session]
        argv += extra
        proc = subprocess.run(argv, cwd=work, env=env, capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)
        exchanges = list(server.exchanges)
    try:
        result = json.loads(proc.stdout.strip().splitlines()[-1]) if proc.stdout.strip() else {}
    except ValueError:
        result = {"raw": proc.stdout[-2000:]}
    tool_results = [json.dumps(b.get("content"))[:500] for e in exchanges[-1:]
                    for m in e.body.get("messages", []) if isinstance(m.get("content"), list)
                    for b in m["content"] if isinstance(b, dict) and b.get("type") == "tool_result"]
    return Outcome(proc.returncode, result, proc.stderr[-2000:], tool_results)


def command_hook(command: str, *, timeout: int = 15, on_failure: bool = True) -> dict[str, Any]:
    handler: dict[str, Any] = {"type": "command", "command": command, "timeout": timeout}
    if on_failure:
        handler["onFailure"] = "block"
    return {"hooks": {"PreToolUse": [{"matcher": "*", "hooks": [handler]}]}}
