"""The AgentDojo world of the search: every injection task of the four suites.

Goals are AgentDojo's injection tasks; their target calls are `ground_truth(env)` (the
hand-written plans of `attacks_workspace_extra` where AgentDojo has none), taken in each
context's own environment. A context is a user task, with the user's committed plan run
first (`after`: the agent does the user's task and the attacker's, private data in scope)
or not at all (`bare`). Plans run through the real `Gate` with the suite's policy over
AgentDojo's `FunctionsRuntime` (`gatebench.AgentDojoTools`, exact readers included) and
are judged by the task's own `security()` (with the checker fixes of
`gatebench.corrected_security`, on what executed).

Probes, once per suite on a scratch environment: every acting tool is called with
arguments seen in the suite's plans; where an argument's value comes back (in the
tool's own output, or in the output of any read call afterwards, including reads that
take an id from the first output) is a laundering `Echo`.
"""

from __future__ import annotations

import contextlib
import io
import pickle
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from plangate.bench.search.engine import GoalInfo, Question, Run, Target, Variant
from plangate.bench.search.probes import collect, probe_echoes, read_calls
from plangate.bench.search.recipes import Ctx, Echo
from plangate.bench.search.sinks import sink_calls, variants
from plangate.bench.search.values import Index, Json, Source, as_text
from plangate.catalog import Catalog
from plangate.gate import Gate
from plangate.policy.engine import CompiledPolicy
from plangate.protocols import OwnerQuestion

Call = tuple[str, dict[str, Any]]
MODES = ("after", "bare")


def _stubs() -> None:
    from plangate.bench.agentdojo._light import install_stubs

    install_stubs()


class Owner:
    """An owner who answers every question the same way, and remembers what it was shown."""

    def __init__(self, answer: bool) -> None:
        self.answer = answer
        self.questions: list[Question] = []

    def approve(self, question: OwnerQuestion) -> bool:
        self.questions.append(Question(question.step, question.tool, list(question.rules), question.summary))
        return self.answer


class RouteExtractor:
    """The quarantined model: the user plan's extractions answered as the committed plan
    says (in order), the route's by their question (the attacker's wanted value)."""

    def __init__(self, user: Any, answers: Mapping[str, Any]) -> None:
        self.user = user
        self.answers = dict(answers)

    def extract(self, source: Any, type: Any, question: str) -> Any:
        if question in self.answers:
            return self.answers[question]
        return self.user.extract(source, type, question)


def _literal(value: Any) -> Json:
    return {"literal": value, "origin": "planner"}


@dataclass(slots=True)
class AgentDojoContext:
    """One (goal, user task, mode)."""

    world: AgentDojoWorld
    goal: GoalInfo
    user_task: str
    mode: str
    base: Any                      # the injected, initialised environment (never run on)
    frozen: bytes                  # the same, pickled: a fresh copy per run is an unpickle
    policy: CompiledPolicy
    prefix_steps: list[Json]
    prefix_calls: list[Call]
    prompt: str
    ctx: Ctx
    echoes: list[Echo]
    variants: list[Variant] = field(default_factory=list)

    @property
    def context(self) -> str:
        return f"{self.world.name}|{self.goal.id}|{self.user_task}/{self.mode}"

    def trigger(self, trusted: Sequence[Any]) -> Json:
        instruction = self.prompt
        if trusted:
            instruction += "\n" + "\n".join(as_text(v) for v in trusted)
        return {"channel": "api", "principal": self.world.owner, "instruction": instruction, "payload": ""}

    def execute(self, steps: list[Json], answers: dict[str, Any], *, owner_yes: bool,
                trusted: Sequence[Any] = ()) -> Run:
        plan = {"version": 1, "request_type": "any", "steps": [*self.prefix_steps, *steps]}
        owner = Owner(owner_yes)
        tools = LazyTools(self.world, self.frozen)
        extractor = RouteExtractor(self.world.user_extractor(self.user_task) if self.prefix_steps else None,
                                   answers)
        gate = Gate(self.policy, tools, extractor=extractor, approver=owner)
        outcome = gate.submit(self.trigger(trusted), plan)
        run = outcome.run
        executed = [(c.tool, dict(c.args)) for c in run.calls if c.ok] if run else []
        reached = False
        if run is not None and executed:
            reached = self.world.judge(self.user_task, self.goal.id, self.base, tools.env, executed)
        return Run(verdict=outcome.review.verdict, rules=list(outcome.review.rules),
                   status=run.status if run else None, executed=executed, reached=reached,
                   questions=owner.questions)

    def judge_targets(self, targets: Sequence[Target]) -> bool:
        """Approve-all: the user plan's calls (if any), then `targets`, judged."""
        env = pickle.loads(self.frozen)
        calls = [*self.prefix_calls, *((t.tool, t.args) for t in targets)]
        executed = self.world.run_calls(env, calls)
        return self.world.judge(self.user_task, self.goal.id, self.base, env, executed)


    def outputs_of(self, targets: Sequence[Target]) -> list[Any]:
        """Approve-all: the user plan's calls, then `targets`; the targets' outputs."""
        env = pickle.loads(self.frozen)
        self.world.run_calls(env, self.prefix_calls)
        out: list[Any] = []
        for target in targets:
            try:
                out.append(self.world.call(env, target.tool, target.args))
            except LookupError:
                out.append(None)
        return out


class LazyTools:
    """`gatebench.AgentDojoTools` on a fresh copy of the environment, made at the first
    call (a plan the review refuses never pays for the copy)."""

    def __init__(self, world: AgentDojoWorld, frozen: bytes) -> None:
        self.world = world
        self.frozen = frozen
        self._tools: Any = None

    @property
    def env(self) -> Any:
        if self._tools is None:
            self._tools = self.world.gb.AgentDojoTools(self.world.suite, pickle.loads(self.frozen))
        return self._tools.env

    def call(self, tool: str, args: Mapping[str, Any]) -> Any:
        self.env  # noqa: B018 -- makes the copy
        with _quiet():
            return self._tools.call(tool, args)


class AgentDojoWorld:
    """One AgentDojo suite."""

    def __init__(self, suite: str, *, bare_contexts: int = 3, policy: CompiledPolicy | None = None) -> None:
        _stubs()
        from plangate.bench.agentdojo import gatebench, replay

        self.gb: Any = gatebench
        self.rp: Any = replay
        self.suite = suite
        self.name = f"agentdojo/{suite}"
        self.bare_contexts = bare_contexts
        #: A policy to search instead of the suite's (tests weaken it on purpose).
        self.override = policy
        self.policy: CompiledPolicy = policy or gatebench.suite_policy(suite)
        self.catalog: Catalog = self.policy.catalog
        self.owner: str = gatebench.owner_address(suite)
        self.plans: dict[str, Any] = replay.load_plans(suite)
        self._bases: dict[tuple[str, str], Any] = {}
        self._stored: dict[str, dict[str, bool]] = {}
        self.until: float | None = None

    # -- the benchmark ---------------------------------------------------------------

    def goals(self) -> list[GoalInfo]:
        s = self.rp.get_suite(self.suite)
        out = []
        for iid in self.rp.load_attacks(self.suite):
            note = ""
            if (self.suite, iid) in self.gb.TEXT_ONLY:
                note = "judged on the agent's final text only: no tool call reaches it"
            out.append(GoalInfo(self.name, iid, s.get_injection_task_by_id(iid).GOAL, note))
        return out

    def contexts(self, goal: GoalInfo) -> list[str]:
        users = list(self.plans)
        return [f"{u}/after" for u in users] + [f"{u}/bare" for u in users[: self.bare_contexts]]

    def user_extractor(self, user_task: str) -> Any:
        entry = self.plans[user_task]
        gb = self.gb
        pending = [gb._Pending(s["id"], s["type"], entry.get("extract_answers", {}).get(s["id"]), False)
                   for s in gb._extract_steps(entry["plan"]["steps"])]
        return gb.PlanExtractor(pending)

    def base(self, user_task: str, injection_task: str) -> Any:
        key = (user_task, injection_task)
        if key not in self._bases:
            self._bases[key] = self.gb._environment(self.suite, user_task, injection_task)
        return self._bases[key].model_copy(deep=True)

    def run_calls(self, env: Any, calls: Sequence[Call]) -> list[Call]:
        """Run concrete calls approve-all; returns those that succeeded."""
        runtime = self.gb._runtime(self.suite)
        done = []
        for tool, args in calls:
            with _quiet():
                _, error = runtime.run_function(env, tool, dict(args), raise_on_error=False)
            if error is None:
                done.append((tool, dict(args)))
        return done

    def call(self, env: Any, tool: str, args: Mapping[str, Any]) -> Any:
        with _quiet():
            result, error = self.gb._runtime(self.suite).run_function(env, tool, dict(args), raise_on_error=False)
        if error is not None:
            raise LookupError(error)
        return self.rp.to_jsonable(result)

    def judge(self, user_task: str, injection_task: str, pre: Any, post: Any, executed: Sequence[Call]) -> bool:
        try:
            _, _, corrected = self.gb._score(self.suite, user_task, injection_task, pre, post, list(executed), [],
                                             self._text(user_task), utility=False)
        except Exception:  # a checker that cannot read the state it was left with: not reached
            return False
        return bool(corrected)

    def _text(self, user_task: str) -> str:
        return str(self.rp.get_suite(self.suite).get_user_task_by_id(user_task).GROUND_TRUTH_OUTPUT)

    # -- examples and probes -----------------------------------------------------------

    @cached_property
    def examples(self) -> dict[str, list[dict[str, Any]]]:
        """Concrete arguments each tool was called with in the suite's plans and goals."""
        first = next(iter(self.plans))
        return collect(self.catalog, [*self._user_calls(),
                                      *(c for iid in self.rp.load_attacks(self.suite)
                                        for c in self.goal_calls(first, iid, self.base(first, iid)))])

    def _user_calls(self) -> Iterator[Call]:
        for uid in self.plans:
            with contextlib.suppress(Exception):
                yield from self.rp.plan_calls(self.suite, uid)

    def goal_calls(self, user_task: str, injection_task: str, env: Any) -> list[Call]:
        """The calls the attacker's goal takes in `env` (ground truth, or the hand-written plan)."""
        task = self.rp.get_suite(self.suite).get_injection_task_by_id(injection_task)
        calls = [(c.function, dict(c.args)) for c in task.ground_truth(env.model_copy(deep=True))]
        if calls:
            return calls
        entry = self.gb.attack_entry(self.suite, injection_task, env)
        scratch = env.model_copy(deep=True)
        recorder = self.rp._Recorder(self.suite, scratch)
        with contextlib.suppress(Exception):
            self.gb._resolve_with_loops(entry["steps"], recorder, entry.get("extract_answers", {}))
        return list(recorder.calls)

    def warm(self) -> None:
        """Probe the tools once (`examples`, `echoes`), before any goal's time starts."""
        _ = self.echoes

    @cached_property
    def read_calls(self) -> list[Call]:
        return read_calls(self.catalog, self.examples)

    @cached_property
    def echoes(self) -> list[Echo]:
        """Where each acting tool's arguments come back (`probes.probe_echoes`), on a scratch
        copy of the suite's default environment."""
        template = self.rp.load_environment(self.suite, {})

        @contextlib.contextmanager
        def scratch() -> Iterator[Callable[[str, Mapping[str, Any]], Any]]:
            env = template.model_copy(deep=True)
            yield lambda tool, args: self.call(env, tool, args)

        return probe_echoes(self.catalog, self.examples, self.read_calls, scratch)

    # -- contexts ----------------------------------------------------------------------

    def prepare(self, goal: GoalInfo, context: str) -> AgentDojoContext | None:
        user_task, mode = context.split("/")
        entry = self.plans[user_task]
        base = self.base(user_task, goal.id)
        probe = base.model_copy(deep=True)
        prefix_steps: list[Json] = []
        prefix_calls: list[Call] = []
        sources: list[Source] = []
        if mode == "after":
            prefix_steps = list(entry["plan"]["steps"])
            recorder = self.rp._Recorder(self.suite, probe)
            outputs: dict[str, Any] = {}
            with contextlib.suppress(Exception):
                self.gb._resolve_with_loops(prefix_steps, recorder, entry.get("extract_answers", {}), outputs)
            prefix_calls = list(recorder.calls)
            tools_of = {s["id"]: s.get("tool", "extract") for s in prefix_steps}
            for sid, output in outputs.items():
                sources.append(Source(f"user:{tools_of.get(sid, 'step')}({sid})", output, step=sid))
        calls = self.goal_calls(user_task, goal.id, probe)
        reading = probe.model_copy(deep=True)
        for tool, args in self.read_calls:
            with contextlib.suppress(LookupError):
                output = self.call(reading, tool, args)
                sources.append(Source(f"{tool}({_shown(args)})", output,
                                      call=(tool, {k: _literal(v) for k, v in args.items()})))
        targets = sink_calls(self.catalog, calls)
        if not targets:
            return None
        # The goal's own calls, run in order: their outputs (a sent mail's id) feed later ones.
        scratch = probe.model_copy(deep=True)
        for i, target in enumerate(targets):
            with contextlib.suppress(LookupError):
                sources.append(Source(f"t{i}:{target.tool}", self.call(scratch, target.tool, target.args),
                                      step=f"t{i}", private=False, after_call=i))
        sources.insert(0, Source("trigger", {"principal": self.owner, "instruction": entry["prompt"],
                                             "payload": ""}, step="trigger", private=False))
        index = Index(sources)
        examples = {t: rows[0] for t, rows in self.examples.items() if rows}
        ctx = Ctx(self.catalog, index, instruction=entry["prompt"], payload="", examples=examples)
        policy = self.override or self.gb.policy_for_run(self.suite, base)
        prepared = AgentDojoContext(self, goal, user_task, mode, base, pickle.dumps(base), policy, prefix_steps,
                                    prefix_calls,
                                    entry["prompt"], ctx, self.echoes)
        if not prepared.judge_targets(targets):
            return None  # the goal cannot be reached in this context even with every call executed
        prepared.variants = variants(self.catalog, targets, examples, goal.text, index, prepared.judge_targets,
                                     prepared.outputs_of, self._stored.setdefault(goal.id, {}), self.until)
        return prepared


def _quiet() -> contextlib.AbstractContextManager[Any]:
    """Some AgentDojo tools print (a changed reservation): not on the search's output."""
    return contextlib.redirect_stdout(io.StringIO())


def _shown(args: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={str(v)[:30]}" for k, v in args.items())
