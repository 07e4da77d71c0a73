#!/usr/bin/env python3
"""Mutation score of plangate's security core (see docs/benchmarks/mutation.md).

    .venv/bin/python scripts/mutation_score.py [--jobs 2] [--json out.json] [--only ID,ID]
                                               [--confirm] [--list]

Nothing in the working tree is touched: src/, tests/ and examples/ are copied to a
temporary folder. There the core tests run once with a tracer, to learn which test files
execute which lines. A second copy gets every mutant of the target files compiled in at
once, each behind a switch (`(mutated if _mutation_switch_.ACTIVE == 'id' else original)`,
and the same for statements), so one process imports and collects everything once and
forks a child per mutant that turns its switch on and runs `pytest -x` over the test
files that execute the mutated lines, the tests that hit them first. A mutant whose lines
run while tests are imported (a policy compiled at module level) gets a fresh process with
the switch set from the environment instead. `PYTHONPATH=<copy>/src` shadows the
installed package. Killed: a test fails, errors or times out. Survived: every test passes.

Mutations, one per mutant: a comparison negated or moved across its boundary (`<` vs `<=`),
`and`/`or` swapped, a `not` removed, `a.join(b)` replaced by `a`, one label dropped from a
`join_all([...])`, a returned `Label` (or a `Resolved`'s label) replaced by the trusted
label, `readers=`/`taint=`/`sources=` dropped from a `Label(...)`, a call statement
(`set.add`, `record_writes`, an audit record) or a `raise` replaced by `pass`, `any`/`all`
and `max`/`min` swapped, `True`/`False` swapped, a taint constant lowered (`high` to `low`,
`low` to `none`), `|`/`&` swapped, `+=` turned into `-=` (`*=` into `+=`). Only code inside
function bodies is mutated (not defaults, annotations or docstrings).

Security functions (`SECURITY`: label, taint, reader, fact, grant, runtime-check, skip and
narrows logic) get every mutant; other functions a fixed one-in-three sample; formatting
(`to_json`, `__repr__`) none. A mutant's id hashes its file, function, kind and code, so it
stays put while unrelated lines move. `EQUIVALENT` lists the mutants that cannot change
behaviour, each with the reason.
"""

from __future__ import annotations

import argparse
import ast
import concurrent.futures
import copy
import datetime as dt
import hashlib
import json
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTHON = ROOT / ".venv/bin/python"

TARGETS = [
    "src/plangate/labels.py",
    "src/plangate/resources.py",
    "src/plangate/review/flow.py",
    "src/plangate/review/reviewer.py",
    "src/plangate/execute/executor.py",
    "src/plangate/execute/values.py",
    "src/plangate/policy/facts.py",
    "src/plangate/gate.py",
]

# Functions that are security checks: every mutant. Everything else not skipped: sampled.
SECURITY = {
    "src/plangate/labels.py": {
        "Label.untrusted", "Label.is_public", "Label.readable_by", "Label.readers_only",
        "Label.join", "Label.from_json", "_meet_readers", "join_all"},
    "src/plangate/resources.py": {
        "resolve_patterns", "_canonical", "_escape", "overlaps",
        "MemoryResourceLabels.label_of", "MemoryResourceLabels.record", "_stored",
        "call_output_label", "_selection", "written_label", "disclosed_label",
        "executes_tainted", "record_writes"},
    "src/plangate/review/flow.py": {
        "FlowContext.__init__", "FlowContext._reader_id", "FlowContext.literal_label",
        "FlowContext.trigger_label", "FlowContext.resolve", "FlowContext.destinations",
        "FlowContext.call_facts", "FlowContext._is_known", "_normalise_destination",
        "_normalise_text"},
    "src/plangate/review/reviewer.py": {
        "combine", "deployment_of", "review_checked", "_review_checked", "plan_bounds",
        "_verify_origins", "_claims", "_StaticWalker.block", "_StaticWalker.step",
        "_StaticWalker._choices_label", "_StaticWalker.call", "extracted_label"},
    "src/plangate/execute/executor.py": {
        "Executor.run", "Executor._record", "_Run.__init__", "_Run.block", "_Run.step",
        "_Run._resolve", "_Run.extract", "_Run.call", "_Run._call", "_Run._ask_owner"},
    "src/plangate/execute/values.py": {"extraction_problem", "copied_from"},
    "src/plangate/policy/facts.py": {
        "cedar_context", "_encode", "_string", "_long", "_decimal"},
    "src/plangate/gate.py": {
        "Gate.submit", "Gate._rate_limited", "Gate.run_approved", "Gate.replan",
        "escalations_covered", "narrows", "_steps_by_id"},
}
SKIP_FUNCTIONS = {"to_json", "__repr__", "__new__", "new_run_id"}
SAMPLE_ONE_IN = 3

# Mutants that cannot change behaviour, by id, with the reason (docs/benchmarks/mutation.md).
EQUIVALENT: dict[str, str] = {
    # labels.py Label.join: `other is self or other is TRUSTED` -> `and`
    "c56dc70e": "a fast path: joining a label with itself or with TRUSTED through the general "
                "branch gives an equal label (readers meet themselves or the public set, sources "
                "union, taint max)",
    # resources.py resolve_patterns: zip(..., strict=True) -> strict=False
    "a277c331": "the text around n placeholders is always n + 1 pieces: zip never sees lengths "
                "that differ",
    # review/flow.py FlowContext.trigger_label: int(index) < len(segments) -> <=
    "3157f7a5": "resolve() follows the path before labelling it: an index equal to the number "
                "of segments raises PathError in follow() first, so this label is never computed",
    # review/reviewer.py _StaticWalker.step: an extraction answer joins the plan's pc
    "7853e128": "defence in depth: the review walks the whole plan with the plan's pc as pc, so "
                "every call, output and write the answer can reach already carries those readers",
    # execute/executor.py _Run.extract: the same at run time
    "fc3c60e4": "defence in depth: the executor runs the whole plan with the plan's pc as pc, so "
                "every call, output and write the answer can reach already carries those readers",
    # execute/executor.py _Run._resolve: `except KeyError: raise _Halt(...)` -> pass
    "5100cd47": "unreachable: check_plan admits only references to steps in scope and orders "
                "each block by dependency; failed and skipped steps stay in env as _FAILED",
    # gate.py Gate.submit: the stored plan dumped with exclude_none=True -> False
    "e3e6878d": "every optional plan field accepts an explicit null: the stored plan parses to "
                "the same Plan, the same hash, the same run",
    # gate.py _steps_by_id: model_dump(by_alias=True, exclude_none=True), each -> False
    **dict.fromkeys(("9832e048", "9c03be87"),
                    "both plans are dumped the same way and the dumps are only compared with "
                    "each other: field names and None fields depend only on the step's content"),
}

IGNORED_TESTS = ["tests/core/test_cli.py", "tests/core/test_cli_errors.py"]
COPIED = ["src", "tests", "examples", "pyproject.toml"]
SWITCH = "_mutation_switch_"


# --------------------------------------------------------------------------- mutants


@dataclass
class Mutant:
    id: str
    file: str
    function: str
    kind: str
    line: int
    end_line: int
    original: str
    mutated: str
    security: bool
    status: str = "pending"
    seconds: float = 0.0
    tests_run: str = ""
    reason: str = ""
    extra: dict[str, str] = field(default_factory=dict)


Mutation = Callable[[ast.AST], ast.AST]

_NEGATE = {ast.Eq: ast.NotEq, ast.NotEq: ast.Eq, ast.Lt: ast.GtE, ast.GtE: ast.Lt,
           ast.Gt: ast.LtE, ast.LtE: ast.Gt, ast.In: ast.NotIn, ast.NotIn: ast.In,
           ast.Is: ast.IsNot, ast.IsNot: ast.Is}
_BOUNDARY = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt}
_TYPES = {"list", "tuple", "int", "float", "str", "dict", "bool", "bytes", "set", "frozenset"}


def _mutations(node: ast.AST, returns: str) -> list[tuple[str, Mutation]]:
    """The mutations of one node, as functions that build the mutated node from a copy."""
    out: list[tuple[str, Mutation]] = []
    if isinstance(node, ast.Compare):
        for i, op in enumerate(node.ops):
            for table, kind in ((_NEGATE, "negate-comparison"), (_BOUNDARY, "comparison-boundary")):
                new_op = table.get(type(op))
                if new_op is not None:
                    def flip(n: ast.AST, i: int = i, new: type = new_op) -> ast.AST:
                        assert isinstance(n, ast.Compare)
                        return ast.Compare(left=n.left, ops=[*n.ops[:i], new(), *n.ops[i + 1:]],
                                           comparators=n.comparators)
                    out.append((kind, flip))
    elif isinstance(node, ast.BoolOp):
        out.append(("and-or", lambda n: ast.BoolOp(
            op=ast.Or() if isinstance(n.op, ast.And) else ast.And(), values=n.values)))  # type: ignore[attr-defined]
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        out.append(("remove-not", lambda n: n.operand))  # type: ignore[attr-defined]
    elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr | ast.BitAnd) and not _is_type_union(node):
        out.append(("set-union-intersection", lambda n: ast.BinOp(
            left=n.left, op=ast.BitAnd() if isinstance(n.op, ast.BitOr) else ast.BitOr(), right=n.right)))  # type: ignore[attr-defined]
    elif isinstance(node, ast.AugAssign) and isinstance(node.op, ast.Add | ast.Mult):
        out.append(("augmented-assignment", lambda n: ast.AugAssign(
            target=n.target, op=ast.Sub() if isinstance(n.op, ast.Add) else ast.Add(), value=n.value)))  # type: ignore[attr-defined]
    elif isinstance(node, ast.Constant):
        if node.value is True or node.value is False:
            out.append(("true-false", lambda n: ast.Constant(not n.value)))  # type: ignore[attr-defined]
        elif node.value in ("high", "low"):
            out.append(("lower-taint", lambda n: ast.Constant({"high": "low", "low": "none"}[n.value])))  # type: ignore[attr-defined]
    elif isinstance(node, ast.Call):
        func = node.func
        if isinstance(func, ast.Name) and func.id in ("any", "all", "max", "min"):
            other = {"any": "all", "all": "any", "max": "min", "min": "max"}[func.id]
            out.append((f"{func.id}-{other}", lambda n, other=other: ast.Call(
                func=ast.Name(other, ast.Load()), args=n.args, keywords=n.keywords)))  # type: ignore[attr-defined]
        if (isinstance(func, ast.Attribute) and func.attr == "join" and len(node.args) == 1
                and not node.keywords and not isinstance(func.value, ast.Constant)):
            out.append(("drop-join", lambda n: n.func.value))  # type: ignore[attr-defined]
        if (isinstance(func, ast.Name) and func.id == "join_all" and node.args
                and isinstance(node.args[0], ast.List) and len(node.args[0].elts) > 1):
            for i in range(len(node.args[0].elts)):
                out.append(("drop-join-element", lambda n, i=i: ast.Call(
                    func=n.func, keywords=n.keywords,  # type: ignore[attr-defined]
                    args=[ast.List(elts=[e for j, e in enumerate(n.args[0].elts) if j != i],  # type: ignore[attr-defined]
                                   ctx=ast.Load())])))
        if isinstance(func, ast.Name) and func.id == "Label":
            for kw in node.keywords:
                if kw.arg in ("readers", "taint", "sources"):
                    out.append((f"label-drop-{kw.arg}", lambda n, arg=kw.arg: ast.Call(
                        func=n.func, args=n.args,  # type: ignore[attr-defined]
                        keywords=[k for k in n.keywords if k.arg != arg])))  # type: ignore[attr-defined]
        if (isinstance(func, ast.Name) and func.id == "Resolved" and len(node.args) >= 2
                and not _is_trusted(node.args[1])):
            out.append(("trusted-label", lambda n: ast.Call(
                func=n.func, keywords=n.keywords,  # type: ignore[attr-defined]
                args=[n.args[0], _trusted(), *n.args[2:]])))  # type: ignore[attr-defined]
    elif isinstance(node, ast.Return):
        value = node.value
        if ("Label" in returns.replace("Labeled", "") and value is not None and not _is_trusted(value)
                and not (isinstance(value, ast.Constant) and value.value is None)):
            out.append(("return-trusted", lambda n: ast.Return(value=_trusted())))
    elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
        out.append(("drop-call", lambda n: ast.Pass()))
    elif isinstance(node, ast.Raise):
        out.append(("drop-raise", lambda n: ast.Pass()))
    return out


def _trusted() -> ast.AST:
    return ast.Call(func=ast.Name("Label", ast.Load()), args=[], keywords=[])


def _is_trusted(node: ast.AST) -> bool:
    return (isinstance(node, ast.Name) and node.id == "TRUSTED") or (
        isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "Label"
        and not node.args and not node.keywords)


def _is_type_union(node: ast.AST) -> bool:
    if isinstance(node, ast.Name):
        return node.id in _TYPES
    return isinstance(node, ast.BinOp) and _is_type_union(node.left) and _is_type_union(node.right)


def _switch(mutant_id: str) -> ast.expr:
    return ast.Compare(left=ast.Attribute(ast.Name(SWITCH, ast.Load()), "ACTIVE", ast.Load()),
                       ops=[ast.Eq()], comparators=[ast.Constant(mutant_id)])


class Mutator(ast.NodeTransformer):
    """Finds the mutants of one file and compiles them all into it, each behind a switch."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.scope: list[str] = []
        self.returns: list[str] = []
        self.skip = 0
        self.in_body = 0
        self.mutants: list[Mutant] = []
        self._seen: dict[str, int] = {}

    def visit_ClassDef(self, node: ast.ClassDef) -> ast.AST:
        self.scope.append(node.name)
        body_flag, self.in_body = self.in_body, 0  # class bodies run at import: not mutated
        node.body = [self.visit(s) for s in node.body]
        self.in_body = body_flag
        self.scope.pop()
        return node

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
        self.scope.append(node.name)
        skip = node.name in SKIP_FUNCTIONS
        self.skip += skip
        self.returns.append(ast.unparse(node.returns) if node.returns else "")
        self.in_body += 1
        body = node.body
        doc = body[:1] if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) else []
        node.body = doc + [self.visit(s) for s in body[len(doc):]]
        self.in_body -= 1
        self.returns.pop()
        self.skip -= skip
        self.scope.pop()
        return node

    visit_AsyncFunctionDef = visit_FunctionDef  # type: ignore[assignment]

    def visit_AnnAssign(self, node: ast.AnnAssign) -> ast.AST:
        if node.value is not None:
            node.value = self.visit(node.value)  # never the annotation
        return node

    def generic_visit(self, node: ast.AST) -> ast.AST:
        if not self.in_body or self.skip or not self.scope:
            return super().generic_visit(node)
        pristine = copy.deepcopy(node)
        mutations = _mutations(pristine, self.returns[-1] if self.returns else "")
        node = inner = super().generic_visit(node)
        is_stmt = isinstance(node, ast.stmt)
        texts = set()
        for kind, mutate in mutations:
            function = ".".join(self.scope)
            original = ast.unparse(pristine)
            mutated = ast.unparse(mutate(copy.deepcopy(pristine)))
            if mutated == original or mutated in texts:
                continue  # no change, or the same change by another operator
            texts.add(mutated)
            key = f"{self.path}::{function}::{kind}::{original}->{mutated}"
            n = self._seen.get(key, 0)
            self._seen[key] = n + 1
            mutant_id = hashlib.sha1(f"{key}#{n}".encode()).hexdigest()[:8]
            security = function in SECURITY.get(self.path, set())
            if not security and int(mutant_id, 16) % SAMPLE_ONE_IN:
                continue
            self.mutants.append(Mutant(
                id=mutant_id, file=self.path, function=function, kind=kind,
                line=pristine.lineno, end_line=pristine.end_lineno or pristine.lineno,  # type: ignore[attr-defined]
                original=original, mutated=mutated, security=security))
            variant = mutate(copy.deepcopy(inner))
            if is_stmt:
                node = ast.If(test=_switch(mutant_id), body=[variant], orelse=[node])
            else:
                node = ast.IfExp(test=_switch(mutant_id), body=variant, orelse=node)
        return node


def build(source: str, path: str) -> tuple[list[Mutant], str]:
    """The file's mutants, and its source with all of them behind switches."""
    tree = ast.parse(source)
    mutator = Mutator(path)
    tree = mutator.visit(tree)
    body = tree.body
    at = 0
    while at < len(body) and (
            (isinstance(body[at], ast.Expr) and isinstance(body[at].value, ast.Constant))
            or (isinstance(body[at], ast.ImportFrom) and body[at].module == "__future__")):
        at += 1
    body.insert(at, ast.Import(names=[ast.alias(SWITCH)]))
    ast.fix_missing_locations(tree)
    text = ast.unparse(tree)
    compile(text, path, "exec")
    return mutator.mutants, text


# --------------------------------------------------------------------------- running

SWITCH_MODULE = '''"""Which mutant is on (None: none)."""
import os
ACTIVE = os.environ.get("MUTANT") or None
'''

PLUGIN = r'''
"""Loaded into pytest: in trace mode records the lines each test runs; always orders the
tests as MUTATION_ORDER says (the tests that hit the mutant first)."""
import gc, json, os, sys, time
import pytest

_TRACE = os.environ.get("MUTATION_TRACE")
_targets = {os.path.realpath(p) for p in os.environ.get("MUTATION_TARGETS", "").split(os.pathsep) if p}
_hits = {}
_current = ["<collection>"]
_durations = {}


def _local(frame, event, arg):
    if event == "line":
        _hits.setdefault(_current[0], set()).add((frame.f_code.co_filename, frame.f_lineno))
    return _local


def _global(frame, event, arg):
    if frame.f_code.co_filename in _targets:
        _hits.setdefault(_current[0], set()).add((frame.f_code.co_filename, frame.f_lineno))
        return _local
    return None


if _TRACE:
    import threading
    sys.settrace(_global)
    threading.settrace(_global)


def reset_caches():
    """Caches would credit only the first test that filled them with the lines behind
    them, and would hide a mutant behind a decision made before it was switched on."""
    for name, module in list(sys.modules.items()):
        if not name.startswith(("plangate", "tests")):
            continue
        if name.endswith("conftest") and hasattr(module, "_POLICY"):
            module._POLICY = None
        for value in list(vars(module).values()):
            if callable(getattr(value, "cache_clear", None)):
                value.cache_clear()
    try:
        from plangate.policy.engine import CompiledPolicy
    except ImportError:
        return
    for obj in gc.get_objects():
        if isinstance(obj, CompiledPolicy):
            obj.clear_cache()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    if _TRACE:
        reset_caches()
        _current[0] = item.nodeid
        sys.settrace(_global)
    start = time.perf_counter()
    yield
    _durations[item.nodeid] = time.perf_counter() - start
    if _TRACE:
        _current[0] = "<between>"


def pytest_collection_modifyitems(session, config, items):
    path = os.environ.get("MUTATION_ORDER")
    if path:
        with open(path) as fh:
            order = {nodeid: i for i, nodeid in enumerate(json.load(fh))}
        items.sort(key=lambda it: order.get(it.nodeid, len(order)))


def pytest_sessionfinish(session, exitstatus):
    if _TRACE:
        sys.settrace(None)
        out = {t: sorted([f, l] for f, l in hits) for t, hits in _hits.items()}
        with open(_TRACE, "w") as fh:
            json.dump({"hits": out, "durations": _durations, "exitstatus": int(exitstatus)}, fh)
'''

WORKER = r'''
"""A fork server: imports and collects once, then runs each mutant in a forked child."""
import json, os, shutil, signal, sys, time
import pytest

args = json.loads(sys.argv[1])
rc = pytest.main(["--collect-only", *args["base"], *args["tests"]])
if rc != 0:
    sys.exit(f"collection failed: {rc}")
import _mutation_plugin
import _mutation_switch_
print(json.dumps({"ready": True}), flush=True)
for line in sys.stdin:
    job = json.loads(line)
    pid = os.fork()
    if pid == 0:
        fd = os.open(job["out"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        _mutation_switch_.ACTIVE = job["id"]
        _mutation_plugin.reset_caches()
        shutil.rmtree(".hypothesis", ignore_errors=True)
        os.environ["MUTATION_ORDER"] = job["order"]
        try:
            code = int(pytest.main([*args["base"], "-x", *job["files"]]))
        except BaseException as exc:
            print(f"worker child crashed: {exc!r}")
            code = 3
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    deadline = time.monotonic() + job["timeout"]
    timed_out = False
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            timed_out = True
            break
        time.sleep(0.02)
    code = -1 if timed_out else os.waitstatus_to_exitcode(status)
    print(json.dumps({"rc": code, "timeout": timed_out}), flush=True)
'''


def snapshot(dest: Path, revision: str, overlay: list[str]) -> None:
    """The files at `revision` (a commit: others may be editing the working tree), or the
    working tree itself (`worktree`), plus `overlay` paths from the working tree."""
    dest.mkdir(parents=True)
    if revision == "worktree":
        overlay = [*COPIED, *overlay]
    else:
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", revision, *COPIED],
                                 check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    for name in overlay:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, dest / name, dirs_exist_ok=True, ignore=shutil.ignore_patterns(
                "__pycache__", "*.pyc", ".hypothesis", "*.egg-info"))
        else:
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)
    (dest / "_mutation_plugin.py").write_text(PLUGIN)
    (dest / f"{SWITCH}.py").write_text(SWITCH_MODULE)
    (dest / "_mutation_worker.py").write_text(WORKER)


def base_args() -> list[str]:
    return ["-q", "-p", "no:randomly", "-p", "no:cacheprovider", "-p", "_mutation_plugin",
            "--hypothesis-seed=0", "--no-header", "-rfE", "--tb=line",
            *[f"--ignore={p}" for p in IGNORED_TESTS]]


def env_for(work: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "MUTATION", "MUTANT", "CI"))}
    env["PYTHONPATH"] = f"{work / 'src'}{os.pathsep}{work}"
    env["MUTATION_TARGETS"] = os.pathsep.join(str(work / t) for t in TARGETS)
    env.update(extra)
    return env


def trace(work: Path, tests: list[str]) -> dict[str, object]:
    out = work / "trace.json"
    proc = subprocess.run([str(PYTHON), "-m", "pytest", *base_args(), *tests], cwd=work,
                          env=env_for(work, MUTATION_TRACE=str(out)), capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"the unmutated tests fail; fix them first:\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}")
    return json.loads(out.read_text())  # type: ignore[no-any-return]


class Selector:
    """Which test files run for a mutant, in which order: the tests that executed the
    mutated lines first (fastest first), then the rest of their files."""

    def __init__(self, work: Path, data: dict[str, object]) -> None:
        self.durations: dict[str, float] = data["durations"]  # type: ignore[assignment]
        self.by_line: dict[tuple[str, int], set[str]] = {}
        self.collection: set[tuple[str, int]] = set()
        prefix = os.path.realpath(work) + os.sep
        for test, hits in data["hits"].items():  # type: ignore[attr-defined]
            for f, line in hits:
                key = (f.removeprefix(prefix), line)
                if test in ("<collection>", "<between>"):
                    self.collection.add(key)
                else:
                    self.by_line.setdefault(key, set()).add(test)
        self.files: dict[str, list[str]] = {}
        for test in self.durations:
            self.files.setdefault(test.split("::")[0], []).append(test)

    def at_import(self, m: Mutant) -> bool:
        return any((m.file, n) in self.collection for n in range(m.line, m.end_line + 1))

    def select(self, m: Mutant) -> tuple[list[str], list[str]] | None:
        if self.at_import(m):
            return sorted(self.files), sorted(self.durations, key=self.durations.__getitem__)
        direct = set().union(*(self.by_line.get((m.file, n), set()) for n in range(m.line, m.end_line + 1)))
        if not direct:
            return None
        files = sorted({t.split("::")[0] for t in direct})
        first = sorted(direct, key=lambda t: self.durations.get(t, 0.0))
        rest = [t for f in files for t in self.files.get(f, []) if t not in direct]
        return files, first + rest


class Worker:
    def __init__(self, work: Path, tests: list[str]) -> None:
        self.work = work
        self.proc = subprocess.Popen(
            [str(PYTHON), "_mutation_worker.py", json.dumps({"base": base_args(), "tests": tests})],
            cwd=work, env=env_for(work), stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.ready = False

    def run(self, job: dict[str, object]) -> dict[str, object]:
        assert self.proc.stdin and self.proc.stdout
        while not self.ready:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError("the fork server died while collecting")
            self.ready = '"ready"' in line
        self.proc.stdin.write(json.dumps(job) + "\n")
        self.proc.stdin.flush()
        while True:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError("the fork server died")
            if line.startswith("{"):
                return json.loads(line)  # type: ignore[no-any-return]

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        self.proc.wait(timeout=30)


def run_mutant(m: Mutant, worker: Worker, selector: Selector | None,
               full: list[str] | None = None) -> Mutant:
    """Run one mutant: in the worker's forked child, or (full, or lines run at import) in a
    fresh process over `full` or the selected files."""
    work = worker.work
    fresh = full is not None or (selector is not None and selector.at_import(m))
    if full is not None:
        files, order = full, []
        budget = 120.0
    else:
        assert selector is not None
        picked = selector.select(m)
        if picked is None:
            m.status, m.tests_run = "survived", "no test executes it"
            return m
        files, order = picked
        budget = sum(selector.durations.get(t, 1.0) for t in order)
    timeout = max(60.0, 4 * budget + 20.0)
    order_file = work / f"order-{m.id}.json"
    out_file = work / f"out-{m.id}.txt"
    order_file.write_text(json.dumps(order))
    start = time.perf_counter()
    if fresh:
        shutil.rmtree(work / ".hypothesis", ignore_errors=True)
        try:
            proc = subprocess.run([str(PYTHON), "-m", "pytest", *base_args(), "-x", *files], cwd=work,
                                  timeout=timeout, capture_output=True, text=True,
                                  env=env_for(work, MUTANT=m.id, MUTATION_ORDER=str(order_file)))
            code, timed_out = proc.returncode, False
            out_file.write_text(proc.stdout + proc.stderr)
        except subprocess.TimeoutExpired:
            code, timed_out = -1, True
    else:
        answer = worker.run({"id": m.id, "files": files, "order": str(order_file),
                             "out": str(out_file), "timeout": timeout})
        code, timed_out = int(answer["rc"]), bool(answer["timeout"])  # type: ignore[call-overload]
    m.seconds = round(time.perf_counter() - start, 1)
    text = out_file.read_text(errors="replace") if out_file.exists() else ""
    failed = [ln for ln in text.splitlines() if ln.startswith(("FAILED", "ERROR"))]
    tail = (text.strip().splitlines() or [""])[-1]
    m.tests_run = f"{len(order) or 'all'} tests in {len(files)} files{' (fresh process)' if fresh else ''}"
    if timed_out:
        m.status, m.extra["by"] = "killed", f"timeout after {timeout:.0f}s"
    elif code == 0:
        m.status = "survived"
    elif code in (1, 2):
        m.status, m.extra["by"] = "killed", (failed[0] if failed else tail)[:300]
    else:
        m.status, m.extra["output"] = "error", text[-2000:]
    order_file.unlink(missing_ok=True)
    out_file.unlink(missing_ok=True)
    return m


# --------------------------------------------------------------------------- report


def summarise(mutants: list[Mutant]) -> str:
    lines = ["| file | mutants | in security checks | killed | survived | equivalent | score |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for path in [*TARGETS, None]:
        ms = [m for m in mutants if path is None or m.file == path]
        killed = sum(m.status == "killed" for m in ms)
        survived = sum(m.status in ("survived", "error") for m in ms)
        row = [len(ms), sum(m.security for m in ms), killed, survived,
               sum(m.status == "equivalent" for m in ms)]
        score = f"{100 * killed / (killed + survived):.1f}%" if killed + survived else "-"
        name = f"`{path.removeprefix('src/plangate/')}`" if path else "**total**"
        lines.append(f"| {name} | " + " | ".join(map(str, row)) + f" | {score} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--json", type=Path, help="write every mutant with its status here")
    parser.add_argument("--only", help="comma-separated mutant ids")
    parser.add_argument("--list", action="store_true", help="list the mutants and stop")
    parser.add_argument("--confirm", action="store_true",
                        help="run survivors again, each in a fresh process over all of --tests")
    parser.add_argument("--tests", nargs="+", default=["tests/core", "tests/mutation_kills"],
                        help="test paths (default: tests/core tests/mutation_kills)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary copies")
    parser.add_argument("--check-equivalent", action="store_true",
                        help="run the EQUIVALENT mutants too (each must survive)")
    parser.add_argument("--revision", default="HEAD",
                        help="commit to copy src/, tests/, examples/ from, or `worktree`")
    parser.add_argument("--overlay", action="append", default=[],
                        help="a working-tree path copied over the snapshot (repeatable)")
    opts = parser.parse_args()

    base = Path(tempfile.mkdtemp(prefix="plangate-mutation-"))
    workers: list[Worker] = []
    try:
        pristine = base / "pristine"
        snapshot(pristine, opts.revision, opts.overlay)
        commit = "worktree" if opts.revision == "worktree" else subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", opts.revision],
            check=True, capture_output=True, text=True).stdout.strip()
        mutants: list[Mutant] = []
        schemata: dict[str, str] = {}
        for path in TARGETS:
            found, schemata[path] = build((pristine / path).read_text(), path)
            mutants.extend(found)
        if opts.only:
            wanted = set(opts.only.split(","))
            mutants = [m for m in mutants if m.id in wanted]
        if opts.list:
            for m in mutants:
                print(f"{m.id} {m.file}:{m.line} {m.function} [{m.kind}] {m.original!r} -> {m.mutated!r}")
            print(f"{len(mutants)} mutants", file=sys.stderr)
            return 0
        todo = []
        for m in mutants:
            if m.id in EQUIVALENT:
                m.status, m.reason = "equivalent", EQUIVALENT[m.id]
            if m.id not in EQUIVALENT or opts.check_equivalent:
                todo.append(m)
        t0 = time.perf_counter()
        log = sys.stderr
        print(f"{len(mutants)} mutants ({len(todo)} to run); tracing {' '.join(opts.tests)} ...", file=log, flush=True)
        selector = Selector(pristine, trace(pristine, opts.tests))
        print(f"traced in {time.perf_counter() - t0:.0f}s", file=log, flush=True)
        for i in range(opts.jobs):
            work = base / f"w{i}"
            shutil.copytree(pristine, work, ignore=shutil.ignore_patterns("__pycache__", "trace.json"))
            for path, text in schemata.items():
                (work / path).write_text(text)
            workers.append(Worker(work, opts.tests))
        pool_of: queue.Queue[Worker] = queue.Queue()
        for w in workers:
            pool_of.put(w)

        def job(m: Mutant, full: list[str] | None = None) -> Mutant:
            worker = pool_of.get()
            try:
                return run_mutant(m, worker, selector, full)
            finally:
                pool_of.put(worker)

        # Switches off, the compiled-in mutants must change nothing.
        check = Mutant(id="none", file="", function="", kind="", line=0, end_line=0, original="",
                       mutated="", security=False)
        if run_mutant(check, workers[0], None, opts.tests).status != "survived":
            sys.exit(f"the tests fail with every mutant switched off: {check.extra}")
        print(f"checked the switched copy in {time.perf_counter() - t0:.0f}s", file=log, flush=True)

        done = 0
        with concurrent.futures.ThreadPoolExecutor(max_workers=opts.jobs) as pool:
            for m in pool.map(job, todo):
                done += 1
                print(f"[{done}/{len(todo)}] {m.status:9} {m.id} {m.file}:{m.line} {m.function} "
                      f"[{m.kind}] {m.original!r} -> {m.mutated!r} ({m.seconds}s, {m.tests_run}) "
                      f"{m.extra.get('by', '')}", file=log, flush=True)
        if opts.confirm:
            survivors = [m for m in todo if m.status == "survived"]
            print(f"confirming {len(survivors)} survivors on all of {' '.join(opts.tests)} ...", file=log, flush=True)
            with concurrent.futures.ThreadPoolExecutor(max_workers=opts.jobs) as pool:
                for m in pool.map(lambda m: job(m, opts.tests), survivors):
                    m.extra["confirmed"] = f"{m.status} on all of {' '.join(opts.tests)}"
                    print(f"  {m.status:9} {m.id} {m.extra.get('by', '')}", file=log, flush=True)
        for m in todo:
            if m.id in EQUIVALENT and m.status == "survived":
                m.status, m.reason = "equivalent", EQUIVALENT[m.id]
            elif m.id in EQUIVALENT:
                print(f"NOT EQUIVALENT: {m.id} was {m.status}: {m.extra}", file=log, flush=True)
        elapsed = time.perf_counter() - t0
        print(summarise(mutants))
        print(f"\n{len(todo)} mutants run in {elapsed / 60:.1f} min on {commit} "
              f"(overlay: {', '.join(opts.overlay) or 'none'})")
        for m in mutants:
            if m.status in ("survived", "error"):
                print(f"- {m.status} `{m.id}` {m.file}:{m.line} `{m.function}` [{m.kind}] "
                      f"`{m.original}` -> `{m.mutated}`")
        if opts.json:
            opts.json.write_text(json.dumps({
                "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "revision": commit, "overlay": opts.overlay, "tests": opts.tests,
                "minutes": round(elapsed / 60, 1),
                "mutants": [asdict(m) for m in mutants]}, indent=1))
        return 0
    finally:
        for w in workers:
            try:
                w.close()
            except Exception:  # a dead worker is fine at the end
                w.proc.kill()
        if not opts.keep:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
