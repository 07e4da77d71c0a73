"""The command hook: Claude Code's JSON on stdin -> exit code, stdout and stderr.

    plangate hook claude-code --config /etc/plangate/claude-code.toml
    python -m plangate.fronts.claude_code --config ...      (the same, fewer imports)

Everything — reading stdin, the settings, the service — runs under one deadline
(`answer.within`); a PreToolUse that does not end in an allow ends in exit code 2.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import IO

from plangate.fronts.claude_code.answer import command_answer, within
from plangate.fronts.claude_code.decide import Verdict, deny
from plangate.fronts.claude_code.hook_input import MAX_INPUT_BYTES, HookEvent, HookInputError, parse_hook_input

#: When the settings cannot be read, the deadline is this.
FALLBACK_DEADLINE = 8.0


def decide_stdin(stdin: IO[bytes], config: str | None) -> tuple[Verdict, str, str]:
    """(verdict, event name, on_allow) for the hook input on `stdin`; never raises."""
    from plangate.fronts.claude_code.client import ServiceClient
    from plangate.fronts.claude_code.config import ConfigError, load_hook_config
    from plangate.fronts.claude_code.decide import ClaudeCodeGate
    from plangate.fronts.claude_code.state import SessionStore

    seen: dict[str, str] = {"event": "PreToolUse", "on_allow": "defer"}

    def work() -> Verdict:
        raw = stdin.read(MAX_INPUT_BYTES + 1)
        try:
            event: HookEvent = parse_hook_input(raw)
        except HookInputError as exc:
            return deny(str(exc))
        seen["event"] = event.event
        try:
            cfg = load_hook_config(config)
        except ConfigError as exc:
            return deny(f"hook settings: {exc}")
        seen["on_allow"] = cfg.on_allow
        client = ServiceClient(cfg.service, cfg.token, timeout=cfg.request_timeout)
        try:
            gate = ClaudeCodeGate(client, SessionStore(cfg.state_dir), protect=cfg.protect,
                                  lock_wait=min(2.0, cfg.deadline / 4))
            return gate.handle(event)
        finally:
            client.close()

    deadline = _deadline(config)
    verdict = within(deadline, work)
    return verdict, seen["event"], seen["on_allow"]


def _deadline(config: str | None) -> float:
    """The settings' deadline, read cheaply before the watchdog starts (a broken file
    falls back to FALLBACK_DEADLINE; the worker then reports the problem)."""
    try:
        from plangate.fronts.claude_code.config import load_hook_config

        return load_hook_config(config).deadline
    except Exception:
        return FALLBACK_DEADLINE


def run(stdin: IO[bytes], stdout: IO[str], stderr: IO[str], config: str | None,
        exit: Callable[[int], object] = os._exit) -> int:
    """Answer one hook event. On deny, exit code 2. `exit` ends the process at once after
    a timed-out decision (its worker thread may still be blocked: do not wait for it)."""
    verdict, event, on_allow = decide_stdin(stdin, config)
    code, out, err = command_answer(verdict, on_allow=on_allow, event=event)
    stdout.write(out)
    stderr.write(err)
    stdout.flush()
    stderr.flush()
    if "no decision within" in verdict.reason:
        exit(code)
    return code


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    config = None
    if len(args) == 2 and args[0] == "--config":
        config = args[1]
    elif args:
        sys.stderr.write("plangate: usage: python -m plangate.fronts.claude_code [--config FILE]\n")
        return 2
    return run(sys.stdin.buffer, sys.stdout, sys.stderr, config)


__all__ = ["main", "run"]
