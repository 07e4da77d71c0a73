"""Claude Code front: a PreToolUse/PostToolUse hook that runs every tool call of a session
through the session's plangate grant (command hook and http hook), failing closed.

Modules: `hook_input` (the hook JSON, parsed once), `tools` (Claude Code tools -> catalog
calls), `decide` (the decision through the service), `answer` (exit codes, JSON answers and
the watchdog), `command` / `server` (the two hook types), `submit` (binding a session to a
reviewed plan), `config`, `state`, `client`. The catalog and a starting policy ship beside
them (`catalog.yaml`, `policy.yaml`). Guide: docs/claude-code.md.
"""

from __future__ import annotations

from pathlib import Path

from plangate.fronts.claude_code.decide import ClaudeCodeGate, Verdict
from plangate.fronts.claude_code.hook_input import HookEvent, HookInputError, parse_hook_input
from plangate.fronts.claude_code.tools import Refused, to_catalog_call

HERE = Path(__file__).resolve().parent
CATALOG = HERE / "catalog.yaml"
POLICY = HERE / "policy.yaml"

__all__ = ["CATALOG", "POLICY", "ClaudeCodeGate", "HookEvent", "HookInputError", "Refused", "Verdict",
           "parse_hook_input", "to_catalog_call"]
