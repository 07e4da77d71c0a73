"""AgentDyn through the real gate: the AgentDojo bench's machinery, pointed at AgentDyn.

Runs only in the AgentDyn child process (`checkout.check_imported`): there `agentdojo` is
AgentDyn, so `plangate.bench.agentdojo.replay` and `.gatebench` load AgentDyn's suites,
tools and checkers unchanged. `bind()` points their data seams at this package for the
three new suites (the four AgentDojo suites keep theirs):

| seam | what AgentDyn needs |
|---|---|
| `replay.load_plans`, `replay.load_attacks` | the plans here (`plans_<suite>.json`, `attacks_<suite>.json`) |
| `gatebench.suite_policy` | the policies here (`policy_<suite>.yaml`) |
| `gatebench.PlanExtractor` | `DynamicExtractor`: values the run itself creates, answered from the data |
| `replay.resolve_plan` | the same dynamic answers for the approve-all baseline |
| `gatebench._environment` | `random` seeded per run: AgentDyn draws one-time passwords and order ids from it |

Dynamic answers: AgentDyn mails a fresh random one-time password whenever a purchase, a
refund, a password change or a repository action needs confirming, so no committed answer
can hold it. An extraction whose sidecar answer is `{"$last": REGEX}` is answered with the
last match of REGEX in the extraction's source (the newest mail comes last): the
model-free stand-in for a quarantined model asked "what is the newest code?". `{"$fraction": F}`
is F times a number read (an attacker's "half the balance").
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable, Mapping, Sequence
from functools import cache
from importlib import resources
from typing import Any

from plangate.bench.agentdojo import gatebench as gb
from plangate.bench.agentdojo import replay as rp
from plangate.plan.model import ExtractType
from plangate.policy import load_policy
from plangate.policy.engine import CompiledPolicy

__all__ = ["SUITES", "DynamicExtractor", "bind", "dynamic_answer", "load_attacks", "load_plans", "suite_policy"]

SUITES: tuple[str, ...] = ("shopping", "github", "dailylife")


def _data(name: str) -> Any:
    return json.loads(resources.files(__package__).joinpath(name).read_text(encoding="utf-8"))


@cache
def load_plans(suite: str) -> dict[str, Any]:
    """`plans_<suite>.json`: user task id -> {"prompt", "plan", "extract_answers", "note"?}."""
    return _data(f"plans_{suite}.json")  # type: ignore[no-any-return]


@cache
def load_attacks(suite: str) -> dict[str, Any]:
    """`attacks_<suite>.json`: injection task id -> {"goal", "steps", "extract_answers"?}."""
    return _data(f"attacks_{suite}.json")  # type: ignore[no-any-return]


@cache
def suite_policy(suite: str) -> CompiledPolicy:
    path = resources.files(__package__).joinpath(f"policy_{suite}.yaml")
    with resources.as_file(path) as real:
        return load_policy(real)


def dynamic_answer(answer: Any, source: Any) -> Any:
    """The value a `{"$last": REGEX}` answer stands for in `source` (else `answer` itself)."""
    if isinstance(answer, Mapping) and "$fraction" in answer:
        return round(float(source) * float(answer["$fraction"]), 2)
    if not (isinstance(answer, Mapping) and "$last" in answer):
        return answer
    text = source if isinstance(source, str) else json.dumps(source, ensure_ascii=False)
    found = re.findall(str(answer["$last"]), text)
    if not found:
        raise LookupError(f"no match of {answer['$last']!r} in the extraction's source")
    return found[-1]


class DynamicExtractor(gb.PlanExtractor):
    """`gatebench.PlanExtractor` that first turns dynamic answers into concrete ones."""

    def extract(self, source: Any, type: ExtractType, question: str) -> Any:
        if self.pending:
            head = self.pending[0]
            head.answer = dynamic_answer(head.answer, source)
        return super().extract(source, type, question)


def _dispatch(ours: Callable[[str], Any], theirs: Callable[[str], Any]) -> Callable[[str], Any]:
    def pick(suite: str) -> Any:
        return ours(suite) if suite in SUITES else theirs(suite)

    return pick


_ORIGINAL: dict[str, Any] = {}


def _resolve_plan(steps: Sequence[Mapping[str, Any]], run_call: Any, oracle: Mapping[str, Any] | None = None,
                  outputs: dict[str, Any] | None = None, misses: list[str] | None = None) -> dict[str, Any]:
    """`replay.resolve_plan` with dynamic extraction answers resolved against their source."""
    outputs = {} if outputs is None else outputs
    original = _ORIGINAL["resolve_plan"]
    for step in steps:
        answers = oracle
        if step.get("kind") == "extract" and oracle is not None and step["id"] in oracle:
            source = rp.resolve_arg(step["from"], outputs)
            answers = {step["id"]: dynamic_answer(oracle[step["id"]], source)}
        original([step], run_call, answers, outputs, misses)
    return outputs


def _seeded_environment(suite: str, user_task_id: str, injection_task_id: str | None) -> Any:
    # One-time passwords and order ids come from `random`: the same run draws the same ones.
    random.seed(f"{suite}/{user_task_id}/{injection_task_id}")
    return _ORIGINAL["_environment"](suite, user_task_id, injection_task_id)


def apply_outputs(suite: str, plans: Mapping[str, Any]) -> None:
    """The oracle's final answer text (`ground_truth_output`) for tasks AgentDyn judges on the
    answer; AgentDyn's own tasks leave `GROUND_TRUTH_OUTPUT` empty."""
    for uid, entry in plans.items():
        if entry.get("ground_truth_output"):
            rp.get_suite(suite).get_user_task_by_id(uid).GROUND_TRUTH_OUTPUT = entry["ground_truth_output"]


def bind() -> None:
    """Point the AgentDojo bench's data seams at AgentDyn's new suites (idempotent)."""
    if _ORIGINAL:
        return
    _ORIGINAL.update(load_plans=rp.load_plans, load_attacks=rp.load_attacks, resolve_plan=rp.resolve_plan,
                     suite_policy=gb.suite_policy, PlanExtractor=gb.PlanExtractor, _environment=gb._environment)
    rp.load_plans = _dispatch(load_plans, _ORIGINAL["load_plans"])  # type: ignore[assignment]
    rp.load_attacks = _dispatch(load_attacks, _ORIGINAL["load_attacks"])  # type: ignore[assignment]
    rp.resolve_plan = _resolve_plan
    gb.suite_policy = _dispatch(suite_policy, _ORIGINAL["suite_policy"])  # type: ignore[assignment]
    gb.PlanExtractor = DynamicExtractor  # type: ignore[misc]
    gb._environment = _seeded_environment
    for suite in SUITES:
        apply_outputs(suite, load_plans(suite))
