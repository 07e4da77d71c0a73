"""What the audit chain vouches for beyond its own events: approvals and stored labels.

The approvals table and the stored resource labels are working state that decides what
may run (an approved plan runs; a clean label lets stored text be executed). Each change
to them is written as a chained event in the same transaction as the change, so the chain
is the record and the tables are a view of it:

* `approval_requested` carries `content_sha256`, a digest of everything the owner will be
  shown and the gate will run (trigger, plan, review, summary, class, hash, run);
  `approval_decided` the decision; `approval_used` the one run it allowed.
* `label_stored` carries the resource name and the label now stored for it (writes join).
  The joined label kept per asked-for prefix (`resource_label_prefixes`) is derived from
  the stored labels; `prefix_problems()` recomputes it.

`ChainState` replays those events; `problems()` compares the tables with it, so `audit
verify` finds an approval flipped to approved, a used approval made usable again, a plan
swapped in the table, a stored label washed clean or deleted. Pure: no I/O here; the
SQLite and PostgreSQL stores feed it their rows (tests/storage/test_suite.py).
"""

from __future__ import annotations

import bisect
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from plangate.labels import PUBLIC, Label, join_all
from plangate.resources import WILDCARD, has_wildcard

APPROVAL_KINDS = ("approval_requested", "approval_decided", "approval_used")
APPROVAL_IN = "(" + ", ".join(f"'{kind}'" for kind in APPROVAL_KINDS) + ")"
"""`APPROVAL_KINDS` as SQL: the approval index covers these events only (the others, a
plan's above all, are not parsed as JSON again when they go in)."""
LABEL_KIND = "label_stored"


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def approval_digest(*, approval_id: str, run_id: str, plan_hash: str, trust_class: str,
                    summary: str, trigger: Any, plan: Any, review: Any) -> str:
    """SHA-256 over everything an approval record holds that the owner sees or the gate runs."""
    body = canonical([approval_id, run_id, plan_hash, trust_class, summary, trigger, plan, review])
    return hashlib.sha256(body.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(slots=True)
class ApprovalTrail:
    """An approval as the chain tells it."""

    digest: str | None = None  # None: requested before digests were recorded
    status: str = "pending"


def follow(trail: ApprovalTrail, kind: str, data: Mapping[str, Any]) -> None:
    """Advance an approval's trail by one of its events."""
    if kind == "approval_requested":
        digest = data.get("content_sha256")
        trail.digest = digest if isinstance(digest, str) else None
        trail.status = "pending"
    elif kind == "approval_decided" and trail.status == "pending":
        decision = data.get("decision")
        trail.status = decision if decision in ("approved", "denied") else trail.status
    elif kind == "approval_used" and trail.status == "approved":
        trail.status = "executed"


def trail_of(events: Iterable[tuple[str, Mapping[str, Any]]]) -> ApprovalTrail | None:
    """The trail of one approval from its events in chain order (None: never requested)."""
    trail: ApprovalTrail | None = None
    for kind, data in events:
        if kind == "approval_requested":
            trail = ApprovalTrail()
        if trail is not None:
            follow(trail, kind, data)
    return trail


def approval_problem(approval_id: str, digest: str, status: str,
                     trail: ApprovalTrail | None) -> str | None:
    """Why a stored approval disagrees with its trail in the chain, or None."""
    if trail is None:
        return f"approval {approval_id} is not in the audit log"
    if trail.digest is not None and trail.digest != digest:
        return (f"approval {approval_id}: the stored record does not match the hash the audit "
                "log holds for it (edited outside plangate)")
    if trail.status != status:
        return (f"approval {approval_id} is stored as {status} but the audit log says "
                f"{trail.status} (edited outside plangate)")
    return None


@dataclass(slots=True)
class ChainState:
    """Approvals and stored labels as the chain tells them, fed one event at a time."""

    approvals: dict[str, ApprovalTrail] = field(default_factory=dict)
    labels: dict[str, Any] = field(default_factory=dict)

    def feed(self, kind: str, data: Mapping[str, Any]) -> None:
        if kind in APPROVAL_KINDS:
            ident = data.get("approval")
            if isinstance(ident, str):
                if kind == "approval_requested":
                    self.approvals[ident] = ApprovalTrail()
                trail = self.approvals.get(ident)
                if trail is not None:
                    follow(trail, kind, data)
        elif kind == LABEL_KIND:
            name = data.get("name")
            if isinstance(name, str):
                self.labels[name] = data.get("label")

    def problems(self, approvals: Iterable[tuple[str, str, str]],
                 labels: Iterable[tuple[str, Any]]) -> list[str]:
        """Disagreements between the tables ((id, digest, status) rows and (name, label)
        rows) and the chain: edited, added or deleted rows."""
        out: list[str] = []
        seen: set[str] = set()
        for approval_id, digest, status in approvals:
            seen.add(approval_id)
            problem = approval_problem(approval_id, digest, status, self.approvals.get(approval_id))
            if problem:
                out.append(problem)
        out += [f"approval {a} is in the audit log but was deleted from the approvals table"
                for a in sorted(set(self.approvals) - seen)]
        stored: set[str] = set()
        for name, label in labels:
            stored.add(name)
            if name not in self.labels:
                out.append(f"stored label of {name!r} is not in the audit log")
            elif canonical(self.labels[name]) != canonical(label):
                out.append(f"stored label of {name!r} differs from the audit log's (edited "
                           "outside plangate)")
        out += [f"stored label of {n!r} is in the audit log but was deleted"
                for n in sorted(set(self.labels) - stored)]
        return out


def prefix_query(pattern: str) -> str | None:
    """The literal prefix of a pattern that is that prefix and one trailing `*` (it matches
    exactly the concrete names starting with the prefix), else None."""
    if not pattern.endswith(WILDCARD):
        return None
    prefix = pattern[:-1]
    return None if has_wildcard(prefix) else prefix


def upper_bound(prefix: str) -> str | None:
    """The least string above every string starting with `prefix` (code point order, as
    SQLite, PostgreSQL's C collation and Python compare), or None: no bound (the prefix is
    empty or only U+10FFFF). `prefix + U+10FFFF` is not one: `ns:` U+10FFFF `x` sorts above it."""
    rest = prefix.rstrip("\U0010ffff")
    if not rest:
        return None
    nxt = ord(rest[-1]) + 1
    return rest[:-1] + chr(0xE000 if 0xD800 <= nxt < 0xE000 else nxt)


def under(names: list[str], prefix: str) -> range:
    """The indexes of the names starting with `prefix` in a sorted list."""
    lo = bisect.bisect_left(names, prefix)
    bound = upper_bound(prefix)
    return range(lo, len(names) if bound is None else bisect.bisect_left(names, bound, lo))


def join_prefix(text: str | None, label: Mapping[str, Any]) -> dict[str, Any]:
    """A prefix row's label (JSON text, None when no name was under it) joined with a name's
    newly stored label: the row stays the join of every name under its prefix because a
    name's label only ever grows by joins."""
    new = Label.from_json(dict(label))
    return (new if text is None else Label.from_json(json.loads(text)).join(new)).to_json()


def _same(label: Label) -> Any:
    """A label's JSON with the readers of a public label as `*` alone (a public label's
    other readers mean nothing, and `join` keeps them or not depending on its order)."""
    out = label.to_json()
    if label.is_public:
        out["readers"] = [PUBLIC]
    return out


def filing_problems(rows: Iterable[tuple[str, bool]]) -> list[str]:
    """Stored labels (name, stored as a pattern?) filed as the other kind: lookups compare
    every stored pattern and read concrete names by index, so a pattern filed as concrete
    drops out of every lookup it should widen (edited outside plangate)."""
    return [f"stored label of {name!r} is filed as a {'pattern' if wild else 'concrete name'} "
            "(edited outside plangate)" for name, wild in rows if bool(wild) != has_wildcard(name)]


def prefix_problems(prefixes: list[tuple[str, Any]], labels: list[tuple[str, Any]]) -> list[str]:
    """Prefix rows (prefix, label JSON or None) that differ from the join of the stored
    labels (name, label JSON) of the concrete names under them: edited outside plangate.
    (A stored label that does not parse is reported by `ChainState.problems`.)"""
    concrete = sorted((name, label) for name, label in labels if not has_wildcard(name))
    names = [name for name, _ in concrete]
    out = []
    for prefix, label in prefixes:
        try:
            found_under = [Label.from_json(concrete[i][1]) for i in under(names, prefix)]
            expected = _same(join_all(found_under)) if found_under else None
            found = None if label is None else _same(Label.from_json(label))
        except (ValueError, AttributeError, TypeError):
            found, expected = "unreadable", None
        if found != expected:
            out.append(f"joined label of the names under {prefix!r} differs from their stored "
                       "labels (edited outside plangate)")
    return out

__all__ = ["APPROVAL_KINDS", "LABEL_KIND", "ApprovalTrail", "ChainState", "approval_digest",
           "approval_problem", "canonical", "filing_problems", "follow", "join_prefix", "prefix_problems",
           "prefix_query", "trail_of", "under", "upper_bound"]
