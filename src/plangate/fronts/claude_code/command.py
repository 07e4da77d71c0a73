"""The command hook: Claude Code's JSON on stdin -> exit code, stdout and stderr.

    python -I /path/to/plangate/fronts/claude_code/entry.py --config ...   (the shipped settings)
    plangate hook claude-code --config /etc/plangate/claude-code.toml      (the same decisions)

Everything — importing the decision's modules, reading stdin, the settings and the token,
asking the service — runs under one deadline counted from the process start
(`answer.within`); a PreToolUse that does not end in an allow ends in exit code 2. This
module imports only what the watchdog needs, so the watchdog runs before anything heavy
is loaded.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import IO

from plangate.fronts.claude_code.answer import Deadline, command_answer, within
from plangate.fronts.claude_code.verdict import Verdict, deny

#: The deadline until the settings are parsed (and when they cannot be).
FALLBACK_DEADLINE = 8.0


def decide_stdin(stdin: IO[bytes], config: str | None, deadline: Deadline) -> tuple[Verdict, str, str]:
    """(verdict, event name, on_allow) for the hook input on `stdin`; never raises."""
    seen: dict[str, str] = {"event": "PreToolUse", "on_allow": "defer"}

    def work() -> Verdict:
        from plangate.fronts.claude_code.client import ServiceClient
        from plangate.fronts.claude_code.config import ConfigError, load_hook_config
        from plangate.fronts.claude_code.decide import ClaudeCodeGate
        from plangate.fronts.claude_code.hook_input import (
            MAX_INPUT_BYTES,
            HookEvent,
            HookInputError,
            parse_hook_input,
        )
        from plangate.fronts.claude_code.state import SessionStore

        raw = stdin.read(MAX_INPUT_BYTES + 1)
        try:
            event: HookEvent = parse_hook_input(raw)
        except HookInputError as exc:
            return deny(str(exc))
        seen["event"] = event.event

        def configured(seconds: float) -> None:
            deadline.seconds = seconds

        try:
            cfg = load_hook_config(config, on_deadline=configured)
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

    verdict = within(deadline, work)
    return verdict, seen["event"], seen["on_allow"]


def run(stdin: IO[bytes], stdout: IO[str], stderr: IO[str], config: str | None,
        exit: Callable[[int], object] = os._exit, started: float | None = None) -> int:
    """Answer one hook event, then `exit` with its code (2 on deny). The default `os._exit`
    ends the process at once: a worker thread that is still blocked (a timed-out decision)
    or anything at interpreter shutdown cannot delay or change the answer."""
    deadline = Deadline(FALLBACK_DEADLINE, time.monotonic() if started is None else started)
    verdict, event, on_allow = decide_stdin(stdin, config, deadline)
    code, out, err = command_answer(verdict, on_allow=on_allow, event=event)
    stdout.write(out)
    stderr.write(err)
    stdout.flush()
    stderr.flush()
    exit(code)
    return code


def main(argv: list[str] | None = None, *, started: float | None = None) -> int:
    import sys

    args = sys.argv[1:] if argv is None else argv
    config = None
    if len(args) == 2 and args[0] == "--config":
        config = args[1]
    elif args:
        sys.stderr.write("plangate: usage: entry.py [--config FILE]; denied\n")
        sys.stderr.flush()
        os._exit(2)
    return run(sys.stdin.buffer, sys.stdout, sys.stderr, config, started=started)


__all__ = ["FALLBACK_DEADLINE", "main", "run"]
