"""Labels: who may read a value and whether an attacker could have shaped it.

A label travels with every value the executor handles, through references, concatenation,
loops and storage. Joining two labels gives the label of anything computed from both:
the readers narrow (intersection), the sources widen (union), and a value is untrusted as
soon as any part of it is.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

PUBLIC = "*"
"""A reader set containing `PUBLIC` means anyone may read the value."""

ROLE = "role;"
"""Prefix of a role's reader id: a reader a catalog or deployment names that is not an
address (`secret-custodian`, a tool's fixed destination `status-page`). No destination a
call names ever reads as one (a normalised destination is an address, a handle without `;`,
an upper-case account, `url:<host>` or `invalid:...`), so a chat channel called
`#secret-custodian` is not the role whose data it would receive."""


def declared_reader(name: str) -> str:
    """The reader id of a reader a catalog or deployment declares: `owner` and `PUBLIC` as
    they are, an address as written, any other name a role (`ROLE` + name)."""
    return name if name in ("owner", PUBLIC) or "@" in name else ROLE + name

Taint = Literal["none", "low", "high"]
"""How much an attacker may have shaped a value: not at all, only by choosing among a few
typed values (an extraction step's bool, enum, number or date), or freely."""

_TAINT_ORDER: dict[str, int] = {"none": 0, "low": 1, "high": 2}


@dataclass(frozen=True, slots=True, kw_only=True)
class Label:
    """Readers and provenance of one value.

    `readers`: principals allowed to read it (`PUBLIC` for anyone); `owner` is the
    deployment's owner. `sources`: where the value came from (`instruction`, `payload`,
    `planner`, `tool:<name>`, `store:<resource>`). `untrusted`: an attacker could have chosen
    its content; `taint` says how much (`low`: an extraction step reduced it to a bool,
    enum, number or date, which cannot carry instructions or an arbitrary payload).
    """

    readers: frozenset[str] = frozenset({PUBLIC})
    sources: frozenset[str] = frozenset()
    taint: Taint = "none"

    @property
    def untrusted(self) -> bool:
        return self.taint != "none"

    @property
    def is_public(self) -> bool:
        return PUBLIC in self.readers

    def readable_by(self, principal: str) -> bool:
        return self.is_public or principal in self.readers

    def readers_only(self) -> Label:
        """The control part of this label: who may learn that something happened because
        of this value. Whether a step runs, fails or repeats reveals something about the
        data it depended on to whoever sees the effect, but it carries no content an
        attacker chose, so only the readers come along (no sources, no taint)."""
        if self.is_public:
            return TRUSTED
        return Label(readers=self.readers)

    def join(self, other: Label) -> Label:
        if other is self or other is TRUSTED:
            return self
        if self is TRUSTED:
            return other
        mine, theirs = self.sources, other.sources
        # Reusing a side's set (or the side itself) when the join equals it saves building
        # one on the review's hot path; the value is the same (tests/core/test_walker_speed.py).
        sources = mine if theirs <= mine else theirs if mine <= theirs else mine | theirs
        taint = (self.taint if _TAINT_ORDER[self.taint] >= _TAINT_ORDER[other.taint]
                 else other.taint)
        readers = _meet_readers(self.readers, other.readers)
        if readers is self.readers and sources is mine and taint == self.taint:
            return self
        return _label(readers, sources, taint)

    def to_json(self) -> dict[str, object]:
        return {
            "readers": sorted(self.readers),
            "sources": sorted(self.sources),
            "taint": self.taint,
        }

    @classmethod
    def from_json(cls, data: dict[str, object]) -> Label:
        readers = data.get("readers", [PUBLIC])
        sources = data.get("sources", [])
        taint = data.get("taint", "none")
        if taint not in _TAINT_ORDER:
            raise ValueError(f"label taint must be none, low or high, not {taint!r}")
        if not isinstance(readers, list) or not isinstance(sources, list):
            raise ValueError("label readers and sources must be lists")
        return cls(
            readers=frozenset(str(r) for r in readers),
            sources=frozenset(str(s) for s in sources),
            taint=taint,  # type: ignore[arg-type]  # checked against _TAINT_ORDER above
        )


TRUSTED = Label()
"""Public, trusted, no recorded source: the neutral element of `join`."""


def _plain_label(readers: frozenset[str], sources: frozenset[str], taint: Taint) -> Label:
    return Label(readers=readers, sources=sources, taint=taint)


def _fast_label() -> Any:
    """Interpreted, `Label(...)` at half the cost of the frozen dataclass's keyword
    `__init__`: each field set once, on a new object, as it does. Compiled
    (plangate.native), None: the compiled class's own constructor is faster still."""
    if not __file__.endswith(".py"):
        return None
    new, fields = object.__new__, vars(Label)
    set_readers, set_sources, set_taint = (fields[f].__set__ for f in ("readers", "sources", "taint"))

    def make(readers: frozenset[str], sources: frozenset[str], taint: Taint) -> Label:
        label: Label = new(Label)
        set_readers(label, readers)
        set_sources(label, sources)
        set_taint(label, taint)
        return label

    return make


#: `Label(readers=..., sources=..., taint=...)` for the joins, chosen once at import.
_label: Callable[[frozenset[str], frozenset[str], Taint], Label] = _fast_label() or _plain_label


def _meet_readers(a: frozenset[str], b: frozenset[str]) -> frozenset[str]:
    if PUBLIC in a:
        return b
    if PUBLIC in b:
        return a
    return a & b


def join_all(labels: Iterable[Label]) -> Label:
    """`TRUSTED.join(a).join(b)...`, folded over the fields so that only the result is built
    (the same value: tests/core/test_walker_speed.py holds it to the fold)."""
    it = iter(labels)
    for first in it:
        if first is not TRUSTED:
            break
    else:
        return TRUSTED
    readers, sources, taint = first.readers, first.sources, first.taint
    rank = _TAINT_ORDER[taint]
    for label in it:
        if label is TRUSTED:  # `join` returns its left side unchanged
            continue
        theirs = label.readers
        if PUBLIC in readers:
            readers = theirs
        elif PUBLIC not in theirs:
            readers = readers & theirs
        if not label.sources <= sources:
            sources = sources | label.sources
        if _TAINT_ORDER[label.taint] > rank:
            taint = label.taint
            rank = _TAINT_ORDER[taint]
    if readers is first.readers and sources is first.sources and taint == first.taint:
        return first
    return _label(readers, sources, taint)


@dataclass(frozen=True, slots=True)
class Labeled:
    """A runtime value with its label."""

    value: Any  # any runtime value (`object` trips mypyc's dataclass transform)
    label: Label = field(default=TRUSTED)
