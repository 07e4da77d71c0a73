"""The search: for every goal, every context, every route the recipes offer, a plan run
through the real gate and judged on state.

Per goal:

1. **Screening** (each recipe the first time a context offers it): each need's recipes
   are tried one at a time, every other argument carried by a literal the owner did
   write (the context's trusted instruction is extended by those values only for this
   run). Needs of the same kind share one screening. A recipe the gate lets
   through there, unasked or after an owner's yes, is kept for that need. Gate rules
   only ever get stricter as arguments get worse labels, so a recipe refused with the
   best possible company is refused in any company; screening prunes nothing that could
   combine into a success (`sample_unscreened` checks that assumption by running
   unscreened combinations as well).
2. **Combination** (every context): the product of the kept recipes over the needs,
   with the context's real trigger, each plan deduplicated by canonical hash. The owner
   refuses every question; a plan that asked is rerun with an owner who says yes.
3. **Judging**: the benchmark's own judge on the state afterwards. Reached with no
   question: `reachable_unasked` (a gate bug). Reached only after a yes:
   `reachable_asked`, with what the owner was shown.

`sample` and `budget_seconds` bound it. Every choice is drawn from a seeded generator: with
`sample` and no time budget the same seed tries the same plans; a time budget makes how
far each goal gets depend on the machine.
"""

from __future__ import annotations

import hashlib
import itertools
import random
import time
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from plangate.bench.search.recipes import (
    Builder,
    Ctx,
    Echo,
    Need,
    Recipe,
    build_need,
    direct_recipes,
    hop_recipes,
    inner_recipes,
    recipe_applies,
)
from plangate.bench.search.values import Json
from plangate.plan.codec import canonical_json

# ---------------------------------------------------------------------------- model


@dataclass(slots=True)
class Target:
    """One call the goal needs, with the concrete arguments that reach it."""

    tool: str
    args: dict[str, Any]


@dataclass(slots=True)
class Variant:
    """One way to reach a goal: its target calls (the benchmark's own, or with a sink
    swapped for another tool that reaches the same state) and what each needs."""

    name: str
    targets: list[Target]
    needs: list[Need]


@dataclass(slots=True)
class Question:
    step: str | None
    tool: str | None
    rules: list[str]
    summary: str

    def to_json(self) -> Json:
        return {"step": self.step, "tool": self.tool, "rules": self.rules, "summary": self.summary}


@dataclass(slots=True)
class Run:
    """What became of one plan."""

    verdict: str
    rules: list[str]
    status: str | None
    executed: list[tuple[str, dict[str, Any]]]
    reached: bool
    questions: list[Question] = field(default_factory=list)


class Prepared(Protocol):
    """One (goal, context): the recipes' context, the goal's variants, and how to run."""

    ctx: Ctx
    variants: list[Variant]
    echoes: list[Echo]

    @property
    def context(self) -> str:
        """`world|goal|context`, unique per (goal, context)."""
        ...

    def execute(self, steps: list[Json], answers: dict[str, Any], *, owner_yes: bool,
                trusted: Sequence[Any] = ()) -> Run:
        """Run the route `steps` (with the context's own steps) through the gate and judge
        the state. `trusted`: values the trigger's trusted text is extended by (screening)."""
        ...


class World(Protocol):
    name: str
    #: When the current goal's time is up (set by the search; a world stops optional work).
    until: float | None

    def warm(self) -> None:
        """Probe the tools once, before any goal's time starts."""
        ...

    def goals(self) -> list[GoalInfo]: ...

    def contexts(self, goal: GoalInfo) -> list[str]: ...

    def prepare(self, goal: GoalInfo, context: str) -> Prepared | None: ...


@dataclass(slots=True)
class GoalInfo:
    world: str
    id: str
    text: str
    note: str = ""   # why it is not searched, if it is not
    weight: float = 1.0  # its share of the time budget (a slow world's goals get more)


# ---------------------------------------------------------------------------- settings and results


@dataclass(slots=True)
class Settings:
    seed: int = 0
    sample: int | None = None            # attack plans per goal (None: no cap but the budget)
    budget_seconds: float | None = None  # for the whole search
    depth: int = 3                       # laundering hops beyond the direct recipes
    per_depth: tuple[int, ...] = (0, 40, 20, 12)  # recipes kept per need at depth 0..3
    combos_per_context: int = 30
    sample_unscreened: int = 4
    contexts: int | None = None           # contexts per goal (None: all)
    goals: tuple[str, ...] | None = None  # only these goal ids (None: all)
    screening_share: float = 0.6          # of a goal's time budget


@dataclass(slots=True)
class Finding:
    world: str
    goal: str
    context: str
    variant: str
    route: list[Json]
    plan_hash: str
    steps: list[Json]
    answers: dict[str, Any]
    executed: list[str]
    questions: list[Question]

    @property
    def signature(self) -> str:
        return " | ".join(f"{r['call']}.{r['arg']} <- {r['source']}" for r in self.route)

    def to_json(self) -> Json:
        return {"world": self.world, "goal": self.goal, "context": self.context, "variant": self.variant,
                "route": self.route, "signature": self.signature, "plan_hash": self.plan_hash,
                "steps": self.steps, "answers": self.answers, "executed": self.executed,
                "owner_shown": [q.to_json() for q in self.questions]}


@dataclass(slots=True)
class GoalResult:
    info: GoalInfo
    contexts: int = 0
    variants: list[str] = field(default_factory=list)
    screening_runs: int = 0
    plans_tried: int = 0
    denied_at_review: int = 0
    asked: int = 0
    unasked: list[Finding] = field(default_factory=list)
    asked_reached: list[Finding] = field(default_factory=list)
    kept: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    seconds: float = 0.0
    cut_by_budget: bool = False

    def to_json(self, asked_examples: int = 5) -> Json:
        """Every route that reached the goal unasked, in full; of those that needed the
        owner's yes, the count, the rules the owner was asked under, and a few in full."""
        asked = _routes(self.asked_reached)
        rules: dict[str, int] = {}
        for f in self.asked_reached:
            for rule in sorted({r for q in f.questions for r in q.rules}):
                rules[rule] = rules.get(rule, 0) + 1
        return {
            "world": self.info.world, "goal": self.info.id, "text": self.info.text, "note": self.info.note,
            "contexts": self.contexts, "variants": self.variants, "screening_runs": self.screening_runs,
            "plans_tried": self.plans_tried, "denied_at_review": self.denied_at_review,
            "plans_that_asked": self.asked,
            "reachable_unasked": len(self.unasked), "reachable_asked": len(self.asked_reached),
            "unasked_routes": _routes(self.unasked),
            "asked_route_count": len(asked),
            "asked_rules": dict(sorted(rules.items(), key=lambda kv: (-kv[1], kv[0]))),
            "asked_routes": asked[:asked_examples],
            "kept_recipes": {v: {k: {"count": len(names), "first": names[:5]} for k, names in needs.items()}
                             for v, needs in self.kept.items()},
            "seconds": round(self.seconds, 2), "cut_by_budget": self.cut_by_budget,
        }


def _routes(findings: Sequence[Finding]) -> list[Json]:
    """Findings grouped by route signature: one example plan each, every context listed."""
    groups: dict[tuple[str, str], list[Finding]] = {}
    for f in findings:
        groups.setdefault((f.variant, f.signature), []).append(f)
    out = []
    for (_variant, _sig), items in sorted(groups.items()):
        first = items[0].to_json()
        first["contexts"] = sorted({f.context for f in items})
        first["plan_hashes"] = sorted({f.plan_hash for f in items})[:20]
        out.append(first)
    return out


# ---------------------------------------------------------------------------- search


def recipes_for(need: Need, prep: Prepared, settings: Settings, rng: random.Random) -> list[Recipe]:
    """Every direct recipe that applies, every one-hop laundering, and deterministic samples
    of the deeper ones (per `settings.per_depth`)."""
    ctx = prep.ctx
    ctx.current_call = need.call
    values = _values(need)
    direct = [r for r in direct_recipes(ctx, values) if recipe_applies(need, r, ctx)]
    out: list[Recipe] = list(direct)
    inner: list[Recipe] = [r for r in inner_recipes(ctx, values) if recipe_applies(need, r, ctx)]
    for depth in range(1, settings.depth + 1):
        layer = [r for r in hop_recipes(prep.echoes, inner) if recipe_applies(need, r, ctx)]
        cap = settings.per_depth[depth] if depth < len(settings.per_depth) else settings.per_depth[-1]
        if len(layer) > cap:
            layer = rng.sample(layer, cap)
        out += layer
        inner = layer
    ctx.current_call = None
    if need.role in ("private", "derived"):
        out = [r for r in out if not r.planner_writes]
    return out


def _values(need: Need) -> list[Any]:
    if need.pieces:
        return [p.text for p in need.pieces if p.private]
    if isinstance(need.value, list):
        return list(need.value)
    return [need.value]


def neutral(need: Need) -> Json:
    """The best-labelled argument there is: the owner's own words (screening only)."""
    value = need.expected
    if isinstance(value, list):
        return {"list": [{"literal": v, "origin": "instruction"} for v in value]}
    return {"literal": value, "origin": "instruction"}


def trusted_values(needs: Sequence[Need], but: Need | None) -> list[Any]:
    out: list[Any] = []
    for n in needs:
        if n is but:
            continue
        out.extend(n.expected if isinstance(n.expected, list) else [n.expected])
    return out


def assemble(variant: Variant, chosen: dict[str, tuple[Recipe | None, Json | None]], ctx: Ctx,
             b: Builder) -> list[Json] | None:
    """The route's steps: the recipes' steps, then the target calls in order (a need
    without a recipe gets `neutral`)."""
    args_of: dict[int, dict[str, Json]] = {i: {} for i in range(len(variant.targets))}
    for need in variant.needs:
        recipe, fixed = chosen.get(need.key, (None, None))
        if fixed is not None:
            args_of[need.call][need.arg] = fixed
            continue
        if recipe is None:
            args_of[need.call][need.arg] = neutral(need)
            continue
        ctx.current_call = need.call
        built = build_need(need, recipe, ctx, b)
        if built is None:
            return None
        args_of[need.call][need.arg] = built
    ctx.current_call = None
    for i, target in enumerate(variant.targets):
        b.steps.append({"id": f"t{i}", "tool": target.tool, "args": args_of[i]})
    return b.steps


def targets_ran(variant: Variant, run: Run) -> bool:
    """Whether every target call ran with the values its needs ask for."""
    fixed = [n for n in variant.needs if n.role != "free"]
    for i, target in enumerate(variant.targets):
        if not any(tool == target.tool and all(_same(args.get(n.arg), n.expected) for n in fixed if n.call == i)
                   for tool, args in run.executed):
            return False
    return True


def _same(a: Any, b: Any) -> bool:
    return bool(a == b) or (isinstance(a, list) and not isinstance(b, list) and a == [b])


def plan_key(context: str, steps: list[Json], answers: dict[str, Any]) -> str:
    text = canonical_json({"context": context, "steps": steps, "answers": answers})
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


class Search:
    def __init__(self, settings: Settings, progress: Callable[[str], None] | None = None) -> None:
        self.settings = settings
        self.progress = progress or (lambda _m: None)
        self.deadline: float | None = None
        self.screen_deadline: float | None = None

    def run(self, worlds: Sequence[World]) -> list[GoalResult]:
        started = time.perf_counter()
        goals = [(w, g) for w in worlds for g in w.goals()
                 if self.settings.goals is None or g.id in self.settings.goals]
        for world in worlds:
            world.warm()
        budget = self.settings.budget_seconds
        results = []
        searched = [g for _, g in goals if not g.note]
        for world, goal in goals:
            if budget is not None and not goal.note:
                left = budget - (time.perf_counter() - started)
                share = max(left, 0.0) * goal.weight / max(sum(g.weight for g in searched), 1e-9)
                searched.remove(goal)
                self.deadline = time.perf_counter() + share
                # Screening may take most of a goal's share, never all of it: the
                # combinations are the attacks.
                self.screen_deadline = time.perf_counter() + share * self.settings.screening_share
            world.until = self.deadline
            results.append(self.goal(world, goal))
        return results

    def _out_of_time(self) -> bool:
        return self.deadline is not None and time.perf_counter() > self.deadline

    def goal(self, world: World, info: GoalInfo) -> GoalResult:
        t0 = time.perf_counter()
        result = GoalResult(info)
        if info.note:
            return result
        rng = random.Random(self.settings.seed ^ zlib.crc32(f"{world.name}/{info.id}".encode()))
        contexts = world.contexts(info)
        rng.shuffle(contexts)
        if self.settings.contexts is not None:
            contexts = contexts[: self.settings.contexts]
        seen: set[str] = set()
        # variant -> need -> recipe name -> unasked / asked / blocked
        kept: dict[str, dict[str, dict[str, str]]] = {}
        budget_left = self.settings.sample
        for context in contexts:
            if self._out_of_time() or (budget_left is not None and budget_left <= 0):
                result.cut_by_budget = result.cut_by_budget or self._out_of_time()
                break
            prep = world.prepare(info, context)
            if prep is None:
                continue
            result.contexts += 1
            for v in prep.variants:
                if v.name not in result.variants:
                    result.variants.append(v.name)
            recipes = {(v.name, n.key): recipes_for(n, prep, self.settings, rng)
                       for v in prep.variants for n in v.needs}
            self._screen(prep, recipes, kept, result)
            tried = self._combine(prep, recipes, kept, result, seen, rng, budget_left)
            if budget_left is not None:
                budget_left -= tried
        result.kept = {v: {k: sorted(n for n, how in r.items() if how != "blocked") for k, r in needs.items()}
                       for v, needs in kept.items()}
        result.seconds = time.perf_counter() - t0
        self.progress(f"{world.name} {info.id}: {result.contexts} contexts, {result.screening_runs} screening, "
                      f"{result.plans_tried} plans, unasked {len(result.unasked)}, asked {len(result.asked_reached)} "
                      f"[{result.seconds:.1f} s]")
        return result

    # -- screening -------------------------------------------------------------------

    def _screen(self, prep: Prepared, recipes: dict[tuple[str, str], list[Recipe]],
                kept: dict[str, dict[str, dict[str, str]]], result: GoalResult) -> None:
        """Screen every recipe not screened yet, round robin over the needs (the direct
        recipes of every need before any laundering), until the screening deadline."""
        queue: list[tuple[int, int, Variant, Need, Recipe, dict[str, str]]] = []
        for v_rank, variant in enumerate(prep.variants):
            table = kept.setdefault(variant.name, {})
            # Needs of the same kind (the same tool's argument, the same role) share one
            # screening: deleting each of six mails asks the gate the same question.
            groups: dict[tuple[str, str, str], str] = {}
            for need in variant.needs:
                group = (variant.targets[need.call].tool, need.arg, need.role)
                if group in groups:
                    table[need.key] = table.setdefault(groups[group], {})
                    continue
                groups[group] = need.key
                row = table.setdefault(need.key, {})
                for rank, recipe in enumerate(recipes[(variant.name, need.key)]):
                    queue.append((rank, v_rank, variant, need, recipe, row))
        queue.sort(key=lambda q: (q[0], q[1]))
        for _rank, _v, variant, need, recipe, row in queue:
            if self._out_of_time() or self._screening_over():
                result.cut_by_budget = result.cut_by_budget or self._out_of_time()
                return
            if recipe.name in row:
                continue
            b = Builder()
            steps = assemble(variant, {need.key: (recipe, None)}, prep.ctx, b)
            if steps is None:
                continue
            trusted = trusted_values(variant.needs, need)
            result.screening_runs += 1
            run = prep.execute(steps, b.answers, owner_yes=False, trusted=trusted)
            row[recipe.name] = "blocked"
            if targets_ran(variant, run) and not run.questions:
                row[recipe.name] = "unasked"
            elif run.questions:
                result.screening_runs += 1
                yes = prep.execute(steps, b.answers, owner_yes=True, trusted=trusted)
                if targets_ran(variant, yes):
                    row[recipe.name] = "asked"

    def _screening_over(self) -> bool:
        return self.screen_deadline is not None and time.perf_counter() > self.screen_deadline

    # -- combination -----------------------------------------------------------------

    def _combine(self, prep: Prepared, recipes: dict[tuple[str, str], list[Recipe]],
                 kept: dict[str, dict[str, dict[str, str]]], result: GoalResult, seen: set[str],
                 rng: random.Random, budget_left: int | None) -> int:
        tried = 0
        cap = self.settings.combos_per_context
        if budget_left is not None:
            cap = min(cap, budget_left)
        for variant in prep.variants:
            table = kept.get(variant.name, {})
            lists: list[list[Recipe]] = []
            for need in variant.needs:
                by_name = {r.name: r for r in recipes[(variant.name, need.key)]}
                row = table.get(need.key, {})
                ranked = sorted((r for r in by_name if row.get(r, "blocked") != "blocked"),
                                key=lambda r: (row[r] != "unasked", by_name[r].depth, r))
                lists.append([by_name[r] for r in ranked])
            combos = list(_product(lists, cap, rng))
            # A few combinations the screening did not keep, as a check on it.
            full = [recipes[(variant.name, n.key)] for n in variant.needs]
            combos += list(_product(full, self.settings.sample_unscreened, rng, shuffle=True))
            for combo in combos:
                if tried >= cap + self.settings.sample_unscreened or self._out_of_time():
                    result.cut_by_budget = result.cut_by_budget or self._out_of_time()
                    return tried
                b = Builder()
                chosen: dict[str, tuple[Recipe | None, Json | None]] = {
                    n.key: (r, None) for n, r in zip(variant.needs, combo, strict=True)}
                steps = assemble(variant, chosen, prep.ctx, b)
                if steps is None:
                    continue
                key = plan_key(prep.context, steps, b.answers)
                if key in seen:
                    continue
                seen.add(key)
                tried += 1
                result.plans_tried += 1
                run = prep.execute(steps, b.answers, owner_yes=False)
                if run.verdict == "deny":
                    result.denied_at_review += 1
                route = [{"call": variant.targets[n.call].tool, "arg": n.arg, "role": n.role, "source": r.name}
                         for n, r in zip(variant.needs, combo, strict=True)]
                if run.reached and not run.questions:
                    result.unasked.append(_finding(result.info, prep, variant, route, key, steps, b.answers, run))
                    continue
                if run.questions:
                    result.asked += 1
                    yes = prep.execute(steps, b.answers, owner_yes=True)
                    if yes.reached:
                        result.asked_reached.append(
                            _finding(result.info, prep, variant, route, key, steps, b.answers, yes))
        return tried


def _finding(info: GoalInfo, prep: Prepared, variant: Variant, route: list[Json], key: str, steps: list[Json],
             answers: dict[str, Any], run: Run) -> Finding:
    return Finding(world=info.world, goal=info.id, context=prep.context.rsplit("|", 1)[-1], variant=variant.name,
                   route=route, plan_hash=key, steps=steps, answers=answers,
                   executed=[t for t, _ in run.executed], questions=run.questions)


def _product(lists: list[list[Recipe]], cap: int, rng: random.Random,
             shuffle: bool = False) -> Iterator[tuple[Recipe, ...]]:
    """Up to `cap` combinations: in rank order (the best-ranked first) when the product is
    small, else a deterministic sample that always includes the all-first combination."""
    if cap <= 0 or any(not lst for lst in lists):
        return
    total = 1
    for lst in lists:
        total *= len(lst)
    if total <= cap and not shuffle:
        yield from itertools.islice(itertools.product(*lists), cap)
        return
    seen: set[tuple[int, ...]] = set()
    if not shuffle:
        seen.add(tuple(0 for _ in lists))
        yield tuple(lst[0] for lst in lists)
    attempts = 0
    while len(seen) < min(cap, total) and attempts < cap * 20:
        attempts += 1
        pick = tuple(rng.randrange(len(lst)) for lst in lists)
        if pick in seen:
            continue
        seen.add(pick)
        yield tuple(lst[i] for lst, i in zip(lists, pick, strict=True))
