"""Execution: run exactly the approved plan, re-checking every concrete call.

The grant binds the run to the reviewed plan by its canonical hash. Each call's arguments
are resolved to concrete values with their labels, checked against the catalog's types,
decided again by the same policy with every value known, recorded in the audit log
*before* the tool runs (no record, no side effect), and only then executed. A runtime
decision can halt or escalate a run; it never widens what was approved. A failing tool
stops the run cleanly; what already happened is in the result and the audit log.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from plangate.catalog import ToolSpec
from plangate.errors import AuditError, GrantError
from plangate.execute.values import args_digest, audit_value, extraction_problem
from plangate.labels import TRUSTED, Label, join_all
from plangate.plan.codec import CheckedPlan, literal_type_problem, plan_hash, step_refs
from plangate.plan.model import CallStep, ExtractStep, ForEachStep, Step
from plangate.policy.engine import CompiledPolicy
from plangate.protocols import (
    AuditSink,
    Extractor,
    OwnerApprover,
    OwnerQuestion,
    ToolResult,
    ToolRuntime,
)
from plangate.resource_lock import ResourcesBusy, lock_of
from plangate.resources import (
    MemoryResourceLabels,
    ResourceLabels,
    call_output_label,
    call_state,
    disclosed_label,
    executes_tainted,
    record_writes,
    stored_reads,
    written_label,
)
from plangate.review.flow import FlowContext, PathError, Resolved
from plangate.review.reviewer import Review, deployment_of, extracted_label
from plangate.review.summary import describe_values
from plangate.trigger import Classified

RunStatus = Literal["completed", "halted", "failed", "escalated"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Grant:
    """Permission to run one exact plan. Built by `Gate` after review (and, for an
    escalation, after the owner's approval); `approval` names that approval."""

    classified: Classified
    checked: CheckedPlan
    review: Review
    approval: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CallRecord:
    step: str
    tool: str
    args: Mapping[str, Any]
    verdict: str
    rules: tuple[str, ...]
    ok: bool
    error: str | None = None


@dataclass(slots=True, kw_only=True)
class RunResult:
    run_id: str
    status: RunStatus
    calls: list[CallRecord] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    halted_step: str | None = None
    rules: tuple[str, ...] = ()
    message: str = ""
    #: Steps not run because a step they depend on failed or was blocked.
    skipped: list[str] = field(default_factory=list)
    #: Loops that met their `max`: step id -> (items offered, items run).
    truncated: dict[str, tuple[int, int]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id, "status": self.status, "halted_step": self.halted_step,
            "rules": list(self.rules), "message": self.message,
            "skipped": list(self.skipped),
            "truncated": {k: list(v) for k, v in self.truncated.items()},
            "calls": [{"step": c.step, "tool": c.tool, "verdict": c.verdict,
                       "rules": list(c.rules), "ok": c.ok, "error": c.error,
                       "args": {k: audit_value(v) for k, v in c.args.items()}}
                      for c in self.calls],
        }


_FAILED: Any = Resolved(None, TRUSTED, False)
"""Marks a step that failed, halted, was blocked or skipped: its dependents are skipped."""


class _Halt(Exception):
    def __init__(self, status: RunStatus, step: str, message: str,
                 rules: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.status: RunStatus = status
        self.step = step
        self.message = message
        self.rules = rules


class Executor:
    """Runs granted plans against a `ToolRuntime`."""

    def __init__(self, policy: CompiledPolicy, tools: ToolRuntime, audit: AuditSink, *,
                 resources: ResourceLabels | None = None,
                 extractor: Extractor | None = None,
                 approver: OwnerApprover | None = None,
                 agent_runs_tools: bool = False) -> None:
        self.policy = policy
        self.approver = approver
        #: The agent runs each call itself and sees its result (or its error) before it asks
        #: for the next (service grants, the MCP gateway). Whether a later call happens at
        #: all is then the agent's choice, made after reading everything before it: so every
        #: call's pc joins the readers of all the run has shown the agent so far.
        self.agent_runs_tools = agent_runs_tools
        self.tools = tools
        self.audit = audit
        self.resources: ResourceLabels = resources or MemoryResourceLabels()
        self.lock = lock_of(self.resources)
        self.extractor = extractor

    def run(self, grant: Grant, run_id: str) -> RunResult:
        checked = grant.checked
        if plan_hash(checked.plan) != checked.hash or checked.hash != grant.review.plan_hash:
            raise GrantError("the plan does not match the reviewed plan's hash")
        if grant.review.verdict == "deny":
            raise GrantError("a denied plan cannot run")
        if grant.review.verdict == "escalate" and grant.approval is None:
            raise GrantError("an escalated plan runs only after the owner approves it")
        state = _Run(self, grant, run_id)
        result = RunResult(run_id=run_id, status="completed", calls=state.calls,
                           skipped=state.skipped, truncated=state.truncated)
        try:
            state.block("", state.env_top, state.flow.plan_pc)
        except AuditError:
            # No record, no side effect: the call that needed this record did not run,
            # and a broken audit log is the operator's problem to see, loudly.
            raise
        except Exception as exc:  # an enforcement error stops the run (fail closed)
            result.status = "failed"
            result.message = f"enforcement error; run stopped: {type(exc).__name__}: {exc}"[:500]
            self._record("halt", run_id, {"status": "failed", "message": result.message},
                         quiet=True)
        # The extractions the plan could have made and did not are charged as if made: how
        # many ran may depend on what the run's principal may not read (ModelExtractor).
        settle = getattr(self.extractor, "settle_run", None)
        if settle is not None:
            settle(sum(s.repeat for s in checked.order if isinstance(s.step, ExtractStep)))
        if state.problems and result.status == "completed":
            first = state.problems[0]
            result.status = first.status
            result.halted_step = first.step
            result.rules = first.rules
            result.message = first.message
        result.outputs = {k: v.value for k, v in state.env_top.items() if v is not _FAILED}
        return result

    def _record(self, kind: str, run_id: str, data: Mapping[str, Any], *,
                quiet: bool = False) -> None:
        try:
            self.audit.append(kind, run_id, data)
        except AuditError:
            if not quiet:
                raise
        except Exception as exc:  # any audit failure counts as no record
            if not quiet:
                raise AuditError(f"audit write failed: {exc!r}") from exc


class _AskOwner(Exception):
    """A call's runtime escalation, to be put to the owner with the lock let go."""

    def __init__(self, verdict: str, rules: tuple[str, ...], values: Mapping[str, Any],
                 labels: Mapping[str, Label]) -> None:
        super().__init__(verdict)
        self.verdict, self.rules, self.values, self.labels = verdict, rules, values, labels


class _Run:
    def __init__(self, executor: Executor, grant: Grant, run_id: str) -> None:
        self.x = executor
        self.grant = grant
        self.run_id = run_id
        self.flow = FlowContext(grant.classified, deployment_of(executor.policy),
                                planner_context=grant.review.planner_context)
        self.bounds = grant.review.bounds(grant.checked, executor.policy.catalog)
        self.calls: list[CallRecord] = []
        self.env_top: dict[str, Resolved] = {}
        self.problems: list[_Halt] = []
        self.skipped: list[str] = []
        self.truncated: dict[str, tuple[int, int]] = {}
        #: Readers of every result and error of the run so far: what an agent that runs the
        #: tools itself has seen (see Executor), and what a halt can depend on.
        self.seen = TRUSTED
        # What the owner's yes covers: each escalation rule that fired at review for a step
        # whose every argument the owner was shown. A step with a value known only at run
        # time is decided again with its values, and asks again if it still escalates: a
        # yes to `<known at run time>` is not a yes to a command, a target, an order, a
        # release or a file nobody has seen, whatever the rule reads (red team rounds 36 and
        # 37 ran each on such a yes), and the summary says so ("Decided again at run time
        # with the real values").
        policy = executor.policy
        self.approved_escalations: set[tuple[str, str]] = set()
        if grant.approval:
            for f in grant.review.findings:
                if f.verdict != "escalate" or f.open_args or f.open_facts:
                    continue
                for r in f.rules:
                    if "*" not in policy.rule_reads(r):
                        self.approved_escalations.add((f.step, r))

    def block(self, block: str, env: dict[str, Resolved], pc: Label) -> Resolved | None:
        """Run a block's steps. A step that fails, halts or is blocked stops only the steps
        that depend on it (they are skipped); independent steps still run. So whether a
        later effect happens never depends on data it does not itself carry: a failure
        caused by private data cannot signal through an unrelated egress step."""
        last = None
        for step in self.grant.checked.blocks[block]:
            failed_dep = next((r.ref for _f, r in step_refs(step)
                               if env.get(r.ref) is _FAILED), None)
            if failed_dep is not None:
                self.skipped.append(step.id)
                self.x._record("skip", self.run_id, {"step": step.id, "after": failed_dep})
                env[step.id] = _FAILED
                continue
            try:
                last = self.step(step, env, pc)
            except _Halt as halt:
                self.problems.append(halt)
                # Whether and where a run stops depends on everything it has computed: the
                # label says who may learn it (a replanning agent's context joins it).
                # Untrusted too: a halt's message may quote what the run read (a tool's
                # error, a field of a stranger's mail).
                label = Label(readers=self.seen.join(pc).readers, taint="high")
                self.x._record("halt", self.run_id, {
                    "step": halt.step, "status": halt.status, "message": halt.message,
                    "rules": list(halt.rules), "label": label.to_json()}, quiet=True)
                env[step.id] = _FAILED
                last = None
                continue
            env[step.id] = last
        return last

    def step(self, step: Step, env: dict[str, Resolved], pc: Label) -> Resolved:
        if isinstance(step, CallStep):
            return self.call(step, env, pc)
        if isinstance(step, ExtractStep):
            return self.extract(step, env)
        assert isinstance(step, ForEachStep)
        over = self._resolve(step.id, "over", step.over, env)
        if not isinstance(over.value, list):
            raise _Halt("halted", step.id, f"for_each over a {type(over.value).__name__}, "
                                           "not a list")
        items = over.value
        if len(items) > step.max:
            # Run the first `max` items, quietly: halting here would tell whoever sees the
            # next effect whether the (possibly private) list was longer than `max`.
            self.truncated[step.id] = (len(items), step.max)
            self.x._record("truncated", self.run_id, {"step": step.id, "items": len(items),
                                                       "max": step.max})
            items = items[:step.max]
        inner_pc = pc.join(over.label.readers_only())
        outputs: list[Any] = []
        labels: list[Label] = [over.label]
        before = len(self.problems) + len(self.skipped)
        body_ids = [s.id for s in self.grant.checked.blocks[step.id]]
        for item in items:
            inner = dict(env)
            inner[step.var] = Resolved(item, over.label)
            last = self.block(step.id, inner, inner_pc)
            if last is not None:
                outputs.append(last.value)
                labels.append(last.label)
            # Whether the loop completes depends on every body step (as in the review).
            labels.extend(inner[i].label.readers_only() for i in body_ids if i in inner)
        if len(self.problems) + len(self.skipped) > before:
            # Some iteration did not finish: the list of outputs is incomplete, so what
            # depends on the loop does not run either.
            raise _Halt(self.problems[-1].status if len(self.problems) else "halted", step.id,
                        "a step inside the loop did not run", ())
        return Resolved(outputs, join_all(labels))

    def _resolve(self, step_id: str, field: str, arg: Any, env: Mapping[str, Resolved]) -> Resolved:
        try:
            resolved = self.flow.resolve(arg, env)
        except PathError as exc:
            raise _Halt("halted", step_id, f"field {field!r}: {exc}") from None
        except KeyError as exc:
            raise _Halt("halted", step_id, f"field {field!r}: {exc} has no value") from None
        return resolved

    def extract(self, step: ExtractStep, env: dict[str, Resolved]) -> Resolved:
        source = self._resolve(step.id, "from", step.source, env)
        choices = (self._resolve(step.id, "type.choices", step.type.choices, env)
                   if step.type.choices is not None else None)
        if self.x.extractor is None:
            raise _Halt("halted", step.id, "no extractor (quarantined model) is configured")
        try:
            value = self.x.extractor.extract(source.value, step.type, step.question)
        except Exception as exc:  # a model failure stops the run cleanly
            raise _Halt("failed", step.id, f"extraction failed: {exc!r}"[:500]) from None
        problem = extraction_problem(value, step.type, choices.value if choices else None)
        if problem:
            raise _Halt("halted", step.id, f"extraction returned {problem}")
        self.x._record("extract", self.run_id, {"step": step.id, "kind": step.type.kind,
                                                 "value": audit_value(value)})
        return Resolved(value, extracted_label(step, source.label,
                                               choices.label if choices else None))

    def _shown(self, label: Label) -> None:
        """The run produced something labelled `label` (which an agent that runs the tools
        itself has seen: see Executor)."""
        self.seen = self.seen.join(label.readers_only())

    def call(self, step: CallStep, env: dict[str, Resolved], pc: Label) -> Resolved:
        spec = self.x.policy.catalog.tools[step.tool]
        args = {name: self._resolve(step.id, name, arg, env) for name, arg in step.args.items()}
        for name, resolved in args.items():
            problem = literal_type_problem(resolved.value, spec.args[name])
            if problem:
                raise _Halt("halted", step.id, f"argument {name!r}: {problem}")
        # A call that writes, runs, loads or discloses stored content is checked and made
        # under the stored resources' lock (plangate.resource_lock): no other run's write
        # lands between its check and its end. The owner is asked with the lock let go; the
        # call is then decided again under it, and runs only if that decision is the one
        # the owner said yes to.
        locks = not self.x.agent_runs_tools and bool(  # an agent's calls: see resource_lock
            spec.effective_writes or spec.loads or spec.discloses)  # writes: `executes` too
        asked: tuple[str, tuple[str, ...], bool] | None = None
        while True:
            try:
                with self.x.lock.hold(bool(spec.effective_writes)) if locks else contextlib.nullcontext():
                    return self._call(step, spec, args, pc, asked)
            except _AskOwner as ask:  # raised only while `asked` is None: one question a call
                asked = (ask.verdict, ask.rules, self._ask_owner(step, ask.values, ask.labels, ask.rules))
            except ResourcesBusy as exc:
                values = {n: r.value for n, r in args.items()}
                self.x._record("block", self.run_id, {
                    "step": step.id, "tool": step.tool, "verdict": "deny", "rules": [], "detail": str(exc),
                    "args": {k: audit_value(v) for k, v in values.items()}, "args_sha256": args_digest(values)})
                self.calls.append(CallRecord(step=step.id, tool=step.tool, args=values,
                                             verdict="deny", rules=(), ok=False, error=str(exc)))
                raise _Halt("halted", step.id, f"not run: {exc}") from None

    def _call(self, step: CallStep, spec: ToolSpec, args: Mapping[str, Resolved], pc: Label,
              asked: tuple[str, tuple[str, ...], bool] | None) -> Resolved:
        seen = self.seen if self.x.agent_runs_tools else None
        policy = self.x.policy
        values = {n: r.value for n, r in args.items()}
        disclosed = disclosed_label(spec, values, self.x.resources)
        facts = self.flow.call_facts(spec=spec, args=args,
                                     request_type=self.grant.checked.plan.request_type,
                                     bounds=self.bounds,
                                     executes_tainted=executes_tainted(spec, values,
                                                                       self.x.resources),
                                     disclosed=disclosed, control=pc, seen=seen)
        stored = stored_reads(spec, values, self.x.resources)
        state = call_state(spec, values, self.x.resources, self.flow.state_label)  # before its writes
        if seen is not None:  # what the call writes and returns exists by the agent's choice
            pc = pc.join(seen)
        decision = policy.decide(facts)
        allowed = decision.verdict == "approve" or (
            decision.verdict == "escalate"
            and all((step.id, r) in self.approved_escalations for r in decision.rules))
        event = {"step": step.id, "tool": step.tool, "verdict": decision.verdict,
                 "rules": list(decision.rules),
                 "args": {k: audit_value(v) for k, v in values.items()}}
        if not allowed and decision.verdict == "escalate":
            if asked is None:
                if self.x.approver is not None:
                    raise _AskOwner(decision.verdict, decision.rules, values,
                                    {n: r.label for n, r in args.items()})
            else:
                allowed = asked == (decision.verdict, decision.rules, True)
        if not allowed:
            # A runtime deny (or an unanswered escalation) blocks: the tool is never called.
            self.x._record("block", self.run_id, {**event, "detail": decision.detail})
            self.calls.append(CallRecord(step=step.id, tool=step.tool, args=values,
                                         verdict=decision.verdict, rules=decision.rules,
                                         ok=False, error="blocked at run time"))
            status: RunStatus = "escalated" if decision.verdict == "escalate" else "halted"
            raise _Halt(status, step.id, f"runtime check: {decision.verdict} "
                        f"({', '.join(decision.rules)})", decision.rules)
        # The record comes first: if the audit write fails, the side effect does not happen.
        # It holds a digest of the exact arguments, since the shown values are truncated.
        event["args_sha256"] = args_digest(values)
        arg_labels = {n: r.label for n, r in args.items()}
        if self.x.agent_runs_tools:
            # What the agent will see of this call, result or error (the tool's readers can
            # only narrow it): recorded with the call, so a front can add it to what the
            # agent's planner has been shown before the agent runs the tool.
            event["shows"] = call_output_label(spec, arg_labels, values, self.x.resources,
                                               control=pc, stored=stored, state=state).to_json()
        self.x._record("call", self.run_id, event)
        # Labels of what the call writes are stored before it runs: a tool that writes and
        # then fails must not leave untrusted content behind with no label on it.
        record_writes(spec, values, written_label(spec, arg_labels, values, self.x.resources, pc,
                                                  stored=stored), self.x.resources)
        # What the call runs or loads, as stored now (its own writes included): compared
        # after the call, a change is another run's write in between (see below).
        running_tainted = bool(spec.executes or spec.loads) and executes_tainted(spec, values,
                                                                                 self.x.resources)
        try:
            result = self.x.tools.call(step.tool, values)
            if not isinstance(result, ToolResult):
                result = ToolResult(result)
        except Exception as exc:  # a failing tool stops the run cleanly
            # Its error may quote what it read: the output's label and everything stored there.
            # (Its arguments are the plan's: made of what the run or the trigger gave, which
            # the agent has already seen.)
            self._shown(join_all([call_output_label(spec, arg_labels, values, self.x.resources,
                                                    control=pc, stored=stored, state=state), *stored]))
            self.calls.append(CallRecord(step=step.id, tool=step.tool, args=values,
                                         verdict=decision.verdict, rules=decision.rules,
                                         ok=False, error=repr(exc)[:500]))
            self.x._record("result", self.run_id, {"step": step.id, "ok": False,
                                                    "error": repr(exc)[:500]}, quiet=True)
            raise _Halt("failed", step.id, f"tool {step.tool!r} failed: {exc!r}"[:500]) from None
        # What the call read may have been written meanwhile by another run, which records
        # its label before it writes the content: look again now that the tool has read it.
        # Content it ran or loaded that became untrusted since the check fails the step (its
        # output is not passed on); what it returned carries the labels of both moments.
        after = stored_reads(spec, values, self.x.resources)
        if (spec.executes or spec.loads) and not running_tainted and executes_tainted(
                spec, values, self.x.resources):
            self._shown(join_all([call_output_label(spec, arg_labels, values, self.x.resources,
                                                    control=pc, stored=stored, state=state), *after]))
            error = "what it ran or loaded was written from untrusted data during the call"
            self.calls.append(CallRecord(step=step.id, tool=step.tool, args=values,
                                         verdict=decision.verdict, rules=decision.rules,
                                         ok=False, error=error))
            self.x._record("result", self.run_id, {"step": step.id, "ok": False, "error": error},
                           quiet=True)
            raise _Halt("failed", step.id, f"tool {step.tool!r}: {error}")
        self.calls.append(CallRecord(step=step.id, tool=step.tool, args=values,
                                     verdict=decision.verdict, rules=decision.rules, ok=True))
        reported = result.label
        if reported is not None and self.x.agent_runs_tools:
            # The agent ran the tool and says who may read the result: it may narrow the
            # catalog's readers, never widen them.
            reported = Label(readers=spec.output_label.join(reported).readers,
                             sources=reported.sources, taint=reported.taint)
        label = call_output_label(spec, arg_labels, values, self.x.resources, control=pc,
                                  reported=reported,
                                  # A tool that writes may read back what it just wrote.
                                  stored=None if spec.effective_writes else [*stored, *after],
                                  state=state)
        self._shown(label)
        self.x._record("result", self.run_id, {"step": step.id, "ok": True,
                                                "label": label.to_json()}, quiet=True)
        return Resolved(result.value, label)

    def _ask_owner(self, step: CallStep, values: Mapping[str, Any], labels: Mapping[str, Label],
                   rules: tuple[str, ...]) -> bool:
        """A runtime escalation asks the owner now, with the concrete values, if the
        deployment has a synchronous channel; otherwise the run stops and waits. The values
        are shown whole as the review summary shows them, each marked with where it came
        from (its label's sources)."""
        approver = self.x.approver
        if approver is None:
            return False
        policy = self.x.policy
        sources = {k: "at run time, from " + (", ".join(sorted(labels[k].sources)) or "the plan")
                   for k in values}
        shown = "\n".join(describe_values(values, sources, "  "))
        question = OwnerQuestion(
            run_id=self.run_id, step=step.id, tool=step.tool, args=dict(values), rules=rules,
            reasons={r: policy.reason(r) for r in rules},
            summary=f"{self.grant.classified.trust_class!r} run wants {step.tool} with:\n{shown}")
        try:
            yes = approver.approve(question) is True
        except Exception:  # an approver failure is a no
            yes = False
        self.x._record("owner_answer", self.run_id, {"step": step.id, "rules": list(rules),
                                                      "approved": yes})
        return yes
