"""Stored-resource labels: patterns, overlaps, and the review's overlay on the persisted store."""

from __future__ import annotations

from plangate.labels import Label
from plangate.resources import MemoryResourceLabels, overlaps, resolve_patterns

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
