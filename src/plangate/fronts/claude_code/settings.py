"""The `hooks` section of Claude Code's settings.json that puts plangate in front of a session.

Every tool (`matcher: "*"`) goes through PreToolUse; PostToolUse and PostToolUseFailure
report results. `onFailure: "block"` (Claude Code 2.1.295 and later) makes a hook that
cannot start, times out or exits with an unexpected code block the call instead of letting
it through; older releases ignore the key and fail open, which the hook's own watchdog
covers for everything but a hook process that cannot start at all.
"""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path
from typing import Any

ENTRY = Path(__file__).resolve().parent / "entry.py"

#: Claude Code's per-hook timeout, in seconds; the hook's own deadline (default 8 s) is below it.
HOOK_TIMEOUT = 15


def hook_settings(*, kind: str = "command", config: str | None = None, port: int = 8751,
                  python: str | None = None, timeout: int = HOOK_TIMEOUT) -> dict[str, Any]:
    # The settings file is pinned by absolute path now: left to $PLANGATE_CLAUDE_CODE_CONFIG,
    # it would be whatever Claude Code's environment says when the hook runs (a settings
    # file's `env` sets it).
    config = config or os.environ.get("PLANGATE_CLAUDE_CODE_CONFIG") or None
    if config:
        config = os.path.abspath(os.path.expanduser(config))
    if kind == "http":
        handler: dict[str, Any] = {
            "type": "http", "url": f"http://127.0.0.1:{port}/claude-code/hook", "timeout": timeout,
            "headers": {"Authorization": "Bearer $PLANGATE_HOOK_TOKEN"},
            "allowedEnvVars": ["PLANGATE_HOOK_TOKEN"], "onFailure": "block"}
    else:
        # -I: the project folder (the hook's working folder) and PYTHON* variables stay off
        # the import path; entry.py by path skips plangate's own __init__ (entry.py says why).
        command = [python or sys.executable, "-I", str(ENTRY)]
        if config:
            command += ["--config", config]
        handler = {"type": "command", "command": shlex.join(command), "timeout": timeout,
                   "onFailure": "block"}
    return {"hooks": {
        "PreToolUse": [{"matcher": "*", "hooks": [handler]}],
        "PostToolUse": [{"matcher": "*", "hooks": [dict(handler)]}],
        "PostToolUseFailure": [{"matcher": "*", "hooks": [dict(handler)]}],
    }}


__all__ = ["ENTRY", "HOOK_TIMEOUT", "hook_settings"]
