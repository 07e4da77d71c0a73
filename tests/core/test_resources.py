"""Stored-resource labels: patterns, overlaps, and the review's overlay on the persisted store."""

from __future__ import annotations

import bisect
import itertools
import posixpath
import re
from collections.abc import Mapping
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plangate.catalog import ArgSpec, OutputSpec, ToolSpec
from plangate.labels import TRUSTED, Label
from plangate.resources import (
    MAX_NAMES,
    OPEN_VALUE,
    WILDCARD,
    MemoryResourceLabels,
    call_output_label,
    call_state,
    disclosed_label,
    executes_tainted,
    has_wildcard,
    literal_prefix,
    overlaps,
    prefix_bound,
    record_writes,
    resolve_patterns,
    stored_reads,
    written_label,
)

from .test_labels import label_pools, ref_join, ref_join_all, same

TAINTED = Label(sources=frozenset({"payload"}), taint="high")
CLEAN = Label(sources=frozenset({"instruction"}))


def test_patterns_fill_known_arguments_and_open_ones_become_wildcards() -> None:
    """`{arg}` takes the value; an unknown value is `*`; a value cannot smuggle in wildcards."""
    assert resolve_patterns("workspace:{path}", {"path": "a/b.py"}) == ["workspace:a/b.py"]
    assert resolve_patterns("workspace:{path}", {}) == ["workspace:*"]
    [smuggled] = resolve_patterns("workspace:{path}", {"path": "*"})
    assert smuggled != "workspace:*" and not overlaps(smuggled, "workspace:secret.py")


def test_overlap_is_symmetric_between_names_and_patterns() -> None:
    """A write to one file and an execution of the whole workspace may touch the same thing."""
    assert overlaps("workspace:a.py", "workspace:*") and overlaps("workspace:*", "workspace:a.py")
    assert not overlaps("workspace:a.py", "memory:*")


def test_the_overlay_joins_writes_and_sees_the_persisted_labels_below() -> None:
    """During review a plan's writes join (an open path may be several files) on top of what
    earlier runs stored; nothing is written to the store underneath."""
    persisted = MemoryResourceLabels({"memory:tips": TAINTED})
    overlay = MemoryResourceLabels(base=persisted, join_writes=True)
    assert overlay.label_of("memory:*") == TAINTED
    overlay.record("workspace:*", TAINTED)
    overlay.record("workspace:*", CLEAN)
    assert overlay.label_of("workspace:a.py").untrusted  # the clean write did not wash it
    assert persisted.label_of("workspace:*") is None


def test_a_later_clean_write_never_washes_taint() -> None:
    """The store cannot tell an overwrite from an append (a note saved after an injected
    one): writes join, so stored taint only goes away when the owner clears it."""
    store = MemoryResourceLabels()
    store.record("memory:notes", TAINTED)
    store.record("memory:notes", CLEAN)
    stored = store.label_of("memory:notes")
    assert stored is not None and stored.untrusted


def test_one_file_has_one_name_and_arrays_name_each_item() -> None:
    """`./notes.txt`, `a//b` and `a/./b` are canonicalised, so a write under one spelling
    taints a read under another; an array argument names one resource per item."""
    assert resolve_patterns("workspace:{path}", {"path": "./notes.txt"}) == ["workspace:notes.txt"]
    assert resolve_patterns("workspace:{path}", {"path": "a//./b"}) == ["workspace:a/b"]
    assert resolve_patterns("mail:{id}", {"id": ["m1", "m2"]}) == ["mail:m1", "mail:m2"]
    assert resolve_patterns("mail:{id}", {"id": [f"m{i}" for i in range(500)]}) == ["mail:*"]
    store = MemoryResourceLabels()
    for name in resolve_patterns("workspace:{path}", {"path": "./notes.txt"}):
        store.record(name, TAINTED)
    assert store.label_of(resolve_patterns("workspace:{path}", {"path": "notes.txt"})[0]) == TAINTED


# --- The fast resource paths equal the algorithms they replaced ----------------------------------
# References, verbatim as of commit 4fe0800 (tests/core/test_walker_speed.py says why).


def ref_readers_only(label: Label) -> Label:
    return TRUSTED if label.is_public else Label(readers=label.readers)


def ref_resolve_patterns(pattern: str, args: Mapping[str, Any]) -> list[str]:
    names = re.findall(r"\{([^}]*)\}", pattern)
    options: list[list[str]] = []
    total = 1
    for name in names:
        value = args.get(name, OPEN_VALUE)
        if value is OPEN_VALUE:
            options.append([WILDCARD])
        elif isinstance(value, list | tuple):
            options.append([_ref_canonical(v) for v in value] or [""])
        else:
            options.append([_ref_canonical(value)])
        total *= len(options[-1])
    climbs = any(".." in v for values in options for v in values)
    if total > MAX_NAMES:
        options = [[WILDCARD] for _ in names]
    pieces = re.split(r"\{[^}]*\}", pattern)
    out = []
    for combo in itertools.product(*options):
        name = pieces[0]
        for value, after in zip(combo, pieces[1:], strict=True):
            name += value + after
        if total > MAX_NAMES and climbs:
            name = name.split(":")[0] + ":*" if ":" in name else "*"
        out.append(_ref_settle(name) if names and total <= MAX_NAMES else name)
    return out


def _ref_settle(name: str) -> str:
    """Path segments resolved across the whole name (a value's `..` may climb out of the
    pattern's text before it); above the scheme's root: the scheme's wildcard."""
    scheme, colon, rest = name.partition(":")
    if not colon:
        scheme, rest = "", name
    if not ("/." in rest or "//" in rest or rest.startswith(".") or rest.endswith("/")):
        return name
    absolute = rest.startswith("/")
    stack: list[str] = []
    for part in rest.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if stack and stack[-1] != "..":
                stack.pop()
            elif not absolute:
                stack.append("..")
            continue
        stack.append(part)
    out = ("/" if absolute else "") + "/".join(stack) or "."
    if out == ".." or out.startswith("../"):
        out = "*"
    return scheme + colon + out


def _ref_canonical(value: Any) -> str:
    text = str(value)
    if "\\" in text:
        text = text.replace("\\", "/")
    if "/" in text or text.startswith("."):
        text = posixpath.normpath(text)
    return (text.replace("[", "[[]").replace("*", "[*]").replace("?", "[?]")
            .replace("\U0010ffff", "[\U0010ffff]"))


class RefMemoryResourceLabels:
    def __init__(self, *, base: Any = None, join_writes: bool = True) -> None:
        self._labels: dict[str, Label] = {}
        self._sorted: list[str] = []
        self._wild: set[str] = set()
        self._base = base
        self._join_writes = join_writes

    def _put(self, name: str, label: Label) -> None:
        if name not in self._labels:
            if has_wildcard(name):
                self._wild.add(name)
            else:
                bisect.insort(self._sorted, name)
        self._labels[name] = label

    def _candidates(self, pattern: str) -> list[str]:
        if has_wildcard(pattern):
            prefix = literal_prefix(pattern)
            lo = bisect.bisect_left(self._sorted, prefix)
            hi = bisect.bisect_left(self._sorted, prefix_bound(prefix), lo)
            names = self._sorted[lo:hi]
        else:
            names = [pattern] if pattern in self._labels and pattern not in self._wild else []
        return [*names, *self._wild]

    def label_of(self, pattern: str) -> Label | None:
        hits = [self._labels[name] for name in self._candidates(pattern) if overlaps(name, pattern)]
        below = self._base.label_of(pattern) if self._base is not None else None
        if below is not None:
            hits.append(below)
        return ref_join_all(hits) if hits else None

    def record(self, name: str, label: Label) -> None:
        old = self._labels.get(name)
        self._put(name, ref_join(old, label) if self._join_writes and old is not None else label)

    def state_of(self, name: str, otherwise: Label) -> Label:
        if self._base is None:
            return otherwise
        below = _ref_state_of(self._base, name, otherwise)
        mine = [ref_readers_only(self._labels[n]) for n in self._candidates(name) if overlaps(n, name)]
        return ref_join_all([below, *mine])


def _ref_state_of(resources: Any, name: str, otherwise: Label) -> Label:
    known = getattr(resources, "state_of", None)
    return ref_readers_only(known(name, otherwise)) if known is not None else otherwise


def _ref_lookups(resources: Any, patterns: list[str], values: Mapping[str, Any]) -> list[tuple[str, Label | None]]:
    return [(name, resources.label_of(name))
            for pattern in patterns for name in ref_resolve_patterns(pattern, values)]


def _ref_stored(resources: Any, patterns: list[str], values: Mapping[str, Any]) -> list[Label]:
    return [label for _name, label in _ref_lookups(resources, patterns, values) if label is not None]


def ref_stored_reads(spec: ToolSpec, values: Mapping[str, Any], resources: Any) -> list[Label]:
    return _ref_stored(resources, list(spec.effective_reads), values)


def ref_call_output_label(spec: ToolSpec, args: Mapping[str, Label], values: Mapping[str, Any],
                          resources: Any, *, control: Label, reported: Label | None = None,
                          stored: list[Label] | None = None, state: Label | None = None) -> Label:
    if stored is None:
        stored = ref_stored_reads(spec, values, resources)
    base = spec.output_label
    if reported is not None and not base.untrusted and not any(label.untrusted for label in stored):
        base = Label(readers=reported.readers, sources=base.sources | reported.sources,
                     taint=ref_join(base, reported).taint)
    if spec.output.readers == "stored":
        base = ref_join(base, _ref_unlabelled_reads(spec, values, resources))
    content = [label for name, label in args.items() if name in spec.content_args]
    selecting = [_ref_selection(label) for name, label in args.items()
                 if name not in spec.content_args]
    writes = []
    if _ref_state_patterns(spec):
        writes = [state if state is not None else ref_call_state(spec, values, resources)]
    return ref_join_all([base, *content, *stored, *selecting, control, *writes])


OWNER_ONLY = Label(readers=frozenset({"owner"}))


def _ref_state_patterns(spec: ToolSpec) -> list[str]:
    """What a call's success may depend on: all it writes, runs, loads or sends."""
    if spec.unverifiable:
        return ["*"]
    reads = spec.reads if spec.output.readers == "stored" else []
    return list(dict.fromkeys([*spec.writes, *spec.executes, *spec.loads, *spec.discloses, *reads]))


def ref_call_state(spec: ToolSpec, values: Mapping[str, Any], resources: Any,
                    published: Any = None) -> Label:
    patterns = _ref_state_patterns(spec)
    if not patterns:
        return TRUSTED
    found = []
    for name in (n for pattern in patterns for n in ref_resolve_patterns(pattern, values)):
        otherwise = (published(name) if published is not None else None) or OWNER_ONLY
        found.append(_ref_state_of(resources, name, otherwise))
    return ref_join_all(found) if found else OWNER_ONLY


def _ref_unlabelled_reads(spec: ToolSpec, values: Mapping[str, Any], resources: Any) -> Label:
    found = _ref_lookups(resources, list(spec.effective_reads), values)
    if not found or any(label is None or has_wildcard(name) for name, label in found):
        return OWNER_ONLY
    return TRUSTED


def _ref_selection(label: Label) -> Label:
    out = ref_readers_only(label)
    if label.untrusted:
        out = Label(readers=out.readers, taint="low")
    return out


def ref_written_label(spec: ToolSpec, args: Mapping[str, Label], values: Mapping[str, Any],
                      resources: Any, control: Label, *, stored: list[Label] | None = None) -> Label:
    if stored is None:
        stored = ref_stored_reads(spec, values, resources)
    state = ref_readers_only(spec.output_label)
    if spec.output.readers == "stored":
        state = ref_join(state, ref_readers_only(_ref_unlabelled_reads(spec, values, resources)))
    return ref_join_all([*args.values(), control, *stored, state])


def ref_disclosed_label(spec: ToolSpec, values: Mapping[str, Any], resources: Any) -> Label | None:
    patterns = list(spec.discloses)
    if spec.unverifiable and "egress" in spec.effects:
        patterns.append(WILDCARD)
    if not patterns:
        return None
    found = _ref_lookups(resources, patterns, values)
    labels = [label for _name, label in found if label is not None]
    labels.append(spec.disclosed_label)  # always: a stored label never vouches for all of it
    return ref_join_all(labels)


def ref_executes_tainted(spec: ToolSpec, values: Mapping[str, Any], resources: Any) -> bool:
    return any(label.untrusted for label in _ref_stored(resources, [*spec.executes, *spec.loads], values))


def ref_record_writes(spec: ToolSpec, values: Mapping[str, Any], written: Label, resources: Any) -> None:
    # What runs may write what it runs over; a tool nobody verified may write anything.
    patterns = ["*"] if spec.unverifiable else [*spec.writes, *spec.executes]
    for pattern in dict.fromkeys(patterns):
        for name in ref_resolve_patterns(pattern, values):
            resources.record(name, written)


NAME_TEXT = st.text(alphabet="ab/.*?[]\\{}:\U0010ffff", max_size=6)
values = st.one_of(
    st.just(OPEN_VALUE), NAME_TEXT, st.integers(-3, 3), st.booleans(), st.none(),
    st.lists(NAME_TEXT, max_size=4), st.tuples(NAME_TEXT, st.integers(0, 3)),
    st.integers(0, 120).map(lambda n: [f"m{i}" for i in range(n)]),
)
ARG_NAMES = ["path", "id", "to"]
patterns = st.lists(
    st.one_of(st.sampled_from(["mail:", "workspace:", "ws:", "/", "*", "a?", "[x]", "", "}", "{"]),
              st.sampled_from(ARG_NAMES).map(lambda n: "{" + n + "}")),
    max_size=4).map("".join)
arg_values = st.dictionaries(st.sampled_from(ARG_NAMES), values, max_size=3)


def outcome(fn: Any, *args: Any, **kwargs: Any) -> tuple[str, Any]:
    """What a call gives: its value, or the type of the exception it raises."""
    try:
        return "value", fn(*args, **kwargs)
    except Exception as exc:  # the same exception type is part of equality
        return "raises", type(exc).__name__



@given(patterns, arg_values)
def test_resolve_patterns_equals_the_reference(pattern: str, args: dict[str, Any]) -> None:
    """Parsed once per pattern, with a one-placeholder fast path: the same names."""
    assert outcome(resolve_patterns, pattern, args) == outcome(ref_resolve_patterns, pattern, args)
    assert outcome(resolve_patterns, pattern, args) == outcome(ref_resolve_patterns, pattern, args)


class Logged:
    """A store underneath that writes down every lookup that reaches it, and its answer."""

    def __init__(self, store: Any, log: list[tuple[str, str, Any]]) -> None:
        self.store, self.log = store, log

    def label_of(self, pattern: str) -> Label | None:
        found = self.store.label_of(pattern)
        self.log.append(("label_of", pattern, None if found is None else (found.readers, found.sources, found.taint)))
        return found

    def record(self, name: str, label: Label) -> None:
        self.log.append(("record", name, (label.readers, label.sources, label.taint)))
        self.store.record(name, label)

    def state_of(self, name: str, otherwise: Label) -> Label:
        found = self.store.state_of(name, otherwise)
        self.log.append(("state_of", name, found.readers))
        return found


class KnownStates(MemoryResourceLabels):
    """A store that holds the state its names stand for (as the support desk's rows do):
    `states` says who may know it, name by name; any other name is the owner's."""

    def __init__(self, states: dict[str, Label], initial: dict[str, Label] | None = None) -> None:
        super().__init__(initial)
        self.states = states

    def state_of(self, name: str, otherwise: Label) -> Label:
        return self.states.get(name, otherwise)


class RefKnownStates(RefMemoryResourceLabels):
    def __init__(self, states: dict[str, Label]) -> None:
        super().__init__()
        self.states = states

    def state_of(self, name: str, otherwise: Label) -> Label:
        return self.states.get(name, otherwise)


NAMES = st.one_of(
    st.builds(lambda p, v: p + v, st.sampled_from(["mail:", "workspace:", "ws:", "mail:a"]), NAME_TEXT),
    # Few letters, so that names and patterns often meet (`m:a*b*` over `m:ab`, `m:axb`).
    st.builds(lambda p, v: p + v, st.sampled_from(["m:", "m:a", ""]), st.text(alphabet="ab*?[]", max_size=4)),
    NAME_TEXT)
store_ops = st.lists(st.tuples(st.booleans(), NAMES, st.integers(0, 6)), max_size=25)


def _pair(seed: list[tuple[str, Label]]) -> tuple[Any, Any, list[Any], list[Any]]:
    new_log: list[Any] = []
    ref_log: list[Any] = []
    # The base knows the state of the seeded names (as rows would): the first seeded label's
    # readers; an overlay's own writes join theirs.
    states = {name: label.readers_only() for name, label in reversed(seed)}
    new_base, ref_base = KnownStates(states), RefKnownStates(states)
    for name, label in seed:
        new_base.record(name, label)
        ref_base.record(name, label)
    new = MemoryResourceLabels(base=Logged(new_base, new_log), join_writes=True)
    ref = RefMemoryResourceLabels(base=Logged(ref_base, ref_log), join_writes=True)
    return new, ref, new_log, ref_log


@settings(max_examples=300)
@given(label_pools, st.lists(st.tuples(NAMES, st.integers(0, 6)), max_size=12), store_ops)
def test_the_overlay_equals_the_reference(pool: list[Label], seed: list[tuple[str, int]],
                                          ops: list[tuple[bool, str, int]]) -> None:
    """`MemoryResourceLabels.label_of` (every name under `prefix*` without matching, one hit
    returned as is) answers as the reference and asks the store below the same questions."""
    new, ref, new_log, ref_log = _pair([(name, pool[i % len(pool)]) for name, i in seed])
    for write, name, i in ops:
        if write:
            new.record(name, pool[i % len(pool)])
            ref.record(name, pool[i % len(pool)])
        else:
            assert same(new.label_of(name), ref.label_of(name))
    assert new_log == ref_log



# --- The per-call label rules ----------------------------------------------------------------

RESOURCE_PATTERNS = ["mail:{id}", "mail:*", "workspace:{path}", "workspace:*", "ws:{path}/{id}",
                     "config:rules", "*", "workspace:notes/*"]
resource_lists = st.lists(st.sampled_from(RESOURCE_PATTERNS), max_size=2)


@st.composite
def tool_specs(draw: st.DrawFn) -> ToolSpec:
    names = draw(st.lists(st.sampled_from(ARG_NAMES), unique=True, max_size=3))
    readers = draw(st.sampled_from(["public", "stored", ["owner"], ["owner", "bob@partner.example"]]))
    from_args = draw(st.one_of(st.none(), st.lists(st.sampled_from(names), unique=True))) if names else None
    return ToolSpec(
        name="t",
        effects=draw(st.lists(st.sampled_from(["read", "write", "egress", "execute"]), unique=True)),
        args={n: ArgSpec(sink=draw(st.sampled_from([None, "recipient", "url", "path", "account"])))
              for n in names},
        output=OutputSpec(readers=readers, untrusted=draw(st.booleans()), from_args=from_args,
                          reason="checked" if from_args is not None else ""),
        reads=draw(resource_lists), writes=draw(resource_lists), executes=draw(resource_lists),
        loads=draw(resource_lists), discloses=draw(resource_lists),
        sends_to=draw(st.sampled_from([[], ["owner"], ["bob@partner.example"]])),
        unverifiable=draw(st.sampled_from(["", "no sandbox"])))


call_values = st.dictionaries(st.sampled_from(ARG_NAMES), st.one_of(
    st.just(OPEN_VALUE), st.sampled_from(["a", "a/b", "./a//b", "*", "n1", "bob@partner.example"]),
    st.lists(st.sampled_from(["a", "b", "*"]), max_size=3)), max_size=3)


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(tool_specs(), label_pools, st.data())
def test_call_label_rules_equal_the_reference(spec: ToolSpec, pool: list[Label], data: st.DataObject) -> None:
    """`stored_reads`, `executes_tainted`, `disclosed_label`, `written_label`, `record_writes`
    and `call_output_label`, in the walker's order: the same labels, the same lookups below."""
    seed = data.draw(st.lists(st.tuples(NAMES, st.integers(0, 6)), max_size=8))
    new, ref, new_log, ref_log = _pair([(name, pool[i % len(pool)]) for name, i in seed])
    values = data.draw(call_values)
    args = {name: data.draw(st.sampled_from(pool)) for name in spec.args}
    control = data.draw(st.sampled_from(pool))
    reported = data.draw(st.one_of(st.none(), st.sampled_from(pool)))
    assert executes_tainted(spec, values, new) == ref_executes_tainted(spec, values, ref)
    assert same(disclosed_label(spec, values, new), ref_disclosed_label(spec, values, ref))
    stored, ref_stored = stored_reads(spec, values, new), ref_stored_reads(spec, values, ref)
    assert [(s.readers, s.sources, s.taint) for s in stored] == [(s.readers, s.sources, s.taint) for s in ref_stored]
    for given_stored in (None, stored):
        written = written_label(spec, args, values, new, control, stored=given_stored)
        assert same(written, ref_written_label(spec, args, values, ref, control,
                                               stored=None if given_stored is None else ref_stored))
    state, ref_state = call_state(spec, values, new), ref_call_state(spec, values, ref)
    assert same(state, ref_state)
    record_writes(spec, values, written, new)
    ref_record_writes(spec, values, written, ref)
    for given_stored in (None, stored):
        for given_state in (None, state):
            assert same(call_output_label(spec, args, values, new, control=control, reported=reported,
                                          stored=given_stored, state=given_state),
                        ref_call_output_label(spec, args, values, ref, control=control, reported=reported,
                                              stored=None if given_stored is None else ref_stored,
                                              state=None if given_state is None else ref_state))
    assert new_log == ref_log
    assert new.items() == sorted(ref._labels.items())


@settings(max_examples=400, deadline=None)
@given(a=st.text(alphabet="ab*?[]!-/:\\x", max_size=8), b=st.text(alphabet="ab*?[]!-/:\\x", max_size=8))
def test_overlaps_compiles_only_patterns_and_answers_as_fnmatch(a: str, b: str) -> None:
    """A side without `*`, `?` or `[` is compared as itself, not compiled: the same answer
    as fnmatch both ways."""
    import fnmatch

    from plangate.resources import overlaps

    assert overlaps(a, b) == (a == b or fnmatch.fnmatchcase(a, b) or fnmatch.fnmatchcase(b, a))
