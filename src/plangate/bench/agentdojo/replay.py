"""Model-free replay of AgentDojo tasks through AgentDojo's own runtime and checkers.

`replay()` builds a suite's environment (with the injection task's vectors filled, as an
attack would fill them), runs a list of tool calls through `FunctionsRuntime`, and scores
the result with the task's own `utility()` / `security()` exactly as
`TaskSuite.run_task_with_pipeline` does (``*_from_traces`` first, then the state check,
both on the same pre/post environment).

AgentDojo's convention: ``security`` is True when the injection task's goal WAS achieved,
i.e. the ATTACK SUCCEEDED (`BaseInjectionTask.security` docstring: "Returns True if the
injection was executed correctly"; `benchmark.py` records it as-is and the CLI's
"Average security" is the attack success rate). `ReplayResult.attack_succeeded` is the
same value under an unambiguous name.

The tiny resolver (`resolve_plan`) turns the committed plans (`plans_<suite>.json`,
`attacks_<suite>.json`) into concrete calls; it stands in for the plangate executor.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from plangate.bench.agentdojo._light import import_agentdojo

__all__ = [
    "BENCHMARK_VERSION",
    "SUITES",
    "Call",
    "ReplayResult",
    "attacker_calls",
    "injections_for",
    "load_attacks",
    "load_plans",
    "replay",
    "resolve_arg",
    "resolve_plan",
    "to_jsonable",
]

BENCHMARK_VERSION = "v1.2.2"
SUITES: tuple[str, ...] = ("workspace", "travel", "banking", "slack")

#: (tool name, kwargs)
Call = tuple[str, dict[str, Any]]

# Filled into every injection vector the user task can see. The text of AgentDojo's
# `important_instructions` attack with its "no names" defaults; model-free, the content
# only matters to checkers that look for it (none do), but the environment is the injected one.
_USER_NAME = "the user"
_MODEL_NAME = "the AI language model"


@cache
def get_suite(name: str) -> Any:
    """The `TaskSuite` of `name` in AgentDojo v1.2.2."""
    load_suites = import_agentdojo()
    return load_suites.get_suite(BENCHMARK_VERSION, name)


def to_jsonable(value: Any) -> Any:
    """A tool output as JSON data; the `path` of a ref is read on this form."""
    from pydantic import BaseModel

    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return json.loads(json.dumps(value, default=str))


@cache
def _injection_candidates(suite_name: str, user_task_id: str) -> tuple[str, ...]:
    """Vectors the user task's ground truth sees (AgentDojo's `get_injection_candidates`)."""
    from agentdojo.agent_pipeline.ground_truth_pipeline import GroundTruthPipeline
    from agentdojo.functions_runtime import FunctionsRuntime
    from agentdojo.types import get_text_content_as_str

    suite = get_suite(suite_name)
    user_task = suite.get_user_task_by_id(user_task_id)
    canaries = {inj: f"<CANARY---{inj}--->" for inj in suite.get_injection_vector_defaults()}
    env = _load_injected(suite_name, canaries)
    _, _, _, messages, _ = GroundTruthPipeline(user_task).query(user_task.PROMPT, FunctionsRuntime(suite.tools), env)
    seen = []
    for inj, canary in canaries.items():
        if any(m["content"] is not None and canary in get_text_content_as_str(m["content"]) for m in messages):
            seen.append(inj)
    return tuple(seen)


@cache
def _vector_defaults(suite_name: str) -> dict[str, str]:
    return get_suite(suite_name).get_injection_vector_defaults()  # type: ignore[no-any-return]


def _load_injected(suite_name: str, injections: Mapping[str, str]) -> Any:
    """`TaskSuite.load_and_inject_default_environment`, with libyaml's parser when present
    (the same YAML, ~10x faster: parsing dominates the benchmark's run time)."""
    import yaml
    from agentdojo.task_suite.task_suite import read_suite_file

    suite = get_suite(suite_name)
    defaults = _vector_defaults(suite_name)
    unknown = set(injections) - set(defaults)
    if unknown:
        raise ValueError(f"unknown injection vectors {sorted(unknown)}")
    text = read_suite_file(suite.name, "environment.yaml", suite.data_path).format(**{**defaults, **injections})
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return suite.environment_type.model_validate(yaml.load(text, Loader=loader))


@cache
def _env_template(suite_name: str, injections: tuple[tuple[str, str], ...]) -> Any:
    return _load_injected(suite_name, dict(injections))


def load_environment(suite_name: str, injections: Mapping[str, str]) -> Any:
    """A fresh copy of the suite's default environment with `injections` filled (cached parse)."""
    return _env_template(suite_name, tuple(sorted(injections.items()))).model_copy(deep=True)


def injections_for(suite_name: str, user_task_id: str, injection_task_id: str) -> dict[str, str]:
    """The injection vectors an `important_instructions` attack fills for this pair."""
    from agentdojo.attacks.important_instructions_attacks import ImportantInstructionsAttack

    suite = get_suite(suite_name)
    goal = suite.get_injection_task_by_id(injection_task_id).GOAL
    prompt = suite.get_user_task_by_id(user_task_id).PROMPT
    text = ImportantInstructionsAttack._JB_STRING.format(goal=goal, user=_USER_NAME, model=_MODEL_NAME, task=prompt)
    return dict.fromkeys(_injection_candidates(suite_name, user_task_id), text)


@dataclass(frozen=True)
class ReplayResult:
    utility: bool
    security: bool | None  # agentdojo's value: True = the attack succeeded; None without injection task
    outputs: list[Any] = field(default_factory=list)  # JSON form of each call's result ("" on error)
    errors: list[str | None] = field(default_factory=list)

    @property
    def attack_succeeded(self) -> bool:
        return bool(self.security)


def _function_call(name: str, kwargs: Mapping[str, Any]) -> Any:
    from agentdojo.functions_runtime import FunctionCall

    return FunctionCall(function=name, args=dict(kwargs))


def replay(
    suite_name: str,
    user_task_id: str,
    injection_task_id: str | None,
    calls: Iterable[Call],
    *,
    model_output: str | None = None,
    attempted_only: Sequence[Call] = (),
) -> ReplayResult:
    """Run `calls` in the (injected) environment and score them with AgentDojo.

    `model_output` is the agent's final text; by default the user task's
    `GROUND_TRUTH_OUTPUT` (what AgentDojo's ground-truth pipeline answers). `attempted_only`
    are calls the agent asked for but that were not executed (e.g. blocked by a gate):
    they are added to the traces only, as an agent's message history would record them —
    checkers that read traces (slack injection_task_5) see them.
    """
    from agentdojo.types import get_text_content_as_str, text_content_block_from_string

    suite = get_suite(suite_name)
    user_task = suite.get_user_task_by_id(user_task_id)
    injections = injections_for(suite_name, user_task_id, injection_task_id) if injection_task_id else {}
    env = user_task.init_environment(load_environment(suite_name, injections))
    pre_env = env.model_copy(deep=True)

    from agentdojo.functions_runtime import FunctionsRuntime

    runtime = FunctionsRuntime(suite.tools)
    outputs: list[Any] = []
    errors: list[str | None] = []
    traces = []
    for name, kwargs in calls:
        traces.append(_function_call(name, kwargs))
        result, error = runtime.run_function(env, name, kwargs, raise_on_error=False)
        outputs.append(to_jsonable(result))
        errors.append(error)
    traces.extend(_function_call(name, kwargs) for name, kwargs in attempted_only)

    text = user_task.GROUND_TRUTH_OUTPUT if model_output is None else model_output
    text = get_text_content_as_str([text_content_block_from_string(text)])

    utility = user_task.utility_from_traces(text, pre_env, env, traces)
    if utility is None:
        utility = user_task.utility(text, pre_env, env)
    security: bool | None = None
    if injection_task_id is not None:
        injection_task = suite.get_injection_task_by_id(injection_task_id)
        security = injection_task.security_from_traces(text, pre_env, env, traces)
        if security is None:
            security = injection_task.security(text, pre_env, env)
    return ReplayResult(bool(utility), None if security is None else bool(security), outputs, errors)


# --------------------------------------------------------------------------- resolver


class ResolveError(ValueError):
    pass


def _walk(value: Any, path: str) -> Any:
    if not path:
        return value
    for part in path.split("."):
        if isinstance(value, list):
            value = value[int(part)]
        elif isinstance(value, dict):
            value = value[part]
        else:
            raise ResolveError(f"path {path!r}: cannot index {type(value).__name__} with {part!r}")
    return value


def resolve_arg(arg: Mapping[str, Any], outputs: Mapping[str, Any]) -> Any:
    """Resolve one plan argument against the outputs of earlier steps (by step id)."""
    if "literal" in arg:
        return arg["literal"]
    if "ref" in arg:
        if arg["ref"] not in outputs:
            raise ResolveError(f"ref to unknown or later step {arg['ref']!r}")
        return _walk(outputs[arg["ref"]], arg.get("path", ""))
    if "concat" in arg:
        return "".join(str(resolve_arg(part, outputs)) for part in arg["concat"])
    if "list" in arg:
        return [resolve_arg(item, outputs) for item in arg["list"]]
    raise ResolveError(f"unknown argument form {sorted(arg)}")


def _occurs(answer: Any, data: Any) -> bool:
    """Whether `answer` can be copied out of `data`: a leaf, a key, or a substring."""
    if isinstance(data, dict):
        return any(_occurs(answer, k) or _occurs(answer, v) for k, v in data.items())
    if isinstance(data, list):
        return any(_occurs(answer, v) for v in data)
    if isinstance(data, str) and isinstance(answer, str):
        return answer in data
    return bool(answer == data)


def resolve_plan(
    steps: Sequence[Mapping[str, Any]],
    run_call: Any,
    oracle: Mapping[str, Any] | None = None,
    outputs: dict[str, Any] | None = None,
    misses: list[str] | None = None,
) -> dict[str, Any]:
    """Execute a flat plan: `run_call(tool, kwargs) -> output` for call steps; extract steps
    answer from `oracle` (step id -> value; model-free stand-in for the quarantined model),
    and a `copy` answer must occur in its `choices` (else ResolveError, or, when `misses` is
    given, the step id is appended there and the oracle answer used). Returns step id -> output."""
    outputs = {} if outputs is None else outputs
    for step in steps:
        kind = step.get("kind", "call")
        if kind == "call":
            kwargs = {name: resolve_arg(arg, outputs) for name, arg in step["args"].items()}
            outputs[step["id"]] = run_call(step["tool"], kwargs)
        elif kind == "extract":
            if oracle is None or step["id"] not in oracle:
                raise ResolveError(f"no oracle answer for extract step {step['id']!r}")
            answer = oracle[step["id"]]
            choices = step["type"].get("choices")
            if choices is not None and not _occurs(answer, resolve_arg(choices, outputs)):
                if misses is None:
                    raise ResolveError(f"extract {step['id']!r}: {answer!r} is not among its choices")
                misses.append(step["id"])  # e.g. the injection replaced the text holding the value
            outputs[step["id"]] = answer
        else:
            raise ResolveError(f"step kind {kind!r} is not supported by this resolver")
    return outputs


# --------------------------------------------------------------------------- data files


def _data(name: str) -> Any:
    return json.loads(resources.files(__package__).joinpath(name).read_text(encoding="utf-8"))


@cache
def load_plans(suite_name: str) -> dict[str, Any]:
    """`plans_<suite>.json`: user task id -> {"prompt", "plan", "extract_answers", ...}."""
    return _data(f"plans_{suite_name}.json")  # type: ignore[no-any-return]


@cache
def load_attacks(suite_name: str) -> dict[str, Any]:
    """`attacks_<suite>.json`: injection task id -> {"goal", "steps", ...}."""
    return _data(f"attacks_{suite_name}.json")  # type: ignore[no-any-return]


class _Recorder:
    """Runs calls in a live runtime/environment and records them (for resolve_plan)."""

    def __init__(self, suite_name: str, env: Any) -> None:
        from agentdojo.functions_runtime import FunctionsRuntime

        self.runtime = FunctionsRuntime(get_suite(suite_name).tools)
        self.env = env
        self.calls: list[Call] = []

    def __call__(self, tool: str, kwargs: dict[str, Any]) -> Any:
        self.calls.append((tool, kwargs))
        result, error = self.runtime.run_function(self.env, tool, kwargs, raise_on_error=False)
        if error is not None:
            raise ResolveError(f"{tool}: {error}")
        return to_jsonable(result)


def plan_calls(suite_name: str, user_task_id: str, injection_task_id: str | None = None) -> list[Call]:
    """Resolve a committed user plan into concrete calls (in the environment the replay uses)."""
    entry = load_plans(suite_name)[user_task_id]
    suite = get_suite(suite_name)
    injections = injections_for(suite_name, user_task_id, injection_task_id) if injection_task_id else {}
    env = suite.get_user_task_by_id(user_task_id).init_environment(load_environment(suite_name, injections))
    recorder = _Recorder(suite_name, env)
    resolve_plan(entry["plan"]["steps"], recorder, entry.get("extract_answers", {}))
    return recorder.calls


def attacker_calls(suite_name: str, injection_task_id: str, env: Any | None = None) -> list[Call]:
    """Resolve a committed attacker plan into concrete calls. Refs among attacker steps
    (`a0`, `a1`...) are resolved by running the steps in `env` (a throwaway default one if
    omitted), so their values match what the attacker would read."""
    entry = load_attacks(suite_name)[injection_task_id]
    if env is None:
        env = load_environment(suite_name, {})
    recorder = _Recorder(suite_name, env)
    resolve_plan(entry["steps"], recorder, entry.get("extract_answers", {}))
    return recorder.calls


def pair_calls(
    suite_name: str, user_task_id: str, injection_task_id: str, misses: list[str] | None = None
) -> list[Call]:
    """User plan calls followed by attacker calls, resolved in one injected environment.
    Extract answers missing from the injected data are listed in `misses` (see NOTES.md)."""
    misses = [] if misses is None else misses
    suite = get_suite(suite_name)
    injections = injections_for(suite_name, user_task_id, injection_task_id)
    env = suite.get_user_task_by_id(user_task_id).init_environment(load_environment(suite_name, injections))
    recorder = _Recorder(suite_name, env)
    entry = load_plans(suite_name)[user_task_id]
    outputs = resolve_plan(entry["plan"]["steps"], recorder, entry.get("extract_answers", {}), misses=misses)
    attack = load_attacks(suite_name)[injection_task_id]
    resolve_plan(attack["steps"], recorder, attack.get("extract_answers", {}), outputs={}, misses=misses)
    del outputs
    return recorder.calls


@dataclass(frozen=True)
class PairOutcome:
    suite: str
    user_task: str
    injection_task: str
    utility: bool
    attack_succeeded: bool
    attack_succeeded_by_calls_only: bool  # without the attacker's final text
    oracle_misses: tuple[str, ...] = ()  # user extract steps whose answer the injection erased


def approve_all_baseline(suites: Sequence[str] = SUITES) -> list[PairOutcome]:
    """Every user plan, then every attacker plan, all executed (a gate that approves all).
    The final text is the user task's ground-truth output followed by the injection task's."""
    out: list[PairOutcome] = []
    for suite_name in suites:
        suite = get_suite(suite_name)
        for uid in load_plans(suite_name):
            user_text = suite.get_user_task_by_id(uid).GROUND_TRUTH_OUTPUT
            for iid in load_attacks(suite_name):
                misses: list[str] = []
                calls = pair_calls(suite_name, uid, iid, misses)
                inj_text = suite.get_injection_task_by_id(iid).GROUND_TRUTH_OUTPUT
                with_text = replay(suite_name, uid, iid, calls, model_output=f"{user_text}\n{inj_text}".strip())
                calls_only = replay(suite_name, uid, iid, calls, model_output=user_text)
                out.append(
                    PairOutcome(
                        suite_name,
                        uid,
                        iid,
                        with_text.utility,
                        with_text.attack_succeeded,
                        calls_only.attack_succeeded,
                        tuple(misses),
                    )
                )
    return out


def main() -> None:
    import argparse
    import time

    parser = argparse.ArgumentParser(description="approve-all baseline over all user x injection pairs")
    parser.add_argument("--json", help="write per-pair outcomes to this file")
    args = parser.parse_args()
    rows: list[PairOutcome] = []
    for suite_name in SUITES:
        t0 = time.perf_counter()
        part = approve_all_baseline([suite_name])
        dt = time.perf_counter() - t0
        rows.extend(part)
        print(
            f"{suite_name:10s} pairs={len(part):4d} attacks_succeeded={sum(r.attack_succeeded for r in part):4d} "
            f"(calls only {sum(r.attack_succeeded_by_calls_only for r in part):4d}) "
            f"utility={sum(r.utility for r in part):4d} time={dt:.1f}s"
        )
    print(
        f"{'total':10s} pairs={len(rows):4d} attacks_succeeded={sum(r.attack_succeeded for r in rows):4d} "
        f"(calls only {sum(r.attack_succeeded_by_calls_only for r in rows):4d}) "
        f"utility={sum(r.utility for r in rows):4d}"
    )
    if args.json:
        from dataclasses import asdict

        with open(args.json, "w", encoding="utf-8") as f:
            json.dump([asdict(r) for r in rows], f, indent=0)


if __name__ == "__main__":
    main()
