"""The hook on service answers the real service does not give: anything but a clear yes is
a deny, and nothing is recorded as allowed (no outstanding call, no history)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from plangate.fronts.claude_code.client import Answer
from plangate.fronts.claude_code.decide import ClaudeCodeGate
from plangate.fronts.claude_code.hook_input import HookEvent
from plangate.fronts.claude_code.state import SessionState, SessionStore


class Scripted:
    """A service whose every answer is fixed in advance."""

    def __init__(self, check: Answer, status: Answer | None = None, granted: Answer | None = None) -> None:
        self._check, self._status, self._granted = check, status, granted

    def check(self, grant: str, step: str, tool: str, args: dict[str, Any]) -> Answer:
        return self._check

    def report(self, *args: Any, **kwargs: Any) -> Answer:
        raise AssertionError("nothing ran, nothing to report")

    def approval_status(self, approval: str) -> Answer:
        assert self._status is not None
        return self._status

    def approval_grant(self, approval: str) -> Answer:
        assert self._granted is not None
        return self._granted


def _pre(tmp_path: Path, service: Scripted, state: SessionState) -> tuple[str, SessionState | None]:
    store = SessionStore(tmp_path / "state")
    store.save(state)
    gate = ClaudeCodeGate(service, store)  # type: ignore[arg-type]
    verdict = gate.handle(HookEvent(event="PreToolUse", session_id="s1", tool_name="Bash",
                                    tool_input={"command": "ls"}, tool_use_id="toolu_1"))
    return verdict.decision, store.load("s1")


YES = Answer(200, {"allowed": True, "call": 0})
GRANTED = Answer(200, {"grant": "gr_00aa11bb"})


@pytest.mark.parametrize("check", [
    Answer(200, {"call": 0}),                          # no "allowed"
    Answer(200, {"allowed": "true", "call": 0}),
    Answer(200, {"allowed": 1, "call": 0}),
    Answer(200, {"allowed": True}),                    # no call number
    Answer(200, {"allowed": True, "call": "0"}),
    Answer(201, {"allowed": True, "call": 0}),
    Answer(403, {"allowed": True, "call": 0}),
    Answer(409, {"allowed": True, "call": 0, "expected_step": 3}),
])
def test_check_answers_but_a_clear_yes_deny(tmp_path: Path, check: Answer) -> None:
    decision, state = _pre(tmp_path, Scripted(check), SessionState(session_id="s1", grant="gr_00aa11bb"))
    assert decision == "deny"
    assert state is not None and state.outstanding is None and state.history == []


def test_a_clear_yes_allows(tmp_path: Path) -> None:
    decision, state = _pre(tmp_path, Scripted(YES), SessionState(session_id="s1", grant="gr_00aa11bb"))
    assert decision == "allow" and state is not None and state.outstanding is not None


@pytest.mark.parametrize(("status", "granted"), [
    (Answer(200, {}), GRANTED),                                  # no status at all
    (Answer(200, {"status": "pending"}), GRANTED),
    (Answer(200, {"status": "APPROVED"}), GRANTED),
    (Answer(404, {"status": "approved"}), GRANTED),
    (Answer(200, {"status": "approved"}), Answer(200, {})),      # no grant named
    (Answer(200, {"status": "approved"}), Answer(200, {"grant": 1})),
    (Answer(200, {"status": "approved"}), Answer(403, {"grant": "gr_00aa11bb"})),
])
def test_approval_answers_but_approved_with_a_grant_deny(tmp_path: Path, status: Answer, granted: Answer) -> None:
    decision, state = _pre(tmp_path, Scripted(YES, status, granted),
                           SessionState(session_id="s1", approval="ap_00aa11bb"))
    assert decision == "deny"
    assert state is not None and state.grant is None and state.outstanding is None


def test_a_session_with_neither_grant_nor_approval_denies(tmp_path: Path) -> None:
    decision, _ = _pre(tmp_path, Scripted(YES), SessionState(session_id="s1"))
    assert decision == "deny"
