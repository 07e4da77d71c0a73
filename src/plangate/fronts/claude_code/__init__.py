"""Claude Code front: a PreToolUse/PostToolUse hook that runs every tool call of a session
through the session's plangate grant (command hook and http hook), failing closed.

Modules: `hook_input` (the hook JSON, parsed once), `tools` (Claude Code tools -> catalog
calls), `paths` (which files no tool may touch, and paths that must be what they say),
`decide` (the decision through the service), `verdict` and `answer` (exit codes, JSON
answers and the watchdog), `entry` / `command` / `server` (the two hook types), `submit`
(binding a session to a reviewed plan), `config`, `state`, `client`. The catalog and a
starting policy ship beside them (`catalog.yaml`, `policy.yaml`). Guide: docs/claude-code.md.

The names below are loaded on first use (PEP 562): importing any module of this package
runs this file, and the command hook's watchdog must start before the decision's modules
are loaded.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
CATALOG = HERE / "catalog.yaml"
POLICY = HERE / "policy.yaml"

_LAZY = {"ClaudeCodeGate": "decide", "Verdict": "verdict", "HookEvent": "hook_input",
         "HookInputError": "hook_input", "parse_hook_input": "hook_input", "Refused": "tools",
         "to_catalog_call": "tools"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["CATALOG", "POLICY", "ClaudeCodeGate", "HookEvent", "HookInputError", "Refused", "Verdict",
           "parse_hook_input", "to_catalog_call"]
