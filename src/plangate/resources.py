"""Labels of stored resources, so a value keeps its label through storage.

A file written from untrusted text stays untrusted when a later step, or a later run,
reads, executes or loads it. Resource names look like `workspace:notes/todo.md`; tool
catalogs name them with patterns (`workspace:{path}`, `skills:*`).
"""

from __future__ import annotations

import fnmatch
import re
from typing import Any, Protocol

from plangate.labels import Label, join_all

OPEN = "*"


def resolve_pattern(pattern: str, args: dict[str, Any]) -> str:
    """Fill `{arg}` placeholders; an argument whose value is not known yet becomes `*`."""

    def fill(match: re.Match[str]) -> str:
        value = args.get(match.group(1), OPEN)
        return OPEN if value is OPEN else _escape(str(value))

    return re.sub(r"\{([^}]*)\}", fill, pattern)


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
    """In-process `ResourceLabels`, also used as a static snapshot during review."""

    def __init__(self, initial: dict[str, Label] | None = None) -> None:
        self._labels: dict[str, Label] = dict(initial or {})

    def label_of(self, pattern: str) -> Label | None:
        hits = [label for name, label in self._labels.items() if overlaps(name, pattern)]
        return join_all(hits) if hits else None

    def record(self, name: str, label: Label) -> None:
        self._labels[name] = label

    def items(self) -> list[tuple[str, Label]]:
        return sorted(self._labels.items())
