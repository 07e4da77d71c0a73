"""What a replan may rest on and run with (`Gate.replan`): whether a new plan only narrows an
approved one, whether the owner's yes covers its escalations, and which of an earlier run's
records a replan would be shown.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from plangate.catalog import Catalog
from plangate.errors import GrantError
from plangate.labels import Label
from plangate.plan.model import CallStep, ForEachStep, Plan
from plangate.policy.facts import PlanBounds
from plangate.resources import UNVOUCHED, WILDCARD, overlaps, resolve_patterns
from plangate.review.reviewer import Review


def rests_on(event_kind: str, data: Mapping[str, Any]) -> Label | None:
    """The label a replan takes from one of the earlier run's events (as the agent shows
    them to the replanner): a result's, a halt's (one without a label is the owner's alone)."""
    label = data.get("label")
    if event_kind == "result" and data.get("ok") and isinstance(label, dict):
        return Label.from_json(label)
    if event_kind == "halt":
        return Label.from_json(label) if isinstance(label, dict) else UNVOUCHED
    return None


def stored_context(review_json: Mapping[str, Any]) -> Label | None:
    """The planner context an approval was reviewed with (None if there was none)."""
    data = review_json.get("planner_context")
    return Label.from_json(data) if isinstance(data, dict) else None


def stored_spent(review_json: Mapping[str, Any]) -> PlanBounds | None:
    """The trigger's spend an approval was reviewed with (None if the ledger was not read)."""
    data = review_json.get("spent")
    try:
        return PlanBounds.from_json(data) if isinstance(data, dict) else None
    except (KeyError, TypeError, ValueError):
        raise GrantError("the approval's stored review has an unreadable `spent`; submit the plan again") from None


def escalations_covered(approved_review: Mapping[str, Any], fresh: Review) -> bool:
    """Whether every escalation in `fresh` is one the owner saw and approved: the same rule
    on the same step in the stored review. Anything new goes back to the owner."""
    seen = {(f.get("step"), rule) for f in approved_review.get("findings", [])
            if f.get("verdict") == "escalate" for rule in f.get("rules", [])}
    return all((f.step, rule) in seen for f in fresh.findings if f.verdict == "escalate"
               for rule in f.rules)


def narrows(old: Plan, new: Plan, catalog: Catalog) -> bool:
    """Whether `new` only drops things from `old`: the same request type, and every step of
    `new` (extractions and loops too) is a step of `old` with the same id, the same content,
    inside the same loops (a step moved into a loop would run once per item: an approved
    payment made three times), in the same relative order within its block, a loop at no
    greater bound, and no dropped step may write what a kept step reads, runs, loads, sends
    or writes (it would get what was there before: red team round 38 dropped the write that
    replaced a file with an agenda, and shared the file). Same ids and contents
    mean every reference still reads the same data, so no data flow can have been swapped
    in; same loops and bounds mean no approved step can run more often than the owner saw
    (tests/core/test_gate.py pins each)."""
    if old.request_type != new.request_type:
        return False
    old_steps = _steps_by_id(old.steps, ())
    new_steps = _steps_by_id(new.steps, ())
    if _drops_a_write_read_later(_call_tools(old.steps), new_steps,
                                 {k: v[2] for k, v in old_steps.items()}, catalog):
        return False
    for step_id, (shape, bound, loops, _pos) in new_steps.items():
        if step_id not in old_steps:
            return False
        old_shape, old_bound, old_loops, _old_pos = old_steps[step_id]
        if shape != old_shape or bound > old_bound or loops != old_loops:
            return False
    # A loop's output is its last body step's: dropping that step would make everything
    # that refers to the loop read other data than the owner saw.
    old_last, new_last = _last_in_loops(old.steps), _last_in_loops(new.steps)
    if any(old_last.get(loop) != last for loop, last in new_last.items()):
        return False
    # Within each block, the kept steps keep their order.
    blocks: dict[tuple[str, ...], list[int]] = {}
    for step_id, (_shape, _bound, loops, _pos) in sorted(new_steps.items(), key=lambda kv: kv[1][3]):
        blocks.setdefault(loops, []).append(old_steps[step_id][3])
    return all(positions == sorted(positions) for positions in blocks.values())


def _drops_a_write_read_later(old_calls: dict[str, str], kept: Mapping[str, Any],
                              loops: Mapping[str, tuple[str, ...]], catalog: Catalog) -> bool:
    """Whether a dropped step may write stored content that a kept step after it (in plan
    order, or in a loop they share: the next round) reads, runs, loads or sends, every
    argument taken as unknown, so any overlap counts."""
    tools = catalog.tools

    def names(tool: str, writes: bool) -> list[str]:
        spec = tools.get(tool)
        if spec is None:
            return [WILDCARD]
        patterns = (spec.effective_writes if writes else
                    [*spec.effective_reads, *spec.discloses, *spec.executes, *spec.loads])
        return [n for p in patterns for n in resolve_patterns(p, {})]

    order = list(old_calls)  # depth-first: the order the plan runs its calls in
    for i, dropped in enumerate(order):
        if dropped in kept:
            continue
        written = names(old_calls[dropped], True)
        if not written:
            continue
        for j, step_id in enumerate(order):
            later = j > i or bool(set(loops.get(dropped, ())) & set(loops.get(step_id, ())))
            if step_id in kept and later and any(
                    overlaps(a, b) for a in written for b in names(old_calls[step_id], False)):
                return True
    return False


def _call_tools(steps: list[Any]) -> dict[str, str]:
    """Each call step's id (nested ones too) -> its tool."""
    out: dict[str, str] = {}
    for step in steps:
        if isinstance(step, CallStep):
            out[step.id] = step.tool
        elif isinstance(step, ForEachStep):
            out.update(_call_tools(step.steps))
    return out


def _last_in_loops(steps: list[Any]) -> dict[str, str]:
    """Each loop's id -> the id of its last body step (nested loops too)."""
    out: dict[str, str] = {}
    for step in steps:
        if isinstance(step, ForEachStep):
            out[step.id] = step.steps[-1].id
            out.update(_last_in_loops(step.steps))
    return out


def _steps_by_id(steps: list[Any], loops: tuple[str, ...]
                 ) -> dict[str, tuple[str, int, tuple[str, ...], int]]:
    """Each step (nested ones too) as canonical JSON without its loop bound or body, with
    its bound, the loops around it (outermost first) and its position in its block."""

    out: dict[str, tuple[str, int, tuple[str, ...], int]] = {}
    for position, step in enumerate(steps):
        dumped = step.model_dump(mode="json", by_alias=True, exclude_none=True)
        bound = 0
        if isinstance(step, ForEachStep):
            bound = dumped.pop("max")
            dumped.pop("steps")
            out.update(_steps_by_id(step.steps, (*loops, step.id)))
        out[step.id] = (json.dumps(dumped, sort_keys=True), bound, loops, position)
    return out


__all__ = ["escalations_covered", "narrows", "rests_on", "stored_context", "stored_spent"]
