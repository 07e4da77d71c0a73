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
import time
from collections.abc import Callable
from typing import Any

from plangate.fronts.claude_code.verdict import Verdict, deny


class Deadline:
    """When a verdict is due: `seconds` after `started` (a `time.monotonic()` reading). The
    command hook starts it with a fallback when the process starts and sets the configured
    seconds once its settings are parsed, so the time spent importing and reading files
    counts too."""

    def __init__(self, seconds: float, started: float | None = None) -> None:
        self.seconds = seconds
        self.started = time.monotonic() if started is None else started

    def remaining(self) -> float:
        return self.started + self.seconds - time.monotonic()


def within(deadline: float | Deadline, work: Callable[[], Verdict]) -> Verdict:
    """`work()`'s verdict if it comes by the deadline, else a deny. Any exception in `work`
    is a deny naming it in one line (no traceback reaches Claude Code)."""
    due = deadline if isinstance(deadline, Deadline) else Deadline(deadline)
    box: list[Verdict] = []

    def run() -> None:
        try:
            box.append(work())
        except Exception as exc:
            box.append(deny(f"internal error, denied: {type(exc).__name__}: {exc}"))

    worker = threading.Thread(target=run, name="plangate-hook", daemon=True)
    worker.start()
    while worker.is_alive():
        left = due.remaining()   # re-read: `work` may set the configured deadline
        if left <= 0:
            break
        worker.join(min(left, 0.05))
    # A verdict that comes after the deadline is a deny too: "answered by the deadline" must
    # not depend on how the last few milliseconds were scheduled.
    if worker.is_alive() or not box or due.remaining() <= 0:
        return deny(f"no decision within {due.seconds:g} s (service slow or unreachable); denied")
    return box[0]


#: Decisions the http hook runs at once; one more is a deny (each holds a thread until its
#: deadline at most, so a flood cannot pile up threads without end).
MAX_DECISIONS = 64
_slots = threading.BoundedSemaphore(MAX_DECISIONS)


async def within_async(due: Deadline, work: Callable[[], Verdict]) -> Verdict:
    """`within` for the http hook's event loop: `work` runs in a thread of its own (not a
    shared pool, where it would first wait for a free worker), and the answer comes by
    `due` whatever the thread does."""
    import asyncio

    if due.remaining() <= 0:
        return deny(f"no decision within {due.seconds:g} s; denied")
    if not _slots.acquire(blocking=False):
        return deny(f"over {MAX_DECISIONS} decisions at once; denied")
    loop = asyncio.get_running_loop()
    done: asyncio.Future[Verdict] = loop.create_future()

    def settle(verdict: Verdict) -> None:
        if not done.done():
            done.set_result(verdict)

    def run() -> None:
        try:
            try:
                verdict = work()
            except Exception as exc:
                verdict = deny(f"internal error, denied: {type(exc).__name__}: {exc}")
            loop.call_soon_threadsafe(settle, verdict)
        except RuntimeError:
            pass  # the loop is gone: nobody waits for this verdict any more
        finally:
            _slots.release()

    threading.Thread(target=run, name="plangate-hook", daemon=True).start()
    try:
        return await asyncio.wait_for(asyncio.shield(done), max(0.0, due.remaining()))
    except TimeoutError:
        return deny(f"no decision within {due.seconds:g} s (service slow or unreachable); denied")


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


__all__ = ["MAX_DECISIONS", "Deadline", "command_answer", "http_answer", "within", "within_async"]
