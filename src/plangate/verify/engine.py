"""The generic half of `plangate catalog verify`: run each tool against a fresh scratch
environment full of canaries and compare every flow it shows with the annotations.

For every tool, for every case its adapter can build (usually one):

1. a fresh scratch environment, every readable stored item seeded with canaries;
2. the call, every argument a canary where the tool accepts one;
3. observations: the output, the stored state after the call, the messages that left
   (mail, chat, payments, web requests, shares), and what the suite's read-only tools
   show afterwards ("later reads");
4. every canary found is a flow, checked against the catalog:

   | flow | declared when |
   |---|---|
   | argument -> output | the argument is in `content_args` (`output.from_args`) |
   | stored item R -> output | a `reads` pattern overlaps R |
   | argument -> stored item R | a `writes` pattern overlaps R |
   | stored item R' -> stored item R | `reads` overlap R' and `writes` overlap R |
   | stored item R -> outbound message | a `discloses` pattern overlaps R |
   | argument -> outbound message | the tool has an egress or payment effect (noted) |
   | argument -> a later read by tool U | the tool's `writes` overlap U's `reads` |
   | a stored item R changes | `writes` overlap R, or a write, persist, delete or payment effect |

Nothing here knows a particular tool set: `Adapter` supplies the environment, the
arguments and the observations (`plangate.verify.assistant`, `plangate.verify.agentdojo`).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Literal, Protocol

from plangate.catalog import Catalog, ToolSpec
from plangate.resources import overlaps, resolve_patterns
from plangate.verify.canary import Canaries, Origin, as_text

FlowKind = Literal[
    "output-arg", "undeclared-read", "undeclared-write", "stored-copy", "undeclared-disclosure",
    "undeclared-egress", "undeclared-storage-flow", "undeclared-change", "undeclared-dependence",
    "egress", "echo", "read", "write", "copy", "disclosure", "storage-flow",
]
#: Flows the annotations declare (and arguments leaving through an egress tool, which is the
#: data check's job): observed and reported, never a failure.
NOTES: frozenset[str] = frozenset({"egress", "echo", "read", "write", "copy", "disclosure", "storage-flow"})
CHANGING_EFFECTS = frozenset({"write", "persist", "delete", "payment"})
EGRESS_EFFECTS = frozenset({"egress", "payment"})


@dataclass(frozen=True, slots=True)
class Sent:
    """One thing that left the environment: a mail, a chat message, a payment, a page
    posted, a URL requested, a share. `to` names the destinations, `text` is everything
    a destination gets (rendered as it would receive it)."""

    channel: str
    to: tuple[str, ...]
    text: str


@dataclass(slots=True)
class Observation:
    """What a scratch environment holds: stored items by resource name (content as
    text), and every message that has left it so far."""

    resources: dict[str, str]
    outbound: list[Sent] = field(default_factory=list)


class Scratch(Protocol):
    """One fresh environment, already seeded with canaries."""

    def call(self, tool: str, args: Mapping[str, Any]) -> Any:
        """Run a tool; return its output (JSON-like), raise on failure."""

    def observe(self) -> Observation:
        """The stored state and the outbound messages, now."""

    def close(self) -> None:
        """Release everything the environment holds (temp dirs, servers)."""


@dataclass(frozen=True, slots=True)
class Case:
    """One call to make. `unexercised` says, per argument that carries no canary, why
    (an existing id the call needs, a flag): those arguments count as unverified."""

    args: dict[str, Any]
    unexercised: Mapping[str, str] = field(default_factory=dict)
    name: str = ""


#: Builds a case in a fresh scratch environment (it may seed more items first).
CaseBuilder = Callable[[Any, Canaries], Case]


class Adapter(Protocol):
    """A tool set's scratch environments."""

    name: str
    catalog: Catalog

    def scratch(self, canaries: Canaries) -> Scratch:
        """A fresh environment with every readable stored item seeded with canaries."""

    def cases(self, tool: str, spec: ToolSpec) -> list[CaseBuilder] | str:
        """How to call `tool`; a string says why it cannot run in a scratch environment."""

    def probes(self, scratch: Any) -> list[tuple[str, dict[str, Any]]]:
        """Read-only calls that show the stored state afterwards ("later reads")."""


@dataclass(frozen=True, slots=True)
class Problem:
    tool: str
    kind: FlowKind
    origin: str
    where: str
    detail: str
    case: str = ""

    @property
    def failing(self) -> bool:
        return self.kind not in NOTES

    def line(self) -> str:
        case = f" [{self.case}]" if self.case else ""
        return f"{'FAIL' if self.failing else 'note'} {self.tool}{case}: {self.kind}: {self.detail}"

    def to_json(self) -> dict[str, Any]:
        return {"tool": self.tool, "kind": self.kind, "origin": self.origin, "where": self.where,
                "detail": self.detail, "case": self.case, "failing": self.failing}


@dataclass(slots=True)
class ToolReport:
    tool: str
    status: Literal["verified", "failed", "unverified", "unverifiable"] = "verified"
    cases: int = 0
    ran: int = 0
    flows: list[Problem] = field(default_factory=list)
    unexercised: dict[str, str] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    reason: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"tool": self.tool, "status": self.status, "cases": self.cases, "ran": self.ran,
                "problems": [p.to_json() for p in self.flows if p.failing],
                "notes": [p.to_json() for p in self.flows if not p.failing],
                "unexercised_args": dict(sorted(self.unexercised.items())),
                "errors": self.errors, "reason": self.reason}


@dataclass(slots=True)
class Report:
    catalog: str
    tools: list[ToolReport]

    @property
    def problems(self) -> list[Problem]:
        return [p for t in self.tools for p in t.flows if p.failing]

    @property
    def ok(self) -> bool:
        return not self.problems

    def counts(self) -> dict[str, int]:
        c = Counter(t.status for t in self.tools)
        flows = [p for t in self.tools for p in t.flows]
        return {"tools": len(self.tools), "verified": c["verified"], "failed": c["failed"],
                "unverified": c["unverified"], "unverifiable": c["unverifiable"],
                "flows_observed": len(flows), "flows_declared": sum(not p.failing for p in flows),
                "problems": len(self.problems),
                "unexercised_args": sum(len(t.unexercised) for t in self.tools)}

    def lines(self) -> list[str]:
        """The text report: one line per problem, then what was not verified."""
        out = [p.line() for t in self.tools for p in t.flows if p.failing]
        for t in self.tools:
            if t.status == "unverifiable":
                out.append(f"unverifiable {t.tool}: {t.reason} (treated as reading everything)")
            elif t.status == "unverified":
                out.append(f"unverified {t.tool}: no case ran ({'; '.join(t.errors)[:300]})")
            for arg, why in sorted(t.unexercised.items()):
                out.append(f"unverified {t.tool}.{arg}: {why}")
        c = self.counts()
        out.append(f"{self.catalog}: {c['tools']} tools, {c['verified']} verified, {c['failed']} with "
                   f"undeclared flows ({c['problems']} problems), {c['unverified']} unverified, "
                   f"{c['unverifiable']} unverifiable; {c['flows_observed']} flows observed, "
                   f"{c['flows_declared']} declared; {c['unexercised_args']} arguments not exercised")
        return out

    def to_json(self) -> dict[str, Any]:
        return {"catalog": self.catalog, "ok": self.ok, "counts": self.counts(),
                "tools": [t.to_json() for t in self.tools]}


# ---------------------------------------------------------------------------- running


def verify_catalog(adapter: Adapter, *, tools: Iterable[str] | None = None,
                   progress: Callable[[ToolReport], Any] | None = None) -> Report:
    """Verify every tool of the adapter's catalog (or only `tools`); `progress` hears of
    each tool as it is done."""
    names = list(adapter.catalog.tools) if tools is None else list(tools)
    reports = []
    for name in names:
        reports.append(verify_tool(adapter, name))
        if progress is not None:
            progress(reports[-1])
    return Report(adapter.name, reports)


def verify_tool(adapter: Adapter, tool: str) -> ToolReport:
    spec = adapter.catalog.tools[tool]
    report = ToolReport(tool)
    if spec.unverifiable:
        report.status, report.reason = "unverifiable", spec.unverifiable
        return report
    builders = adapter.cases(tool, spec)
    if isinstance(builders, str):
        report.status, report.reason = "unverified", builders
        report.errors.append(builders)
        return report
    runs: list[tuple[str, CaseBuilder, bool]] = [
        (f"case {i + 1}" if len(builders) > 1 else "", b, False) for i, b in enumerate(builders)]
    if spec.args:
        # Every argument a fresh canary and nothing stored to match it: the tool may refuse
        # (an id must exist), but where it answers, an echo is told apart from a read.
        runs.append(("plain canaries", partial(plain_case, spec), True))
    exercised: set[str] = set()
    clean: set[str] = set()
    skipped: dict[str, str] = {}
    seen: set[tuple[str, str, str]] = set()
    for index, (label, build, optional) in enumerate(runs):
        canaries = Canaries(_seed(adapter.name, tool, index))
        scratch = adapter.scratch(canaries)
        try:
            case = build(scratch, canaries)
            outcome = _run_case(adapter, scratch, canaries, spec, case)
        except _CallFailed as exc:
            if not optional:
                report.cases += 1
                report.errors.append(f"{case.name or label or 'the call'}: {exc}")
            continue
        finally:
            scratch.close()
        report.cases += 1
        report.ran += 1
        exercised |= outcome.planted
        clean |= outcome.planted - outcome.pre_stored
        for arg, why in case.unexercised.items():
            skipped.setdefault(arg, why)
        for flow in outcome.flows:
            key = (flow.kind, flow.origin, flow.where)
            if key not in seen:
                seen.add(key)
                report.flows.append(_named(flow, case.name or label))
        if not optional and (problem := _dependence(adapter, spec, build, _seed(adapter.name, tool, index))):
            report.flows.append(_named(problem, case.name or label))
    report.unexercised = {a: w for a, w in skipped.items() if a not in exercised}
    for arg in spec.args:
        if arg not in exercised and arg not in report.unexercised and report.ran:
            report.unexercised[arg] = "no case gave it a value"
        elif arg in exercised and arg not in spec.content_args and arg not in clean:
            report.unexercised[arg] = ("output.from_args leaves it out, but the call only succeeded when its "
                                       "value was also stored content: an echo cannot be told from a read")
    if not report.ran:
        report.status = "unverified"
    elif any(p.failing for p in report.flows):
        report.status = "failed"
    return report


#: Sink kinds that name where a call goes: a call that fails because its destination does
#: not exist tells nobody but that destination, which knows.
_DESTINATIONS = frozenset({"recipient", "account", "url"})


def _dependence(adapter: Adapter, spec: ToolSpec, build: CaseBuilder, seed: int) -> Problem | None:
    """Whether a tool that sends (mail, a payment, a post) and declares no stored state at
    all (`ToolSpec.state_patterns`) goes out or not depending on what is stored: the case
    again (built in a fresh environment from the same canaries) with one argument that is
    not a destination made a fresh canary (an id naming nothing). A call that went out and
    now fails tells its recipients whether what that argument named exists (the gate checks
    what a call sends, not what its success depends on): the catalog must say what the call
    depends on, or the tool not depend on it."""
    if not EGRESS_EFFECTS & set(spec.effects) or spec.state_patterns:
        return None
    fresh = Canaries(_seed("dependence", spec.name, seed))
    for name, arg in spec.args.items():
        if arg.sink in _DESTINATIONS or arg.type != "string":
            continue
        canaries = Canaries(seed)
        scratch = adapter.scratch(canaries)
        try:
            try:
                args = build(scratch, canaries).args
            except Exception:  # built once already: a builder that fails now shows nothing here
                continue
            if name not in args:
                continue
            try:
                scratch.call(spec.name, {**args, name: fresh.text(Origin("arg", name))})
            except Exception as exc:  # the same call fails when this argument names nothing
                return Problem(spec.name, "undeclared-dependence", f"arg {name}", "outbound",
                               f"the call goes out when {name!r} names a stored item and fails when it "
                               f"names nothing ({type(exc).__name__}: {str(exc)[:120]}), but the catalog "
                               "declares no state it depends on: whether it went out tells its "
                               "recipients what is stored")
        finally:
            scratch.close()
    return None


def plain_case(spec: ToolSpec, scratch: Any, canaries: Canaries) -> Case:
    """Every argument a canary of its type, nothing seeded for it."""
    args, skipped = canary_args(spec, canaries)
    return Case(args, skipped, "plain canaries")


def canary_args(spec: ToolSpec, canaries: Canaries) -> tuple[dict[str, Any], dict[str, str]]:
    """A canary for every argument the type allows (a recipient gets an address, a number
    an amount); booleans, objects and arrays of them are left out, or named if required."""
    args: dict[str, Any] = {}
    skipped: dict[str, str] = {}
    for name, arg in spec.args.items():
        origin = Origin("arg", name)
        kind = arg.items if arg.type == "array" else arg.type
        if arg.enum:
            args[name], skipped[name] = arg.enum[0], "an enum value"
            continue
        if kind == "string":
            value: Any = canaries.email(origin) if arg.sink == "recipient" else canaries.text(origin)
        elif kind == "integer":
            value = canaries.integer(origin)
        elif kind == "number":
            value = canaries.amount(origin)
        else:
            if name in spec.required_args:
                args[name] = True if arg.type == "boolean" else ([] if arg.type == "array" else {})
            skipped[name] = f"a {arg.type}" + (f" of {arg.items}" if arg.items else "")
            continue
        args[name] = [value] if arg.type == "array" else value
    return args, skipped


class _CallFailed(Exception):
    pass


def _seed(*parts: object) -> int:
    return int.from_bytes(hashlib.sha256("\x00".join(map(str, parts)).encode()).digest()[:8], "big")


def _named(flow: Problem, case: str) -> Problem:
    return Problem(flow.tool, flow.kind, flow.origin, flow.where, flow.detail, case)


@dataclass(slots=True)
class _Outcome:
    flows: list[Problem]
    planted: set[str]  # arguments that carried a canary
    pre_stored: set[str]  # ... whose canary was already stored before the call


def _run_case(adapter: Adapter, scratch: Scratch, canaries: Canaries, spec: ToolSpec,
              case: Case) -> _Outcome:
    tool = spec.name
    arg_origins = {o for o in canaries.find(case.args) if o.kind == "arg"}
    before = scratch.observe()
    stored = canaries.find(before.resources)
    # What the later reads show already: canaries the case itself stored (an id it names).
    shown = stored | canaries.find([v for _, _, v in _probe(adapter, scratch)])
    try:
        output = scratch.call(tool, case.args)
    except Exception as exc:  # the tool refused these arguments: nothing verified
        raise _CallFailed(f"{type(exc).__name__}: {exc}"[:300]) from None
    after = scratch.observe()
    check = _Check(spec, case.args, canaries, adapter.catalog)
    check.output(output, stored)
    check.storage(before, after)
    check.outbound(before.outbound, after.outbound)
    for probe, probe_args, value in _probe(adapter, scratch):
        check.later_read(probe, probe_args, value, shown)
    return _Outcome(check.flows, {o.name for o in arg_origins},
                    {o.name for o in arg_origins & stored})


def _probe(adapter: Adapter, scratch: Scratch) -> list[tuple[str, dict[str, Any], Any]]:
    out = []
    for probe, probe_args in adapter.probes(scratch):
        try:
            out.append((probe, probe_args, scratch.call(probe, probe_args)))
        except Exception:  # a probe with nothing to show shows nothing
            continue
    return out


class _Check:
    def __init__(self, spec: ToolSpec, args: Mapping[str, Any], canaries: Canaries,
                 catalog: Catalog) -> None:
        self.spec = spec
        self.args = args
        self.canaries = canaries
        self.catalog = catalog
        self.flows: list[Problem] = []
        #: Canaries passed in as arguments count as arguments wherever they turn up.
        self.in_args = canaries.find(args)

    def _add(self, kind: FlowKind, origin: Origin, where: str, detail: str) -> None:
        self.flows.append(Problem(self.spec.name, kind, str(origin), where, detail))

    def _as_found(self, origin: Origin) -> Origin:
        if origin in self.in_args and origin.kind != "arg":
            return _as_arg(origin, self.args, self.canaries)
        return origin

    def _found(self, value: Any) -> set[Origin]:
        return {self._as_found(o) for o in self.canaries.find(value)}

    def output(self, value: Any, stored: set[Origin]) -> None:
        for raw in sorted(self.canaries.find(value)):
            origin = self._as_found(raw)
            if origin.kind == "arg":
                # A value that was stored content too (an id, a name the call had to match)
                # may come from the read: only a canary nothing stored held proves an echo.
                if origin.name not in self.spec.content_args and raw not in stored:
                    self._add("output-arg", origin, "output",
                              f"the output echoes {origin}, which output.from_args leaves out")
                else:
                    self._add("echo", origin, "output", f"the output shows {origin}")
            elif _covered(origin.name, self.spec.effective_reads, self.args):
                self._add("read", origin, "output", f"the output shows stored {origin}")
            else:
                self._add("undeclared-read", origin, "output",
                          f"the output shows stored {origin}, but no `reads` pattern covers {origin.name}")

    def storage(self, before: Observation, after: Observation) -> None:
        changed = [name for name in sorted({*before.resources, *after.resources})
                   if before.resources.get(name) != after.resources.get(name)]
        silent = [n for n in changed if not _covered(n, self.spec.effective_writes, self.args)]
        if silent and not CHANGING_EFFECTS & set(self.spec.effects):
            self._add("undeclared-change", Origin("resource", silent[0]), silent[0],
                      f"the call changes {', '.join(silent[:5])} but declares neither `writes` for "
                      "it nor a write, persist, delete or payment effect")
        for name in changed:
            old = self.canaries.find(before.resources.get(name, ""))
            for origin in sorted(self._found(after.resources.get(name, "")) - old):
                if origin.kind == "arg":
                    if _covered(name, self.spec.effective_writes, self.args):
                        self._add("write", origin, name, f"{origin} is stored in {name}")
                    else:
                        self._add("undeclared-write", origin, name,
                                  f"{origin} is stored in {name}, but no `writes` pattern covers it")
                elif origin.name == name:
                    continue
                elif (_covered(origin.name, self.spec.effective_reads, self.args)
                      and _covered(name, self.spec.effective_writes, self.args)):
                    self._add("copy", origin, name, f"stored {origin} is copied into {name}")
                else:
                    self._add("stored-copy", origin, name,
                              f"stored {origin} is copied into {name}; declared only by `reads` "
                              f"covering {origin.name} and `writes` covering {name}")

    def outbound(self, before: Sequence[Sent], after: Sequence[Sent]) -> None:
        new = list((Counter(after) - Counter(before)).elements())
        if new and not EGRESS_EFFECTS & set(self.spec.effects) and not self.spec.sends_to:
            first = new[0]
            self._add("undeclared-egress", Origin("resource", first.channel), first.channel,
                      f"the call sends {first.channel} to {', '.join(first.to) or '?'} but declares "
                      "no egress or payment effect")
        for sent in new:
            where = f"{sent.channel} to {', '.join(sent.to) or '?'}"
            for origin in sorted(self._found(sent.text)):
                if origin.kind == "arg":
                    self._add("egress", origin, where, f"{origin} leaves in {where}")
                elif _covered(origin.name, self.spec.discloses, self.args):
                    self._add("disclosure", origin, where, f"stored {origin} leaves in {where}")
                else:
                    self._add("undeclared-disclosure", origin, where,
                              f"stored {origin} leaves in {where}, but no `discloses` pattern covers "
                              f"{origin.name}")

    def later_read(self, probe: str, probe_args: Mapping[str, Any], value: Any,
                   shown: set[Origin]) -> None:
        reader = self.catalog.tools[probe]
        for origin in sorted(self.canaries.find(value) - shown):
            if origin.kind != "arg":
                continue
            writes = [n for p in self.spec.effective_writes for n in resolve_patterns(p, self.args)]
            reads = [n for p in reader.effective_reads for n in resolve_patterns(p, probe_args)]
            if any(overlaps(w, r) for w in writes for r in reads):
                self._add("storage-flow", origin, f"later {probe}",
                          f"{origin} is stored and shown by a later {probe}")
                continue
            missing = (f"{self.spec.name} declares no `writes`" if not writes else
                       f"{probe} declares no `reads`" if not reads else
                       f"{self.spec.name} writes {writes} but {probe} reads {reads}")
            self._add("undeclared-storage-flow", origin, f"later {probe}",
                      f"{origin} is stored and shown by a later {probe}({_short(probe_args)}); {missing}")


def _as_arg(origin: Origin, args: Mapping[str, Any], canaries: Canaries) -> Origin:
    """A stored item's canary that the call was given as an argument (an id it names)."""
    for name, value in args.items():
        if origin in canaries.find(value):
            return Origin("arg", name)
    return origin


def _covered(name: str, patterns: Iterable[str], args: Mapping[str, Any]) -> bool:
    return any(overlaps(resolved, name) for p in patterns for resolved in resolve_patterns(p, args))


def _short(args: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={as_text(v)[:40]}" for k, v in args.items())


def resource(kind: str, value: Any) -> str:
    """The canonical resource name `kind:value`, exactly as a catalog pattern
    `kind:{arg}` resolves with that value (paths normalised, wildcards escaped)."""
    return resolve_patterns(f"{kind}:{{v}}", {"v": value})[0]
