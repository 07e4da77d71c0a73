"""The core's output `readers: stored` (catalog.OutputSpec, resources.call_output_label):
the readers of what a tool reads, met with who may know whether it is there (a store that
holds that state: `resources.KnowsState`), and the owner's when the store knows nothing of
a name it reads, or the name is a pattern."""

from __future__ import annotations

import pytest

from plangate.catalog import parse_catalog
from plangate.errors import CatalogError
from plangate.labels import PUBLIC, TRUSTED, Label
from plangate.resources import OPEN_VALUE, MemoryResourceLabels, call_output_label

CATALOG = parse_catalog({"tools": {
    "orders": {"effects": ["read"], "args": {"customer": {"type": "string"}},
               "reads": ["customer:{customer}/orders"], "output": {"readers": "stored"}},
    "plain": {"effects": ["read"], "args": {"customer": {"type": "string"}},
              "reads": ["customer:{customer}/orders"]},
}})
AVA = Label(readers=frozenset({"owner", "ava@x.example"}))


def _label(tool: str, customer: object, store: MemoryResourceLabels, reported: Label | None = None) -> Label:
    spec = CATALOG.tools[tool]
    return call_output_label(spec, {"customer": TRUSTED}, {"customer": customer}, store, control=TRUSTED,
                             reported=reported)


class _Rows(MemoryResourceLabels):
    """A store that holds its names' state (as the desk's rows do): their readers are its
    labels' readers."""

    def state_of(self, name: str, otherwise: Label) -> Label:
        return self.label_of(name) or otherwise


def test_stored_readers_come_from_the_store() -> None:
    store = _Rows({"customer:ava@x.example/orders": AVA})
    assert _label("orders", "ava@x.example", store).readers == AVA.readers
    # A store that only keeps what runs wrote cannot say who may know whether the orders
    # are there (a label stays when its write failed): the owner's.
    plain = MemoryResourceLabels({"customer:ava@x.example/orders": AVA})
    assert _label("orders", "ava@x.example", plain).readers == {"owner"}


def test_nothing_stored_or_a_pattern_is_the_owners() -> None:
    store = MemoryResourceLabels({"customer:ava@x.example/orders": AVA})
    assert _label("orders", "bob@x.example", store).readers == {"owner"}
    assert _label("orders", OPEN_VALUE, store).readers == {"owner"}  # customer:*/orders
    assert _label("orders", "*", MemoryResourceLabels({"customer:*/orders": AVA})).readers == {"owner"}
    # A reported label cannot take the owner-only fallback away.
    assert _label("orders", "bob@x.example", store, reported=Label(readers=frozenset({PUBLIC}))).readers == {"owner"}
    # A tool that reads stored state and declares no output returns some of it: owner-only
    # and untrusted, whatever is stored (red team round 19: `pay` reported the balance as
    # public). Declared, the output is what the catalog says.
    plain = _label("plain", "bob@x.example", store)
    assert plain.readers == {"owner"} and plain.untrusted
    declared = parse_catalog({"tools": {"p": {"effects": ["read"], "reads": ["x:*"],
                                              "output": {"readers": "public"}}}}).tools["p"]
    assert declared.output_label.is_public


def test_stored_readers_need_reads() -> None:
    with pytest.raises(CatalogError, match="declares no `reads`"):
        parse_catalog({"tools": {"t": {"effects": ["read"], "output": {"readers": "stored"}}}})


def test_what_a_stored_readers_tool_writes_keeps_the_owner_only_fallback() -> None:
    """Whether a write happened depends on the state it read: with nothing stored for it,
    that state is the owner's, so the written label is too."""
    from plangate.resources import written_label

    spec = parse_catalog({"tools": {"note": {
        "effects": ["write"], "args": {"customer": {"type": "string"}, "text": {"type": "string"}},
        "reads": ["customer:{customer}/tickets"], "writes": ["customer:{customer}/tickets"],
        "output": {"readers": "stored"}}}}).tools["note"]
    args = {"customer": TRUSTED, "text": TRUSTED}
    empty = written_label(spec, args, {"customer": "bob@x.example", "text": "hi"}, MemoryResourceLabels(), TRUSTED)
    assert empty.readers == {"owner"}
    known = MemoryResourceLabels({"customer:ava@x.example/tickets": AVA})
    assert written_label(spec, args, {"customer": "ava@x.example", "text": "hi"}, known, TRUSTED).readers == AVA.readers
