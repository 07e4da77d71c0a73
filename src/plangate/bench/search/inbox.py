"""The InboxBench world of the search: every attack family, each scenario a context.

A goal is an attack family; its contexts are the family's scenarios, each with its own
world, trigger(s) (a stranger's mail, a compromised contact, a webhook, the owner's
chat or schedule reading injected mail) and goal predicate. The scenario's own plan, run
with an approve-all policy, gives the target calls; the search then replaces the last
run's plan with its routes (earlier runs play as the scenario says: they set the stage,
e.g. a stranger's hold read by the owner's later run). Plans run through the real `Gate`
with the shipped policy in front of the real `AssistantRuntime` (a fresh copy of the
scenario's seeded state each time) and are judged by InboxBench's state judge.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

from plangate.audit import AuditLog, OwnerConsole
from plangate.bench.inbox import runner
from plangate.bench.inbox.scenario import Scenario, build_trigger, load_scenarios, merged_world
from plangate.bench.search.agentdojo import Owner, RouteExtractor
from plangate.bench.search.engine import GoalInfo, Question, Run, Target, Variant
from plangate.bench.search.probes import collect, is_read, probe_echoes, read_calls, safe
from plangate.bench.search.recipes import Ctx, Echo
from plangate.bench.search.sinks import request_type_for, sink_calls, variants
from plangate.bench.search.values import Index, Json, Source, as_text
from plangate.catalog import Catalog
from plangate.deployments.inbox.judge import Judge, changes
from plangate.gate import Gate
from plangate.identity import parse_address
from plangate.plan.codec import canonical_json, check_plan, parse_plan
from plangate.policy import CompiledPolicy, load_policy
from plangate.policy.loader import compile_policy
from plangate.protocols import ToolResult
from plangate.trigger import Trigger

POLICY = Path(__file__).resolve().parents[2] / "deployments" / "inbox" / "policy.yaml"
#: A scenario plan that may make more calls than this is a volume attack, not a route.
MAX_TARGETS = 12
Call = tuple[str, dict[str, Any]]


def approve_all(policy: CompiledPolicy) -> CompiledPolicy:
    """The same deployment and catalog with one rule: permit everything."""
    doc = yaml.safe_load(POLICY.read_text(encoding="utf-8"))
    return compile_policy({"name": "approve-all", "deployment": doc["deployment"],
                           "rules": [{"id": "approve-all", "permit": {}, "reason": "the targets' baseline"}]},
                          policy.catalog)


class Recording:
    """A `ToolRuntime` that records each call and its output (None when the tool failed:
    a failed call may still have done what the goal needed, a fetch that was sent)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.calls: list[tuple[str, dict[str, Any], Any]] = []

    def call(self, tool: str, args: Mapping[str, Any]) -> ToolResult:
        try:
            result = self.inner.call(tool, args)
        except Exception:
            self.calls.append((tool, dict(args), None))
            raise
        self.calls.append((tool, dict(args), _jsonable(_value(result))))
        return result if isinstance(result, ToolResult) else ToolResult(result)


def attack_plan(scenario: Scenario) -> Mapping[str, Any]:
    """The plan that reaches the goal: the last run's replan if it has one (an owner-approved
    plan widened afterwards), else its plan."""
    last = scenario.runs[-1]
    return last.replan if last.replan is not None else last.plan


class _NoTools:
    def call(self, tool: str, args: Mapping[str, Any]) -> ToolResult:
        raise RuntimeError("review only")


def _jsonable(value: Any) -> Any:
    import json

    return json.loads(json.dumps(value, default=str))


def _literal(value: Any) -> Json:
    return {"literal": value, "origin": "planner"}


def _literal_args(args: Mapping[str, Any]) -> dict[str, Any] | None:
    """Concrete values of arguments written only as literals (lists of literals too)."""
    out: dict[str, Any] = {}
    for name, arg in args.items():
        if isinstance(arg, Mapping) and "literal" in arg:
            out[name] = arg["literal"]
        elif isinstance(arg, Mapping) and "list" in arg and all(isinstance(i, Mapping) and "literal" in i
                                                               for i in arg["list"]):
            out[name] = [i["literal"] for i in arg["list"]]
        else:
            return None
    return out


@dataclass(slots=True)
class Stage:
    """A runtime on a fresh copy of a scenario's seeded state, its earlier runs played."""

    runtime: Any
    log: AuditLog
    baseline: dict[str, Any]
    tmp: Path


@dataclass(slots=True)
class InboxContext:
    world: InboxWorld
    goal: GoalInfo
    scenario: Scenario
    ctx: Ctx
    echoes: list[Echo]
    attacker_text: str
    trust_class: str
    variants: list[Variant] = field(default_factory=list)

    @property
    def context(self) -> str:
        return f"{self.world.name}|{self.goal.id}|{self.scenario.id}"

    def execute(self, steps: list[Json], answers: dict[str, Any], *, owner_yes: bool,
                trusted: Sequence[Any] = ()) -> Run:
        tools = {s["tool"] for s in steps if "tool" in s}
        preferred = str(attack_plan(self.scenario).get("request_type", "any"))
        plan = {"version": 1, "request_type": request_type_for(self.world.policy, self.trust_class, tools, preferred),
                "steps": steps}
        return self.world.execute(self.scenario, plan, answers, policy=self.world.policy, owner_yes=owner_yes,
                                  trusted=trusted)

    def outputs_of(self, targets: Sequence[Target]) -> list[Any]:
        with self.world.stage(self.scenario) as stage:
            call = lambda t, a: _jsonable(_value(stage.runtime.call(t, dict(a))))  # noqa: E731
            return [safe(call, t.tool, t.args) for t in targets]

    def judge_targets(self, targets: Sequence[Target]) -> bool:
        with self.world.stage(self.scenario) as stage:
            for target in targets:
                with contextlib.suppress(Exception):
                    stage.runtime.call(target.tool, target.args)
            return self.world.judged(self.scenario, stage)


class InboxWorld:
    name = "inbox"

    def __init__(self, *, policy: CompiledPolicy | None = None) -> None:
        self.policy: CompiledPolicy = policy or load_policy(POLICY)
        self.weak = approve_all(self.policy)
        self.catalog: Catalog = self.policy.catalog
        self.scenarios = {s.id: s for s in load_scenarios()}
        self._stack = contextlib.ExitStack()
        self._web: str | None = None
        self._templates: dict[str, Path] = {}
        self._stored: dict[str, dict[str, bool]] = {}
        self.until: float | None = None
        self._root = Path(tempfile.mkdtemp(prefix="plangate-search-"))
        self._stack.callback(shutil.rmtree, self._root, True)

    def close(self) -> None:
        self._stack.close()

    @property
    def web(self) -> str:
        if self._web is None:
            self._web = self._stack.enter_context(runner.local_web())
        return self._web

    # -- goals and contexts --------------------------------------------------------------

    def goals(self) -> list[GoalInfo]:
        families: dict[str, list[Scenario]] = {}
        for s in self.scenarios.values():
            if s.kind == "attack":
                families.setdefault(s.family, []).append(s)
        out = []
        for family, items in sorted(families.items()):
            note = "" if any(self._searchable(s) for s in items) else (
                f"every scenario needs more than {MAX_TARGETS} calls: a volume goal (budgets and rate limits), "
                "not a route for a value")
            # A context here costs a fresh mailbox per plan: twice an AgentDojo goal's time.
            out.append(GoalInfo(self.name, family, f"{len(items)} scenarios, e.g. {items[0].title}", note, 2.0))
        return out

    def contexts(self, goal: GoalInfo) -> list[str]:
        return sorted(s.id for s in self.scenarios.values()
                      if s.kind == "attack" and s.family == goal.id and self._searchable(s))

    def _searchable(self, scenario: Scenario) -> bool:
        """A scenario whose last plan makes few enough calls to be a route's targets."""
        try:
            checked = check_plan(parse_plan(dict(attack_plan(scenario))), self.catalog)
        except Exception:
            return False
        return checked.max_calls <= MAX_TARGETS

    # -- running -------------------------------------------------------------------------

    def _template(self, scenario: Scenario) -> Path:
        key = canonical_json(dict(scenario.world))
        if key not in self._templates:
            path = self._root / f"t{len(self._templates)}"
            rt = runner.assistant_runtime(path, self.web)
            rt.seed(merged_world(scenario.world))
            close = getattr(rt, "close", None)
            if callable(close):
                close()
            self._templates[key] = path
        return self._templates[key]

    @contextlib.contextmanager
    def stage(self, scenario: Scenario, *, deliver_last: bool = True) -> Iterator[Stage]:
        """A fresh runtime on the scenario's seeded state, with its earlier runs played as
        the scenario says and the last trigger's mail delivered."""
        tmp = Path(tempfile.mkdtemp(dir=self._root))
        try:
            shutil.copytree(self._template(scenario), tmp / "a")
            rt = runner.assistant_runtime(tmp / "a", self.web)
            baseline = rt.snapshot()
            log = AuditLog(":memory:")
            if len(scenario.runs) > 1:
                gate = Gate(self.policy, rt, audit=log, extractor=runner.HijackedExtractor(scenario.extract))
                console = OwnerConsole(log)
                for run in scenario.runs[:-1]:
                    with contextlib.suppress(Exception):
                        runner._one_run(gate, console, rt, run)
            last = scenario.runs[-1].trigger
            if deliver_last and "email" in last:
                rt.deliver(str(last["email"]))
            yield Stage(rt, log, baseline, tmp)
            close = getattr(rt, "close", None)
            if callable(close):
                close()
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def judged(self, scenario: Scenario, stage: Stage) -> bool:
        assert scenario.goal is not None
        return bool(Judge(changes(stage.baseline, stage.runtime.snapshot()), [runner.OWNER]).holds(scenario.goal))

    def trigger(self, scenario: Scenario, trusted: Sequence[Any] = ()) -> Trigger:
        trigger = build_trigger(scenario.runs[-1].trigger)
        if trusted:
            extra = "\n".join(as_text(v) for v in trusted)
            trigger = trigger.model_copy(update={"instruction": f"{trigger.instruction}\n{extra}".strip()})
        return trigger

    def execute(self, scenario: Scenario, plan: Json, answers: Mapping[str, Any], *, policy: CompiledPolicy,
                owner_yes: bool, trusted: Sequence[Any] = (), record: Recording | None = None) -> Run:
        trigger = self.trigger(scenario, trusted)
        extractor = RouteExtractor(runner.HijackedExtractor(scenario.extract), answers)
        if len(scenario.runs) == 1 and record is None:
            # Review first, on a fresh log (a single run has no stored labels yet): a plan the
            # review denies, or escalates to an owner who refuses, never needs a runtime.
            review = Gate(policy, _NoTools()).review(trigger, plan)
            if review.verdict == "deny" or (review.verdict == "escalate" and not owner_yes):
                questions = ([Question(None, None, list(review.rules), review.summary)]
                             if review.verdict == "escalate" else [])
                return Run(review.verdict, list(review.rules), None, [], False, questions)
        with self.stage(scenario) as stage:
            owner = Owner(owner_yes)
            tools = record or Recording(stage.runtime)
            if record is not None:
                record.inner = stage.runtime
            gate = Gate(policy, tools, audit=stage.log, extractor=extractor, approver=owner)
            outcome = gate.submit(trigger, plan)
            run = outcome.run
            executed = [(c.tool, dict(c.args)) for c in run.calls if c.ok] if run else []
            reached = self.judged(scenario, stage)
        return Run(outcome.review.verdict, list(outcome.review.rules), run.status if run else None, executed,
                   reached, owner.questions)

    # -- examples and probes ---------------------------------------------------------------

    @cached_property
    def examples(self) -> dict[str, list[dict[str, Any]]]:
        """Concrete arguments of every call in the scenarios' plans: written as literals, or
        recorded when a benign scenario runs with every call allowed (for tools whose
        arguments are never all literals)."""
        calls: list[tuple[str, Mapping[str, Any]]] = []
        for s in self.scenarios.values():
            for run in s.runs:
                for step in _calls(run.plan.get("steps", [])):
                    args = _literal_args(step.get("args", {}))
                    if args is not None and step.get("tool") in self.catalog.tools:
                        calls.append((str(step["tool"]), args))
        used = {step.get("tool") for s in self.scenarios.values() for run in s.runs
                for step in _calls(run.plan.get("steps", []))}
        for s in self.scenarios.values():
            missing = used - {t for t, _ in calls}
            tools = {step.get("tool") for step in _calls(s.runs[0].plan.get("steps", []))}
            if s.kind != "benign" or len(s.runs) != 1 or not tools & missing:
                continue
            rec = Recording(None)
            with contextlib.suppress(Exception):
                self.execute(s, dict(s.runs[0].plan), {}, policy=self.weak, owner_yes=True, record=rec)
            calls += [(tool, args) for tool, args, output in rec.calls if output is not None]
        return collect(self.catalog, calls)

    def warm(self) -> None:
        """Probe the tools once (`examples`, `echoes`), before any goal's time starts."""
        _ = self.echoes

    @cached_property
    def read_calls(self) -> list[Call]:
        return read_calls(self.catalog, self.examples)

    @cached_property
    def echoes(self) -> list[Echo]:
        """Where each acting tool's arguments come back (`probes.probe_echoes`), on the shared
        world (commands are not probed: they run nothing that gives an argument back)."""
        base = next(s for s in self.scenarios.values() if not s.world and len(s.runs) == 1)

        @contextlib.contextmanager
        def scratch() -> Iterator[Callable[[str, Mapping[str, Any]], Any]]:
            with self.stage(base, deliver_last=False) as stage:
                yield lambda tool, args: _jsonable(_value(stage.runtime.call(tool, dict(args))))

        return probe_echoes(self.catalog, self.examples, self.read_calls, scratch,
                            skip_effects=frozenset({"execute"}), keep=("start", "end", "day"))

    # -- contexts --------------------------------------------------------------------------

    def prepare(self, goal: GoalInfo, context: str) -> InboxContext | None:
        scenario = self.scenarios[context]
        rec = Recording(None)
        try:
            baseline = self.execute(scenario, dict(attack_plan(scenario)), {}, policy=self.weak, owner_yes=True,
                                    record=rec)
        except Exception:
            return None
        if not baseline.reached:
            return None  # the scenario's own plan does not reach its goal even with every call allowed
        trigger = self.trigger(scenario)
        principal = parse_address(trigger.principal).canonical
        sources: list[Source] = [Source("trigger", {"principal": principal, "payload": trigger.payload,
                                                    "instruction": trigger.instruction, "meta": dict(trigger.meta)},
                                        step="trigger", private=False)]
        with self.stage(scenario) as stage:
            for tool, args in self.read_calls:
                value = safe(lambda t, a: _jsonable(_value(stage.runtime.call(t, dict(a)))), tool, args)
                if value is not None:
                    sources.append(Source(f"{tool}({', '.join(f'{k}={str(v)[:30]}' for k, v in args.items())})",
                                          value, call=(tool, {k: _literal(v) for k, v in args.items()})))
        targets = sink_calls(self.catalog, [(t, a) for t, a, _ in rec.calls])
        if not targets:
            return None
        outputs = [o for t, _a, o in rec.calls if t in self.catalog.tools and not is_read(self.catalog.tools[t])]
        for i, (target, output) in enumerate(zip(targets, outputs, strict=False)):
            sources.append(Source(f"t{i}:{target.tool}", output, step=f"t{i}", private=False, after_call=i))
        index = Index(sources)
        examples = {t: rows[0] for t, rows in self.examples.items() if rows}
        ctx = Ctx(self.catalog, index, instruction=trigger.instruction, payload=trigger.payload, examples=examples)
        text = "\n".join([trigger.payload, trigger.principal, canonical_json(dict(scenario.world)),
                          *(canonical_json(dict(r.trigger)) for r in scenario.runs)])
        trust_class = Gate(self.policy, _NoTools()).classify(trigger).trust_class
        prepared = InboxContext(self, goal, scenario, ctx, self.echoes, text, trust_class)
        prepared.variants = variants(self.catalog, targets, examples, text, index, prepared.judge_targets,
                                     prepared.outputs_of, self._stored.setdefault(goal.id, {}), self.until)
        return prepared


def _calls(steps: Sequence[Mapping[str, Any]]) -> Iterator[Mapping[str, Any]]:
    for step in steps:
        if step.get("kind") == "for_each":
            yield from _calls(step.get("steps", []))
        elif step.get("kind", "call") == "call":
            yield step


def _value(result: Any) -> Any:
    return result.value if isinstance(result, ToolResult) else result
