"""What the hook says back to Claude Code, and the watchdog that makes sure it says it in time.

Claude Code runs the tool when a hook crashes, exits with a code other than 0 or 2, prints
something it cannot parse or outlives its `timeout` (docs/claude-code.md, "Measured"). So
the decision runs in a worker thread under a deadline below that timeout: whatever happens
inside — an exception, a hung socket, a lock never released, stdin never closed — the
caller gets a deny by the deadline.

A deny is exit code 2 with the reason on stderr for a command hook (the form every Claude
Code release honours) and `permissionDecision: "deny"` in an http hook's 200 answer. An
allow is `permissionDecision: "allow"` (skip Claude Code's own permission prompt) or, with
`on_allow = "defer"`, an answer without a decision (Claude Code's permissions still apply:
plangate only ever narrows them).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from plangate.fronts.claude_code.decide import Verdict, deny


def within(deadline: float, work: Callable[[], Verdict]) -> Verdict:
    """`work()`'s verdict if it comes within `deadline` seconds, else a deny. Any exception
    in `work` is a deny naming it in one line (no traceback reaches Claude Code)."""
    box: list[Verdict] = []

    def run() -> None:
        try:
            box.append(work())
        except Exception as exc:
            box.append(deny(f"internal error, denied: {type(exc).__name__}: {exc}"))

    worker = threading.Thread(target=run, name="plangate-hook", daemon=True)
    worker.start()
    worker.join(deadline)
    if worker.is_alive() or not box:
        return deny(f"no decision within {deadline:g} s (service slow or unreachable); denied")
    return box[0]


def http_answer(verdict: Verdict, *, on_allow: str, event: str = "PreToolUse") -> dict[str, Any]:
    """The JSON body of an http hook's answer (and of a command hook's stdout on allow)."""
    if verdict.decision == "none" or event != "PreToolUse":
        return {"suppressOutput": True}
    out: dict[str, Any] = {"hookEventName": "PreToolUse", "permissionDecisionReason": verdict.reason}
    if verdict.decision == "deny":
        out["permissionDecision"] = "deny"
    elif on_allow == "allow":
        out["permissionDecision"] = "allow"
    return {"hookSpecificOutput": out}


def command_answer(verdict: Verdict, *, on_allow: str, event: str = "PreToolUse") -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of the command hook."""
    import json

    if verdict.decision == "deny" and event == "PreToolUse":
        return 2, "", verdict.reason + "\n"
    return 0, json.dumps(http_answer(verdict, on_allow=on_allow, event=event)) + "\n", ""


__all__ = ["command_answer", "http_answer", "within"]
