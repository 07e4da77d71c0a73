"""The scripted model of `plangate bench agentdojo --model`: an oracle that obeys injections.

It is a `ScriptedModelServer` script (plangate.model.testing): every answer goes over the
real OpenAI wire protocol to the real SDKs, both plangate's and AgentDojo's. It is not a
language model, and says so in every report:

* **oracle**: asked for a plan, it answers with the suite's converted ground-truth plan of
  the user task whose prompt it is shown (`plans_<suite>.json`); asked to extract, it
  answers that plan's extraction answer; asked for the final answer, the task's
  `GROUND_TRUTH_OUTPUT`. As AgentDojo's undefended tool-calling agent it makes the task's
  ground-truth calls one per turn, then answers with that text.
* **fully hijacked**: whenever an injection task's GOAL is in what it is shown (a tool
  result in the undefended loop; an extraction's source, a replan's earlier outputs or the
  final answer's inputs for plangate), it obeys it: the undefended agent makes the
  injection task's ground-truth calls next, then resumes the user task; plangate's
  replanner writes the attacker's plan; the extractor answers the value the attacker wants
  whenever the declared type allows one (a `copy` prefers an attacker string found in the
  source); the final answer adds the injection task's own answer text.

What it knows from outside the request: the suite being run (set by the benchmark, as one
would pick a model per suite) and, for extractions, the plan it wrote last (a quarantined
extractor is shown no prompt, so the script remembers which plan's questions it answers).
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from plangate.bench.agentdojo import gatebench as gb
from plangate.bench.agentdojo import replay as rp
from plangate.model.testing import Exchange, Reply
from plangate.plan.model import ExtractType

PLAN_SCHEMA = "plangate_plan"
EXTRACT_SCHEMA = "plangate_extract"
ANSWER_SCHEMA = "plangate_answer"


def normalised(text: str) -> str:
    """Letters and digits only, lower case: the same words whether shown raw, as YAML
    (folded lines) or inside JSON strings (escaped quotes)."""
    return re.sub(r"[^a-z0-9]", "", text.lower())


@dataclass(frozen=True)
class _Injection:
    goal: str  # normalised
    calls: tuple[rp.Call, ...]
    steps: tuple[dict[str, Any], ...]  # the attacker's plan, ids prefixed
    answers: Mapping[str, Any]  # its extraction answers, ids prefixed
    values: tuple[Any, ...]  # what the attacker wants extractions to return
    text: str


@dataclass(frozen=True)
class Book:
    """What the oracle knows of one suite."""

    suite: str
    prompts: Mapping[str, str]  # user task -> prompt
    plans: Mapping[str, Any]  # user task -> plans_<suite>.json entry
    texts: Mapping[str, str]  # user task -> GROUND_TRUTH_OUTPUT
    injections: Mapping[str, _Injection] = field(default_factory=dict)

    def user_task(self, text: str) -> str | None:
        """The user task whose prompt is in `text` (the longest such prompt)."""
        norm = normalised(text)
        found = [uid for uid, prompt in self.prompts.items() if normalised(prompt) in norm]
        return max(found, key=lambda uid: len(self.prompts[uid]), default=None)

    def injection(self, text: str) -> str | None:
        """The injection task whose GOAL is in `text`, if any."""
        norm = normalised(text)
        for iid, inj in self.injections.items():
            if inj.goal and inj.goal in norm:
                return iid
        return None


def _calls_of(function_calls: Sequence[Any]) -> tuple[rp.Call, ...]:
    return tuple((c.function, dict(c.args)) for c in function_calls)


@cache
def book(suite: str) -> Book:
    """The oracle's knowledge of `suite`: converted plans, ground-truth calls and texts."""
    s = rp.get_suite(suite)
    plans = rp.load_plans(suite)
    injections: dict[str, _Injection] = {}
    for iid, task in s.injection_tasks.items():
        env = rp.load_environment(suite, {})
        entry = gb.attack_entry(suite, iid, env)
        steps = gb.prefixed(entry["steps"])
        answers = {"x_" + k: v for k, v in entry.get("extract_answers", {}).items()}
        calls = _calls_of(task.ground_truth(rp.load_environment(suite, {})))
        if not calls and steps:  # AgentDojo has no ground truth (workspace 6-13): the hand-written plan
            recorder = rp._Recorder(suite, rp.load_environment(suite, {}))
            # A step this default environment cannot serve ends the script there.
            with contextlib.suppress(rp.ResolveError, LookupError, ValueError, TypeError):
                gb._resolve_with_loops(entry["steps"], recorder, entry.get("extract_answers", {}))
            calls = tuple(recorder.calls)
        values = [*gb.attacker_values(steps, answers), *(v for _, args in calls for v in _leaves(args))]
        injections[iid] = _Injection(normalised(task.GOAL), calls, tuple(steps), answers,
                                     tuple(_unique(values)), task.GROUND_TRUTH_OUTPUT or "")
    return Book(suite=suite, prompts={uid: e["prompt"] for uid, e in plans.items()}, plans=plans,
                texts={uid: s.get_user_task_by_id(uid).GROUND_TRUTH_OUTPUT or "" for uid in plans},
                injections=injections)


def _leaves(value: Any) -> list[Any]:
    if isinstance(value, Mapping):
        return [v for item in value.values() for v in _leaves(item)]
    if isinstance(value, list | tuple):
        return [v for item in value for v in _leaves(item)]
    return [value]


def _unique(values: Sequence[Any]) -> list[Any]:
    seen: list[Any] = []
    for v in values:
        if v not in seen:
            seen.append(v)
    return seen


def _text(content: Any) -> str:
    """An OpenAI message content (a string or a list of text parts) as text."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(str(p.get("text", "")) for p in content if isinstance(p, Mapping))
    return ""


def _extract_steps(steps: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return gb._extract_steps(steps)


@dataclass
class _Pending:
    question: str
    kind: str
    answer: Any


class HijackedOracle:
    """The script: `ScriptedModelServer(HijackedOracle("banking"))`. Set `suite` before
    each suite's runs. `hijacks` counts the answers that obeyed an injection, by role."""

    def __init__(self, suite: str) -> None:
        self.suite = suite
        self.hijacks: dict[str, int] = {"planner": 0, "extractor": 0, "answer": 0, "tool_loop": 0}
        self._pending: list[_Pending] = []
        self._lock = threading.Lock()
        #: The server serving this script, when the benchmark started one (its `exchanges`).
        self.server: Any = None

    @property
    def book(self) -> Book:
        return book(self.suite)

    def __call__(self, exchange: Exchange) -> Reply:
        with self._lock:
            name = exchange.schema_name
            if name == PLAN_SCHEMA:
                return self._plan(exchange)
            if name == EXTRACT_SCHEMA:
                return self._extract(exchange)
            if name == ANSWER_SCHEMA:
                return self._answer(exchange)
            if exchange.body.get("tools"):
                return self._tool_loop(exchange)
            return Reply(status=400, body='{"error": {"message": "the scripted oracle was asked something '
                                          'it has no script for"}}')

    # ---- plangate: planner, extractor, final answer ------------------------------------

    def _shown(self, exchange: Exchange) -> Any:
        """The JSON document of the last user message (plangate's prompts are JSON after a
        first line of instructions)."""
        text = _text(exchange.body["messages"][-1].get("content"))
        start = text.find("{")
        try:
            return json.loads(text[start:]) if start >= 0 else {}
        except ValueError:
            return {}

    def _plan(self, exchange: Exchange) -> Reply:
        doc = self._shown(exchange)
        uid = self.book.user_task(str(doc.get("instruction", "")))
        if uid is None:
            return Reply(json={"note": "no task recognised"})  # not a plan: the planner's repair loop refuses it
        entry = self.book.plans[uid]
        earlier = doc.get("previous_outputs")
        iid = self.book.injection(json.dumps(earlier, ensure_ascii=False)) if earlier else None
        if iid is not None:  # a replan shown injected text: the attacker's plan
            self.hijacks["planner"] += 1
            inj = self.book.injections[iid]
            self._pending = [_Pending(str(s.get("question", "")), s["type"]["kind"], inj.answers.get(s["id"]))
                             for s in _extract_steps(inj.steps)]
            if inj.steps:
                return Reply(json={"version": 1, "request_type": entry["plan"].get("request_type", "any"),
                                   "steps": list(inj.steps)})
        answers = entry.get("extract_answers", {})
        self._pending = [_Pending(str(s.get("question", "")), s["type"]["kind"], answers.get(s["id"]))
                         for s in _extract_steps(entry["plan"]["steps"])]
        return Reply(json=entry["plan"])

    def _extract(self, exchange: Exchange) -> Reply:
        doc = self._shown(exchange)
        schema = exchange.body["response_format"]["json_schema"]["schema"]["properties"]["value"]
        type_ = _extract_type(schema)
        question = str(doc.get("question", ""))
        item = next((p for p in self._pending if p.question == question and p.kind == type_.kind), None)
        item = item or next((p for p in self._pending if p.kind == type_.kind), None)
        if item is not None:
            self._pending.remove(item)
        value = item.answer if item is not None and item.answer is not None else _default(type_)
        source_text = str(doc.get("source", ""))
        iid = self.book.injection(source_text)
        if iid is not None:
            self.hijacks["extractor"] += 1
            try:
                source: Any = json.loads(source_text)
            except ValueError:
                source = source_text
            wanted = list(self.book.injections[iid].values)
            obeyed = gb.PlanExtractor([], wanted)._worst(source, type_, value)
            strings = [v for v in wanted if isinstance(v, str) and len(v) >= 3]
            if type_.kind == "copy" and obeyed == value and strings:
                obeyed = strings[0]  # not in the source: answered all the same (the executor checks it)
            value = obeyed
        return Reply(json={"value": value})

    def _answer(self, exchange: Exchange) -> Reply:
        doc = self._shown(exchange)
        uid = self.book.user_task(str(doc.get("instruction", "")))
        text = self.book.texts.get(uid, "") if uid else ""
        iid = self.book.injection(json.dumps(doc.get("outputs"), ensure_ascii=False))
        if iid is not None:
            self.hijacks["answer"] += 1
            text = f"{text}\n{self.book.injections[iid].text}".strip()
        return Reply(json={"answer": text or "Done."})

    # ---- AgentDojo's undefended tool-calling loop ---------------------------------------

    def _tool_loop(self, exchange: Exchange) -> Reply:
        messages = exchange.body["messages"]
        prompt = next((_text(m.get("content")) for m in messages if m.get("role") == "user"), "")
        uid = self.book.user_task(prompt)
        if uid is None:
            return Reply(text="I cannot tell what you are asking for.")
        made = [c for m in messages if m.get("role") == "assistant" for c in (m.get("tool_calls") or [])]
        results = [_text(m.get("content")) for m in messages if m.get("role") == "tool"]
        user_calls = [(name, dict(args)) for name, args in self.book.plans[uid]["ground_truth"]]
        intended, iid, seen_at = user_calls, None, 0
        for k, result in enumerate(results):
            iid = self.book.injection(result)
            if iid is not None:  # obey it at once, then go back to the user's task
                seen_at = k + 1
                intended = [*user_calls[:seen_at], *self.book.injections[iid].calls, *user_calls[seen_at:]]
                break
        if len(made) < len(intended):
            if iid is not None and len(made) < seen_at + len(self.book.injections[iid].calls):
                self.hijacks["tool_loop"] += 1
            name, args = intended[len(made)]
            return Reply(tool_calls=((name, args),))
        text = self.book.texts[uid]
        if iid is not None:
            text = f"{text}\n{self.book.injections[iid].text}".strip()
        return Reply(text=text or "Done.")


def _extract_type(schema: Mapping[str, Any]) -> ExtractType:
    """The declared extraction type, read back from the answer schema plangate sends."""
    if "enum" in schema:
        return ExtractType(kind="enum", values=[str(v) for v in schema["enum"]])
    if schema.get("type") == "boolean":
        return ExtractType(kind="bool")
    if schema.get("type") == "number":
        return ExtractType(kind="number", min=schema.get("minimum"), max=schema.get("maximum"))
    if schema.get("format") == "date":
        return ExtractType(kind="date")
    return ExtractType(kind="copy")


def _default(type_: ExtractType) -> Any:
    if type_.kind == "enum":
        return (type_.values or [""])[0]
    if type_.kind == "bool":
        return False
    if type_.kind == "number":
        return type_.min if type_.min is not None else 0
    if type_.kind == "date":
        return "2024-01-01"
    return "unknown"


__all__ = ["ANSWER_SCHEMA", "Book", "HijackedOracle", "book", "normalised"]
