"""The hook's decision: may this Claude Code tool call run under the session's grant?

A call runs only if the plangate service says the session's grant allows it now: the call
must be the grant's next step, with exactly the arguments the reviewed plan resolves to.
Everything else is a deny with one line saying why: an unknown tool, a file tool aimed at
the hook's own files, no plan for the session, a plan the owner has not approved yet, the
service down or slow, a previous call whose result never came back.

The model cannot widen its grant: the binding session -> grant is written by the operator
(`plangate hook claude-code submit`) and the service checks every concrete call against
the plan it reviewed, so a tool call can at most be one the plan already contains.

After an allowed call, PostToolUse (or PostToolUseFailure) reports its result to the
service, whose label rules then cover what the next steps do with it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Protocol

from plangate.fronts.claude_code.client import Answer, ServiceDown
from plangate.fronts.claude_code.hook_input import HookEvent
from plangate.fronts.claude_code.paths import PathGuard, glob_problem, url_problem
from plangate.fronts.claude_code.state import SessionState, SessionStore
from plangate.fronts.claude_code.tools import Refused, to_catalog_call
from plangate.fronts.claude_code.verdict import Verdict, allow, deny

#: Results larger than this are reported as a failure (the service refuses big bodies).
MAX_RESULT_BYTES = 500_000


class Service(Protocol):
    def check(self, grant: str, step: str, tool: str, args: dict[str, Any]) -> Answer: ...
    def report(self, grant: str, call: int, *, ok: bool, value: Any = None,
               error: str | None = None) -> Answer: ...
    def approval_status(self, approval: str) -> Answer: ...
    def approval_grant(self, approval: str) -> Answer: ...


class ClaudeCodeGate:
    def __init__(self, service: Service, store: SessionStore, *, protect: tuple[Path, ...] = (),
                 lock_wait: float = 2.0) -> None:
        self.service = service
        self.store = store
        self.guard = PathGuard(protect)
        self.lock_wait = lock_wait

    def handle(self, event: HookEvent) -> Verdict:
        if event.event == "PreToolUse":
            return self.pre(event)
        return self.post(event)

    # -- PreToolUse ---------------------------------------------------------------------

    def pre(self, event: HookEvent) -> Verdict:
        try:
            call = to_catalog_call(event.tool_name, event.tool_input)
        except Refused as exc:
            return deny(str(exc))
        problem = self.guard.refuse(call.tool, call.paths, writes=call.writes, searches=call.searches) \
            or next((f"{call.tool}: {p}" for p in map(glob_problem, call.patterns) if p), "") \
            or next((f"{call.tool}: {p}" for p in map(url_problem, call.urls) if p), "")
        if problem:
            return deny(problem)
        if call.conversation_only:
            return allow(f"{call.tool} touches nothing outside the conversation")
        with self.store.locked(event.session_id, wait=self.lock_wait):
            state = self.store.load(event.session_id)
            if state is None:
                return deny(f"no plan was submitted for session {event.session_id} "
                            "(plangate hook claude-code submit); nothing runs without one")
            if state.finished:
                return deny(f"the grant of session {event.session_id} is used up (its run is over)")
            if state.grant is None:
                waiting = self._from_approval(state)
                if waiting is not None:
                    return waiting
            assert state.grant is not None
            # One tool_use_id is one call: Claude Code never asks twice for the same one, so a
            # second ask is a replay, whatever the service would say.
            if any(h.get("tool_use_id") == event.tool_use_id for h in state.history):
                return deny(f"tool call {event.tool_use_id[:60]!r} was already allowed once")
            outstanding = state.outstanding
            if outstanding is not None:
                return deny(f"call {outstanding['call']} ({outstanding.get('step')}) has not reported its "
                            "result yet; calls under a grant run one at a time")
            return self._check(state, event, call.tool, call.args)

    def _from_approval(self, state: SessionState) -> Verdict | None:
        if state.approval is None:
            return deny("the session's binding names neither a grant nor an approval")
        status = self.service.approval_status(state.approval)
        if status.status != 200:
            return deny(f"approval {state.approval}: {status.error}")
        if status.body.get("status") != "approved":
            return deny(f"the plan waits for the owner's decision (approval {state.approval} is "
                        f"{status.body.get('status')})")
        granted = self.service.approval_grant(state.approval)
        grant = granted.body.get("grant")
        if granted.status != 200 or not isinstance(grant, str):
            return deny(f"approval {state.approval} gave no grant: {granted.error}")
        state.grant = grant
        self.store.save(state)
        return None

    def _check(self, state: SessionState, event: HookEvent, tool: str, args: dict[str, Any]) -> Verdict:
        assert state.grant is not None
        step = state.next_step
        answer = self.service.check(state.grant, step, tool, args)
        expected = answer.body.get("expected_step")
        if answer.status == 409 and isinstance(expected, str) and expected != step \
                and answer.body.get("expected_tool") == tool:
            step = expected
            answer = self.service.check(state.grant, step, tool, args)
        if answer.status == 200 and answer.body.get("allowed") is True and isinstance(answer.body.get("call"), int):
            state.outstanding = {"call": answer.body["call"], "step": step, "tool": tool,
                                 "tool_use_id": event.tool_use_id}
            state.next_step = ""
            state.history.append({"step": step, "tool": tool, "call": answer.body["call"],
                                  "tool_use_id": event.tool_use_id})
            self.store.save(state)
            return allow(f"step {step!r} of grant {state.grant}")
        if isinstance(expected, str):
            state.next_step = expected
            self.store.save(state)
            return deny(f"{tool} is not the grant's next call: {answer.error}")
        if answer.status == 410:
            state.finished = True
            self.store.save(state)
        return deny(f"{tool} call not allowed by the grant: {answer.error}")

    # -- PostToolUse / PostToolUseFailure -------------------------------------------------

    def post(self, event: HookEvent) -> Verdict:
        with self.store.locked(event.session_id, wait=self.lock_wait):
            state = self.store.load(event.session_id)
            outstanding = state.outstanding if state is not None else None
            if state is None or state.grant is None or outstanding is None \
                    or outstanding.get("tool_use_id") != event.tool_use_id \
                    or outstanding.get("tool") != event.tool_name:
                return Verdict("none", "plangate: no call of this session's grant is waiting for this result")
            ok = event.event == "PostToolUse"
            value: Any = event.tool_response if ok else None
            error = None if ok else (event.error or "the tool failed")
            if ok and len(json.dumps(value, default=str)) > MAX_RESULT_BYTES:
                ok, value, error = False, None, f"result over {MAX_RESULT_BYTES} bytes, not reported"
            answer = self.service.report(state.grant, int(outstanding["call"]), ok=ok, value=value, error=error)
            if answer.status != 200:
                return Verdict("none", f"plangate: the result was not recorded: {answer.error}")
            state.outstanding = None
            if answer.body.get("run_status") not in (None, "running"):
                state.finished = True
            self.store.save(state)
            return Verdict("none", "plangate: result recorded")


__all__ = ["MAX_RESULT_BYTES", "ClaudeCodeGate", "Service", "ServiceDown", "Verdict", "deny"]
