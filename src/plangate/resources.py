"""Labels of stored resources, so a value keeps its label through storage.

A file written from untrusted text stays untrusted when a later step, or a later run,
reads, executes or loads it. Resource names look like `workspace:notes/todo.md`; tool
catalogs name them with patterns (`workspace:{path}`, `skills:*`).
"""

from __future__ import annotations

import bisect
import fnmatch
import itertools
import posixpath
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, ClassVar, Protocol

from mypy_extensions import mypyc_attr

from plangate.catalog import ToolSpec
from plangate.labels import TRUSTED, Label, join_all
from plangate.resource_lock import LocalLock

WILDCARD = "*"


class _Open:
    """A value not known before the plan runs (the review's stand-in for step outputs)."""

    _instance: ClassVar[_Open | None] = None

    def __new__(cls) -> _Open:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "OPEN"


OPEN_VALUE: Any = _Open()


MAX_NAMES = 100
"""More resource names than this from one pattern are treated as the wildcard."""


_PLACEHOLDER = re.compile(r"\{([^}]*)\}")
_AROUND = re.compile(r"\{[^}]*\}")
_PARSED: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {}
_PARSED_MAX = 4096


def _parsed(pattern: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """A pattern's placeholder names and the text around them. Patterns come from the
    catalog (few, fixed), so each is parsed once; the bound only guards odd callers."""
    found = _PARSED.get(pattern)
    if found is None:
        found = tuple(_PLACEHOLDER.findall(pattern)), tuple(_AROUND.split(pattern))
        if len(_PARSED) < _PARSED_MAX:
            _PARSED[pattern] = found
    return found


def resolve_patterns(pattern: str, args: Mapping[str, Any]) -> list[str]:
    """The resource names a pattern stands for with these arguments. An argument whose
    value is not known yet is `*`; an array argument names one resource per item; every
    value is canonicalised (`./a//b` and `a/b` are one file) and cannot smuggle wildcards."""
    parsed = _PARSED.get(pattern)
    names, pieces = parsed if parsed is not None else _parsed(pattern)
    if not names:
        return [pattern]
    if len(names) == 1:  # the common case, spelled out (the same names as the general path)
        head, tail = pieces
        value = args.get(names[0], OPEN_VALUE)
        if value is OPEN_VALUE:
            return [_settled(head + WILDCARD + tail)]
        if isinstance(value, (list, tuple)):  # a tuple: `list | tuple` is built on every call
            items = [_canonical(v) for v in value] or [""]
            if len(items) > MAX_NAMES:
                return [_collapsed(head + WILDCARD + tail, items)]
            return [_settled(head + item + tail) for item in items]
        return [_settled(head + _canonical(value) + tail)]
    options: list[list[str]] = []
    total = 1
    for name in names:
        value = args.get(name, OPEN_VALUE)
        if value is OPEN_VALUE:
            options.append([WILDCARD])
        elif isinstance(value, list | tuple):
            options.append([_canonical(v) for v in value] or [""])
        else:
            options.append([_canonical(value)])
        total *= len(options[-1])
    if total > MAX_NAMES:
        every = [v for values in options for v in values]
        options = [[WILDCARD] for _ in names]
    out = []
    for combo in itertools.product(*options):
        name = pieces[0]
        for value, after in zip(combo, pieces[1:], strict=True):
            name += value + after
        out.append(_settled(name) if total <= MAX_NAMES else _collapsed(name, every))
    return out


def _settled(name: str) -> str:
    """A filled name with its path segments resolved as a tool that joins them would: each
    value is canonical on its own, but `..` in one may climb out of the text before it
    (`workspace:shared/{name}` with `../private/x` is `workspace:private/x`). A name that
    climbs above its scheme's root names anything there: the scheme's wildcard."""
    scheme, colon, rest = name.partition(":")
    if not colon:
        scheme, rest = "", name
    if "/." not in rest and "//" not in rest and not rest.startswith(".") and not rest.endswith("/"):
        return name
    # (POSIX keeps two leading slashes apart: here they are one root, as in every tool.)
    settled = posixpath.normpath("/" + rest.lstrip("/") if rest.startswith("//") else rest)
    if settled == ".." or settled.startswith("../"):
        settled = WILDCARD
    return scheme + colon + settled


def _collapsed(name: str, values: list[str]) -> str:
    """The pattern that stands for too many names (`name`: every value a wildcard), or the
    scheme's wildcard when one of them may climb out of the text before it."""
    if any(".." in v for v in values):
        scheme, colon, _rest = name.partition(":")
        return scheme + colon + WILDCARD if colon else WILDCARD
    return name


def _canonical(value: Any) -> str:
    text = str(value)
    if "\\" in text:
        # Tools that take paths treat a backslash as a separator too: both spellings
        # must be one name, or a label written under one is washed off under the other.
        text = text.replace("\\", "/")
    if "/" in text or text.startswith("."):
        # Lexical path normalisation: one file, one name (the tools confine paths further).
        text = posixpath.normpath(text)
    return _escape(text)


def _escape(text: str) -> str:
    # A value must not smuggle wildcards into a pattern it fills.
    # The highest code point is escaped too: it is the upper bound of the indexed prefix
    # scans (`prefix_bound`), so no concrete name may contain it; escaped, it is a
    # pattern-like name, which lookups always compare.
    return (text.replace("[", "[[]").replace("*", "[*]").replace("?", "[?]")
            .replace("\U0010ffff", "[\U0010ffff]"))


def overlaps(a: str, b: str) -> bool:
    """Whether two resource patterns could name the same resource. (A side without `*`,
    `?` or `[` matches only itself: it is not compiled into a regex, which for each new
    concrete name cost more than the rest of the lookup.)"""
    if a == b:
        return True
    if _GLOB.search(b) is not None and fnmatch.fnmatchcase(a, b):
        return True
    return _GLOB.search(a) is not None and fnmatch.fnmatchcase(b, a)


_GLOB = re.compile(r"[*?\[]")


def has_wildcard(name: str) -> bool:
    """Whether a stored name or a query is a pattern (`*`, `?` or `[`: escaped values count,
    so `[*]` is looked up the slow, always-correct way)."""
    return _GLOB.search(name) is not None


def literal_prefix(pattern: str) -> str:
    """The text before a pattern's first wildcard: every concrete name it matches starts so."""
    found = _GLOB.search(pattern)
    return pattern if found is None else pattern[:found.start()]


_TOP = "\U0010ffff"


def prefix_bound(prefix: str) -> str:
    """An upper bound for a range scan: every string starting with `prefix` sorts below it
    (by code point, as SQLite, PostgreSQL with C collation and Python compare them)."""
    return prefix + _TOP


class ResourceLabels(Protocol):
    """Where the labels of stored resources live between steps and between runs."""

    def label_of(self, pattern: str) -> Label | None:
        """Join of the labels of every stored resource the pattern may name, or None."""

    def record(self, name: str, label: Label) -> None:
        """Remember the label of content just written to `name` (replacing the old one)."""


OWNER_ONLY = Label(readers=frozenset({"owner"}))  # `owner`: the deployment's owner (labels.py)


class KnowsState(Protocol):
    """A store that can say who may know the state of what a name stands for (whether it
    exists, what is there), because it holds that state itself: the support desk's rows.
    A store that only records what runs wrote cannot (a label is recorded before its write
    runs, and stays when the write fails; content changes outside the gate): for its names
    `call_state` takes what the deployment publishes (`Deployment.state_readers`), else
    the owner's readers."""

    def state_of(self, name: str, otherwise: Label) -> Label:
        """The readers of the state of the resource `name` (or a pattern) stands for;
        `otherwise` where this store does not hold that state."""


def state_of(resources: ResourceLabels, name: str, otherwise: Label) -> Label:
    """`resources.state_of(name, otherwise)` where the store can tell, else `otherwise`."""
    known = getattr(resources, "state_of", None)
    return known(name, otherwise).readers_only() if known is not None else otherwise


@mypyc_attr(allow_interpreted_subclasses=True)  # stores and tests extend it (plangate.native)
class MemoryResourceLabels:
    """In-process `ResourceLabels`. With `base`, an overlay: the static review records a
    plan's own writes here on top of the persisted labels, and joins rather than replaces
    (a pattern with an open argument may stand for several resources)."""

    def __init__(self, initial: dict[str, Label] | None = None, *,
                 base: ResourceLabels | None = None, join_writes: bool = True) -> None:
        self._labels: dict[str, Label] = {}
        # Indexes: concrete names sorted (a pattern reads only those sharing its literal
        # prefix), and the few stored names that are patterns themselves (always compared).
        self._sorted: list[str] = []
        self._wild: set[str] = set()
        self._wild_prefix: dict[str, str] = {}  # the literal prefix of each
        self._base = base
        self._join_writes = join_writes
        self.lock = LocalLock()  # see plangate.resource_lock
        for name, label in (initial or {}).items():
            self._put(name, label)

    def _put(self, name: str, label: Label) -> None:
        if name not in self._labels:
            if has_wildcard(name):
                self._wild.add(name)
                self._wild_prefix[name] = literal_prefix(name)
            else:
                bisect.insort(self._sorted, name)
        self._labels[name] = label

    def label_of(self, pattern: str) -> Label | None:
        hits = self._own(pattern)
        if self._base is not None:
            below = self._base.label_of(pattern)
            if below is not None:
                hits.append(below)
        if not hits:
            return None
        return hits[0] if len(hits) == 1 else join_all(hits)

    def _own(self, pattern: str) -> list[Label]:
        """The labels recorded here (not in the base) of every name the pattern may name."""
        labels = self._labels
        found = _GLOB.search(pattern)
        hits: list[Label] = []
        if found is None:  # a concrete name: itself (stored names that are patterns below)
            here = pattern
            if pattern in labels:
                hits.append(labels[pattern])
        else:
            # Concrete names sharing the pattern's literal prefix, in sorted order (stored
            # patterns below). Under `prefix*` every one of them matches.
            here = pattern[:found.start()]
            names = self._sorted
            lo = bisect.bisect_left(names, here)
            hi = bisect.bisect_left(names, here + _TOP, lo)
            if lo == hi:
                pass
            elif len(pattern) == len(here) + 1 and pattern[-1] == WILDCARD:
                hits = [labels[name] for name in names[lo:hi]]
            else:
                hits = [labels[name] for name in names[lo:hi] if fnmatch.fnmatchcase(name, pattern)]
        if self._wild:
            # A name and a pattern that overlap both start with each one's literal prefix, so
            # one prefix starts the other; the others are not compared. (In the set's order,
            # as ever: the order of a join can matter for the spelling of public readers.)
            prefixes = self._wild_prefix
            for name in self._wild:
                there = prefixes[name]
                if (here.startswith(there) or there.startswith(here)) and overlaps(name, pattern):
                    hits.append(labels[name])
        return hits

    def record(self, name: str, label: Label) -> None:
        old = self._labels.get(name)
        self._put(name, old.join(label) if self._join_writes and old is not None else label)

    def state_of(self, name: str, otherwise: Label) -> Label:
        """As an overlay: the base's answer, joined with the readers of what this overlay
        recorded there (a plan's earlier write changed the state, or failed to). As a store
        of what runs wrote: `otherwise` (it holds no state; narrowing by what earlier runs
        stored would make the answer depend on them)."""
        if self._base is None:
            return otherwise
        below = state_of(self._base, name, otherwise)
        return join_all([below, *(label.readers_only() for label in self._own(name))])

    def items(self) -> list[tuple[str, Label]]:
        return sorted(self._labels.items())


def _lookups(resources: ResourceLabels, patterns: Iterable[str], values: Mapping[str, Any]
             ) -> list[tuple[str, Label | None]]:
    """Each resource name the patterns stand for, with its stored label (None: none)."""
    return [(name, resources.label_of(name))
            for pattern in patterns for name in resolve_patterns(pattern, values)]


def _stored(resources: ResourceLabels, patterns: Iterable[str], values: Mapping[str, Any]
            ) -> list[Label]:
    return [label for pattern in patterns for name in resolve_patterns(pattern, values)
            if (label := resources.label_of(name)) is not None]


def stored_reads(spec: ToolSpec, values: Mapping[str, Any], resources: ResourceLabels) -> list[Label]:
    """Labels stored in what a call reads: computed once per call, shared by its output
    label and its written label (each lookup may scan every name under a prefix)."""
    reads = spec.effective_reads
    return _stored(resources, reads, values) if reads else []


def call_output_label(spec: ToolSpec, args: Mapping[str, Label], values: Mapping[str, Any],
                      resources: ResourceLabels, *, control: Label,
                      reported: Label | None = None, stored: list[Label] | None = None,
                      state: Label | None = None) -> Label:
    """Label of a call's output: the same rule at review (values may be OPEN) and at run
    time (see tests/core/test_output_labels.py).

    Sound by default: the catalog's output label, joined with the labels of every argument
    whose content may reappear (`ToolSpec.content_args`: all of them unless a verified
    `output.from_args` narrows it), with what is stored in every resource it reads, and
    with the readers of every other argument and of the control label (whether the call
    succeeded, and so whether there is an output, may depend on any of them), and `low`
    taint if an attacker could have chosen such an argument (it selected the output).

    `reported`: a label the tool computed from its data (the exact readers of a file or an
    event). It may replace the catalog's *default* readers, never those that come from
    inputs or storage, and it counts only when nothing the tool read was stored from
    influenced data: readers computed from fields an attacker set (an event's participants)
    are the attacker's choice. Taint never goes down. `stored`: `stored_reads(...)`, when
    the caller has it already.

    A tool that writes, runs, loads or sends stored content succeeds or fails with the state
    of it (a path through an existing file, a name already taken, a file that is not there):
    its output, and so whether the steps that use it run, carries the readers of that state
    as it was before the call (`state`: `call_state(...)`, taken before the call's writes
    are recorded)."""
    if stored is None:
        stored = stored_reads(spec, values, resources)
    base = spec.output_label
    # Reported readers count only when nothing read was written from outside: neither a
    # stored label nor the catalog says so (`untrusted: true`: "strangers' invitations
    # land here" holds for content that reached storage outside the gate, unlabelled).
    if reported is not None and not base.untrusted and not any(label.untrusted for label in stored):
        base = Label(readers=reported.readers, sources=base.sources | reported.sources,
                     taint=base.join(reported).taint)
    if spec.output.readers == "stored":
        base = base.join(_unlabelled_reads(spec, values, resources))
    content_args = spec.content_args
    parts = [base]  # then the content, what is stored, the selecting arguments, the control
    selecting: list[Label] = []
    for name, label in args.items():
        if name in content_args:
            parts.append(label)
        else:
            selecting.append(_selection(label))
    parts += stored
    parts += selecting
    parts.append(control)
    if spec.state_patterns:
        parts.append(state if state is not None else call_state(spec, values, resources))
    return join_all(parts)


def call_state(spec: ToolSpec, values: Mapping[str, Any], resources: ResourceLabels,
               published: Callable[[str], Label | None] | None = None) -> Label:
    """The readers of the state a call's success may depend on (a path through an existing
    file, a name already taken, a file or a message that is not there: `ToolSpec.state_patterns`),
    name by name: what the store that holds that state says (`KnowsState`), else what the
    deployment publishes (`published`: `Deployment.state_label`), else the owner's. Never
    the stored labels: they say who may read what a run wrote there, and a failed write's
    label stays (it is recorded before the write runs). Taken before the call's writes are
    recorded."""
    patterns = spec.state_patterns
    if not patterns:
        return TRUSTED
    found = []
    for pattern in patterns:
        for name in resolve_patterns(pattern, values):
            otherwise = published(name) if published is not None else None
            found.append(state_of(resources, name, OWNER_ONLY if otherwise is None else otherwise))
    return join_all(found) if found else OWNER_ONLY


#: What nobody vouched for: readable by the owner alone, and untrusted (a halt, or a call's
#: label, that a record holds without one).
UNVOUCHED = Label(readers=OWNER_ONLY.readers, taint="high")


def _unlabelled_reads(spec: ToolSpec, values: Mapping[str, Any], resources: ResourceLabels) -> Label:
    """For output `readers: stored`: owner-only when anything the call reads has no stored
    label, or is a pattern (which may also name unlabelled items); else nothing to add."""
    found = _lookups(resources, spec.effective_reads, values)
    if not found or any(label is None or has_wildcard(name) for name, label in found):
        return OWNER_ONLY
    return TRUSTED


def _selection(label: Label) -> Label:
    """What an argument that does not reappear in the output still gives it: its readers
    (the output exists, and is what it is, because of it) and, if an attacker could shape
    it, `low` taint: choosing which stored item comes back is a choice among a few, like an
    enum, not content an attacker wrote."""
    out = label.readers_only()
    if label.untrusted:
        out = Label(readers=out.readers, taint="low")
    return out


def written_label(spec: ToolSpec, args: Mapping[str, Label], values: Mapping[str, Any],
                  resources: ResourceLabels, control: Label, *,
                  stored: list[Label] | None = None) -> Label:
    """Label recorded for what a call writes (before it runs): every argument, the pc,
    everything stored in what it reads (a tool that reads one stored thing and writes
    another may copy it: a cancellation notice quoting the event), and the readers of the
    state its output stands for (whether the resource changed at all may depend on it)."""
    if stored is None:
        stored = stored_reads(spec, values, resources)
    state = spec.output_label.readers_only()
    if spec.output.readers == "stored":  # the state's readers are those stored, or the owner's
        state = state.join(_unlabelled_reads(spec, values, resources).readers_only())
    return join_all([*args.values(), control, *stored, state])


def disclosed_label(spec: ToolSpec, values: Mapping[str, Any],
                    resources: ResourceLabels) -> Label | None:
    """Label of stored content the call sends out (None when it sends none)."""
    patterns = spec.discloses
    if spec.unverifiable and "egress" in spec.effects:
        patterns = [*patterns, WILDCARD]  # nobody checked what it sends: anything stored
    if not patterns:
        return None
    # The catalog's default for disclosed content always counts: a stored label is what
    # writes through the gate added, never proof that they wrote all of it (a label or a
    # rename changes a message whose text came from outside; a hold stored under
    # `calendar:*` says nothing of the other events; a file the owner wrote is still the
    # owner's file). What is stored can only narrow it further.
    labels = []
    for pattern in patterns:
        for name in resolve_patterns(pattern, values):
            label = resources.label_of(name)
            if label is not None:
                labels.append(label)
    labels.append(spec.disclosed_label)
    return join_all(labels)


def executes_tainted(spec: ToolSpec, values: Mapping[str, Any], resources: ResourceLabels) -> bool:
    """Whether the call runs or loads stored content written from tainted data."""
    if not spec.executes and not spec.loads:
        return False
    stored = _stored(resources, [*spec.executes, *spec.loads], values)  # every lookup, then any
    return any(label.taint != "none" for label in stored)


def record_writes(spec: ToolSpec, values: Mapping[str, Any], written: Label,
                  resources: ResourceLabels) -> None:
    for pattern in spec.effective_writes:
        for name in resolve_patterns(pattern, values):
            resources.record(name, written)
