"""Labels of stored resources, so a value keeps its label through storage.

A file written from untrusted text stays untrusted when a later step, or a later run,
reads, executes or loads it. Resource names look like `workspace:notes/todo.md`; tool
catalogs name them with patterns (`workspace:{path}`, `skills:*`).
"""

from __future__ import annotations

import fnmatch
import itertools
import posixpath
import re
from collections.abc import Mapping
from typing import Any, Protocol

from plangate.catalog import ToolSpec
from plangate.labels import Label, join_all

WILDCARD = "*"


class _Open:
    """A value not known before the plan runs (the review's stand-in for step outputs)."""

    _instance: _Open | None = None

    def __new__(cls) -> _Open:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "OPEN"


OPEN_VALUE: Any = _Open()


MAX_NAMES = 100
"""More resource names than this from one pattern are treated as the wildcard."""


def resolve_patterns(pattern: str, args: Mapping[str, Any]) -> list[str]:
    """The resource names a pattern stands for with these arguments. An argument whose
    value is not known yet is `*`; an array argument names one resource per item; every
    value is canonicalised (`./a//b` and `a/b` are one file) and cannot smuggle wildcards."""
    names = re.findall(r"\{([^}]*)\}", pattern)
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
        options = [[WILDCARD] for _ in names]
    pieces = re.split(r"\{[^}]*\}", pattern)  # the text around the placeholders
    out = []
    for combo in itertools.product(*options):
        name = pieces[0]
        for value, after in zip(combo, pieces[1:], strict=True):
            name += value + after
        out.append(name)
    return out


def _canonical(value: Any) -> str:
    text = str(value)
    if "/" in text or text.startswith("."):
        # Lexical path normalisation: one file, one name (the tools confine paths further).
        text = posixpath.normpath(text)
    return _escape(text)


def _escape(text: str) -> str:
    # A value must not smuggle wildcards into a pattern it fills.
    return text.replace("[", "[[]").replace("*", "[*]").replace("?", "[?]")


def overlaps(a: str, b: str) -> bool:
    """Whether two resource patterns could name the same resource."""
    return a == b or fnmatch.fnmatchcase(a, b) or fnmatch.fnmatchcase(b, a)


class ResourceLabels(Protocol):
    """Where the labels of stored resources live between steps and between runs."""

    def label_of(self, pattern: str) -> Label | None:
        """Join of the labels of every stored resource the pattern may name, or None."""

    def record(self, name: str, label: Label) -> None:
        """Remember the label of content just written to `name` (replacing the old one)."""


class MemoryResourceLabels:
    """In-process `ResourceLabels`. With `base`, an overlay: the static review records a
    plan's own writes here on top of the persisted labels, and joins rather than replaces
    (a pattern with an open argument may stand for several resources)."""

    def __init__(self, initial: dict[str, Label] | None = None, *,
                 base: ResourceLabels | None = None, join_writes: bool = True) -> None:
        self._labels: dict[str, Label] = dict(initial or {})
        self._base = base
        self._join_writes = join_writes

    def label_of(self, pattern: str) -> Label | None:
        hits = [label for name, label in self._labels.items() if overlaps(name, pattern)]
        below = self._base.label_of(pattern) if self._base is not None else None
        if below is not None:
            hits.append(below)
        return join_all(hits) if hits else None

    def record(self, name: str, label: Label) -> None:
        old = self._labels.get(name)
        self._labels[name] = old.join(label) if self._join_writes and old is not None else label

    def items(self) -> list[tuple[str, Label]]:
        return sorted(self._labels.items())


def _stored(resources: ResourceLabels, patterns: list[str], values: Mapping[str, Any]) -> list[Label]:
    out = []
    for pattern in patterns:
        for name in resolve_patterns(pattern, values):
            label = resources.label_of(name)
            if label is not None:
                out.append(label)
    return out


def read_label(spec: ToolSpec, values: Mapping[str, Any], resources: ResourceLabels,
               refined: Label | None = None) -> Label:
    """Label of a tool's output: the catalog's (with readers the tool itself reported,
    never less taint), joined with whatever is stored in the resources it reads."""
    base = spec.output_label
    if refined is not None:
        base = Label(readers=refined.readers, sources=base.sources | refined.sources,
                     taint=base.join(refined).taint)
    return join_all([base, *_stored(resources, spec.reads, values)])


def disclosed_label(spec: ToolSpec, values: Mapping[str, Any],
                    resources: ResourceLabels) -> Label | None:
    """Label of stored content the call sends out (None when it sends none)."""
    if not spec.discloses:
        return None
    return join_all([spec.disclosed_label, *_stored(resources, spec.discloses, values)])


def executes_tainted(spec: ToolSpec, values: Mapping[str, Any], resources: ResourceLabels) -> bool:
    """Whether the call runs or loads stored content written from tainted data."""
    return any(label.untrusted for label in _stored(resources, [*spec.executes, *spec.loads], values))


def record_writes(spec: ToolSpec, values: Mapping[str, Any], written: Label,
                  resources: ResourceLabels) -> None:
    for pattern in spec.writes:
        for name in resolve_patterns(pattern, values):
            resources.record(name, written)
