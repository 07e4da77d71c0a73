"""`plangate bench perf`: how much time the gate adds, measured in one run.

Figures (microseconds, p50 and p99 over many iterations):

* static review of 5-, 20- and 100-step plans, with the decision cache cleared before
  each review so every Cedar decision is really made (`review_*`);
* the per-call runtime check as the executor does it: resolve arguments, build the facts,
  decide, with a cold cache (`check_*`) and a warm one (`check_warm_*`);
* one audit append to a SQLite file (`audit_append_*`);
* the baseline: one bare `cedarpy.is_authorized` call on a prepared request against the
  same compiled policy (`baseline_cedar_*`), so the overhead shows as a ratio;
* what users get (`review_public_*`, `check_public_*`, the goals, with the decision cache
  cleared before each review; `review_public_warm_*`: the same with the decisions of
  earlier reviews kept, a long-running deployment's steady state; `review_public_cpu_*`: the
  same review in CPU time of the thread, which a shared machine's other load disturbs less): a 20-step plan of 20
  distinct tools (so no decision repeats inside the review) whose literals claim the owner's
  message and are verified against it, through the public `Gate.review` with its audit
  writes to a SQLite file; and the per-call check as the executor makes it, stored-label
  lookups included, with 10,000 names stored beside the audit log.

Beside them, from an untimed pass over fresh plans: how many requests each public review
and check sent to Cedar's engine (`*_cedar_requests`: 20 and 1, so no decision is skipped)
and how long they spent inside it (`*_cedar_engine_p50_us`, cedarpy's own call), and the
public figures as multiples of the bare decision timed in the same run (`ratio_*`): the
machine-independent part of the figures, since a machine's speed moves them all alike.
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from plangate.audit import AuditLog
from plangate.native import status as native_status
from plangate.plan.codec import check_plan, parse_plan
from plangate.policy import CompiledPolicy, load_policy
from plangate.review.flow import FlowContext, Resolved
from plangate.review.reviewer import deployment_of, plan_bounds, review_checked
from plangate.trigger import classify, parse_trigger

POLICY = Path(__file__).resolve().parent / "perf_policy.yaml"


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return statistics.median(ordered), p99


def _time(fn: Callable[[], Any], iterations: int, *, before: Callable[[], None] | None = None,
          clock: Callable[[], int] = time.perf_counter_ns) -> tuple[float, float]:
    for _ in range(min(50, iterations)):  # warm up imports, caches of Python itself
        if before:
            before()
        fn()
    samples = []
    for _ in range(iterations):
        if before:
            before()
        t0 = clock()
        fn()
        samples.append((clock() - t0) / 1000)
    return _percentiles(samples)


class EngineTally:
    """Counts the requests sent to Cedar's engine, and the time spent in it, per unit of
    work (each call of the function given to `over`) while it is entered: it wraps the
    engine call of `plangate.policy.engine` and puts it back on exit. For the untimed pass
    only: the wrapper's own cost would land in a timed figure."""

    def __init__(self) -> None:
        self.requests: list[int] = []
        self.micros: list[float] = []
        self._n, self._ns = 0, 0

    def __enter__(self) -> EngineTally:
        from plangate.policy import engine

        self._real = real = engine._engine_batch

        def tallied(requests: list[dict[str, Any]], policies: Any, entities: Any) -> list[Any]:
            t0 = time.perf_counter_ns()
            try:
                return list(real(requests, policies, entities))
            finally:
                self._ns += time.perf_counter_ns() - t0
                self._n += len(requests)

        engine._engine_batch = tallied
        return self

    def __exit__(self, *_exc: object) -> None:
        from plangate.policy import engine

        engine._engine_batch = self._real

    def over(self, fn: Callable[[], Any], times: int, before: Callable[[], None]) -> EngineTally:
        """`fn` `times` times, `before` each, tallied one call of `fn` at a time."""
        for _ in range(times):
            before()
            self._n, self._ns = 0, 0
            fn()
            self.requests.append(self._n)
            self.micros.append(self._ns / 1000)
        return self

    def figures(self, key: str) -> dict[str, Any]:
        return {f"{key}_cedar_requests": statistics.median_low(self.requests),
                f"{key}_cedar_engine_p50_us": round(statistics.median(self.micros), 1)}


TALLIED = 300
"""Reviews and checks of the untimed pass that counts Cedar's requests (`EngineTally`)."""


def make_plan(steps: int) -> dict[str, Any]:
    """A realistic owner plan: reads, extractions, writes and sends in a repeating mix."""
    out: list[dict[str, Any]] = []
    i = 0
    while len(out) < steps:
        n = len(out)
        kind = i % 5
        if kind == 0:
            out.append({"id": f"s{n}", "tool": "mail_search",
                        "args": {"query": {"literal": f"invoice {i}", "origin": "planner"}}})
        elif kind == 1:
            out.append({"id": f"s{n}", "tool": "file_read",
                        "args": {"path": {"literal": f"reports/r{i}.md", "origin": "planner"}}})
        elif kind == 2:
            out.append({"id": f"s{n}", "tool": "file_write",
                        "args": {"path": {"literal": f"notes/n{i}.md", "origin": "planner"},
                                 "content": {"ref": f"s{n - 1}"}}})
        elif kind == 3:
            out.append({"id": f"s{n}", "tool": "calendar_hold",
                        "args": {"title": {"literal": f"focus {i}", "origin": "planner"},
                                 "start": {"literal": "2026-12-01T09:00", "origin": "planner"},
                                 "end": {"literal": "2026-12-01T10:00", "origin": "planner"}}})
        else:
            out.append({"id": f"s{n}", "tool": "notify_owner",
                        "args": {"text": {"concat": [{"literal": "done: ", "origin": "planner"},
                                                     {"ref": f"s{n - 3}"}]}}})
        i += 1
    return {"version": 1, "steps": out[:steps]}


OWNER_TRIGGER = {"channel": "chat", "principal": "owner@home.example",
                 "evidence": {"paired": True}, "payload": "tidy up my week"}


STAGES = 9
"""How many times `run` calls its `progress`: three reviews, two checks, baseline, audit,
the public review and the public check."""

STORED_NAMES = 10_000


def distinct_plan(policy: CompiledPolicy, steps: int = 20, salt: int = 0) -> tuple[dict[str, Any], str]:
    """A plan of `steps` calls to distinct tools, every literal a word of the owner's
    message (origin `payload`, verified), and that message. Each `salt` gives other words
    and another address, so no memo keyed on values (parsed addresses, compiled patterns,
    label answers) is hit by an earlier iteration's plan."""
    words: list[str] = []
    out: list[dict[str, Any]] = []
    address = f"bob{salt}@partner.example" if salt else "bob@partner.example"
    for n, (name, spec) in enumerate(sorted(policy.catalog.tools.items())[:steps]):
        args: dict[str, Any] = {}
        for arg, arg_spec in spec.args.items():
            if arg_spec.type == "array":
                args[arg] = {"list": [{"literal": address, "origin": "payload"}]}
            elif arg_spec.type in ("integer", "number"):
                args[arg] = {"literal": 3 + n + salt, "origin": "payload"}
                words.append(str(3 + n + salt))
            elif arg_spec.type == "boolean":
                args[arg] = {"literal": True, "origin": "planner"}
            else:
                word = f"{arg}{n}x{len(words)}" + (f"s{salt}" if salt else "")
                words.append(word)
                args[arg] = {"literal": word, "origin": "payload"}
        out.append({"id": f"s{n}", "tool": name, "args": args})
    return {"version": 1, "steps": out}, "please handle: " + " ".join(words) + " " + address


def seeded_log(folder: Path, names: int) -> Path:
    """An audit log with `names` stored labels (chained), seeded on a RAM disk when there is
    one (each stored label is an fsynced event) and copied to `folder`."""
    import shutil

    from plangate.audit import SqliteResourceLabels
    from plangate.labels import Label

    shm = Path("/dev/shm")
    with tempfile.TemporaryDirectory(dir=shm if shm.is_dir() else None) as seed_dir:
        seed = Path(seed_dir) / "seed.db"
        log = AuditLog(seed)
        store = SqliteResourceLabels(log)
        tainted = Label(sources=frozenset({"payload"}), taint="high")
        for i in range(names):
            store.record(f"workspace:docs/f{i}.md" if i % 2 else f"mail:m{i}", tainted)
        log.connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        log.close()
        target = folder / "audit.db"
        shutil.copy(seed, target)
    return target


def run(iterations: int, progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Every figure; `progress(stage)` is called after each of the `STAGES` stages."""
    done = progress or (lambda stage: None)
    policy: CompiledPolicy = load_policy(POLICY)
    deployment = deployment_of(policy)
    classified = classify(parse_trigger(OWNER_TRIGGER), deployment)
    figures: dict[str, Any] = {}

    clear = policy.clear_cache

    verdicts = {}
    for n in (5, 20, 100):
        checked = check_plan(parse_plan(make_plan(n)), policy.catalog)
        result = review_checked(classified, checked, policy, deployment)
        verdicts[n] = result.verdict
        its = max(50, iterations // (n // 5))
        def one(c: Any = checked) -> None:
            review_checked(classified, c, policy, deployment)

        p50, p99 = _time(one, its, before=clear)
        suffix = "" if n == 20 else f"_{n}"
        figures[f"review{suffix}_p50_us"] = round(p50, 1)
        figures[f"review{suffix}_p99_us"] = round(p99, 1)
        done(f"review of a {n}-step plan")
    figures["review_verdicts"] = verdicts

    # The per-call runtime check: one concrete notify_owner carrying a private file.
    checked = check_plan(parse_plan(make_plan(5)), policy.catalog)
    flow = FlowContext(classified, deployment)
    bounds = plan_bounds(checked, policy.catalog)
    spec = policy.catalog.tools["mail_send"]
    step_args = {"to": {"list": [{"literal": "colleague@home.example", "origin": "planner"}]},
                 "subject": {"literal": "weekly report", "origin": "planner"},
                 "body": {"ref": "s1"}}
    parsed_args = parse_plan({"steps": [{"id": "x", "tool": "mail_send", "args": step_args}]}
                             ).steps[0].args  # type: ignore[union-attr]
    env = {"s1": Resolved("the weekly numbers: 42", policy.catalog.tools["file_read"].output_label)}

    def check() -> None:
        args = {name: flow.resolve(arg, env) for name, arg in parsed_args.items()}
        facts = flow.call_facts(spec=spec, args=args, request_type="any", bounds=bounds,
                                executes_tainted=False)
        policy.decide(facts)

    figures["check_p50_us"], figures["check_p99_us"] = (
        round(x, 1) for x in _time(check, iterations, before=clear))
    done("per-call check")
    figures["check_warm_p50_us"], figures["check_warm_p99_us"] = (
        round(x, 1) for x in _time(check, iterations))
    done("per-call check, warm cache")

    # Baseline: the bare policy engine on the same, already prepared request.
    args = {name: flow.resolve(arg, env) for name, arg in parsed_args.items()}
    request = policy.cedar_request(flow.call_facts(spec=spec, args=args, request_type="any",
                                                   bounds=bounds, executes_tainted=False))
    figures["baseline_cedar_p50_us"], figures["baseline_cedar_p99_us"] = (
        round(x, 1) for x in _time(lambda: policy.bare_decision(request), iterations))
    done("bare Cedar decision")

    with tempfile.TemporaryDirectory() as tmp:
        log = AuditLog(Path(tmp) / "audit.db")
        payload = {"step": "s3", "tool": "mail_send", "verdict": "approve", "rules": ["owner"],
                   "args": {"to": ["colleague@home.example"], "subject": "weekly report"}}
        figures["audit_append_p50_us"], figures["audit_append_p99_us"] = (
            round(x, 1) for x in _time(lambda: log.append("call", "run_bench", payload),
                                       min(iterations, 2000)))
        log.close()
    done("audit append")

    public(policy, classified, iterations, figures, done)

    base = figures["baseline_cedar_p50_us"]
    figures["ratio_check_to_baseline"] = round(figures["check_p50_us"] / base, 2)
    figures["ratio_review20_to_baseline"] = round(figures["review_p50_us"] / base, 2)
    figures["ratio_review_public_to_baseline"] = round(figures["review_public_p50_us"] / base, 2)
    figures["ratio_check_public_to_baseline"] = round(figures["check_public_p50_us"] / base, 2)
    figures["goals"] = {"review_public_p50_us<=1000": figures["review_public_p50_us"] <= 1000,
                        "check_public_p50_us<=100": figures["check_public_p50_us"] <= 100}
    figures["iterations"] = iterations
    # Whether the review's hot modules ran compiled (plangate.native), and why not if not.
    figures["native"] = native_status()
    return figures


_ROWS = (("review", "review of a 5-step plan", "review_5"),
         ("review", "review of a 20-step plan", "review"),
         ("review", "review of a 100-step plan", "review_100"),
         ("check", "per-call check, cold decision cache", "check"),
         ("check", "per-call check, warm decision cache", "check_warm"),
         ("baseline", "one bare Cedar decision (baseline)", "baseline_cedar"),
         ("audit", "one audit append (SQLite)", "audit_append"),
         ("public", "Gate.review, 20 distinct calls, audited", "review_public"),
         ("public", "the same, CPU time of the thread", "review_public_cpu"),
         ("public", "the same, decisions of earlier reviews kept", "review_public_warm"),
         ("public", "per-call check, 10,000 stored labels", "check_public"))


def public(policy: CompiledPolicy, classified: Any, iterations: int, figures: dict[str, Any],
           done: Callable[[str], None]) -> None:
    """`review_public_*` and `check_public_*`: what a user of the library gets."""
    from plangate.gate import Gate
    from plangate.resources import disclosed_label, executes_tainted
    from plangate.testing import FixtureTools

    plan, message = distinct_plan(policy)
    trigger = {**OWNER_TRIGGER, "payload": message}
    with tempfile.TemporaryDirectory() as tmp:
        gate = Gate(policy, FixtureTools(), audit=seeded_log(Path(tmp), STORED_NAMES))
        verdict = gate.review(trigger, plan).verdict
        its = max(100, iterations // 4)
        # Every timed review is of a fresh plan and message (see `distinct_plan`): what a
        # deployment sees. (The same plan again and again was ~10-15 % faster: memos of
        # parsed addresses and compiled patterns answered from the previous iteration.)
        fresh = iter([(p, {**OWNER_TRIGGER, "payload": m})
                      for p, m in (distinct_plan(policy, salt=i) for i in range(1, 3 * its + 152 + TALLIED))])

        def one() -> None:
            p, t = next(fresh)
            gate.review(t, p)

        figures["review_public_p50_us"], figures["review_public_p99_us"] = (
            round(x, 1) for x in _time(one, its, before=policy.clear_cache))
        # The same, as CPU time of this thread: on a shared machine other processes' load
        # stretches the wall clock (waits for a core, for the disk) far more than this.
        figures["review_public_cpu_p50_us"], figures["review_public_cpu_p99_us"] = (
            round(x, 1) for x in _time(one, its, before=policy.clear_cache, clock=time.thread_time_ns))
        # Fresh plans again, the decisions of earlier reviews kept (a long-running deployment's
        # steady state: calls whose facts an earlier review already decided are not sent to
        # Cedar again; the goal is judged on the cold figure above).
        figures["review_public_warm_p50_us"], figures["review_public_warm_p99_us"] = (
            round(x, 1) for x in _time(one, its))
        # The same plan every time, for comparison with earlier figures.
        figures["review_public_same_plan_p50_us"] = round(_time(
            lambda: gate.review(trigger, plan), its, before=policy.clear_cache)[0], 1)
        # Untimed: Cedar's requests and engine time of fresh reviews, memo cleared as above.
        with EngineTally() as tally:
            figures.update(tally.over(one, TALLIED, policy.clear_cache).figures("review_public"))
        figures["review_public_verdict"] = verdict
        figures["review_public_distinct_tools"] = len({s["tool"] for s in plan["steps"]})
        done("public review (Gate.review, 20 distinct calls, audited)")

        # The executor's per-call check on a call whose disclosed file has a stored label.
        deployment = deployment_of(policy)
        flow = FlowContext(classified, deployment)
        checked = check_plan(parse_plan(make_plan(5)), policy.catalog)
        bounds = plan_bounds(checked, policy.catalog)
        spec = policy.catalog.tools["file_share"]
        # A different stored file and recipient each time (no memo of the last one).
        calls = iter([parse_plan({"steps": [{"id": "x", "tool": "file_share", "args": {
            "path": {"literal": f"docs/f{2 * (i % (STORED_NAMES // 2)) + 1}.md", "origin": "planner"},
            "with": {"list": [{"literal": f"bob{i}@partner.example", "origin": "planner"}]}}}]}
                                 ).steps[0].args for i in range(2 * iterations + 100 + TALLIED)])  # type: ignore[union-attr]
        resources = gate.resources

        def check() -> None:
            parsed = next(calls)
            args = {name: flow.resolve(arg, {}) for name, arg in parsed.items()}
            values = {n: r.value for n, r in args.items()}
            facts = flow.call_facts(spec=spec, args=args, request_type="any", bounds=bounds,
                                    executes_tainted=executes_tainted(spec, values, resources),
                                    disclosed=disclosed_label(spec, values, resources))
            policy.decide(facts)

        figures["check_public_p50_us"], figures["check_public_p99_us"] = (
            round(x, 1) for x in _time(check, iterations, before=policy.clear_cache))
        with EngineTally() as tally:
            figures.update(tally.over(check, TALLIED, policy.clear_cache).figures("check_public"))
        figures["stored_names"] = STORED_NAMES
        gate.audit.close()
        done("public per-call check (10,000 stored names)")


def report(figures: dict[str, Any]) -> list[str]:
    """The figures as a table a person reads: what was timed, p50 and p99, the goals."""
    width = max(len(label) for _, label, _ in _ROWS)
    lines = [f"{'what (microseconds)':<{width}}  {'p50':>9}  {'p99':>9}"]
    for _, label, key in _ROWS:
        lines.append(f"{label:<{width}}  {figures[key + '_p50_us']:>9.1f}  {figures[key + '_p99_us']:>9.1f}")
    verdicts = ", ".join(f"{n} steps {v}" for n, v in figures["review_verdicts"].items())
    if "review_public_same_plan_p50_us" in figures:
        lines.append(f"{'the same, one plan again and again':<{width}}  "
                     f"{figures['review_public_same_plan_p50_us']:>9.1f}")
    lines += ["",
              f"verdicts of the timed plans: {verdicts}",
              f"per-call check / bare Cedar decision: {figures['ratio_check_to_baseline']}x; "
              f"20-step review / bare decision: {figures['ratio_review20_to_baseline']}x",
              f"public review / bare decision: {figures['ratio_review_public_to_baseline']}x, of which "
              f"{figures['review_public_cedar_engine_p50_us']} us in Cedar's engine for "
              f"{figures['review_public_cedar_requests']} requests; public check / bare decision: "
              f"{figures['ratio_check_public_to_baseline']}x, of which "
              f"{figures['check_public_cedar_engine_p50_us']} us in the engine for "
              f"{figures['check_public_cedar_requests']} request(s)"]
    for goal, met in figures["goals"].items():
        name, _, limit = goal.partition("<=")
        lines.append(f"goal {name.removesuffix('_us')} <= {limit} us: {'met' if met else 'MISSED'} "
                     f"({figures[name]} us)")
    lines.append(f"({figures['iterations']} iterations per figure; p50 = median, p99 = 99th percentile)")
    return lines


def main(*, json_path: str | None = None, quick: bool = False,
         progress: Callable[[str], None] | None = None, say: Callable[[str], None] = print) -> int:
    """Run, print the table (through `say`), write the figures as JSON. Exit 0 even if a
    goal is missed: the figures depend on the machine; the table says MISSED."""
    figures = run(300 if quick else 3000, progress)
    say("\n".join(report(figures)))
    if json_path:
        Path(json_path).write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return 0
