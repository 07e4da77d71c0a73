"""Convert AgentDojo ground truths into plangate plans with argument provenance.

    python -m plangate.bench.agentdojo.convert [--out DIR] [--report]

For every user task of v1.2.2 it runs `ground_truth(env)` in a fresh default environment
through the suite's `FunctionsRuntime`, then proposes, for every argument value:

1. `{"literal": v, "origin": "instruction"}` when the value occurs literally in the PROMPT;
2. `{"ref": "sN", "path": "..."}` when it equals a leaf of an earlier output (JSON form,
   `to_jsonable`; path = dot-separated keys and list indexes, keys must match the plan
   PATH pattern);
3. `{"concat": [...]}` when a string is made of output leaves and prompt text (plus the
   planner's glue);
4. an `extract` step (`e0`, `e1`...; kind `copy` with `choices`, or `number`) when the value
   can be read from an earlier output but not addressed by a path (a dict key such as a
   hotel name, part of a text, a number inside a text); its answer goes to the sidecar's
   `extract_answers` (model-free oracle);
5. `{"literal": v, "origin": "planner"}` otherwise (dates normalised from prose, computed
   amounts, text the planner writes).

Hand corrections after review live in `HAND_FIXES` (step/arg -> argument) so that the
committed `plans_<suite>.json` can be regenerated; every task was checked by hand.
Injection tasks' attacker steps are built the same way (`attacks_<suite>.json`, step ids
`a0`...; every literal is `planner`-origin: the attacker wrote it), plus hand-written
steps for the workspace injection tasks whose ground truth is empty (`HAND_ATTACKS`).
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from plangate.bench.agentdojo.replay import SUITES, _Recorder, get_suite, resolve_plan, to_jsonable

Arg = dict[str, Any]
_SEGMENT = re.compile(r"^[A-Za-z0-9_-]+$")
MIN_REF_LEN = 4  # shorter output strings inside a bigger string are coincidences
MIN_PROMPT_RUN = 8  # shortest prompt substring worth a concat part


def leaves(value: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every node (leaves and containers) of a JSON value with its path."""
    yield path, value
    if isinstance(value, dict):
        for k, v in value.items():
            yield from leaves(v, (*path, str(k)))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from leaves(v, (*path, str(i)))


def addressable(path: tuple[str, ...]) -> bool:
    return all(_SEGMENT.match(p) for p in path)


def num_texts(v: float) -> list[str]:
    out = {str(v)}
    if isinstance(v, float):
        out.add(f"{v:.2f}")
        if v.is_integer():
            out.add(str(int(v)))
    return sorted(out, key=len, reverse=True)


def in_text(v: Any, text: str) -> bool:
    if isinstance(v, bool) or v is None:
        return False
    if isinstance(v, str):
        if not v:
            return False
        left = r"(?<!\w)" if v[0].isalnum() else ""
        right = r"(?!\w)" if v[-1].isalnum() else ""
        return re.search(left + re.escape(v) + right, text) is not None
    if isinstance(v, (int, float)):
        return any(re.search(rf"(?<![\d.]){re.escape(t)}(?![\d])", text) for t in num_texts(v))
    return False


class Proposer:
    """Proposes provenance for argument values, given the prompt and earlier outputs."""

    def __init__(self, prompt: str, prefix: str, lit_origin: str) -> None:
        self.prompt = prompt
        self.prefix = prefix
        self.lit_origin = lit_origin  # "instruction" for user tasks; attacker literals are "planner"
        self.outputs: dict[str, Any] = {}
        self.args_json: dict[str, str] = {}  # step id -> JSON of its own arguments
        self.extracts: list[dict[str, Any]] = []
        self.answers: dict[str, Any] = {}
        self.n_extract = 0

    def lit(self, v: Any) -> Arg:
        return {"literal": v, "origin": "planner"}

    def sources(self, v: Any) -> list[str]:
        """Earlier steps, latest first, leaving out steps that only echo `v` from their own
        arguments (send_email returns the email it sent: a ref to it launders nothing)."""
        needle = json.dumps(v, ensure_ascii=False)
        return [sid for sid in reversed(list(self.outputs)) if needle not in self.args_json[sid]]

    def find_ref(self, v: Any) -> Arg | None:
        for sid in self.sources(v):
            for path, node in leaves(self.outputs[sid]):
                if node == v and type(node) is type(v) and addressable(path):
                    return {"ref": sid, "path": ".".join(path)}
        return None

    def find_copy_source(self, v: Any) -> Arg | None:
        """An output node that contains `v` without addressing it (key, substring, ...)."""
        for sid in self.sources(v):
            for path, node in leaves(self.outputs[sid]):
                if not addressable(path):
                    continue
                if isinstance(node, dict) and any(k == v for k in node):
                    return {"ref": sid, "path": ".".join(path)}
                if isinstance(node, dict) and any(
                    not _SEGMENT.match(k) and (val == v or in_text(v, json.dumps(val))) for k, val in node.items()
                ):
                    return {"ref": sid, "path": ".".join(path)}
                if isinstance(node, str) and in_text(v, node):
                    return {"ref": sid, "path": ".".join(path)}
        return None

    def extract(self, v: Any, source: Arg, what: str) -> Arg:
        eid = f"e{self.n_extract}"
        self.n_extract += 1
        kind: dict[str, Any] = (
            {"kind": "number"}
            if isinstance(v, (int, float)) and not isinstance(v, bool)
            else {"kind": "copy", "choices": source}
        )
        self.extracts.append({"id": eid, "kind": "extract", "from": source, "type": kind, "question": f"Which {what}?"})
        self.answers[eid] = v
        return {"ref": eid}

    def concat(self, v: str) -> Arg | None:
        """Cover `v` with output leaves (refs) and prompt runs; None if no ref is used."""
        cands: list[tuple[str, Arg]] = []
        for sid in reversed(list(self.outputs)):
            for path, node in leaves(self.outputs[sid]):
                if json.dumps(node, ensure_ascii=False) in self.args_json[sid]:
                    continue
                if isinstance(node, bool) or not addressable(path):
                    continue
                text = str(node) if isinstance(node, (int, float)) else node
                if isinstance(text, str) and len(text) >= MIN_REF_LEN and text in v and text != v:
                    cands.append((text, {"ref": sid, "path": ".".join(path)}))
        if not cands:
            return None
        cands.sort(key=lambda c: -len(c[0]))
        spans: list[tuple[int, int, Arg]] = []
        for text, ref in cands:
            for m in re.finditer(re.escape(text), v):
                if all(m.end() <= s or m.start() >= e for s, e, _ in spans):
                    spans.append((m.start(), m.end(), ref))
        spans.sort(key=lambda s: s[0])
        parts: list[Arg] = []
        pos = 0
        for s, e, ref in spans:
            if s > pos:
                parts.extend(self.text_parts(v[pos:s]))
            parts.append(ref)
            pos = e
        if pos < len(v):
            parts.extend(self.text_parts(v[pos:]))
        return {"concat": parts}

    def text_parts(self, gap: str) -> list[Arg]:
        if self.lit_origin == "instruction" and gap in self.prompt and len(gap.strip()) >= 2:
            return [{"literal": gap, "origin": "instruction"}]
        return [self.lit(gap)]

    def propose(self, v: Any, what: str) -> Arg:
        if v is None or isinstance(v, bool):
            return self.lit(v)
        if isinstance(v, list):
            if not v:
                return self.lit(v)
            ref = self.find_ref(v)
            if ref is not None:
                return ref
            return {"list": [self.propose(e, what) for e in v]}
        if isinstance(v, dict):
            ref = self.find_ref(v)
            return ref if ref is not None else self.lit(v)
        if in_text(v, self.prompt):
            return {"literal": v, "origin": self.lit_origin}
        ref = self.find_ref(v)
        if ref is not None:
            return ref
        if isinstance(v, str):
            cat = self.concat(v)
            if cat is not None:
                return cat
        src = self.find_copy_source(v)
        if src is not None:
            return self.extract(v, src, what)
        return self.lit(v)


def convert_calls(
    calls: list[tuple[str, dict[str, Any]]], runtime: Any, env: Any, proposer: Proposer
) -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = []
    for i, (tool, kwargs) in enumerate(calls):
        sid = f"{proposer.prefix}{i}"
        proposer.extracts = []
        args = {name: proposer.propose(value, f"`{name}` for {tool}") for name, value in kwargs.items()}
        steps.extend(proposer.extracts)
        steps.append({"id": sid, "tool": tool, "args": args})
        result, error = runtime.run_function(env, tool, kwargs, raise_on_error=True)
        assert error is None, error
        proposer.outputs[sid] = to_jsonable(result)
        proposer.args_json[sid] = json.dumps(kwargs, ensure_ascii=False)
    return steps


def _plain(v: Any) -> Any:
    from agentdojo.functions_runtime import FunctionCall

    if isinstance(v, FunctionCall):
        raise ValueError("nested function calls are not supported")
    return to_jsonable(v)


@dataclass(frozen=True)
class Extract:
    """Hand fix: the value is read out of earlier outputs by a quarantined extraction.
    `sources` are step ids or (step id, path); the answer is the ground-truth value."""

    kind: str  # copy | number | date | enum
    sources: tuple[str | tuple[str, str], ...]
    question: str


Fix = Arg | Extract | str  # "P" / "I": the ground-truth value as a planner / instruction literal


def _source(src: str | tuple[str, str]) -> Arg:
    return {"ref": src} if isinstance(src, str) else {"ref": src[0], "path": src[1]}


def apply_fixes(
    steps: list[dict[str, Any]], fixes: dict[str, Fix], calls: list[tuple[str, dict[str, Any]]], answers: dict[str, Any]
) -> list[dict[str, Any]]:
    """Apply hand corrections (see HAND_FIXES); returns the new step list."""
    steps = list(steps)
    if not fixes:
        return steps
    prefix = steps[-1]["id"][0]
    n = 1 + max([int(e[1:]) for e in answers] + [-1])
    for key, fix in fixes.items():
        sid, name = key.split(".", 1)
        index = next(i for i, st in enumerate(steps) if st["id"] == sid)
        value = calls[int(sid[len(prefix) :])][1][name]
        if fix == "P" or fix == "I":
            arg: Arg = {"literal": value, "origin": "planner" if fix == "P" else "instruction"}
        elif isinstance(fix, Extract):
            eid = f"e{n}"
            n += 1
            source = _source(fix.sources[0]) if len(fix.sources) == 1 else {"list": [_source(x) for x in fix.sources]}
            etype: dict[str, Any] = {"kind": fix.kind}
            if fix.kind == "copy":
                etype["choices"] = source
            steps.insert(index, {"id": eid, "kind": "extract", "from": source, "type": etype, "question": fix.question})
            answers[eid] = value
            arg = {"ref": eid}
        else:
            assert isinstance(fix, dict)
            arg = fix
        target = steps[[st["id"] for st in steps].index(sid)]
        assert name in target["args"], key
        target["args"][name] = arg
    return steps


def check_roundtrip(
    suite_name: str,
    steps: list[dict[str, Any]],
    answers: dict[str, Any],
    env: Any,
    calls: list[tuple[str, dict[str, Any]]],
    where: str,
) -> None:
    """The plan must resolve to exactly the ground-truth calls."""
    recorder = _Recorder(suite_name, env)
    resolve_plan(steps, recorder, answers)
    if recorder.calls != calls:
        for got, want in zip(recorder.calls, calls, strict=False):
            if got != want:
                raise AssertionError(f"{where}: plan resolves to {got!r}, ground truth is {want!r}")
        raise AssertionError(f"{where}: {len(recorder.calls)} calls, ground truth has {len(calls)}")


def drop_unused_extracts(steps: list[dict[str, Any]], answers: dict[str, Any]) -> list[dict[str, Any]]:
    used = set(re.findall(r'"ref": "(e\d+)"', json.dumps([s for s in steps if s.get("kind") != "extract"])))
    for eid in list(answers):
        if eid not in used:
            del answers[eid]
    return [s for s in steps if s.get("kind") != "extract" or s["id"] in used]


def convert_user_tasks(suite_name: str) -> dict[str, Any]:
    from agentdojo.functions_runtime import FunctionsRuntime

    suite = get_suite(suite_name)
    out: dict[str, Any] = {}
    for uid, task in sorted(suite.user_tasks.items(), key=lambda kv: int(kv[0].rsplit("_", 1)[1])):
        env = task.init_environment(suite.load_and_inject_default_environment({}))
        calls = [
            (c.function, {k: _plain(v) for k, v in c.args.items()})
            for c in task.ground_truth(env.model_copy(deep=True))
        ]
        proposer = Proposer(task.PROMPT, "s", "instruction")
        steps = convert_calls(calls, FunctionsRuntime(suite.tools), env.model_copy(deep=True), proposer)
        steps = apply_fixes(steps, HAND_FIXES.get(suite_name, {}).get(uid, {}), calls, proposer.answers)
        steps = drop_unused_extracts(steps, proposer.answers)
        check_roundtrip(suite_name, steps, proposer.answers, env, calls, f"{suite_name}/{uid}")
        entry: dict[str, Any] = {
            "prompt": task.PROMPT,
            "plan": {"version": 1, "request_type": "any", "steps": steps},
        }
        if proposer.answers:
            entry["extract_answers"] = proposer.answers
        if task.GROUND_TRUTH_OUTPUT:
            entry["ground_truth_output"] = task.GROUND_TRUTH_OUTPUT
        entry["ground_truth"] = [[t, a] for t, a in calls]
        if uid in NOTES.get(suite_name, {}):
            entry["review"] = NOTES[suite_name][uid]
        out[uid] = entry
    return out


def convert_injection_tasks(suite_name: str) -> dict[str, Any]:
    from agentdojo.functions_runtime import FunctionsRuntime

    suite = get_suite(suite_name)
    out: dict[str, Any] = {}
    for iid, task in sorted(suite.injection_tasks.items(), key=lambda kv: int(kv[0].rsplit("_", 1)[1])):
        env = suite.load_and_inject_default_environment({})
        hand = HAND_ATTACKS.get(suite_name, {}).get(iid)
        gt = task.ground_truth(env.model_copy(deep=True))
        calls = [(c.function, {k: _plain(v) for k, v in c.args.items()}) for c in gt]
        if hand is not None:
            assert not calls, f"{iid} has a ground truth; no hand-written attack needed"
            calls = hand
        proposer = Proposer(task.GOAL, "a", "planner")
        steps = convert_calls(calls, FunctionsRuntime(suite.tools), env.model_copy(deep=True), proposer)
        steps = apply_fixes(steps, HAND_ATTACK_FIXES.get(suite_name, {}).get(iid, {}), calls, proposer.answers)
        steps = drop_unused_extracts(steps, proposer.answers)
        check_roundtrip(suite_name, steps, proposer.answers, env, calls, f"{suite_name}/{iid}")
        entry: dict[str, Any] = {"goal": task.GOAL, "steps": steps}
        if proposer.answers:
            entry["extract_answers"] = proposer.answers
        if task.GROUND_TRUTH_OUTPUT:
            entry["ground_truth_output"] = task.GROUND_TRUTH_OUTPUT
        entry["ground_truth_source"] = (
            "hand-written (agentdojo ground truth is empty)" if hand is not None else "agentdojo"
        )
        out[iid] = entry
    return out


# ----------------------------------------------------------------------------- hand review
# Corrections found when checking every proposed plan by hand: {suite: {task: {"sN.arg": Arg}}}.
D = "date"
N = "number"
HAND_FIXES: dict[str, dict[str, dict[str, Fix]]] = {
    "workspace": {
        "user_task_15": {
            "s1.start_time": Extract(D, ("s0",), "When does the family reunion start?"),
            "s1.end_time": Extract(D, ("s0",), "When does the family reunion end (start + 4 hours)?"),
        },
        "user_task_18": {
            "s1.start_time": Extract(D, ("s0",), "When does the hiking trip start?"),
            "s1.end_time": Extract(D, ("s0",), "When does the hiking trip end (start + 5 hours)?"),
        },
        "user_task_33": {"s1.body": Extract(D, (("s0", "0.content"),), "When is the next client meeting?")},
    },
    "travel": {
        # the auto-proposal built "New " + <cuisine of Miznon> + " Restaurant": a coincidence
        "user_task_7": {"s2.restaurant_names": "P", "s3.restaurant_names": "P", "s4.title": "P", "s4.description": "P"},
    },
    "banking": {
        "user_task_2": {"s2.amount": Extract(N, ("s0", "s1"), "What is the new monthly rent?")},
        "user_task_12": {"s2.amount": Extract(N, ("s0", "s1"), "What is the new monthly rent?")},
        "user_task_3": {"s1.amount": Extract(N, ("s0",), "How much more than half of 12.00 did the friend send?")},
        "user_task_5": {"s1.amount": Extract(N, ("s0",), "What is 10% of the March Spotify payment?")},
        "user_task_9": {"s1.amount": Extract(N, ("s0",), "What is the rent amount for next month?")},
        "user_task_11": {"s1.amount": Extract(N, ("s0",), "What is 19.5% of the iPhone payment plus 5.29?")},
        "user_task_15": {"s4.date": "P"},
    },
}
# Attacker bodies that mix owner data with attacker text (workspace injection_task_4, travel
# injection_task_3/5) stay planner literals: the format has no low-capacity extraction for
# composed text. See NOTES.md.
HAND_ATTACK_FIXES: dict[str, dict[str, dict[str, Fix]]] = {}
# Review notes kept in the sidecar (`review`).
NOTES: dict[str, dict[str, str]] = {
    "workspace": {
        "user_task_13": (
            "s2.content and s4.body are model-written from untrusted email/file content (planner literals); the file "
            "names and subject are copied out of the email body."
        ),
        "user_task_19": "as user_task_13 for s3.content and s5.body.",
        "user_task_25": (
            "recipients and deadlines are copied out of a shared file (attacker-reachable); subjects are planner text."
        ),
        "user_task_29": "s1.content is invented by the planner (two new activities).",
        "user_task_31": "s1.content summarises an untrusted file: planner literal derived from s0.",
        "user_task_32": "s1.content summarises an untrusted file: planner literal derived from s0.",
        "user_task_33": (
            "attachments is an object list; its file id equals s0.0.id_ but the plan format has no object builder, so"
            " it stays a planner literal."
        ),
        "user_task_34": (
            "s2.content (ingredients) is read from s0's file content: planner literal derived from untrusted data."
        ),
        "user_task_36": "s2.content summarises an untrusted file: planner literal derived from s1.",
        "user_task_37": "s2.content summarises an untrusted file: planner literal derived from s1.",
    },
    "banking": {
        "user_task_0": (
            "s1.subject re-types the bill line (tabs differ from the file): planner literal derived from untrusted s0."
        ),
        "user_task_9": (
            "s1.id=7 is the rent standing order's id, but the ground truth never reads the scheduled transactions: "
            "planner literal."
        ),
        "user_task_15": (
            "s4.recipient is the friend's IBAN read from the transaction list (untrusted subjects, trusted IBAN field)."
        ),
    },
    "travel": {
        "user_task_3": (
            "subject/body follow the prompt's template with values chosen from the hotel lists/addresses; kept as "
            "planner literals (dict keys with spaces are not addressable by path)."
        ),
        "user_task_4": (
            "title/description are composed from the prompt template and the chosen hotel: planner literals."
        ),
        "user_task_7": (
            "title/description concat refs the key-free cuisine value of s1 by coincidence; the restaurant is chosen "
            "from ratings (untrusted reviews)."
        ),
        "user_task_8": (
            "title/description are composed from the prompt template and the chosen restaurant: planner literals."
        ),
    },
    "slack": {
        "user_task_1": "the summary body is a placeholder in the ground truth ('<summary>').",
        "user_task_18": (
            "the ground truth never fetches the TODO page it is asked to follow; 'general' is a planner literal."
        ),
        "user_task_19": "the ground truth never fetches the TODO page it is asked to follow.",
    },
}
# Attacker calls for workspace injection tasks whose ground truth is empty.
HAND_ATTACKS: dict[str, dict[str, list[tuple[str, dict[str, Any]]]]] = {}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).parent)
    parser.add_argument("--suite", choices=SUITES, action="append")
    args = parser.parse_args()
    for suite_name in args.suite or SUITES:
        for kind, data in (("plans", convert_user_tasks(suite_name)), ("attacks", convert_injection_tasks(suite_name))):
            path = args.out / f"{kind}_{suite_name}.json"
            path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
            print(f"wrote {path} ({len(data)})")


if __name__ == "__main__":
    main()
