"""The review's fast label paths equal the plain algorithms they replaced.

The static walker computes labels for every call of every review, so `Label.join`,
`join_all`, `resolve_patterns`, `MemoryResourceLabels.label_of`, the per-call label rules
(`plangate.resources`) and `FlowContext.resolve`/`call_facts` take shortcuts: folds over
fields instead of intermediate labels, parsed patterns kept per pattern string, positional
facts, skipped empty work. Labels are the security core, so each shortcut is held here to
the algorithm it replaced, kept below verbatim (as of commit 4fe0800) as the reference:
equal results (labels compared field by field, readers spelling included), the same
exceptions, and the same lookups reaching the store underneath, in the same order.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import Any
from unittest import mock

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import plangate.review.flow as flow_module
import plangate.review.reviewer as reviewer
from plangate.catalog import ToolSpec
from plangate.labels import PUBLIC, TRUSTED, Label
from plangate.plan.codec import TRIGGER_REF, check_plan, parse_plan
from plangate.plan.model import Concat, ListOf, Lit, Ref
from plangate.policy.facts import CallFacts, PlanBounds
from plangate.resources import MemoryResourceLabels
from plangate.review.flow import (
    DESTINATION_SINKS,
    GIVEN_SOURCES,
    OPEN,
    OWNER,
    FlowContext,
    Resolved,
    _normalise_destination,
    follow,
)
from plangate.review.origins import as_text, occurs_in
from plangate.trigger import classify, parse_trigger

from .test_labels import label_pools, ref_join, ref_join_all
from .test_resources import (
    Logged,
    RefMemoryResourceLabels,
    ref_call_output_label,
    ref_call_state,
    ref_disclosed_label,
    ref_executes_tainted,
    ref_record_writes,
    ref_stored_reads,
    ref_written_label,
    tool_specs,
)

# --- Reference: the flow functions as they were before the speed-ups -----------------------------


def ref_literal_label(self: FlowContext, lit: Lit) -> Label:
    if lit.origin == "instruction":
        return ref_join(self.instruction_label, self.steered)
    if lit.origin == "payload":
        if self._own_words is None:
            return ref_join(self.payload_label, self.steered)
        key = repr(lit.literal)
        label = self._payload_literals.get(key)
        if label is None:
            label = (ref_join(self.payload_label, self.steered) if occurs_in(lit, self._own_words)
                     else self.message_label)
            self._payload_literals[key] = label
        return label
    return self.planner_label


def ref_resolve(self: FlowContext, arg: Any, env: Mapping[str, Resolved]) -> Resolved:
    if isinstance(arg, Lit):
        return Resolved(arg.literal, ref_literal_label(self, arg))
    if isinstance(arg, Ref):
        if arg.ref == TRIGGER_REF:
            return Resolved(follow(self.trigger_value, arg.segments), self.trigger_label(arg.segments))
        base = env[arg.ref]
        return Resolved(follow(base.value, arg.segments), base.label, base.known)
    if isinstance(arg, Concat):
        parts = [ref_resolve(self, p, env) for p in arg.concat]
        label = ref_join_all(p.label for p in parts)
        if not all(p.known for p in parts):
            return Resolved(OPEN, label, False)
        return Resolved("".join(as_text(p.value) for p in parts), label)
    assert isinstance(arg, ListOf)
    items = [ref_resolve(self, i, env) for i in arg.items]
    return Resolved([i.value for i in items], ref_join_all(i.label for i in items),
                    all(i.known for i in items))


def ref_destinations(self: FlowContext, spec: ToolSpec, args: Mapping[str, Resolved]) -> tuple[str, ...] | None:
    out: list[str] = []
    for name, kind in spec.sink_args.items():
        if kind not in DESTINATION_SINKS or name not in args:
            continue
        if not args[name].known:
            return None
        value = args[name].value
        values = value if isinstance(value, list) else [value]
        for v in values:
            out.append(_normalise_destination(kind, v))
    for fixed in spec.sends_to:
        out.append(next(iter(sorted(self.owner_addresses))) if fixed == OWNER
                   else _normalise_destination("recipient", fixed))
    if not out and "egress" in spec.effects:
        return (PUBLIC,)
    return tuple(sorted(set(out)))


def ref_call_facts(self: FlowContext, *, spec: ToolSpec, args: Mapping[str, Resolved], request_type: str,
                   bounds: PlanBounds, executes_tainted: bool, disclosed: Label | None = None,
                   control: Label = TRUSTED) -> CallFacts:
    known_args: dict[str, Any] = {}
    open_args: set[str] = set()
    tainted: set[str] = set()
    influenced: set[str] = set()
    planner: set[str] = set()
    private = (disclosed is not None and not disclosed.is_public) or not control.is_public
    labels = [control]
    for name, r in args.items():
        label = r.label
        labels.append(label)
        if r.known:
            known_args[name] = r.value
        else:
            open_args.add(name)
        if label.taint != "none":
            influenced.add(name)
            if label.taint == "high":
                tainted.add(name)
        if "planner" in label.sources:
            planner.add(name)
        if not private and not label.is_public:
            private = True
    sinks = spec.sink_args
    dests = ref_destinations(self, spec, args)
    readers_ok = args_readers_ok = to_owner = to_sender = to_known = None
    if dests:
        data = ref_join_all(labels)
        args_readers_ok = all(data.readable_by(self._reader_id(d)) for d in dests)
        if disclosed is not None:
            data = ref_join(data, disclosed)
        readers_ok = all(data.readable_by(self._reader_id(d)) for d in dests)
        to_owner = all(d in self.owner_addresses for d in dests)
        to_sender = all(d == self.sender for d in dests)
        to_known = all(self._is_known(d) for d in dests)
    return CallFacts(
        tool=spec.name, trust_class=self.classified.trust_class, request_type=request_type,
        channel=self.trigger.channel, principal=self.sender,
        authenticated=self.classified.authenticated, args=known_args,
        open_args=frozenset(open_args), tainted_args=frozenset(tainted),
        influenced_args=frozenset(influenced), planner_args=frozenset(planner),
        chosen_args=frozenset(n for n, r in args.items() if not r.label.sources <= GIVEN_SOURCES),
        tainted_sinks=frozenset(sinks[n] for n in tainted if n in sinks),
        influenced_sinks=frozenset(sinks[n] for n in influenced if n in sinks),
        private=private, readers_ok=readers_ok, args_readers_ok=args_readers_ok,
        to_owner=to_owner, to_sender=to_sender,
        to_known=to_known, destinations=dests, executes_tainted=executes_tainted, plan=bounds,
        steered=self.steered.taint != "none",
        read_sinks=frozenset(sinks[n] for n, r in args.items() if n in sinks and any(
            s == "extract" or s.startswith(("tool:", "store:")) for s in r.label.sources)))


# --- Flow: arguments and facts ------------------------------------------------------------------


def _flow(owner: bool) -> FlowContext:
    from plangate.bench.perf import POLICY
    from plangate.policy import load_policy
    deployment = load_policy(POLICY).doc.deployment
    assert deployment is not None
    trigger = parse_trigger({"channel": "email", "principal": "owner@home.example" if owner else "eve@evil.example",
                             "evidence": {"dkim": "pass", "spf": "pass"} if owner else {},
                             "payload": "hello there"})
    return FlowContext(classify(trigger, deployment), deployment)


FLOWS = {True: _flow(True), False: _flow(False)}
DESTINATION_VALUES = ["bob@partner.example", "owner@home.example", "eve@evil.example", "Owner",
                      "https://x.example/a", "DE89 12", "a@b, c@d", "*"]


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(tool_specs(), label_pools, st.booleans(), st.data())
def test_call_facts_equal_the_reference(spec: ToolSpec, pool: list[Label], owner: bool,
                                        data: st.DataObject) -> None:
    """`call_facts` (one pass, shared empty sets, positional construction): the same facts."""
    flow = FLOWS[owner]
    args = {name: Resolved(data.draw(st.one_of(st.sampled_from(DESTINATION_VALUES),
                                                st.lists(st.sampled_from(DESTINATION_VALUES), max_size=2))),
                           data.draw(st.sampled_from(pool)), data.draw(st.booleans()))
            for name in spec.args}
    kwargs = {"spec": spec, "args": args, "request_type": "any",
              "bounds": PlanBounds(calls=1, egress=0, payments=0, loop=0),
              "executes_tainted": data.draw(st.booleans()),
              "disclosed": data.draw(st.one_of(st.none(), st.sampled_from(pool))),
              "control": data.draw(st.sampled_from(pool))}
    new, ref = flow.call_facts(**kwargs), ref_call_facts(flow, **kwargs)
    assert new == ref
    assert [type(v) for v in new] == [type(v) for v in ref]


# --- The whole walk ------------------------------------------------------------------------------


@contextlib.contextmanager
def reference_walk() -> Iterator[None]:
    """The reviewer with every label function swapped for its reference."""
    with contextlib.ExitStack() as stack:
        for target, name, value in [
            (Label, "join", ref_join), (reviewer, "join_all", ref_join_all),
            (flow_module, "join_all", ref_join_all),
            (reviewer, "MemoryResourceLabels", RefMemoryResourceLabels),
            (reviewer, "call_output_label", ref_call_output_label),
            (reviewer, "disclosed_label", ref_disclosed_label),
            (reviewer, "executes_tainted", ref_executes_tainted),
            (reviewer, "record_writes", ref_record_writes), (reviewer, "stored_reads", ref_stored_reads),
            (reviewer, "written_label", ref_written_label), (reviewer, "call_state", ref_call_state),
            (FlowContext, "call_facts", ref_call_facts), (FlowContext, "resolve", ref_resolve),
            (FlowContext, "literal_label", ref_literal_label),
            (FlowContext, "destinations", ref_destinations),
        ]:
            stack.enter_context(mock.patch.object(target, name, value))
        yield


def _perf_policy() -> Any:
    from plangate.bench.perf import POLICY
    from plangate.policy import load_policy

    return load_policy(POLICY)


PERF = _perf_policy()
PERF_TOOLS = sorted(PERF.catalog.tools)
LITERALS = ["bob@partner.example", "eve@evil.example", "owner@home.example", "notes/a.md", "./notes//a.md",
            "*", "m1", "hello", "https://x.example/a", "DE89 12"]


@st.composite
def _arg(draw: st.DrawFn, kind: str, refs: list[str], depth: int = 0) -> dict[str, Any]:
    """An argument of the catalog's type: a literal, a step's output, the trigger, a concat."""
    origin = draw(st.sampled_from(["planner", "payload", "instruction"]))
    if kind in ("integer", "number"):
        return {"literal": draw(st.integers(0, 900)), "origin": origin}
    if kind == "boolean":
        return {"literal": draw(st.booleans()), "origin": origin}
    choice = draw(st.integers(0, 5 if depth == 0 else 3))
    if choice == 1 and refs:
        return {"ref": draw(st.sampled_from(refs)), "path": draw(st.sampled_from(["", "0.body", "to"]))}
    if choice == 2 and kind == "string":
        return {"ref": "trigger", "path": draw(st.sampled_from(["payload", "principal", "meta.subject", "own"]))}
    if choice >= 4 and kind == "string":
        return {"concat": draw(st.lists(_arg("string", refs, depth + 1), min_size=1, max_size=3))}
    if kind == "array":
        return {"list": draw(st.lists(_arg("string", refs, depth + 1), max_size=2))}
    if kind == "object":
        return {"literal": {"k": draw(st.sampled_from(LITERALS))}, "origin": origin}
    return {"literal": draw(st.sampled_from(LITERALS)), "origin": origin}


@st.composite
def perf_plans(draw: st.DrawFn) -> dict[str, Any]:
    steps: list[dict[str, Any]] = []
    refs: list[str] = []
    for n in range(draw(st.integers(1, 8))):
        tool = draw(st.sampled_from(PERF_TOOLS))
        spec = PERF.catalog.tools[tool]
        loop = bool(refs) and draw(st.integers(0, 3)) == 0  # a loop around the call
        inner = [*refs, "item"] if loop else refs
        args = {name: draw(_arg(a.type, inner)) for name, a in spec.args.items()
                if name in spec.required_args or draw(st.booleans())}
        step: dict[str, Any] = {"id": f"s{n}", "tool": tool, "args": args}
        if loop:
            step = {"id": f"s{n}", "kind": "for_each", "over": {"ref": draw(st.sampled_from(refs))},
                    "as": "item", "max": 3, "steps": [{**step, "id": f"s{n}b"}]}
        steps.append(step)
        refs.append(f"s{n}")
    return {"version": 1, "steps": steps}


TRIGGERS = [
    {"channel": "chat", "principal": "owner@home.example", "evidence": {"paired": True},
     "payload": "please bob@partner.example notes/a.md hello m1 *"},
    {"channel": "email", "principal": "bob@partner.example", "evidence": {"dkim": "pass", "spf": "pass"},
     "payload": "hello notes/a.md\n> From: eve@evil.example\n> send https://x.example/a"},
    {"channel": "email", "principal": "carol@x.example", "payload": "hello m1"},
]
STORED = ["mail:m1", "mail:*", "workspace:notes/a.md", "workspace:*", "memory:tips", "skills:[*]", "calendar:e1"]


def _walk(plan: dict[str, Any], trigger: int, seed: list[tuple[str, Label]], shown: Label | None,
          *, reference: bool) -> tuple[Any, ...]:
    """One review: its JSON, the facts of every call, and every lookup of the persisted labels."""
    base: Any = RefMemoryResourceLabels() if reference else MemoryResourceLabels()
    for name, label in seed:
        base.record(name, label)
    log: list[Any] = []
    facts: list[CallFacts] = []
    with reference_walk() if reference else contextlib.nullcontext():
        inner = FlowContext.call_facts

        def recording(self: FlowContext, **kwargs: Any) -> CallFacts:
            facts.append(inner(self, **kwargs))
            return facts[-1]

        with mock.patch.object(FlowContext, "call_facts", recording):
            result = reviewer.review(parse_trigger(TRIGGERS[trigger]), plan, PERF,
                                     resources=Logged(base, log), planner_context=shown)
    return result.to_json(), facts, log


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(perf_plans(), st.sampled_from(range(len(TRIGGERS))), label_pools, st.data())
def test_the_walk_equals_the_reference(plan: dict[str, Any], trigger: int, pool: list[Label],
                                       data: st.DataObject) -> None:
    """A whole review, with the fast paths and with the references: the same review, the same
    facts for every call, and the same lookups reaching the persisted labels, in order."""
    check_plan(parse_plan(plan), PERF.catalog)  # every generated plan is one the walker walks
    seed = [(name, data.draw(st.sampled_from(pool))) for name in STORED if data.draw(st.booleans())]
    shown = data.draw(st.one_of(st.none(), st.sampled_from(pool)))  # what the planner saw
    assert (_walk(plan, trigger, seed, shown, reference=False)
            == _walk(plan, trigger, seed, shown, reference=True))

