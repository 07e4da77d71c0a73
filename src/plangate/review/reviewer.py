"""The review: a pure function of (trigger, plan, policy) -> approve / deny / escalate.

It judges WHAT the plan does: which tools, which arguments, where data flows. It reads the
trigger's payload only to verify literal origins. Every call step is decided by the policy
with the facts known before the run; values that are still open are listed, and the
executor decides them again at call time. No I/O, no clock, no randomness.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from plangate.catalog import Catalog
from plangate.errors import PlanError
from plangate.labels import TRUSTED, Label, Taint, join_all
from plangate.plan.codec import (
    CheckedPlan,
    check_plan,
    parse_plan,
    plan_hash,
)
from plangate.plan.model import CallStep, ExtractStep, ForEachStep, Plan, Step
from plangate.policy.engine import CompiledPolicy, VerdictKind
from plangate.policy.facts import CallFacts, PlanBounds
from plangate.resources import (
    MemoryResourceLabels,
    ResourceLabels,
    call_output_label,
    call_state,
    disclosed_label,
    executes_tainted,
    record_writes,
    state_of,
    stored_reads,
    written_label,
)
from plangate.review.flow import AT_RUN_TIME, OPEN, FlowContext, Resolved
from plangate.review.origins import origin_problems
from plangate.review.summary import summarise
from plangate.trigger import Classified, Deployment, Trigger, classify

MALFORMED = "plangate:malformed-plan"
REVIEW_ERROR = "plangate:review-error"
ORIGIN_LIE = "plangate:origin-claim"


class Finding(NamedTuple):
    """The decision on one step. (A NamedTuple: one per step on the review's hot path.)"""

    step: str
    tool: str
    verdict: VerdictKind
    rules: tuple[str, ...]
    detail: str = ""
    open_args: tuple[str, ...] = ()
    #: Facts absent at review because they depend on open values (`args.<name>`,
    #: `readers_ok`, `destinations`, ...): an owner's yes cannot have covered them.
    open_facts: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"step": self.step, "tool": self.tool, "verdict": self.verdict,
                "rules": list(self.rules), "detail": self.detail,
                "open_args": list(self.open_args), "open_facts": list(self.open_facts)}


@dataclass(frozen=True, slots=True, kw_only=True)
class Review:
    """A verdict with the rules that decided it and what the plan will do."""

    verdict: VerdictKind
    rules: tuple[str, ...]
    summary: str
    trust_class: str
    plan_hash: str | None
    findings: tuple[Finding, ...] = ()
    open_values: tuple[str, ...] = ()
    classification: tuple[str, ...] = ()
    error: str | None = None
    reasons: Mapping[str, str] = field(default_factory=dict)
    #: The label of everything the planner was shown, joined into its literals.
    planner_context: Label | None = None
    #: What the trigger had spent in earlier runs when this plan was reviewed (its bounds
    #: were added to the plan's: `plangate.audit.spend`); None when no rule reads them.
    spent: PlanBounds | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "rules": list(self.rules),
            "summary": self.summary,
            "trust_class": self.trust_class,
            "plan_hash": self.plan_hash,
            "open_values": list(self.open_values),
            "classification": list(self.classification),
            "findings": [f.to_json() for f in self.findings],
            "reasons": dict(self.reasons),
            "error": self.error,
            "planner_context": (self.planner_context.to_json()
                                if self.planner_context is not None else None),
            **({"spent": self.spent.to_json()} if self.spent is not None else {}),
        }

    def bounds(self, checked: CheckedPlan, catalog: Catalog) -> PlanBounds:
        """The bounds this plan was reviewed with: its own, plus its trigger's earlier spend."""
        own = plan_bounds(checked, catalog)
        return own if self.spent is None else self.spent.plus(own)


def combine(verdicts: list[VerdictKind]) -> VerdictKind:
    if "deny" in verdicts:
        return "deny"
    return "escalate" if "escalate" in verdicts else "approve"


def review(trigger: Trigger | Classified, plan: Plan | Mapping[str, Any] | str, policy: CompiledPolicy,
           *, resources: ResourceLabels | None = None,
           planner_context: Label | None = None) -> Review:
    """Review a plan for a trigger under a policy. Never raises for bad plans: a plan
    that does not parse or check is denied with `plangate:malformed-plan` and the error."""
    deployment = deployment_of(policy)
    classified = trigger if isinstance(trigger, Classified) else classify(trigger, deployment)
    try:
        parsed = plan if isinstance(plan, Plan) else parse_plan(plan)
        checked = check_plan(parsed, policy.catalog)
    except PlanError as exc:
        return Review(verdict="deny", rules=(MALFORMED,), summary=f"Plan refused: {exc}",
                      trust_class=classified.trust_class,
                      plan_hash=plan_hash(plan) if isinstance(plan, Plan) else None,
                      classification=classified.reasons, error=str(exc))
    return review_checked(classified, checked, policy, deployment, resources=resources,
                          planner_context=planner_context)


def deployment_of(policy: CompiledPolicy) -> Deployment:
    if policy.doc.deployment is None:
        # Without a deployment nobody is the owner: every trigger is the lowest class.
        return Deployment(owner=["nobody@invalid"], classes=[], lowest="unknown")
    return policy.doc.deployment


def review_checked(classified: Classified, checked: CheckedPlan, policy: CompiledPolicy,
                   deployment: Deployment, *, resources: ResourceLabels | None = None,
                   planner_context: Label | None = None, spent: PlanBounds | None = None) -> Review:
    """Review an already checked plan. Any unexpected error denies (fail closed). `spent`:
    what the trigger spent in earlier runs (`plangate.audit.spend`), added to the plan's
    own bounds."""
    try:
        return _review_checked(classified, checked, policy, deployment, resources,
                               planner_context, spent)
    except Exception as exc:  # any failure in review is a deny, never a pass
        detail = f"{type(exc).__name__}: {exc}"[:500]
        return Review(verdict="deny", rules=(REVIEW_ERROR,), summary=f"Review failed: {detail}",
                      trust_class=classified.trust_class, plan_hash=checked.hash,
                      classification=classified.reasons, error=detail)


def _review_checked(classified: Classified, checked: CheckedPlan, policy: CompiledPolicy,
                    deployment: Deployment, resources: ResourceLabels | None,
                    planner_context: Label | None, spent: PlanBounds | None = None) -> Review:
    flow = FlowContext(classified, deployment, planner_context=planner_context)
    findings: list[Finding] = []
    findings.extend(
        Finding(step=p.step, tool=p.tool, verdict="deny", rules=(ORIGIN_LIE,),
                detail=f"field {p.field!r}: literal claims origin {p.origin!r} but does not "
                       f"occur in that text")
        for p in origin_problems(checked, classified.trigger))
    bounds = plan_bounds(checked, policy.catalog)
    if spent is not None:
        bounds = spent.plus(bounds)
    walker = _StaticWalker(flow, policy, bounds, checked, resources or MemoryResourceLabels())
    walker.block("", {}, flow.plan_pc)
    walker.decide()
    findings.extend(walker.findings)
    verdict = combine([f.verdict for f in findings])
    decisive = [f for f in findings if f.verdict == verdict]
    rules = tuple(dict.fromkeys(r for f in decisive for r in f.rules))
    summary = summarise(checked, policy.catalog, trust_class=classified.trust_class,
                        principal=classified.principal.canonical, verdict=verdict,
                        trigger=classified.trigger)
    if spent is not None and spent.calls:
        summary += (f"\nEarlier runs for this same trigger, counted with this plan: {spent.calls} "
                    f"calls, {spent.egress} sending out, {spent.payments} payments.")
    open_values = tuple(f"{f.step}.{a}" for f in walker.findings for a in f.open_args)
    if open_values:
        summary += ("\nDecided again at run time with the real values: "
                    + ", ".join(open_values) + ".")
    reasons = {r: policy.reason(r) for r in rules if policy.reason(r)}
    return Review(verdict=verdict, rules=rules, summary=summary,
                  trust_class=classified.trust_class, plan_hash=checked.hash,
                  findings=tuple(findings), open_values=open_values,
                  classification=classified.reasons, reasons=reasons,
                  planner_context=planner_context, spent=spent)


def plan_bounds(checked: CheckedPlan, catalog: Catalog) -> PlanBounds:
    egress = payments = 0
    loop = 0
    for scoped in checked.order:
        step = scoped.step
        if isinstance(step, CallStep):
            effects = catalog.tools[step.tool].effects
            egress += scoped.repeat if "egress" in effects else 0
            payments += scoped.repeat if "payment" in effects else 0
        elif isinstance(step, ForEachStep):
            loop = max(loop, step.max)
    return PlanBounds(calls=checked.max_calls, egress=egress, payments=payments, loop=loop)


class _ReadOnce:
    """The persisted labels as one review reads them: each pattern looked up once. The review
    writes only to its overlay, never here, so a second lookup would read the same (unless
    another process stored a label meanwhile: the run checks every call again with the
    labels of its moment). On a database every lookup is a round trip; a review asks for
    `mail:*` three times and one name up to four times."""

    def __init__(self, base: ResourceLabels) -> None:
        # A store that can check its freshness once per review (`moment()`) does so, at the
        # first lookup (a plan that reads no stored resource asks the database nothing).
        self._store = base
        self._base: ResourceLabels | None = None
        self._seen: dict[str, Label | None] = {}

    def label_of(self, pattern: str) -> Label | None:
        if pattern not in self._seen:
            if self._base is None:
                moment = getattr(self._store, "moment", None)
                self._base = moment() if moment is not None else self._store
            self._seen[pattern] = self._base.label_of(pattern)
        return self._seen[pattern]

    def state_of(self, name: str, otherwise: Label) -> Label:
        return state_of(self._store, name, otherwise)

    def record(self, name: str, label: Label) -> None:
        self._seen.clear()
        self._store.record(name, label)
        self._base = None  # a new moment for the lookups after the write


class _StaticWalker:
    """Walks the plan in dependency order with OPEN outputs and catalog labels."""

    def __init__(self, flow: FlowContext, policy: CompiledPolicy, bounds: PlanBounds,
                 checked: CheckedPlan, resources: ResourceLabels) -> None:
        self.flow = flow
        self.policy = policy
        self.bounds = bounds
        self.blocks = checked.blocks
        self.request_type = checked.plan.request_type
        # The plan's own writes sit on top of what earlier runs stored; never persisted.
        self.storage = MemoryResourceLabels(base=_ReadOnce(resources), join_writes=True)
        self.findings: list[Finding] = []
        #: Each call step with its facts, in walk order; `decide` turns them into findings.
        self.calls: list[tuple[CallStep, CallFacts]] = []
        #: Call steps that use something decided at run time though every argument of theirs
        #: is known: a value computed from one, or stored content written from one in this
        #: plan (`AT_RUN_TIME`). An owner's yes covers them no more than an open argument.
        self.at_run_time: set[str] = set()

    def decide(self) -> None:
        """Decide every call walked, in one batch per slice of the policy (the labels of
        later steps never depend on a decision, only on the plan)."""
        decisions = self.policy.decide_many([facts for _step, facts in self.calls])
        for (step, facts), decision in zip(self.calls, decisions, strict=True):
            open_facts: set[str] = set()
            if decision.verdict == "escalate":  # only an escalation's approval needs them
                open_facts.update(f"args.{a}" for a in facts.open_args)
                if step.id in self.at_run_time and not facts.open_args:
                    open_facts.add("values decided at run time")
                if facts.destinations is None:
                    open_facts.update(("readers_ok", "args_readers_ok", "to_owner", "to_sender", "to_known",
                                       "destinations"))
            self.findings.append(Finding(step=step.id, tool=step.tool, verdict=decision.verdict,
                                         rules=decision.rules, detail=decision.detail,
                                         open_args=tuple(sorted(facts.open_args)),
                                         open_facts=tuple(sorted(open_facts))))

    def block(self, block: str, env: dict[str, Resolved], pc: Label = TRUSTED) -> Resolved | None:
        last: Resolved | None = None
        for step in self.blocks[block]:
            last = self.step(step, env, pc)
            env[step.id] = last
        return last

    def step(self, step: Step, env: dict[str, Resolved], pc: Label) -> Resolved:
        if isinstance(step, CallStep):
            return self.call(step, env, pc)
        if isinstance(step, ExtractStep):
            source = self.flow.resolve(step.source, env)
            return Resolved(OPEN, extracted_label(step, source.label,
                                                  self._choices_label(step, env)), False)
        over = self.flow.resolve(step.over, env)
        inner = dict(env)
        inner[step.var] = Resolved(OPEN, over.label, False)
        # How many times the body runs depends on what is looped over: every effect in
        # the body is checked with those readers as its pc (as at run time).
        last = self.block(step.id, inner, pc.join(over.label.readers_only()))
        # As at run time: the list of outputs carries the label of what was looped over and
        # of the last body step, and the readers of every body step: if any of them fails,
        # the loop fails and whatever refers to it is skipped.
        body = join_all(inner[s.id].label for s in self.blocks[step.id]).readers_only()
        label = over.label.join(body)
        return Resolved(OPEN, label.join(last.label) if last else label, False)

    def _choices_label(self, step: ExtractStep, env: dict[str, Resolved]) -> Label | None:
        if step.type.choices is None:
            return None
        return self.flow.resolve(step.type.choices, env).label

    def call(self, step: CallStep, env: dict[str, Resolved], pc: Label) -> Resolved:
        spec = self.policy.catalog.tools[step.tool]
        args = {name: self.flow.resolve(arg, env) for name, arg in step.args.items()}
        touches = bool(spec.effective_reads or spec.effective_writes or spec.executes or spec.loads
                       or spec.discloses)
        known = {n: (r.value if r.known else OPEN) for n, r in args.items()} if touches else {}
        disclosed = disclosed_label(spec, known, self.storage)
        facts = self.flow.call_facts(
            spec=spec, args=args, request_type=self.request_type, bounds=self.bounds,
            executes_tainted=touches and executes_tainted(spec, known, self.storage),
            disclosed=disclosed, control=pc)
        self.calls.append((step, facts))
        arg_labels = {n: r.label for n, r in args.items()}
        stored = stored_reads(spec, known, self.storage)
        # Decided at run time: an argument not known yet, or a value or stored content
        # computed from one (red team round 38: a file written from a path a mail chose, then
        # shared by its known name).
        decided_later = bool(facts.open_args) or any(
            AT_RUN_TIME in label.sources
            for label in (*arg_labels.values(), *stored, *((disclosed,) if disclosed is not None else ())))
        if decided_later:
            self.at_run_time.add(step.id)
        state = call_state(spec, known, self.storage, self.flow.state_label)  # before its writes
        if spec.effective_writes:
            written = written_label(spec, arg_labels, known, self.storage, pc, stored=stored)
            record_writes(spec, known, written.join(_DECIDED_LATER) if decided_later else written,
                          self.storage)
        # A tool that writes may read back what it just wrote: look again after the write.
        label = call_output_label(spec, arg_labels, known, self.storage, control=pc,
                                  stored=None if spec.effective_writes else stored, state=state)
        return Resolved(OPEN, label.join(_DECIDED_LATER) if decided_later else label, False)


_DECIDED_LATER = Label(sources=frozenset({AT_RUN_TIME}))
"""Joined into what a call decided at run time computes and writes (see `AT_RUN_TIME`)."""


def extracted_label(step: ExtractStep, source: Label, choices: Label | None) -> Label:
    """The label of an extraction's output. The quarantined model reads `source` but answers
    the planner's question, so the planner (hijacked or not) can steer the answer: every
    output is at least `low` taint (influenced), whatever the source.

    - bool, number, date: `low`: a typed value cannot carry instructions, but its value (an
      amount, a day) may be what the planner asked for; policies bound influenced values
      (`influenced_args`, e.g. amounts above a limit are confirmed);
    - enum: `high` and `planner`: the planner wrote the values, any strings at all, so an
      enum answer is a planner literal;
    - copy: the content is its choices' (their readers, sources and taint, at least `low`),
      but *which* piece was picked depends on the source: repeated copies over planner
      choices would spell out the source one piece at a time. So it also keeps the
      source's readers and sources (tests/core/test_output_labels.py pins this).
    All keep the readers of what they were computed from."""
    kind = step.type.kind
    if kind == "copy":
        assert choices is not None  # check_plan requires choices for copy
        taint: Taint = choices.taint if choices.taint != "none" else "low"
        picked = Label(readers=choices.readers, sources=choices.sources | {"extract"},
                       taint=taint)
        return picked.join(Label(readers=source.readers, sources=source.sources))
    if kind == "enum":
        return Label(readers=source.readers, sources=source.sources | {"extract", "planner"},
                     taint="high")
    return Label(readers=source.readers, sources=source.sources | {"extract"}, taint="low")
