"""Grants for agents that run their own tools: every concrete call checked by the executor.

An agent submits a plan; if it is approved (or the owner approved it) the service stores a
*grant*. The agent then asks, before each tool call, `check(step, tool, args)`, runs the tool
itself if allowed, and reports the result. The checks are the executor's own, not a copy:
each request replays the run through `plangate.execute.Executor` with

* `ReplayTools`: returns the results the agent reported, in order; at the next call it
  pauses the run (the call was checked, recorded and its writes labelled: the agent may
  run it now);
* `ReplaySink`: passes to the audit log only the events not already there (the run's
  earlier events are counted in the log, which is the truth, not in worker memory), and
  refuses a `call` event that is not the one the agent asked about, before it is written;
* `ReplayExtractor`: the extraction answers the agent reported (type-checked by the
  executor as any extractor's);
* stored-label writes of replayed calls suppressed (they are already stored).

So a grant lives in the database, any worker can answer for it, and labels, loops, failed
dependencies and runtime escalations behave exactly as in `Executor.run`. A replay whose
events differ from the log's (stored labels changed under it) closes the grant. A call not
reported by its deadline is recorded as failed (timed out) and the run is stopped.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from plangate.errors import AuditError, GrantError
from plangate.execute import Executor, Grant, RunResult
from plangate.execute.values import args_digest
from plangate.labels import Label, join_all
from plangate.plan.codec import check_plan, parse_plan
from plangate.plan.model import ExtractType
from plangate.policy.facts import PlanBounds
from plangate.protocols import ToolResult
from plangate.resource_lock import lock_of
from plangate.resources import UNVOUCHED, ResourceLabels, state_of
from plangate.review.reviewer import Finding, Review
from plangate.storage import Storage, StorageUnavailable
from plangate.storage.sql import GrantRow, SqlGrants

EXECUTOR_KINDS = frozenset({"call", "block", "result", "skip", "halt", "truncated", "extract",
                            "owner_answer"})
LEASE_SECONDS = 30.0


class RunProblem(Exception):
    """A request on a grant that cannot be answered as asked; `status` is the HTTP code."""

    def __init__(self, status: int, message: str, **detail: Any) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.detail = detail


def review_from_json(data: Mapping[str, Any]) -> Review:
    """The stored review of a grant, as the executor reads it."""
    context = data.get("planner_context")
    return Review(
        verdict=data["verdict"], rules=tuple(data.get("rules", ())), summary=data.get("summary", ""),
        trust_class=data.get("trust_class", ""), plan_hash=data.get("plan_hash"),
        findings=tuple(Finding(step=f["step"], tool=f["tool"], verdict=f["verdict"],
                               rules=tuple(f.get("rules", ())), detail=f.get("detail", ""),
                               open_args=tuple(f.get("open_args", ())),
                               open_facts=tuple(f.get("open_facts", ())))
                       for f in data.get("findings", ())),
        open_values=tuple(data.get("open_values", ())),
        classification=tuple(data.get("classification", ())), error=data.get("error"),
        reasons=dict(data.get("reasons") or {}),
        planner_context=Label.from_json(context) if isinstance(context, dict) else None,
        spent=PlanBounds.from_json(data["spent"]) if isinstance(data.get("spent"), dict) else None)


def granted(storage: Storage, run_id: str) -> bool:
    return storage.sql.one("SELECT 1 FROM grants WHERE run_id = ? LIMIT 1", (run_id,)) is not None


def run_granted(run_id: str) -> str:
    return (f"run {run_id!r} already has a grant (a plan of the same run was granted); "
            "submit the plan again for a new run")


def grant_insert(grant: Grant, run_id: str, credential: str,
                 session: str = "") -> tuple[str, tuple[str, tuple[Any, ...]]]:
    """A new grant's id and the statement that stores it."""
    grant_id = "gr_" + secrets.token_hex(8)
    return grant_id, SqlGrants.insert(
        grant_id=grant_id, run_id=run_id, approval=grant.approval, credential=credential,
        trigger=grant.classified.trigger.model_dump(mode="json"),
        plan=grant.checked.plan.model_dump(mode="json", by_alias=True, exclude_none=True),
        review=grant.review.to_json(), session=session)


class _Stop(Exception):
    """Ends a replay where nobody has asked yet."""


class _Mismatch(Exception):
    def __init__(self, status: int, message: str, **detail: Any) -> None:
        super().__init__(message)
        self.problem = RunProblem(status, message, **detail)


@dataclass
class Pending:
    step: str
    tool: str
    digest: str


@dataclass
class ReplaySink:
    """The executor's audit sink during a replay (see the module's docstring)."""

    audit: Any
    run_id: str
    logged: list[tuple[str, str | None]]  # (kind, step) of the run's executor events in the log
    pending: Pending | None
    reported: int = 0  # calls whose results the agent reported (the first `reported` calls)
    calls: int = 0
    position: int = 0
    stopped: bool = False
    matched: bool = False  # the pending call's `call` event is in the log (now or before)
    replaying_call: bool = False  # the current call's event was already logged
    # ... and its result was never reported: its worker may have stopped between the call
    # record and the labels of what it writes, so those are stored again (joins: no loss).
    unanswered_call: bool = False
    blocked: dict[str, Any] | None = None
    result_label: dict[str, Any] | None = None
    shows: dict[str, Any] | None = None  # what the agent will see of the pending call
    #: Labels of the halts this replay recorded: the agent learns that (and where) its run
    #: stopped, which depends on all the run had computed.
    halts: list[dict[str, Any]] = field(default_factory=list)
    new: list[str] = field(default_factory=list)

    def append(self, kind: str, run_id: str, data: Mapping[str, Any]) -> int:
        if self.stopped:
            raise _Stop()
        step = data.get("step")
        if self.position < len(self.logged):
            logged_kind, logged_step = self.logged[self.position]
            if (logged_kind, logged_step) != (kind, step):
                raise _Mismatch(409, "the run no longer replays as logged (stored labels changed "
                                     "under it); the grant is closed", diverged=True)
            self.position += 1
            if kind == "call":
                self.replaying_call = True
                self.calls += 1
                self.unanswered_call = self.calls > self.reported
                if self.unanswered_call:  # logged by a worker that died before answering
                    self._check_pending(data)
            return 0
        if kind == "call":
            self.calls += 1
            self.replaying_call = self.unanswered_call = False
            if self.pending is None or self.matched:
                self.stopped = True
                raise _Stop()
            self._check_pending(data)
        if kind == "block" and self.pending is not None and step == self.pending.step:
            self.blocked = dict(data)
        if kind == "result" and self.result_label is None and "label" in data:
            self.result_label = dict(data["label"])
        if kind == "halt":
            label = data.get("label")
            self.halts.append(dict(label) if isinstance(label, dict) else UNVOUCHED.to_json())
        seq = int(self.audit.append(kind, run_id, data))
        self.position += 1
        self.new.append(kind)
        return seq

    def _check_pending(self, data: Mapping[str, Any]) -> None:
        """A `call` about to be (or already) recorded must be the one the agent asked about."""
        pending = self.pending
        if pending is None or self.matched:
            return
        if data.get("step") != pending.step or data.get("tool") != pending.tool:
            self.stopped = True
            raise _Mismatch(409, f"the grant's next call is step {data.get('step')!r} "
                                 f"({data.get('tool')}), not step {pending.step!r} ({pending.tool})",
                            expected_step=data.get("step"), expected_tool=data.get("tool"))
        if data.get("args_sha256") != pending.digest:
            self.stopped = True
            raise _Mismatch(403, f"step {pending.step!r}: the arguments are not the ones the plan "
                                 "resolves to; nothing may run", expected_args=data.get("args"))
        self.matched = True
        shows = data.get("shows")
        self.shows = shows if isinstance(shows, dict) else UNVOUCHED.to_json()


class _Paused(Exception):
    """The run reached the call the agent asked about (or an unanswered extraction)."""


@dataclass
class ReplayTools:
    results: list[dict[str, Any]]
    sink: ReplaySink
    index: int = 0
    paused: bool = False

    def call(self, tool: str, args: Mapping[str, Any]) -> ToolResult:
        if self.index < len(self.results):
            reported = self.results[self.index]
            self.index += 1
            if not reported.get("ok", True):
                raise RuntimeError(str(reported.get("error") or "the agent reported a failure"))
            readers = reported.get("readers")
            label = Label(readers=frozenset(readers)) if isinstance(readers, list) else None
            return ToolResult(reported.get("value"), label)
        self.paused = True
        self.sink.stopped = True
        raise _Paused()


@dataclass
class ReplayExtractor:
    answers: list[Any]
    sink: ReplaySink
    index: int = 0
    waiting: ExtractType | None = None

    def extract(self, source: Any, type: ExtractType, question: str) -> Any:
        if self.index < len(self.answers):
            self.index += 1
            return self.answers[self.index - 1]
        self.waiting = type
        self.sink.stopped = True
        raise _Paused()


class ReplayResources:
    """Reads go to the store; writes of replayed calls are dropped (already stored), except
    for a logged call never answered (its labels may not have been stored)."""

    def __init__(self, store: ResourceLabels, sink: ReplaySink) -> None:
        self.store = store
        self.sink = sink
        self.lock = lock_of(store)

    def label_of(self, pattern: str) -> Label | None:
        return self.store.label_of(pattern)

    def state_of(self, name: str, otherwise: Label) -> Label:
        return state_of(self.store, name, otherwise)

    def record(self, name: str, label: Label) -> None:
        if not self.sink.replaying_call or self.sink.unanswered_call:
            self.store.record(name, label)


@dataclass
class Answer:
    status: int
    body: dict[str, Any]


class GrantRunner:
    """Checks and results for grants, over shared storage (any worker, any request)."""

    def __init__(self, gate: Any, storage: Storage, *, call_timeout: float = 300.0) -> None:
        self.gate = gate
        self.storage = storage
        self.call_timeout = call_timeout

    def create(self, grant: Grant, run_id: str, credential: str, session: str = "") -> str:
        grant_id, statement = grant_insert(grant, run_id, credential, session)
        try:
            self.storage.sql.run(*statement)
        except (AuditError, StorageUnavailable):
            if granted(self.storage, run_id):
                raise RunProblem(409, run_granted(run_id)) from None
            raise
        return grant_id

    def row(self, grant_id: str, credential: str | None = None) -> GrantRow:
        row = self.storage.grants.get(grant_id)
        if row is None or (credential is not None and row.credential != credential):
            raise RunProblem(404, f"no grant {grant_id!r} (for this credential)")
        return row

    def status(self, grant_id: str, credential: str | None) -> dict[str, Any]:
        row = self.row(grant_id, credential)
        state = _state(row)
        return {"grant": row.id, "run_id": row.run_id, "status": row.status,
                "reported": len(state["results"]), "outstanding": state.get("outstanding"),
                "approval": row.approval}

    def check(self, grant_id: str, credential: str, step: str, tool: str,
              args: Mapping[str, Any]) -> Answer:
        digest = args_digest(dict(args))
        with self._leased(grant_id, credential) as (row, state, owner):
            outstanding = state.get("outstanding")
            if outstanding is not None:
                # The very call that was allowed, asked about again: its step, its tool and its
                # arguments (a row without the tool answers 409).
                if (outstanding["step"] == step and outstanding.get("tool") == tool
                        and outstanding["digest"] == digest):
                    return self._keep(row, state, owner, Answer(200, {
                        "allowed": True, "grant": row.id, "call": outstanding["call"], "step": step,
                        "run_id": row.run_id, "repeated": True}))
                self._keep(row, state, owner, None)
                raise RunProblem(409, f"step {outstanding['step']!r} was allowed and its result is not "
                                      "reported yet; report it first", outstanding=outstanding)
            self._current(row, state, owner)
            sink, tools, extractor, result = self._replay(row, state, Pending(step, tool, digest), owner)
            if tools.paused and sink.matched:
                # Before the agent may run it: what it will see joins its session's context.
                self._show(row, state, Label.from_json(sink.shows) if sink.shows else UNVOUCHED)
                state["outstanding"] = {"call": len(state["results"]), "step": step, "tool": tool,
                                        "digest": digest, "deadline": time.time() + self.call_timeout,
                                        "shows": sink.shows}
                return self._keep(row, state, owner, Answer(200, {
                    "allowed": True, "grant": row.id, "call": len(state["results"]), "step": step,
                    "run_id": row.run_id}))
            if sink.blocked is not None:
                blocked = sink.blocked
                status = self._after(row, state, owner, tools, extractor, result)
                return Answer(403, {"allowed": False, "error": f"step {step!r} blocked at run time: "
                                    f"{blocked.get('verdict')} ({', '.join(blocked.get('rules', []))})",
                                    "verdict": blocked.get("verdict"), "rules": blocked.get("rules", []),
                                    "run_status": status})
            if extractor.waiting is not None:
                self._keep(row, state, owner, None)
                raise RunProblem(409, f"the next step is an extraction ({extractor.waiting.kind}): "
                                      "report its answer first", extraction=extractor.waiting.kind)
            status = self._after(row, state, owner, tools, extractor, result)
            raise RunProblem(409, f"step {step!r} does not run next in this grant (run {status})",
                             run_status=status)

    def report(self, grant_id: str, credential: str, *, call: int | None, ok: bool, value: Any,
               error: str | None, readers: list[str] | None, extraction: Any = None,
               is_extraction: bool = False) -> Answer:
        with self._leased(grant_id, credential) as (row, state, owner):
            if is_extraction:
                if state.get("outstanding") is not None:
                    self._keep(row, state, owner, None)
                    raise RunProblem(409, "a call is outstanding; report its result first")
                state["answers"].append(extraction)
            else:
                outstanding = state.get("outstanding")
                if outstanding is None or (call is not None and call != outstanding["call"]):
                    self._keep(row, state, owner, None)
                    raise RunProblem(409, "no such call is outstanding on this grant (results are "
                                          "reported once, for a call that was allowed)")
                entry: dict[str, Any] = {"ok": ok, "value": value}
                if error is not None:
                    entry["error"] = error[:500]
                if readers is not None:
                    entry["readers"] = readers
                state["results"].append(entry)
                state["outstanding"] = None
            sink, tools, extractor, result = self._replay(row, state, None, owner)
            if not is_extraction and sink.result_label is not None:
                # The result's label is looked up after the tool ran (another run may have
                # written what it read since the check): what it adds to what the check told
                # the session the agent would see joins the session too.
                label = Label.from_json(sink.result_label)
                told = outstanding.get("shows") if outstanding is not None else None
                before = Label.from_json(told) if isinstance(told, dict) else None
                if before is None or before.join(label) != before:
                    self._show(row, state, label)
            status = self._after(row, state, owner, tools, extractor, result)
            return Answer(200, {"grant": row.id, "run_id": row.run_id, "label": sink.result_label,
                                "run_status": status, "needs_extraction": extractor.waiting is not None})

    def sweep(self, limit: int = 50) -> int:
        """Stop the runs whose outstanding call is past its deadline (the agent or its tool
        hangs and never comes back): each gets its `timeout` and `run_finished` now, not at
        the next request on the grant. Returns how many were stopped."""
        stopped = 0
        for grant_id, credential in self.storage.grants.overdue(time.time(), limit):
            try:
                with self._leased(grant_id, credential):
                    pass
            except RunProblem as exc:
                stopped += exc.status == 410 and "timed out" in exc.message
        return stopped

    # -- internals -----------------------------------------------------------------------

    def _leased(self, grant_id: str, credential: str) -> Any:
        runner = self

        class _Lease:
            def __enter__(self) -> tuple[GrantRow, dict[str, Any], str]:
                row = runner.row(grant_id, credential)
                if row.status != "open":
                    raise RunProblem(410, f"grant {grant_id!r} is {row.status}: its run is over "
                                          "(a grant is used once)")
                self.owner = secrets.token_hex(8)
                if not runner.storage.grants.lease(grant_id, self.owner, LEASE_SECONDS):
                    raise RunProblem(409, f"another request on grant {grant_id!r} is in progress; retry")
                row = runner.row(grant_id, credential)
                if row.status != "open":
                    runner.storage.grants.release(grant_id, self.owner)
                    raise RunProblem(410, f"grant {grant_id!r} is {row.status}")
                state = _state(row)
                runner._expire(row, state, self.owner)
                runner._superseded(row, state, self.owner)
                return row, state, self.owner

            def __exit__(self, *exc: Any) -> None:
                runner.storage.grants.release(grant_id, self.owner)

        return _Lease()

    def _expire(self, row: GrantRow, state: dict[str, Any], owner: str) -> None:
        """A call not reported by its deadline failed: the run stops there."""
        outstanding = state.get("outstanding")
        if outstanding is None or outstanding.get("deadline", float("inf")) > time.time():
            return
        state["results"].append({"ok": False, "error": f"timed out: no result within {self.call_timeout:.0f} s"})
        state["outstanding"] = None
        self.storage.audit.append("timeout", row.run_id, {"step": outstanding["step"],
                                                          "after_s": self.call_timeout})
        _sink, tools, extractor, result = self._replay(row, state, None, owner)
        self._after(row, state, owner, tools, extractor, result, force="timed_out")
        raise RunProblem(410, f"grant {row.id!r}: step {outstanding['step']!r} timed out; the run was stopped")

    def _superseded(self, row: GrantRow, state: dict[str, Any], owner: str) -> None:
        """A session uses its newest grant only: the agent would decide whether to use an
        older one after reading what the newer ones returned, which its run never saw. An
        older grant is finished at its next request (a result still outstanding on it may
        be reported)."""
        if state.get("outstanding") is not None or self.storage.grants.newest(row.credential, row.session) == row.id:
            return
        self.storage.audit.append("run_finished", row.run_id, {"grant": row.id, "status": "superseded"})
        self.storage.grants.save(row.id, owner, results=_pack(state), status="finished")
        raise RunProblem(410, f"grant {row.id!r} was superseded by a newer grant of its session; "
                              "its run is over")

    def _keep(self, row: GrantRow, state: dict[str, Any], owner: str, answer: Answer | None) -> Answer:
        self.storage.grants.save(row.id, owner, results=_pack(state), status="open")
        return answer if answer is not None else Answer(200, {})

    def _after(self, row: GrantRow, state: dict[str, Any], owner: str, tools: ReplayTools,
               extractor: ReplayExtractor, result: RunResult | None, force: str | None = None) -> str:
        """Save the state; a run that ended is finished (audited once)."""
        if (result is not None and not tools.paused and extractor.waiting is None) or force:
            status = force or (result.status if result is not None else "failed")
            self.storage.audit.append("run_finished", row.run_id, {"grant": row.id, "status": status})
            self.storage.grants.save(row.id, owner, results=_pack(state), status="finished")
            return status
        self.storage.grants.save(row.id, owner, results=_pack(state), status="open")
        return "running"

    def _replay(self, row: GrantRow, state: dict[str, Any], pending: Pending | None, owner: str
                ) -> tuple[ReplaySink, ReplayTools, ReplayExtractor, RunResult | None]:
        sink, tools, extractor, result = self._replay_run(row, state, pending, owner)
        if sink.halts:  # the agent will learn its run stopped: its session learns the label
            self._show(row, state, join_all([Label.from_json(h) for h in sink.halts]))
        return sink, tools, extractor, result

    def _show(self, row: GrantRow, state: dict[str, Any], label: Label) -> None:
        """What this grant's run shows its agent joins the session's context, and the run's
        own record of what it showed (`_current`)."""
        self.storage.context.add(row.credential, row.session, label)
        shown = state.get("shown")
        state["shown"] = (label if shown is None else Label.from_json(shown).join(label)).to_json()

    def _current(self, row: GrantRow, state: dict[str, Any], owner: str) -> None:
        """A grant's next call is the agent's choice, made with everything its session has
        been shown: if that is more than the plan was reviewed with (its context then, its
        trigger) and what this run showed since, another grant's call or another trigger
        was read meanwhile (by another worker, while this plan was reviewed, say), and the
        plan's review did not see it. The run is over (410): submit the plan again, reviewed
        with all of it. The test `grant_approved` makes once, at every call (red team round
        36: a grant made on a context read before another worker's private read)."""
        now = self.storage.context.label(row.credential, row.session)
        if now is None:
            return
        allowed = self.gate.reviewed_with(row.trigger, row.review)
        shown = state.get("shown")
        if isinstance(shown, dict):
            allowed = allowed.join(Label.from_json(shown))
        if now.join(allowed) == allowed:
            return
        self.storage.audit.append("run_finished", row.run_id, {"grant": row.id, "status": "stale"})
        self.storage.grants.save(row.id, owner, results=_pack(state), status="finished")
        raise RunProblem(410, f"grant {row.id!r}: its session has been shown more since the plan was "
                              "reviewed (another grant's call, another trigger); submit the plan again")

    def _replay_run(self, row: GrantRow, state: dict[str, Any], pending: Pending | None, owner: str
                    ) -> tuple[ReplaySink, ReplayTools, ReplayExtractor, RunResult | None]:
        gate = self.gate
        classified = gate.classify(row.trigger)
        checked = check_plan(parse_plan(row.plan), gate.policy.catalog)
        review = review_from_json(row.review)
        if checked.hash != review.plan_hash:
            raise RunProblem(409, "the stored plan does not match the granted hash; nothing runs")
        logged = [(e.kind, e.data.get("step")) for e in self.storage.audit.tail(100_000, run_id=row.run_id)
                  if e.kind in EXECUTOR_KINDS]
        sink = ReplaySink(self.storage.audit, row.run_id, logged, pending, reported=len(state["results"]))
        tools = ReplayTools(state["results"], sink)
        extractor = ReplayExtractor(state["answers"], sink)
        executor = Executor(gate.policy, tools, sink, resources=ReplayResources(self.storage.resources, sink),
                            extractor=extractor, agent_runs_tools=True)
        grant = Grant(classified=classified, checked=checked, review=review, approval=row.approval)
        try:
            result: RunResult | None = executor.run(grant, row.run_id)
        except AuditError as exc:
            cause = exc.__cause__
            if isinstance(cause, _Mismatch):
                if cause.problem.detail.get("diverged"):
                    self.storage.audit.append("run_finished", row.run_id, {"grant": row.id, "status": "diverged"})
                    self.storage.grants.save(row.id, owner, results=_pack(state), status="finished")
                raise cause.problem from None
            if isinstance(cause, _Stop):
                return sink, tools, extractor, None
            raise
        except GrantError as exc:
            raise RunProblem(409, str(exc)) from None
        return sink, tools, extractor, result


def _state(row: GrantRow) -> dict[str, Any]:
    raw: Any = row.results
    if isinstance(raw, dict):
        return {"results": list(raw.get("results", [])), "answers": list(raw.get("answers", [])),
                "outstanding": raw.get("outstanding"), "shown": raw.get("shown")}
    return {"results": list(raw), "answers": [], "outstanding": None, "shown": None}


def _pack(state: dict[str, Any]) -> Any:
    return {"results": state["results"], "answers": state["answers"], "outstanding": state.get("outstanding"),
            "shown": state.get("shown")}


__all__ = ["EXECUTOR_KINDS", "Answer", "GrantRunner", "RunProblem", "review_from_json"]
