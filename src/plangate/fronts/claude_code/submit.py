"""Bind a Claude Code session to a reviewed plan: the operator's step, before the session runs.

    plangate hook claude-code submit --config FILE --session UUID --trigger T.yaml --plan P.json
    claude -p --session-id UUID "..."

The trigger says who asked (the operator on channel `api`, or outside text relayed by a
webhook); the plan lists the tool calls the session will make. The service reviews it:
approved -> a grant the hook checks every call against; escalated -> the owner decides and
the hook picks the grant up on the next call once approved; denied -> nothing runs. A
session is bound once: submitting again for a bound session is refused, so nothing in the
session can swap its grant for a wider one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from plangate.fronts.claude_code.client import ServiceClient
from plangate.fronts.claude_code.state import SessionState, SessionStore


class SubmitError(ValueError):
    """The plan could not be bound to the session (one line says why)."""


@dataclass(frozen=True, slots=True)
class Bound:
    verdict: str
    rules: tuple[str, ...]
    summary: str
    grant: str | None
    approval: str | None
    run_id: str


def submit_plan(client: ServiceClient, store: SessionStore, session_id: str, trigger: dict[str, Any],
                plan: dict[str, Any]) -> Bound:
    with store.locked(session_id, wait=5.0):
        if store.load(session_id) is not None:
            raise SubmitError(f"session {session_id} is already bound to a plan; start a new session")
        answer = client.submit(trigger, plan, session=f"claude-code:{session_id}"[:128])
        if answer.status != 200:
            raise SubmitError(f"the service refused the plan ({answer.status}): {answer.error}")
        body = answer.body
        bound = Bound(verdict=str(body.get("verdict")), rules=tuple(body.get("rules") or ()),
                      summary=str(body.get("summary", "")), grant=body.get("grant"),
                      approval=body.get("approval"), run_id=str(body.get("run_id", "")))
        if bound.grant is not None or bound.approval is not None:
            store.save(SessionState(session_id=session_id, run_id=bound.run_id, grant=bound.grant,
                                    approval=bound.approval))
        return bound


__all__ = ["Bound", "SubmitError", "submit_plan"]
